//go:build unix

package models

import (
	"errors"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestWeightFileFIFO: a weight file read through a FIFO (size unknown)
// loads like the regular file; endless bytes after it are refused.
func TestWeightFileFIFO(t *testing.T) {
	mlp, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	good := savedBytes(t, mlp)
	for _, tc := range []struct {
		name    string
		endless bool
	}{{"file", false}, {"file-then-endless", true}} {
		t.Run(tc.name, func(t *testing.T) {
			path, wait := testkit.FIFO(t, good, tc.endless)
			enc, err := LoadEncoder(path)
			wait()
			if tc.endless {
				if !errors.Is(err, ErrWeightFile) || !strings.Contains(err.Error(), "after the checksum") {
					t.Fatalf("err = %v, want trailing data refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slicesEqualParams(enc.Params(), mlp.Params()) {
				t.Error("weights differ")
			}
		})
	}
}
