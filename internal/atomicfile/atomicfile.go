// Package atomicfile is the library's one file writer. Every file gometric
// writes — weight files and checkpoints, loss parameters, index files,
// feature files, run records and plots — goes through Write, so that a
// reader (or a crash) sees either the old file or the new one, never a
// mix:
//
//  1. the content is written to a temporary file in the target's
//     directory, named "."+base+".tmp-*" (TempPattern), with mode 0644;
//  2. the temporary file is synced and closed;
//  3. it is renamed over the target;
//  4. the directory is synced, so the rename survives a power loss.
//
// On any error the temporary file is removed and the target is left as it
// was. A process killed between 1 and 3 leaves its temporary file behind;
// the next process's first Write of the same target removes it, and a program
// that writes several files calls CleanTemps for them when it starts.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Mode is the permission of every file Write creates.
const Mode = 0o644

// TempPattern returns the os.CreateTemp pattern of the temporary files
// Write uses for path: "."+base+".tmp-*".
func TempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// Write writes path atomically with the bytes write puts into w (buffered).
// It first removes the temporary files that interrupted Writes of the same
// path left behind before this process started (best effort), so Writes
// of one path from several goroutines do not disturb each other (the last
// rename wins); a Write of another process still under way since before
// this one started may lose its temporary file and fail. The error of write is returned as it is;
// file-system errors are returned as *os.PathError (or *os.LinkError for
// the rename).
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	_, _ = cleanTemps(path, processStart)
	f, err := os.CreateTemp(dir, TempPattern(path))
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(Mode); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// WriteFile writes data to path atomically (see Write).
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes a rename in dir durable. File systems that cannot sync a
// directory (EINVAL) are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	var pe *os.PathError
	if errors.As(err, &pe) && isNotSupported(pe.Err) {
		return nil
	}
	return err
}

// CleanTemps removes the temporary files that an interrupted Write of
// path left in its directory and returns their names. It must not run
// while another Write of the same path is under way.
func CleanTemps(path string) ([]string, error) {
	return cleanTemps(path, time.Time{})
}

// processStart is when this process started (near enough: when the package
// was initialised). A temporary file last modified before it cannot belong
// to a Write of this process.
var processStart = time.Now()

// cleanTemps is CleanTemps for the files last modified before before (all
// of them when before is zero).
func cleanTemps(path string, before time.Time) ([]string, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	prefix := "." + filepath.Base(path) + ".tmp-"
	var removed []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if !before.IsZero() {
			if info, err := e.Info(); err != nil || !info.ModTime().Before(before) {
				continue
			}
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}
