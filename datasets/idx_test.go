package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// idxBytes encodes x, gzip-compressed when gz.
func idxBytes(t testing.TB, x *IDX, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if !gz {
		if err := WriteIDX(&buf, x); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	zw := gzip.NewWriter(&buf)
	if err := WriteIDX(zw, x); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		x    *IDX
	}{
		{"images", &IDX{Dims: []int{3, 2, 4}, Data: []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 255}}},
		{"labels", &IDX{Dims: []int{5}, Data: []uint8{9, 0, 0, 3, 0}}},
		{"empty", &IDX{Dims: []int{0, 28, 28}, Data: []uint8{}}},
	}
	for _, tc := range tests {
		for _, gz := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := ReadIDX(bytes.NewReader(idxBytes(t, tc.x, gz)))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Dims, tc.x.Dims) || !bytes.Equal(got.Data, tc.x.Data) {
					t.Errorf("gz=%v: got %v %v, want %v %v", gz, got.Dims, got.Data, tc.x.Dims, tc.x.Data)
				}
			})
		}
	}
	// The header is the documented one: magic 0x00000803 then big-endian dims.
	b := idxBytes(t, &IDX{Dims: []int{2, 1, 1}, Data: []uint8{7, 8}}, false)
	want := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7, 8}
	if !bytes.Equal(b, want) {
		t.Errorf("WriteIDX wrote % x, want % x", b, want)
	}
}

func TestReadIDXMalformed(t *testing.T) {
	good := idxBytes(t, &IDX{Dims: []int{2, 2, 2}, Data: []uint8{1, 2, 3, 4, 5, 6, 7, 8}}, false)
	tests := []struct {
		name     string
		data     []byte
		offset   int64
		sentinel error
		msg      string
	}{
		{"empty", nil, 0, gometric.ErrShape, "magic"},
		{"short magic", []byte{0, 0, 8}, 3, gometric.ErrShape, "magic"},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 0}, 0, gometric.ErrShape, "bad magic"},
		{"float type", []byte{0, 0, 0x0d, 1, 0, 0, 0, 0}, 2, gometric.ErrUnsupported, "0x0d"},
		{"zero dims", []byte{0, 0, 8, 0}, 3, gometric.ErrShape, "zero dimensions"},
		{"truncated dims", []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, 10, gometric.ErrShape, "dimension 2 of 3"},
		{"truncated data", good[:len(good)-3], int64(len(good) - 3), gometric.ErrShape, "declare 8 data bytes but the file ends after 5"},
		{"trailing data", append(slices.Clone(good), 0), int64(len(good)), gometric.ErrShape, "trailing"},
		{"huge dims", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1}, 4, gometric.ErrShape, "more than MaxIDXBytes"},
		{"gz truncated data", gzipBytes(t, good[:len(good)-1]), int64(len(good) - 1), gometric.ErrShape, "uncompressed"},
		{"gz cut stream", gzipBytes(t, good)[:20], -2, gometric.ErrShape, ""},
		{"gz bad header", []byte{0x1f, 0x8b, 0, 0}, 0, gometric.ErrShape, "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatalf("no error, got %v", x.Dims)
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v: want a *FileError wrapping ErrFormat and %v", err, tc.sentinel)
			}
			if tc.offset >= 0 && fe.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, tc.offset, err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.ReadIDX: ") {
				t.Errorf("%q does not start with the component or lacks %q", err, tc.msg)
			}
		})
	}
}

func TestWriteIDXErrors(t *testing.T) {
	tests := []*IDX{nil, {}, {Dims: []int{2, 2}, Data: []uint8{1, 2, 3}}, {Dims: []int{-1}}}
	for i, x := range tests {
		if err := WriteIDX(&bytes.Buffer{}, x); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("case %d: %v, want ErrShape", i, err)
		}
	}
}

func TestNewImagesFromIDX(t *testing.T) {
	imgs := &IDX{Dims: []int{3, 1, 2}, Data: []uint8{1, 2, 3, 4, 5, 6}}
	labs := &IDX{Dims: []int{3}, Data: []uint8{2, 0, 1}}
	m, err := NewImagesFromIDX(imgs, labs, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if c, h, w := m.Shape(); m.Len() != 3 || c != 1 || h != 1 || w != 2 || !slices.Equal(m.Labels(), []int{2, 0, 1}) || !slices.Equal(m.Pixels(2), []uint8{5, 6}) {
		t.Errorf("got %d images %d×%d×%d, labels %v", m.Len(), c, h, w, m.Labels())
	}
	tests := []struct {
		name     string
		imgs     *IDX
		labs     *IDX
		classes  []string
		offset   int64
		sentinel error
	}{
		{"images 2-D", &IDX{Dims: []int{3, 2}, Data: make([]uint8, 6)}, labs, nil, 3, gometric.ErrShape},
		{"labels 2-D", imgs, &IDX{Dims: []int{3, 1}, Data: []uint8{0, 0, 0}}, nil, 3, gometric.ErrShape},
		{"count mismatch", imgs, &IDX{Dims: []int{2}, Data: []uint8{0, 0}}, nil, 4, gometric.ErrShape},
		{"label out of range", imgs, &IDX{Dims: []int{3}, Data: []uint8{0, 3, 1}}, []string{"a", "b", "c"}, 9, gometric.ErrLabels},
		{"no images", &IDX{Dims: []int{0, 1, 2}, Data: nil}, &IDX{Dims: []int{0}}, nil, 4, gometric.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewImagesFromIDX(tc.imgs, tc.labs, tc.classes)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, tc.sentinel) || fe.Offset != tc.offset {
				t.Fatalf("%v: want a *FileError at byte %d wrapping %v", err, tc.offset, tc.sentinel)
			}
		})
	}
	if _, err := NewImagesFromIDX(nil, labs, nil); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("nil IDX: %v", err)
	}
}

func TestLoadIDXNamesPath(t *testing.T) {
	dir := t.TempDir()
	imgPath := filepath.Join(dir, "img.gz")
	labPath := filepath.Join(dir, "lab")
	os.WriteFile(imgPath, idxBytes(t, &IDX{Dims: []int{2, 1, 1}, Data: []uint8{3, 4}}, true), 0o644)
	os.WriteFile(labPath, []byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 5}, 0o644)
	m, err := LoadIDX(imgPath, labPath, nil)
	if err != nil || !slices.Equal(m.Labels(), []int{1, 5}) {
		t.Fatalf("LoadIDX: %v, %v", m, err)
	}
	_, err = LoadIDX(imgPath, labPath, []string{"a", "b"})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != labPath || fe.Offset != 9 || !strings.Contains(err.Error(), labPath+": byte 9: label 5 of image 1") {
		t.Errorf("out-of-range label: %v", err)
	}
	os.WriteFile(labPath, []byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 5}, 0o644)
	_, err = LoadIDX(imgPath, labPath, nil)
	if !errors.As(err, &fe) || fe.Path != labPath || fe.Offset != 10 {
		t.Errorf("truncated labels: %v", err)
	}
	_, err = LoadIDX(filepath.Join(dir, "missing"), labPath, nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadIDXFile(imgPath); err != nil {
		t.Error(err)
	}
}
