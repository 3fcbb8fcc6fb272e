package inference

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// BenchmarkCalibrate: 100,000 labelled pairs.
func BenchmarkCalibrate(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 100_000
	vals, same := make([]float64, n), make([]bool, n)
	for i := range vals {
		same[i] = rng.IntN(2) == 0
		vals[i] = rng.NormFloat64()
		if same[i] {
			vals[i] -= 1
		}
	}
	for b.Loop() {
		if _, err := Calibrate(vals, same, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteReadIndex: a 10,000 × 128 labelled index through memory.
func BenchmarkWriteReadIndex(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	f := IndexFile{Vectors: testkit.NormalMatrix(rng, 10_000, 128), Labels: make([]int, 10_000)}
	var buf bytes.Buffer
	b.SetBytes(int64(52 + 4*len(f.Vectors.Data) + 8*len(f.Labels)))
	for b.Loop() {
		buf.Reset()
		if err := WriteIndex(&buf, f); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadIndex(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
