package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
)

func toyFeatures(t testing.TB) *Features {
	t.Helper()
	f, err := NewFeatures(3, []float32{0.1, -2, 3.5e-8, 1, 2, 3, 1e30, -0, 0.333333343}, []int{4, 0, 4})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// batchData returns the data of a Dataset.Batch result.
func batchData(m gometric.Matrix, _ []int, err error) ([]float32, error) { return m.Data, err }

func TestFeaturesRoundTrip(t *testing.T) {
	f := toyFeatures(t)
	for _, format := range []string{"binary", "csv"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var err error
			if format == "binary" {
				err = f.WriteBinary(&buf)
			} else {
				err = f.WriteCSV(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "f."+format)
			os.WriteFile(path, buf.Bytes(), 0o644)
			got, err := LoadFeatures(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dim() != 3 || !slices.Equal(got.Labels(), f.Labels()) || !slices.Equal(got.Data(), f.Data()) {
				t.Errorf("got %d %v %v", got.Dim(), got.Labels(), got.Data())
			}
		})
	}
	// The documented binary layout.
	var buf bytes.Buffer
	one, _ := NewFeatures(1, []float32{1}, []int{2})
	one.WriteBinary(&buf)
	want := append([]byte("GMFEATS2"), 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x80, 0x3f)
	want = binary.LittleEndian.AppendUint32(want, crc32.ChecksumIEEE(want))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("binary % x, want % x", buf.Bytes(), want)
	}
	// CSV with comments, blank lines and spaces.
	csv := "# label, features\n\n7, 1.5, -2\n 0,3,4e-1 \n"
	g, err := ReadFeatures(strings.NewReader(csv))
	if err != nil || !slices.Equal(g.Labels(), []int{7, 0}) || !slices.Equal(g.Data(), []float32{1.5, -2, 3, 0.4}) {
		t.Errorf("CSV: %v %v", g, err)
	}
}

func TestFeaturesDerived(t *testing.T) {
	f := toyFeatures(t)
	b, err := batchData(f.Batch([]int{2, 0}, gometric.Matrix{}))
	if err != nil || !slices.Equal(b, []float32{1e30, 0, 0.333333343, 0.1, -2, 3.5e-8}) {
		t.Errorf("Batch %v %v", b, err)
	}
	s, err := f.FilterClasses([]int{4})
	if err != nil || !slices.Equal(s.Labels(), []int{4, 4}) || !slices.Equal(s.Row(1), f.Row(2)) {
		t.Errorf("FilterClasses %v", err)
	}
	r, orig := f.Relabel()
	if !slices.Equal(r.Labels(), []int{1, 0, 1}) || !slices.Equal(orig, []int{0, 4}) {
		t.Errorf("Relabel %v %v", r.Labels(), orig)
	}
	sub, err := f.Subset([]int{1})
	if err != nil || sub.Len() != 1 || !slices.Equal(sub.SampleShape(), []int{3}) || !maps.Equal(f.ClassCounts(), map[int]int{0: 1, 4: 2}) {
		t.Errorf("Subset %v", err)
	}
	if _, err := batchData(f.Batch([]int{3}, gometric.Matrix{})); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("Batch out of range: %v", err)
	}
	tests := []struct {
		dim      int
		data     []float32
		labels   []int
		sentinel error
	}{
		{0, nil, []int{0}, gometric.ErrShape},
		{2, []float32{1, 2, 3}, []int{0, 1}, gometric.ErrShape},
		{1, []float32{1}, []int{-1}, gometric.ErrLabels},
		{1, []float32{float32(math.Inf(1))}, []int{0}, gometric.ErrNonFinite},
	}
	for i, tc := range tests {
		if _, err := NewFeatures(tc.dim, tc.data, tc.labels); !errors.Is(err, tc.sentinel) {
			t.Errorf("case %d: %v, want %v", i, err, tc.sentinel)
		}
	}
}

func TestFeaturesMalformed(t *testing.T) {
	bin := func(n, d uint32, labels []int32, data []float32, extra ...byte) []byte {
		return append(binio.Seal(unsealed(n, d, labels, data)), extra...)
	}
	v1 := unsealed(1, 1, []int32{1}, []float32{1})
	copy(v1, "GMFEATS1")
	nan := float32(math.NaN())
	tests := []struct {
		name     string
		data     []byte
		offset   int64 // binary
		line     int   // CSV
		sentinel error
	}{
		{"short header", []byte(FeaturesMagic + "\x01\x00"), 10, 0, gometric.ErrShape},
		{"zero samples", bin(0, 2, nil, nil), 8, 0, gometric.ErrShape},
		{"huge", bin(1<<31, 1<<20, nil, nil), 8, 0, gometric.ErrShape},
		{"N·D overflows int64", bin(math.MaxUint32, math.MaxUint32, nil, nil), 8, 0, gometric.ErrShape},
		{"N·(D+1) at 32 GiB", bin(math.MaxUint32, 1, nil, nil), 8, 0, gometric.ErrShape},
		{"D above 16 GiB", bin(2, math.MaxUint32, nil, nil), 8, 0, gometric.ErrShape},
		{"D at 16 GiB, short", bin(1, math.MaxUint32, []int32{1}, nil), 24, 0, gometric.ErrShape},
		{"16 GiB exactly, short", bin(1<<26, 63, nil, nil), 20, 0, gometric.ErrShape},
		{"truncated labels", unsealed(3, 1, []int32{1, 2}, nil), 24, 0, gometric.ErrShape},
		{"negative label", bin(2, 1, []int32{1, -2}, []float32{1, 2}), 20, 0, gometric.ErrLabels},
		{"truncated features", unsealed(2, 2, []int32{1, 2}, []float32{1, 2, 3}), 36, 0, gometric.ErrShape},
		{"NaN feature", bin(2, 2, []int32{1, 2}, []float32{1, 2, 3, nan}), 36, 0, gometric.ErrNonFinite},
		{"no checksum", unsealed(1, 1, []int32{1}, []float32{1}), 24, 0, gometric.ErrShape},
		{"short checksum", bin(1, 1, []int32{1}, []float32{1})[:26], 26, 0, gometric.ErrShape},
		{"bad checksum", append(unsealed(1, 1, []int32{1}, []float32{1}), 1, 2, 3, 4), 24, 0, gometric.ErrShape},
		{"trailing", bin(1, 1, []int32{1}, []float32{1}, 9), 28, 0, gometric.ErrShape},
		{"version 1", v1, 0, 0, gometric.ErrUnsupported},
		{"version 9", append([]byte("GMFEATS9"), bin(1, 1, []int32{1}, []float32{1})[8:]...), 0, 0, gometric.ErrUnsupported},
		{"csv one field", []byte("1,2\n3\n"), -1, 2, gometric.ErrShape},
		{"csv ragged", []byte("# c\n1,2,3\n\n3,4\n"), -1, 4, gometric.ErrShape},
		{"csv bad label", []byte("x,1\n"), -1, 1, gometric.ErrShape},
		{"csv negative label", []byte("1,1\n-1,2\n"), -1, 2, gometric.ErrLabels},
		{"csv label beyond int", []byte("1,1\n99999999999999999999,2\n"), -1, 2, gometric.ErrLabels},
		{"csv bad number", []byte("1,1\n2,1..5\n"), -1, 2, gometric.ErrShape},
		{"csv NaN", []byte("1,NaN\n"), -1, 1, gometric.ErrNonFinite},
		{"csv overflow", []byte("1,1e40\n"), -1, 1, gometric.ErrNonFinite},
		{"csv empty", []byte("# nothing\n"), -1, 0, gometric.ErrShape},
		{"csv long line", []byte("1," + strings.Repeat("1", maxCSVLine)), -1, 1, gometric.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			os.WriteFile(path, tc.data, 0o644)
			_, err := LoadFeatures(path)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, tc.sentinel) || fe.Path != path {
				t.Fatalf("%v: want a *FileError for %s wrapping %v", err, path, tc.sentinel)
			}
			if (tc.offset >= 0 && fe.Offset != tc.offset) || fe.Line != tc.line {
				t.Errorf("%v: want byte %d / line %d", err, tc.offset, tc.line)
			}
		})
	}
	if _, err := LoadFeatures(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

// unsealed is a binary feature file without its checksum.
func unsealed(n, d uint32, labels []int32, data []float32) []byte {
	b := []byte(FeaturesMagic)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = binary.LittleEndian.AppendUint32(b, d)
	for _, l := range labels {
		b = binary.LittleEndian.AppendUint32(b, uint32(l))
	}
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// TestFeaturesEveryFlip corrupts a small binary feature file at every
// byte (all bits, and single bits) and requires every corruption to be
// an error: the checksum covers the whole file, and a corrupted magic
// number is not taken for another format.
func TestFeaturesEveryFlip(t *testing.T) {
	var buf bytes.Buffer
	if err := toyFeatures(t).WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if _, err := ReadFeatures(bytes.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		for _, mask := range []byte{0xff, 0x01, 0x02, 0x10, 0x80} {
			b := slices.Clone(good)
			b[i] ^= mask
			f, err := ReadFeatures(bytes.NewReader(b))
			if err == nil {
				t.Fatalf("byte %d ^ %#02x: loaded %v %v", i, mask, f.Labels(), f.Data())
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("byte %d ^ %#02x: %v does not wrap ErrFormat", i, mask, err)
			}
		}
	}
	// Cut anywhere, or lengthened: an error too.
	for n := range len(good) {
		if _, err := ReadFeatures(bytes.NewReader(good[:n])); err == nil {
			t.Errorf("cut to %d bytes: no error", n)
		}
	}
	if _, err := ReadFeatures(bytes.NewReader(append(slices.Clone(good), 0))); err == nil {
		t.Error("a byte after the checksum: no error")
	}
}

// TestFeaturesSave writes a file atomically (mode 0644, no temporary file
// left, an existing file replaced whole) and reads it back.
func TestFeaturesSave(t *testing.T) {
	f := toyFeatures(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "feats.bin")
	os.WriteFile(path, []byte("old content"), 0o600)
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadFeatures(path)
	if err != nil || !slices.Equal(got.Labels(), f.Labels()) || !slices.Equal(got.Data(), f.Data()) {
		t.Fatalf("LoadFeatures(Save): %v", err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1", len(entries))
	}
	// A label the format cannot hold: an error, and the file is kept.
	big, _ := NewFeatures(1, []float32{1}, []int{math.MaxInt32 + 1})
	if err := big.Save(path); !errors.Is(err, gometric.ErrLabels) || !strings.HasPrefix(err.Error(), "datasets.Features.Save: ") {
		t.Errorf("Save(label 2^31): %v", err)
	}
	if _, err := LoadFeatures(path); err != nil {
		t.Errorf("the earlier file was damaged: %v", err)
	}
	for _, p := range []string{"", filepath.Join(dir, "missing", "f.bin")} {
		if err := f.Save(p); err == nil || !strings.HasPrefix(err.Error(), "datasets.Features.Save: ") {
			t.Errorf("Save(%q): %v", p, err)
		}
	}
}
