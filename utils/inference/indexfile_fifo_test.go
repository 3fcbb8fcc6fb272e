//go:build unix

package inference

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// TestIndexFIFO: an index file read through a FIFO (size unknown) loads
// like the regular file; endless bytes after it are refused.
func TestIndexFIFO(t *testing.T) {
	good := validFile(t, true)
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
		got, err := ReadIndexFile(path)
		<-done
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
