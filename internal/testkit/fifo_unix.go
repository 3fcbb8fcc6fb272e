//go:build unix

package testkit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FIFO makes a named pipe in a temporary directory, whose size a reader
// cannot know, and returns its path and a function that waits for the
// writer. The writer sends data to the first reader that opens it, then,
// when endless, zeros until the reader closes. The test is skipped where
// mkfifo fails. Call wait after the read; the pipe must be opened once.
func FIFO(t testing.TB, data []byte, endless bool) (path string, wait func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "fifo")
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
		if _, err := f.Write(data); err != nil || !endless {
			return
		}
		zeros := make([]byte, 1<<16)
		for {
			if _, err := f.Write(zeros); err != nil {
				return // the reader has gone
			}
		}
	}()
	return path, func() { <-done }
}
