package inference

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/utils/knn"
)

// TestSaveLoadRoundTrip: a loaded model searches exactly like the saved
// one, with its labels and metric, whatever index the loader builds.
func TestSaveLoadRoundTrip(t *testing.T) {
	data := newBlobs(6, 4, 25, 7)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		metric   knn.Metric
		labelled bool
	}{{"l2-labelled", knn.L2, true}, {"ip-unlabelled", knn.InnerProduct, false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(data.embed)
			m.Metric = tc.metric
			var labels []int
			if tc.labelled {
				labels = data.labels[:80]
			}
			if err := m.Train(ctx, ids(0, 60), labels[:min(len(labels), 60)]); err != nil {
				t.Fatal(err)
			}
			if err := m.Add(ctx, ids(60, 80), labels[min(len(labels), 60):]); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "index.gmidx")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(48 + 80*7*4)
			if tc.labelled {
				want += 80 * 8
			}
			if st.Size() != want || st.Mode().Perm() != 0o644 {
				t.Errorf("file has %d bytes, mode %v; want %d, 0644", st.Size(), st.Mode().Perm(), want)
			}
			loaded := NewModel(data.embed) // default Metric L2: Load sets the file's
			if err := loaded.Load(path); err != nil {
				t.Fatal(err)
			}
			if loaded.Metric != tc.metric || loaded.Index().Metric() != tc.metric || loaded.Len() != 80 {
				t.Fatalf("loaded: Metric %v, index metric %v, Len %d", loaded.Metric, loaded.Index().Metric(), loaded.Len())
			}
			if !slices.Equal(loaded.Labels(), labels) {
				t.Errorf("labels %v, want %v", loaded.Labels(), labels)
			}
			queries := ids(80, 100)
			a, err := m.NearestNeighbors(queries, 10)
			if err != nil {
				t.Fatal(err)
			}
			b, err := loaded.NearestNeighbors(queries, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Indices, b.Indices) || !slices.Equal(a.Distances, b.Distances) {
				t.Error("search results differ after Save and Load")
			}
			// Loading into the test double gives the same neighbours.
			dbl := NewModel(data.embed)
			built := 0
			dbl.NewIndex = func(dim int, metric knn.Metric) (knn.Index, error) {
				built++
				return &bruteIndex{dim: dim, metric: metric}, nil
			}
			if err := dbl.Load(path); err != nil || built != 1 {
				t.Fatalf("Load with NewIndex: %v (built %d)", err, built)
			}
			c, err := dbl.NearestNeighbors(queries, 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameNeighbours(a, c, 1e-5); err != nil {
				t.Error(err)
			}
			// Saving the loaded model reproduces the file byte for byte.
			path2 := filepath.Join(t.TempDir(), "again")
			if err := loaded.Save(path2); err != nil {
				t.Fatal(err)
			}
			b1, _ := os.ReadFile(path)
			b2, _ := os.ReadFile(path2)
			if !bytes.Equal(b1, b2) {
				t.Error("re-saved file differs")
			}
		})
	}
}

// validFile returns the bytes of a small index file of the current
// version, labelled and with a threshold or neither.
func validFile(t testing.TB, labelled bool) []byte {
	return validFileVersion(t, labelled, IndexVersion)
}

// testIndex is the content of validFile: labelled (with a threshold from
// version 2 on) or neither.
func testIndex(labelled bool, version uint32) IndexFile {
	f := IndexFile{Metric: knn.InnerProduct, Vectors: gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{1, 2, 3, 4, 5, -6}}}
	if labelled {
		f.Labels = []int{7, -8, 1 << 40}
		if version >= 2 {
			f.Threshold = &Threshold{Measure: MeasureCosine, Value: 0.75}
		}
	}
	return f
}

// validFileVersion returns the bytes of a small index file in format
// version 1, 2 or 3 (a labelled file of version 2 or 3 holds a threshold).
func validFileVersion(t testing.TB, labelled bool, version uint32) []byte {
	t.Helper()
	return encodeVersion(t, testIndex(labelled, version), version)
}

// encodeVersion encodes f in a format version: WriteIndex for the current
// one, encodeLegacy for versions 1 and 2.
func encodeVersion(t testing.TB, f IndexFile, version uint32) []byte {
	t.Helper()
	if version == IndexVersion {
		var buf bytes.Buffer
		if err := WriteIndex(&buf, f); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	b, err := encodeLegacy(f, version)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeLegacy writes f in format version 1 or 2, as WriteIndex did before
// version 3 (ReadIndex still reads them; nothing writes them): the 32-byte
// header, for version 2 the measure, a reserved 0 and the threshold, the
// vectors and labels, and a CRC-32C of every preceding byte.
func encodeLegacy(f IndexFile, version uint32) ([]byte, error) {
	if err := f.validate("encodeLegacy"); err != nil {
		return nil, err
	}
	if version == 1 && f.Threshold != nil {
		return nil, fmt.Errorf("format version 1 cannot hold a threshold: %w", gometric.ErrUnsupported)
	}
	le := binary.LittleEndian
	b := le.AppendUint32([]byte(indexMagic), version)
	b = le.AppendUint32(b, uint32(f.Metric))
	var flags uint32
	if f.Labels != nil {
		flags = flagLabels
	}
	b = le.AppendUint32(le.AppendUint32(b, flags), uint32(f.Vectors.Cols))
	b = le.AppendUint64(b, uint64(f.Vectors.Rows))
	if version == 2 {
		var measure uint32
		var value float64
		if t := f.Threshold; t != nil {
			measure, value = uint32(t.Measure), t.Value
		}
		b = le.AppendUint64(le.AppendUint32(le.AppendUint32(b, measure), 0), math.Float64bits(value))
	}
	for _, v := range f.Vectors.Data {
		b = le.AppendUint32(b, math.Float32bits(v))
	}
	for _, l := range f.Labels {
		b = le.AppendUint64(b, uint64(int64(l)))
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// reseal recomputes the trailing checksum after an edit, in the file's
// own version's checksum.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	sum := binio.Sum(body)
	if v := binary.LittleEndian.Uint32(b[8:]); v < 3 {
		sum = crc32.Checksum(body, castagnoli)
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], sum)
	return b
}

func TestWriteIndexLayout(t *testing.T) {
	b := validFile(t, true)
	if len(b) != 48+3*2*4+3*8 {
		t.Fatalf("%d bytes", len(b))
	}
	le := binary.LittleEndian
	if string(b[:8]) != "GMKNNIDX" || le.Uint32(b[8:]) != 3 || le.Uint32(b[12:]) != 1 || le.Uint32(b[16:]) != 1 ||
		le.Uint32(b[20:]) != 2 || le.Uint64(b[24:]) != 3 ||
		le.Uint32(b[32:]) != 1 || math.Float64frombits(le.Uint64(b[36:])) != 0.75 {
		t.Errorf("header % x", b[:44])
	}
	if math.Float32frombits(le.Uint32(b[44+5*4:])) != -6 || int64(le.Uint64(b[68+8:])) != -8 {
		t.Error("payload misplaced")
	}
	if le.Uint32(b[len(b)-4:]) != crc32.ChecksumIEEE(b[:len(b)-4]) {
		t.Error("checksum is not CRC-32 (IEEE) of the preceding bytes")
	}
	f, err := ReadIndex(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, testIndex(true, 3)) {
		t.Errorf("read back %+v", f)
	}
	// Without labels and threshold the extension is zero.
	b = validFile(t, false)
	if len(b) != 48+3*2*4 || le.Uint32(b[16:]) != 0 || le.Uint32(b[32:]) != 0 || le.Uint64(b[36:]) != 0 {
		t.Errorf("plain file: %d bytes, header % x", len(b), b[:44])
	}
	// Every version reads back what was encoded.
	for _, v := range []uint32{1, 2, 3} {
		for _, labelled := range []bool{false, true} {
			f, err := ReadIndex(bytes.NewReader(validFileVersion(t, labelled, v)))
			if err != nil || !reflect.DeepEqual(f, testIndex(labelled, v)) {
				t.Errorf("version %d, labelled %v: %+v, %v", v, labelled, f, err)
			}
		}
	}
}

// TestCorruptFiles: every kind of damage gives an error naming the file and
// the byte offset, through ReadIndexFile, Model.Load and ReadIndex.
func TestCorruptFiles(t *testing.T) {
	for _, version := range []uint32{1, 2, 3} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { testCorruptFiles(t, version) })
	}
}

func testCorruptFiles(t *testing.T, version uint32) {
	good := validFileVersion(t, true, version)
	n := len(good)
	h := int(headerLen(version))
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	put32 := func(off int, v uint32) []byte {
		return edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b })
	}
	type corruptCase struct {
		name     string
		data     []byte
		offset   int
		sentinel error
		fragment string
	}
	tests := []corruptCase{
		{"empty", nil, 0, gometric.ErrShape, "truncated"},
		{"short-header", good[:5], 5, gometric.ErrShape, "truncated"},
		{"header-only", good[:h], h, gometric.ErrShape, "truncated"},
		{"mid-vectors", good[:h+9], h + 9, gometric.ErrShape, "truncated"},
		{"mid-labels", good[:h+28], h + 28, gometric.ErrShape, "truncated"},
		{"no-checksum", good[:n-4], n - 4, gometric.ErrShape, "truncated"},
		{"half-checksum", good[:n-2], n - 2, gometric.ErrShape, "truncated"},
		{"trailing", append(bytes.Clone(good), 0), n, gometric.ErrShape, "trailing"},
		{"magic", edit(func(b []byte) []byte { b[3] = 'x'; return b }), 0, gometric.ErrShape, "magic"},
		{"version", put32(8, 4), 8, gometric.ErrUnsupported, "version 4"},
		{"version-0", put32(8, 0), 8, gometric.ErrUnsupported, "version 0"},
		{"metric", put32(12, 5), 12, gometric.ErrShape, "metric 5"},
		{"flags", put32(16, 3), 16, gometric.ErrShape, "flags"},
		{"dim-zero", put32(20, 0), 20, gometric.ErrShape, "dimension 0"},
		{"dim-huge", put32(20, 1<<30), 20, gometric.ErrShape, "dimension"},
		{"count-zero", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 0); return b }), 24, gometric.ErrShape, "vector count 0"},
		{"count-absurd", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 1<<62); return b }), 24, gometric.ErrShape, "vector count"},
		{"count-larger", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 4); return b }), n, gometric.ErrShape, "truncated"},
		{"count-smaller", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 2); return b }), n - 8 - 8, gometric.ErrShape, "trailing"},
		{"flipped-vector", edit(func(b []byte) []byte { b[h+8] ^= 1; return b }), n - 4, gometric.ErrShape, "checksum"},
		{"flipped-label", edit(func(b []byte) []byte { b[h+28] ^= 0x80; return b }), n - 4, gometric.ErrShape, "checksum"},
		{"flipped-checksum", edit(func(b []byte) []byte { b[n-1] ^= 1; return b }), n - 4, gometric.ErrShape, "checksum"},
		{"nan", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[h+3*4:], math.Float32bits(float32(math.NaN())))
			return reseal(b)
		}), h + 12, gometric.ErrNonFinite, "vector 1, component 1"},
		{"inf", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[h:], math.Float32bits(float32(math.Inf(-1))))
			return reseal(b)
		}), h, gometric.ErrNonFinite, "vector 0, component 0"},
	}
	if version >= 2 {
		value := 40 // the threshold's offset
		if version == 3 {
			value = 36
		}
		tests = append(tests,
			corruptCase{"mid-threshold", good[:40], 40, gometric.ErrShape, "truncated"},
			corruptCase{"measure", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[32:], 7); return reseal(b) }), 32, gometric.ErrShape, "measure 7"},
			corruptCase{"threshold-nan", edit(func(b []byte) []byte {
				binary.LittleEndian.PutUint64(b[value:], math.Float64bits(math.NaN()))
				return reseal(b)
			}), value, gometric.ErrShape, "threshold is NaN"},
			corruptCase{"threshold-without-measure", edit(func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[32:], 0)
				return reseal(b)
			}), value, gometric.ErrShape, "without a measure"},
			corruptCase{"flipped-threshold", edit(func(b []byte) []byte { b[value+4] ^= 1; return b }), n - 4, gometric.ErrShape, "checksum"},
		)
	}
	if version == 2 {
		tests = append(tests,
			corruptCase{"reserved", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[36:], 1); return reseal(b) }), 36, gometric.ErrShape, "reserved"})
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".gmidx")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			checkErr := func(how string, err error, wantPath bool) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", how)
				}
				if !errors.Is(err, tc.sentinel) {
					t.Errorf("%s: %v does not wrap %v", how, err, tc.sentinel)
				}
				if tc.sentinel != gometric.ErrUnsupported && !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s: %v does not wrap ErrCorrupt", how, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, fmt.Sprintf("byte %d:", tc.offset)) || !strings.Contains(msg, tc.fragment) {
					t.Errorf("%s: %q, want byte %d and %q", how, msg, tc.offset, tc.fragment)
				}
				if wantPath && !strings.Contains(msg, path) {
					t.Errorf("%s: %q does not name the file", how, msg)
				}
			}
			_, err := ReadIndexFile(path)
			checkErr("ReadIndexFile", err, true)
			if !strings.HasPrefix(err.Error(), "inference.ReadIndexFile: ") {
				t.Errorf("%q", err)
			}
			m := NewModel(Rows)
			err = m.Load(path)
			checkErr("Load", err, true)
			if m.Index() != nil {
				t.Error("a failed Load changed the model")
			}
			// Without a known size, the stream reader finds the same
			// problems, though it may see them at a later byte (it reads
			// until the data runs out).
			if _, err := ReadIndex(bytes.NewReader(tc.data)); err == nil || !errors.Is(err, tc.sentinel) {
				t.Errorf("ReadIndex: %v, want an error wrapping %v", err, tc.sentinel)
			}
		})
	}
}

// TestReadIndexHugeHeader: a header claiming far more data than is present
// fails at the end of the data without allocating for the claim.
func TestReadIndexHugeHeader(t *testing.T) {
	b := validFile(t, false)
	binary.LittleEndian.PutUint32(b[20:], 1<<24)    // dim
	binary.LittleEndian.PutUint64(b[24:], 1<<30-12) // 2^54 values claimed
	allocs := testing.AllocsPerRun(5, func() {
		_, err := ReadIndex(io.MultiReader(bytes.NewReader(b))) // size unknown
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("byte %d:", len(b))) {
			t.Fatalf("error %v", err)
		}
	})
	if allocs > 30 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestWriteIndexErrors(t *testing.T) {
	tests := []struct {
		name     string
		f        IndexFile
		sentinel error
	}{
		{"empty", IndexFile{}, gometric.ErrShape},
		{"ragged", IndexFile{Vectors: gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, 3}}}, gometric.ErrShape},
		{"nan", IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{float32(math.NaN())}}}, gometric.ErrNonFinite},
		{"metric", IndexFile{Metric: 9, Vectors: gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}}, gometric.ErrSetting},
		{"labels", IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}, Labels: []int{1, 2}}, gometric.ErrLabels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteIndex(&buf, tc.f)
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "inference.WriteIndex: ") || buf.Len() != 0 {
				t.Errorf("error %v (%d bytes written), want one wrapping %v and nothing written", err, buf.Len(), tc.sentinel)
			}
		})
	}
	// A short write is reported.
	if err := WriteIndex(failingWriter{}, IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}}); err == nil {
		t.Error("no error from a failing writer")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteIndexFileAtomic: a failed write leaves the old file and no
// temporary files; a successful one replaces the file completely.
func TestWriteIndexFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idx")
	old := IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{1, 2}}}
	if err := WriteIndexFile(path, old); err != nil {
		t.Fatal(err)
	}
	bad := IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{1, float32(math.Inf(1))}}}
	if err := WriteIndexFile(path, bad); !errors.Is(err, gometric.ErrNonFinite) {
		t.Fatalf("error %v", err)
	}
	if err := WriteIndexFile(filepath.Join(dir, "no-such-dir", "idx"), old); err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("missing directory: %v", err)
	}
	got, err := ReadIndexFile(path)
	if err != nil || !slices.Equal(got.Vectors.Data, old.Vectors.Data) {
		t.Fatalf("old file damaged: %+v, %v", got, err)
	}
	newer := IndexFile{Metric: knn.InnerProduct, Vectors: gometric.Matrix{Rows: 2, Cols: 1, Data: []float32{3, 4}}, Labels: []int{5, 6}}
	if err := WriteIndexFile(path, newer); err != nil {
		t.Fatal(err)
	}
	got, err = ReadIndexFile(path)
	if err != nil || got.Metric != knn.InnerProduct || !slices.Equal(got.Vectors.Data, newer.Vectors.Data) || !slices.Equal(got.Labels, newer.Labels) {
		t.Fatalf("replaced file: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only idx", names)
	}
}
