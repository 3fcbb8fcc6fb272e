//go:build unix

package models

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
				if _, err := f.Write(good); err != nil || !tc.endless {
					return
				}
				zeros := make([]byte, 1<<16)
				for {
					if _, err := f.Write(zeros); err != nil {
						return // the reader has gone
					}
				}
			}()
			enc, err := LoadEncoder(path)
			<-done
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
