package testers_test

import (
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// FuzzTest evaluates arbitrary features and labels, split in two: Test must
// return (an error for bad input), never panic.
func FuzzTest(f *testing.F) {
	f.Add([]byte("\x00\x01\x00\x01\x02\x02"), []byte("abcdefghijklmnopqrstuvwx"), uint8(3), uint8(2), true, uint8(0))
	f.Add([]byte("\x00"), []byte("\x00\x00\xc0\x7f"), uint8(1), uint8(1), false, uint8(1))
	f.Add([]byte("\x05\x05\x05\x01"), []byte(""), uint8(0), uint8(2), true, uint8(2))
	f.Fuzz(func(t *testing.T, labelBytes, featBytes []byte, batch, split uint8, normalize bool, k uint8) {
		const dim = 2
		n := min(len(labelBytes), 40)
		labels := make([]int, n)
		for i := range labels {
			labels[i] = int(labelBytes[i] % 6)
		}
		data := make([]float32, n*dim)
		for i := range data {
			if 4*i+4 <= len(featBytes) {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(featBytes[4*i:]))
			} else {
				data[i] = float32(i%5) - 2
			}
		}
		s := min(int(split), n)
		a := &testkit.RawDataset{Dim: dim, Values: data[:s*dim], SampleLabels: labels[:s]}
		b := &testkit.RawDataset{Dim: dim, Values: data[s*dim:], SampleLabels: labels[s:]}
		enc := linear(dim, 2)
		tester := testers.NewGlobalEmbeddingSpace()
		tester.BatchSize = int(batch % 9)
		tester.Normalize = normalize
		switch k % 3 {
		case 1:
			tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount()}
		case 2:
			tester.Calculator = &accuracy.Calculator{K: accuracy.KInt(int(k % 7))}
		}
		splits := map[string]datasets.Dataset{"a": a, "b": b}
		_, _ = tester.Test(context.Background(), enc, splits)
		_, _ = tester.Test(context.Background(), enc, splits, testers.Eval{Query: "a", References: []string{"b", "a"}})
		_, _ = tester.Test(context.Background(), enc, splits, testers.Eval{Query: "b", References: []string{"a"}})
	})
}
