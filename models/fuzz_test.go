package models

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gometric/gometric"
)

// FuzzWeightFile feeds arbitrary bytes to the weight-file readers
// (LoadEncoder, ConvNet.Load, MLP.Load): they must return an error or a
// working encoder, never panic.
func FuzzWeightFile(f *testing.F) {
	dir := f.TempDir()
	conv, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 2, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	mlp, err := NewMLP(MLPConfig{Sizes: []int{3, 2}, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	for _, enc := range []Encoder{conv, mlp} {
		path := filepath.Join(dir, "seed.gmw")
		if err := enc.Save(path); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(rewrite(data[:len(data)-8]))
	}
	f.Add([]byte("GMWEIGHT"))
	check := checkWeightFile(conv, mlp)
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
		if len(data) >= 4 {
			// The same bytes with a valid checksum, to reach the parser.
			check(t, rewrite(data))
		}
	})
}

func checkWeightFile(conv *ConvNet, mlp *MLP) func(*testing.T, []byte) {
	return func(t *testing.T, data []byte) {
		enc, err := decodeEncoder("fuzz.gmw", data)
		if err == nil {
			n := 1
			for _, d := range enc.InputShape() {
				n *= d
			}
			x := gometric.Matrix{Rows: 1, Cols: n, Data: make([]float32, n)}
			if _, err := enc.Embed(x); err != nil {
				t.Fatalf("a loaded encoder fails: %v", err)
			}
		}
		_ = conv.loadBytes("fuzz.gmw", data)
		_ = mlp.loadBytes("fuzz.gmw", data)
	}
}
