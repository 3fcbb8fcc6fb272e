package models

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
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
	drop, err := NewMLP(MLPConfig{Sizes: []int{3, 4, 2}, Seed: 1, Dropout: 0.5})
	if err != nil {
		f.Fatal(err)
	}
	drop.nw.dropout.step = 7 // a "dropout_steps" in the header
	for _, enc := range []Encoder{conv, mlp, drop} {
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
		// LoadEncoder's reader with the file's size known (a regular file)
		// and unknown (a stream): they must agree.
		enc, err := decodeEncoder("fuzz.gmw", bytes.NewReader(data), int64(len(data)))
		encStream, errStream := decodeEncoder("fuzz.gmw", bytes.NewReader(data), -1)
		if (err == nil) != (errStream == nil) {
			t.Fatalf("sized reader: %v; stream reader: %v", err, errStream)
		}
		for _, e := range []error{err, errStream} {
			if e != nil && !errors.Is(e, ErrWeightFile) {
				t.Fatalf("error %v does not wrap ErrWeightFile", e)
			}
		}
		if err == nil {
			n := 1
			for _, d := range enc.InputShape() {
				n *= d
			}
			x := gometric.Matrix{Rows: 1, Cols: n, Data: make([]float32, n)}
			// (Huge finite weights may overflow float32: an ErrNonFinite
			// error, the same from both encoders.)
			a, err := enc.Embed(x)
			if err != nil && !errors.Is(err, gometric.ErrNonFinite) {
				t.Fatalf("a loaded encoder fails: %v", err)
			}
			b, err2 := encStream.Embed(x)
			if (err == nil) != (err2 == nil) || !slices.Equal(a.Data, b.Data) {
				t.Fatalf("the stream reader's encoder differs: %v, %v", err, err2)
			}
			if m, ok := enc.(*MLP); ok {
				ms := encStream.(*MLP)
				if m.Config().Dropout != ms.Config().Dropout || (m.nw.dropout == nil) != (ms.nw.dropout == nil) ||
					(m.nw.dropout != nil && m.nw.dropout.step != ms.nw.dropout.step) {
					t.Fatalf("the stream reader's dropout differs: %+v %v, %+v %v", m.Config(), m.nw.dropout, ms.Config(), ms.nw.dropout)
				}
			}
		}
		for _, size := range []int64{int64(len(data)), -1} {
			_ = conv.load("fuzz.gmw", bytes.NewReader(data), size)
			_ = mlp.load("fuzz.gmw", bytes.NewReader(data), size)
		}
	}
}
