package models

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpickle runs the restricted unpickler on arbitrary bytes (the
// pickles of torch zip files are behind a CRC-32, which FuzzReadPTH's
// mutations rarely pass): no panic, and an accepted pickle converts to a
// state dict or an error, with its storages placed at offset 0 of a
// reader holding nothing.
func FuzzUnpickle(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "statedict", "*.pth"))
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue // legacy: FuzzReadPTH seeds it
		}
		for _, z := range zr.File {
			if strings.HasSuffix(z.Name, "/data.pkl") {
				rc, err := z.Open()
				if err != nil {
					f.Fatal(err)
				}
				pkl, err := io.ReadAll(rc)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(pkl)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &pthReader{c: "fuzz", r: bytes.NewReader(nil), storages: map[string]*pyStorage{}}
		u := newUnpickler(bytes.NewReader(data), int64(len(data)))
		u.persistentLoad = p.storage(false)
		v, err := u.load()
		if err != nil {
			return
		}
		for _, s := range p.storages {
			s.known = true
		}
		_, _ = p.stateDict(v)
	})
}
