//go:build unix

package losses_test

import (
	"errors"
	"testing"

	"github.com/gometric/gometric/internal/testkit"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
)

// TestParamsFileFIFO: a parameter file read through a FIFO (size
// unknown) loads like the regular file; endless bytes after it are
// refused at the first byte after the checksum.
func TestParamsFileFIFO(t *testing.T) {
	src := newArc(t, 2, 3, 1)
	good := savedParams(t, src)
	for _, endless := range []bool{false, true} {
		path, wait := testkit.FIFO(t, good, endless)
		dst := newArc(t, 2, 3, 2)
		err := losses.LoadParams(path, dst)
		wait()
		if endless {
			if !errors.Is(err, gometric.ErrShape) {
				t.Errorf("endless: err = %v, want ErrShape", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := savedParams(t, dst); string(got) != string(good) {
			t.Error("loaded parameters differ")
		}
	}
}
