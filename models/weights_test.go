package models

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// train takes a few Adam steps so the weights are not the initial ones.
func train(t *testing.T, enc Encoder, x gometric.Matrix, steps int) {
	t.Helper()
	opt, err := NewOptimizer("adam", 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < steps; i++ {
		if _, err := enc.TrainStep(x, sumSquares); err != nil {
			t.Fatal(err)
		}
		if err := enc.Step(opt); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		make  func(seed uint64) (Encoder, error)
		input []int
	}{
		{"ConvNet", func(seed uint64) (Encoder, error) {
			return NewConvNet(ConvNetConfig{Channels: 2, Height: 8, Width: 6, Blocks: []int{3, 5}, Embedding: 4, Seed: seed})
		}, []int{2, 8, 6}},
		{"MLP", func(seed uint64) (Encoder, error) { return NewMLP(MLPConfig{Sizes: []int{6, 5, 3}, Seed: seed}) }, []int{6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := tc.make(1)
			if err != nil {
				t.Fatal(err)
			}
			x := randTensor(7, append([]int{5}, tc.input...)...)
			train(t, src, x, 3)
			want, err := src.Embed(x)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.name+".gmw")
			if err := src.Save(path); err != nil {
				t.Fatal(err)
			}
			// Saving again replaces the file atomically and leaves no
			// temporary file behind.
			if err := src.Save(path); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return strings.Contains(e.Name(), ".tmp-") }) {
				t.Fatalf("temporary file left: %v", ents)
			}
			// Into an encoder of the same architecture, other seed.
			dst, err := tc.make(2)
			if err != nil {
				t.Fatal(err)
			}
			if err := dst.Load(path); err != nil {
				t.Fatal(err)
			}
			got, err := dst.Embed(x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Data, want.Data) {
				t.Fatal("loaded encoder gives different embeddings")
			}
			// LoadEncoder rebuilds the architecture from the file.
			enc, err := LoadEncoder(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err = enc.Embed(x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Data, want.Data) {
				t.Fatal("LoadEncoder gives different embeddings")
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSaveErrors(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(t.TempDir(), "no-such-dir", "w.gmw")); err == nil || !strings.HasPrefix(err.Error(), "models.MLP.Save: ") {
		t.Errorf("save into a missing directory: %v", err)
	}
	v, _ := m.Params()[0].Float32s()
	v[1] = float32(math.NaN())
	path := filepath.Join(t.TempDir(), "w.gmw")
	if err := m.Save(path); !errors.Is(err, gometric.ErrNonFinite) {
		t.Errorf("save NaN weights: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed save left %s", path)
	}
}

// rewrite returns data with its checksum recomputed.
func rewrite(data []byte) []byte {
	out := slices.Clone(data)
	binary.LittleEndian.PutUint32(out[len(out)-4:], crc32.ChecksumIEEE(out[:len(out)-4]))
	return out
}

func TestCorruptWeightFiles(t *testing.T) {
	dir := t.TempDir()
	m, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 3, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.gmw")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	hl := int(binary.LittleEndian.Uint32(data[12:]))
	weights := 16 + hl
	other, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{3}, Embedding: 3})
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other.gmw")
	if err := other.Save(otherPath); err != nil {
		t.Fatal(err)
	}
	otherData, _ := os.ReadFile(otherPath)
	mlp, _ := NewMLP(MLPConfig{Sizes: []int{16, 3}})
	mlpPath := filepath.Join(dir, "mlp.gmw")
	if err := mlp.Save(mlpPath); err != nil {
		t.Fatal(err)
	}
	mlpData, _ := os.ReadFile(mlpPath)

	nan := slices.Clone(data)
	binary.LittleEndian.PutUint32(nan[weights+8:], math.Float32bits(float32(math.NaN())))
	badVersion := slices.Clone(data)
	badVersion[8] = 2
	flipped := slices.Clone(data)
	flipped[weights+5] ^= 0x10
	longHeader := slices.Clone(data)
	binary.LittleEndian.PutUint32(longHeader[12:], 1<<30)
	badJSON := slices.Clone(data)
	badJSON[16] = '['
	extra := rewrite(append(slices.Clone(data[:len(data)-4]), 0, 0, 0, 0, 0, 0, 0, 0))
	kind := rewrite([]byte(strings.Replace(string(data), `"kind":"ConvNet"`, `"kind":"ConvNeX"`, 1)))

	tests := []struct {
		name     string
		data     []byte
		sentinel error
		offset   string
	}{
		{"empty", nil, gometric.ErrShape, "offset 0"},
		{"truncated frame", data[:10], gometric.ErrShape, "offset 10"},
		{"truncated", data[:len(data)-9], gometric.ErrShape, "offset"},
		{"bad magic", append([]byte("NOTMAGIC"), data[8:]...), gometric.ErrShape, "offset 0"},
		{"version", badVersion, gometric.ErrUnsupported, "offset 8"},
		{"header length", longHeader, gometric.ErrShape, "offset 12"},
		{"flipped bit", flipped, gometric.ErrShape, "checksum"},
		{"header json", rewrite(badJSON), gometric.ErrShape, "offset 23"},
		{"extra weights", extra, gometric.ErrShape, "offset"},
		{"nan weight", rewrite(nan), gometric.ErrNonFinite, "offset " + itoa(weights+8)},
		{"other architecture", otherData, gometric.ErrShape, "offset 16"},
		{"other kind", mlpData, gometric.ErrShape, "offset 16"},
		{"unknown kind", kind, gometric.ErrShape, "offset 16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".gmw")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			before, _ := m.Embed(randTensor(1, 2, 1, 4, 4))
			err := m.Load(path)
			if !errors.Is(err, tc.sentinel) || !errors.Is(err, ErrWeightFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.offset) {
				t.Errorf("Load: %v; want %v, ErrWeightFile, the path and %q", err, tc.sentinel, tc.offset)
			}
			after, _ := m.Embed(randTensor(1, 2, 1, 4, 4))
			if !slices.Equal(before.Data, after.Data) {
				t.Error("a failed Load changed the weights")
			}
			if tc.name == "other architecture" || tc.name == "other kind" {
				return // valid files of another encoder
			}
			if _, err := LoadEncoder(path); !errors.Is(err, ErrWeightFile) || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadEncoder: %v", err)
			}
		})
	}
	if _, err := LoadEncoder(filepath.Join(dir, "missing.gmw")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := m.Load(filepath.Join(dir, "missing.gmw")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := m.Load(good); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}
