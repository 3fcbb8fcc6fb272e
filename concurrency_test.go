package gometric_test

import (
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestConcurrencyClaims: the root package claims no type safe for
// concurrent use (a Matrix is a view whose Data may be written), so its
// table of -race cases is empty; a type declared safe later must add one.
func TestConcurrencyClaims(t *testing.T) {
	testkit.RunConcurrentCases(t, ".", nil)
}
