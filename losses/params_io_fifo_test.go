//go:build unix

package losses_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

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
		path := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer f.Close()
			if _, err := f.Write(good); err != nil || !endless {
				return
			}
			zeros := make([]byte, 1<<16)
			for {
				if _, err := f.Write(zeros); err != nil {
					return // the reader has gone
				}
			}
		}()
		dst := newArc(t, 2, 3, 2)
		err := losses.LoadParams(path, dst)
		<-done
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
