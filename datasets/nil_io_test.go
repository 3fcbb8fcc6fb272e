package datasets_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
)

// Every entry point taking a reader, a writer or a file system refuses a
// nil one, and a typed nil (a nil *os.File as an io.Reader), with an
// ErrSetting error instead of a panic.
func TestNilReadersWritersFileSystems(t *testing.T) {
	var nilFile *os.File
	var typedR io.Reader = nilFile
	var typedW io.Writer = nilFile
	var nilFS fs.FS
	f, err := datasets.NewFeatures(1, []float32{1}, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	idx := &datasets.IDX{Dims: []int{1}, Data: []byte{0}}
	calls := map[string]func() error{}
	for name, r := range map[string]io.Reader{"nil": nil, "typed nil": typedR} {
		calls["ReadIDX "+name] = func() error { _, err := datasets.ReadIDX(r); return err }
		calls["ReadFeatures "+name] = func() error { _, err := datasets.ReadFeatures(r); return err }
	}
	for name, w := range map[string]io.Writer{"nil": nil, "typed nil": typedW} {
		calls["WriteIDX "+name] = func() error { return datasets.WriteIDX(w, idx) }
		calls["WriteBinary "+name] = func() error { return f.WriteBinary(w) }
		calls["WriteCSV "+name] = func() error { return f.WriteCSV(w) }
	}
	calls["NewImageFolderFS nil"] = func() error { _, err := datasets.NewImageFolderFS(nilFS); return err }
	calls["NewCUBFS nil"] = func() error { _, err := datasets.NewCUBFS(nilFS, "train"); return err }
	for name, call := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			if err := call(); !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("%s: err = %v, want ErrSetting", name, err)
			}
		}()
	}
}
