package testkit

import (
	"errors"

	"github.com/gometric/gometric"
)

// Sentinels are the root sentinel errors: every error the library returns
// for bad input wraps one of them.
var Sentinels = []error{gometric.ErrShape, gometric.ErrNonFinite, gometric.ErrLabels,
	gometric.ErrIndex, gometric.ErrSetting, gometric.ErrUnsupported}

// WrapsSentinel reports whether err wraps one of Sentinels.
func WrapsSentinel(err error) bool {
	for _, s := range Sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
