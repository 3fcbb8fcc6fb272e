package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gometric/gometric/internal/testkit"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// TestIndexEveryFlip: flipping any byte of a valid index file of any
// version (all its bits, the lowest, the highest) is an error, for the
// sized and the stream reader.
func TestIndexEveryFlip(t *testing.T) {
	for _, v := range []uint32{1, 2, 3} {
		for _, labelled := range []bool{false, true} {
			good := validFileVersion(t, labelled, v)
			for i := range good {
				for _, mask := range []byte{0xff, 0x01, 0x80} {
					data := bytes.Clone(good)
					data[i] ^= mask
					if _, err := ReadIndex(bytes.NewReader(data)); err == nil {
						t.Fatalf("version %d, labelled %v: byte %d ^ %#x accepted", v, labelled, i, mask)
					}
					if _, err := ReadIndex(io.MultiReader(bytes.NewReader(data))); err == nil {
						t.Fatalf("version %d, labelled %v: stream: byte %d ^ %#x accepted", v, labelled, i, mask)
					}
				}
			}
		}
	}
}

// TestIndexVersionFlip: a file whose version field is damaged never reads
// as another version, even when its checksum is made to match that
// version's (the worst case): the versions' lengths differ for every N, D
// and flags, and the length is checked.
func TestIndexVersionFlip(t *testing.T) {
	for _, from := range []uint32{1, 2, 3} {
		for _, labelled := range []bool{false, true} {
			good := validFileVersion(t, labelled, from)
			for _, to := range []uint32{1, 2, 3} {
				if to == from {
					continue
				}
				data := bytes.Clone(good)
				binary.LittleEndian.PutUint32(data[8:], to)
				sealed := bytes.Clone(data)
				if to < 3 {
					binary.LittleEndian.PutUint32(sealed[len(sealed)-4:], crc32.Checksum(sealed[:len(sealed)-4], castagnoli))
				} else {
					reseal(sealed)
				}
				for name, d := range map[string][]byte{"flipped": data, "resealed": sealed} {
					for reader, r := range map[string]io.Reader{"sized": bytes.NewReader(d), "stream": io.MultiReader(bytes.NewReader(d))} {
						_, err := ReadIndex(r)
						if !errors.Is(err, ErrCorrupt) || !errors.Is(err, gometric.ErrShape) {
							t.Errorf("version %d read as %d (%s, %s reader): %v, want ErrCorrupt", from, to, name, reader, err)
						}
					}
				}
			}
		}
	}
}

// TestIndexOldVersions: the version 1 and 2 files kept in testdata (as the
// writers of those versions wrote them) still load.
func TestIndexOldVersions(t *testing.T) {
	tests := []struct {
		file string
		want IndexFile
	}{
		{"testdata/v2-l2-labelled-threshold.gmidx", IndexFile{Metric: knn.L2,
			Vectors:   gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{0.6, 0.8, 1, 0, 0, -1}},
			Labels:    []int{10, -5, 1 << 40},
			Threshold: &Threshold{Measure: MeasureCosine, Value: 0.75}}},
		{"testdata/v2-ip.gmidx", IndexFile{Metric: knn.InnerProduct,
			Vectors: gometric.Matrix{Rows: 2, Cols: 3, Data: []float32{1, 2, 3, -4, 5, 6}}}},
	}
	for _, tc := range tests {
		got, err := ReadIndexFile(tc.file)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v", tc.file, got, err)
		}
		data, _ := os.ReadFile(tc.file)
		if b, err := encodeLegacy(tc.want, 2); err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s: the test's encoder of version 2 differs: %v", tc.file, err)
		}
	}
}

// TestIndexMemoryBound: a 4 KB file that declares gigabytes fails fast
// with the heap growing by far less than the claim, through every reader
// (ReadIndexFile, Model.Load, ReadIndex on a sized and on a stream
// reader), and so do /dev/zero and endless input after a valid file.
func TestIndexMemoryBound(t *testing.T) {
	const limit = 64 << 20
	head := validFile(t, true)[:fixedSize+v3Ext]
	cases := map[string]func(b []byte){
		"1G-vectors-of-1024": func(b []byte) {
			binary.LittleEndian.PutUint32(b[20:], 1024)
			binary.LittleEndian.PutUint64(b[24:], 1<<30)
		},
		"max-dim-max-count": func(b []byte) {
			binary.LittleEndian.PutUint32(b[20:], maxDim)
			binary.LittleEndian.PutUint64(b[24:], 1<<30-12)
		},
		"2G-labels": func(b []byte) {
			binary.LittleEndian.PutUint32(b[20:], 1)
			binary.LittleEndian.PutUint64(b[24:], 1<<31)
		},
	}
	dir := t.TempDir()
	for name, edit := range cases {
		data := append(bytes.Clone(head), make([]byte, 4096-len(head))...)
		edit(data)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readers := map[string]func() error{
			"ReadIndexFile":   func() error { _, err := ReadIndexFile(path); return err },
			"Model.Load":      func() error { return NewModel(Rows).Load(path) },
			"ReadIndex-sized": func() error { _, err := ReadIndex(bytes.NewReader(data)); return err },
			"ReadIndex-stream": func() error {
				_, err := ReadIndex(io.MultiReader(bytes.NewReader(data)))
				return err
			},
		}
		for reader, read := range readers {
			t.Run(name+"/"+reader, func(t *testing.T) {
				var err error
				start := time.Now()
				grew := testkit.Allocated(func() { err = read() })
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("err = %v, want ErrCorrupt", err)
				}
				if grew > limit || time.Since(start) > 5*time.Second {
					t.Errorf("allocated %d MB in %v reading 4 KB", grew>>20, time.Since(start))
				}
			})
		}
	}
	t.Run("dev-zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		var err error
		grew := testkit.Allocated(func() { _, err = ReadIndexFile("/dev/zero") })
		if !errors.Is(err, ErrCorrupt) || grew > limit {
			t.Errorf("ReadIndexFile: err = %v, allocated %d bytes", err, grew)
		}
		if err := NewModel(Rows).Load("/dev/zero"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Load: %v", err)
		}
	})
	t.Run("endless-after-valid-file", func(t *testing.T) {
		for _, v := range []uint32{1, 2, 3} {
			good := validFileVersion(t, true, v)
			var err error
			grew := testkit.Allocated(func() { _, err = ReadIndex(io.MultiReader(bytes.NewReader(good), zeros{})) })
			if !errors.Is(err, ErrCorrupt) || grew > limit {
				t.Errorf("version %d: err = %v, allocated %d bytes", v, err, grew)
			}
		}
	})
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestReadIndexPeak: reading an index whose size the reader knows (a
// regular file, a *bytes.Reader) allocates about the index itself, its
// buffers decoded into directly; a stream of unknown size at most about
// twice the index.
func TestReadIndexPeak(t *testing.T) {
	const n, d = 4096, 512 // 8 MiB of vectors, 32 KiB of labels
	f := IndexFile{Metric: knn.L2, Vectors: gometric.Matrix{Rows: n, Cols: d, Data: make([]float32, n*d)}, Labels: make([]int, n)}
	for i := range f.Vectors.Data {
		f.Vectors.Data[i] = float32(i % 1000)
	}
	for i := range f.Labels {
		f.Labels[i] = i
	}
	path := filepath.Join(t.TempDir(), "big.gmidx")
	if err := WriteIndexFile(path, f); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	index := uint64(4*n*d + 8*n)
	const slack = 512 << 10 // the read buffers
	for _, tc := range []struct {
		name string
		read func() (IndexFile, error)
		max  uint64
	}{
		{"ReadIndexFile", func() (IndexFile, error) { return ReadIndexFile(path) }, index + slack},
		{"ReadIndex-bytes.Reader", func() (IndexFile, error) { return ReadIndex(bytes.NewReader(data)) }, index + slack},
		{"ReadIndex-os.File", func() (IndexFile, error) {
			fh, err := os.Open(path)
			if err != nil {
				return IndexFile{}, err
			}
			defer fh.Close()
			return ReadIndex(fh)
		}, index + slack},
		{"ReadIndex-stream", func() (IndexFile, error) { return ReadIndex(io.MultiReader(bytes.NewReader(data))) }, 2*index + slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got IndexFile
			var err error
			grew := testkit.Allocated(func() { got, err = tc.read() })
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Vectors.Data, f.Vectors.Data) || !slices.Equal(got.Labels, f.Labels) {
				t.Fatal("content differs")
			}
			t.Logf("%.3f×", float64(grew)/float64(index))
			if grew > tc.max {
				t.Errorf("allocated %.2f× the index (%d bytes), want at most %.2f×", float64(grew)/float64(index), grew, float64(tc.max)/float64(index))
			}
		})
	}
}

// TestIndexSaveCleansLeftovers: WriteIndexFile and Model.Save remove the
// temporary files an interrupted write of the same path left behind (and
// only those), and write mode 0644.
func TestIndexSaveCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idx.gmidx")
	leftovers := []string{filepath.Join(dir, ".idx.gmidx.tmp-1"), filepath.Join(dir, ".idx.gmidx.tmp-2")}
	other := filepath.Join(dir, ".other.gmidx.tmp-1")
	for _, p := range append(slices.Clone(leftovers), other) {
		testkit.StaleFile(t, p)
	}
	if err := WriteIndexFile(path, testIndex(true, 3)); err != nil {
		t.Fatal(err)
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survives", p)
		}
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another target's temporary file was removed: %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v", st.Mode().Perm(), err)
	}
	testkit.StaleFile(t, leftovers[0])
	m := NewModel(Rows)
	if err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftovers[0]); !errors.Is(err, os.ErrNotExist) {
		t.Error("Model.Save left the leftover")
	}
}
