//go:build unix

package models

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestOptimizerStateFIFO: an optimizer or scheduler state read through a
// FIFO (size unknown) loads like the regular file; endless bytes after it
// are refused.
func TestOptimizerStateFIFO(t *testing.T) {
	m := newStateMLP(t)
	o := newOpt(t, optSetups[3], 0.05)
	s := mustSched(t, 0, o)
	trainSteps(t, m, o, s, 0, 3)
	for _, tc := range []struct {
		name    string
		data    []byte
		fresh   func() StateSaver
		endless bool
	}{
		{"optimizer", stateBytes(t, o), func() StateSaver { return newOpt(t, optSetups[3], 0.05) }, false},
		{"optimizer-then-endless", stateBytes(t, o), func() StateSaver { return newOpt(t, optSetups[3], 0.05) }, true},
		{"scheduler", stateBytes(t, s), func() StateSaver { return mustSched(t, 0, newOpt(t, optSetups[3], 0.05)) }, false},
		{"scheduler-then-endless", stateBytes(t, s), func() StateSaver { return mustSched(t, 0, newOpt(t, optSetups[3], 0.05)) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, wait := testkit.FIFO(t, tc.data, tc.endless)
			got := tc.fresh()
			err := got.LoadState(path)
			wait()
			if tc.endless {
				if !errors.Is(err, ErrStateFile) || !strings.Contains(err.Error(), "after the checksum") || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want trailing data refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stateBytes(t, got), tc.data) {
				t.Error("the state read from the FIFO differs")
			}
		})
	}
}
