//go:build unix

package inference

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestIndexFIFO: an index file read through a FIFO (size unknown) loads
// like the regular file; endless bytes after it are refused.
func TestIndexFIFO(t *testing.T) {
	good := validFile(t, true)
	for _, endless := range []bool{false, true} {
		path, wait := testkit.FIFO(t, good, endless)
		got, err := ReadIndexFile(path)
		wait()
		if endless {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("endless: err = %v, want ErrCorrupt", err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, testIndex(true, 3)) {
			t.Fatalf("%+v, %v", got, err)
		}
	}
}
