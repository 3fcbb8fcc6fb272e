package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/testkit"
)

// weightHeader returns the framing and JSON header of a weight file for
// kind/config with the given parameters (no weights, no checksum).
func weightHeader(t testing.TB, kind string, config any, params []fileParam) []byte {
	cfg, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	hj, err := json.Marshal(fileHeader{Kind: kind, Config: cfg, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(weightMagic)
	b = binary.LittleEndian.AppendUint32(b, weightVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hj)))
	return append(b, hj...)
}

// savedBytes returns the weight file enc.Save writes.
func savedBytes(t testing.TB, enc Encoder) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.gmw")
	if err := enc.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// endless is an io.Reader that never ends: prefix, then zeros.
type endless struct{ prefix []byte }

func (e *endless) Read(p []byte) (int, error) {
	if len(e.prefix) > 0 {
		n := copy(p, e.prefix)
		e.prefix = e.prefix[n:]
		return n, nil
	}
	clear(p)
	return len(p), nil
}

// TestWeightFileMemoryBound: files and streams that declare far more than
// they hold — a 4 KB file whose header declares a 1 GB network, a header
// length of 4 GB, /dev/zero, a valid file followed by endless bytes — fail
// fast, with the heap growing by far less than the claim (64 MB at most),
// through every reader (LoadEncoder, ConvNet.Load, MLP.Load; regular files
// and streams).
func TestWeightFileMemoryBound(t *testing.T) {
	const limit = 64 << 20
	sizes := []int{16000, 16000} // 256 million values: 1 GB of weights
	huge := weightHeader(t, "MLP", MLPConfig{Sizes: sizes}, []fileParam{
		{"fc1.weight", []int{16000, 16000}}, {"fc1.bias", []int{16000}}})
	huge = append(huge, make([]byte, 4096-len(huge))...)
	longHeader := binary.LittleEndian.AppendUint32([]byte(weightMagic+"\x01\x00\x00\x00"), 1<<32-1)
	longHeader = append(longHeader, make([]byte, 4096-len(longHeader))...)
	mlp, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	good := savedBytes(t, mlp)
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte
	}{{"4KB-declaring-1GB", huge}, {"header-length-4GB", longHeader}}
	for _, tc := range cases {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		readers := map[string]func() error{
			"LoadEncoder":        func() error { _, err := LoadEncoder(path); return err },
			"LoadEncoder-stream": func() error { _, err := decodeEncoder(path, bytes.NewReader(tc.data), -1); return err },
			"MLP.Load":           func() error { return mlp.Load(path) },
			"MLP.Load-stream":    func() error { return mlp.load(path, bytes.NewReader(tc.data), -1) },
			"ConvNet.Load":       func() error { return conv.Load(path) },
		}
		for name, read := range readers {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				var err error
				start := time.Now()
				grew := testkit.Allocated(func() { err = read() })
				if !errors.Is(err, ErrWeightFile) || !errors.Is(err, gometric.ErrShape) {
					t.Errorf("err = %v, want ErrWeightFile and ErrShape", err)
				}
				if grew > limit {
					t.Errorf("allocated %d MB reading a 4 KB file", grew>>20)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
	// An endless stream after a valid file, and one after a valid header.
	streams := map[string][]byte{"valid-file": good, "valid-header": good[:len(good)-4-2*3*4]}
	for name, prefix := range streams {
		t.Run("endless-after-"+name, func(t *testing.T) {
			var err error
			grew := testkit.Allocated(func() { _, err = decodeEncoder("stream", &endless{prefix: prefix}, -1) })
			if !errors.Is(err, ErrWeightFile) {
				t.Errorf("LoadEncoder: err = %v, want ErrWeightFile", err)
			}
			if grew > limit {
				t.Errorf("allocated %d MB", grew>>20)
			}
			if err := mlp.load("stream", &endless{prefix: prefix}, -1); !errors.Is(err, ErrWeightFile) {
				t.Errorf("MLP.Load: err = %v, want ErrWeightFile", err)
			}
		})
	}
	t.Run("dev-zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		var err error
		grew := testkit.Allocated(func() { _, err = LoadEncoder("/dev/zero") })
		if !errors.Is(err, ErrWeightFile) || grew > limit {
			t.Errorf("LoadEncoder: err = %v, allocated %d bytes", err, grew)
		}
		for _, enc := range []Encoder{mlp, conv} {
			if err := enc.Load("/dev/zero"); !errors.Is(err, ErrWeightFile) {
				t.Errorf("Load: err = %v", err)
			}
		}
	})
}

func slicesEqualParams(a, b []*Param) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := a[i].Float32s()
		y, _ := b[i].Float32s()
		if fmt.Sprint(x) != fmt.Sprint(y) {
			return false
		}
	}
	return true
}

// TestWeightFileEveryFlip: flipping any byte of a valid weight file (all
// bits, the lowest and the highest), of either kind, is an error for
// every reader — never a silently different encoder.
func TestWeightFileEveryFlip(t *testing.T) {
	mlp, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{1}, Embedding: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []Encoder{mlp, conv} {
		good := savedBytes(t, enc)
		load := func(data []byte, size int64) error {
			if m, ok := enc.(*MLP); ok {
				return m.load("flip", bytes.NewReader(data), size)
			}
			return enc.(*ConvNet).load("flip", bytes.NewReader(data), size)
		}
		if err := load(good, int64(len(good))); err != nil {
			t.Fatal(err)
		}
		for i := range good {
			for _, mask := range []byte{0xff, 0x01, 0x80} {
				data := bytes.Clone(good)
				data[i] ^= mask
				for _, size := range []int64{int64(len(data)), -1} {
					if _, err := decodeEncoder("flip", bytes.NewReader(data), size); err == nil {
						t.Fatalf("%T: LoadEncoder (size %d) accepted byte %d ^ %#x", enc, size, i, mask)
					}
					if err := load(data, size); err == nil {
						t.Fatalf("%T: Load (size %d) accepted byte %d ^ %#x", enc, size, i, mask)
					}
				}
			}
		}
	}
}

// TestWeightFileCompatible: a file in the format written before the
// framing moved to internal/binio (built here byte by byte, the checksum
// computed separately) still loads, and Save writes the same bytes.
func TestWeightFileCompatible(t *testing.T) {
	mlp, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	var params []fileParam
	var body []byte
	for _, p := range mlp.Params() {
		params = append(params, fileParam{p.Name(), p.Shape()})
		v, _ := p.Float32s()
		for _, x := range v {
			body = binary.LittleEndian.AppendUint32(body, math.Float32bits(x))
		}
	}
	data := append(weightHeader(t, "MLP", mlp.Config(), params), body...)
	data = binary.LittleEndian.AppendUint32(data, binio.Sum(data))
	if got := savedBytes(t, mlp); !bytes.Equal(got, data) {
		t.Fatalf("Save writes\n%q\nwant\n%q", got, data)
	}
	enc, err := decodeEncoder("old", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !slicesEqualParams(enc.Params(), mlp.Params()) {
		t.Error("weights differ")
	}
}

// TestConcurrentSaveLoad backs the claim that an encoder is safe for
// concurrent use with its file methods: Save (to one path and to
// several), Load, Embed and Params run from several goroutines (run with
// -race); every file written loads.
func TestConcurrentSaveLoad(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{4, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared.gmw")
	if err := m.Save(shared); err != nil {
		t.Fatal(err)
	}
	x := randTensor(1, 5, 4)
	want, err := m.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 8, 3, func(g int) error {
		switch g % 4 {
		case 0:
			return m.Save(shared)
		case 1:
			return m.Save(filepath.Join(dir, fmt.Sprintf("own-%d.gmw", g)))
		case 2:
			if err := m.Load(shared); err != nil {
				return err
			}
			_, err := LoadEncoder(shared)
			return err
		}
		e, err := m.Embed(x)
		if err == nil && !slices.Equal(e.Data, want.Data) {
			err = errors.New("different embeddings")
		}
		_ = m.Params()
		return err
	})
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

// TestSaveCleansLeftovers: Save removes the temporary files an
// interrupted Save of the same path left behind (and only those), writes
// mode 0644 and leaves no temporary file of its own.
func TestSaveCleansLeftovers(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "w.gmw")
	leftovers := []string{filepath.Join(dir, ".w.gmw.tmp-123"), filepath.Join(dir, ".w.gmw.tmp-456")}
	other := filepath.Join(dir, ".v.gmw.tmp-123")
	for _, p := range append(slices.Clone(leftovers), other) {
		testkit.StaleFile(t, p)
	}
	if err := m.Save(path); err != nil {
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
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want the file and the other target's leftover", len(ents))
	}
}
