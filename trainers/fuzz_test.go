package trainers_test

import (
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
)

// FuzzTrain trains a small MLP on arbitrary features, labels and settings:
// Train must return (an error for bad input), never panic.
func FuzzTrain(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x00\x01\x02\x03"), []byte("abcdefghijklmnopabcdefghijklmnop"), uint8(4), uint8(2), uint8(3), uint8(0), uint8(1), uint64(0))
	f.Add([]byte("\x00\x00\x00\x00"), []byte("\xff\xff\xc0\x7f"), uint8(2), uint8(1), uint8(1), uint8(1), uint8(0), uint64(1))
	f.Add([]byte("\x01\x02\x01\x02\x01\x02"), []byte("0123456789ab"), uint8(6), uint8(3), uint8(0), uint8(2), uint8(2), uint64(7))
	f.Fuzz(func(t *testing.T, labelBytes, featBytes []byte, batch, m, ipe, minerKind, lossKind uint8, seed uint64) {
		const dim = 2
		n := len(labelBytes)
		if n > 64 {
			n = 64
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = int(labelBytes[i] % 5)
		}
		data := make([]float32, n*dim)
		for i := range data {
			if 4*i+4 <= len(featBytes) {
				data[i] = math.Float32frombits(binary.LittleEndian.Uint32(featBytes[4*i:]))
			} else {
				data[i] = float32(i%7) - 3
			}
		}
		enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{dim, 3}, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		opt, err := models.NewOptimizer("sgd", 0.01)
		if err != nil {
			t.Fatal(err)
		}
		var loss losses.Loss
		switch lossKind % 3 {
		case 0:
			loss = losses.NewTripletMargin()
		case 1:
			loss = losses.NewContrastive()
		default:
			loss = losses.NewMultiSimilarity()
		}
		tr := trainers.NewMetricLossOnly(enc, opt, int(batch%17), loss, &testkit.RawDataset{Dim: dim, Values: data, SampleLabels: labels})
		tr.IterationsPerEpoch = int(ipe % 4)
		tr.Seed = seed
		switch minerKind % 3 {
		case 1:
			tr.Miner = miners.NewMultiSimilarity()
		case 2:
			tr.Miner = miners.NewBatchHard()
		}
		if m%2 == 1 {
			tr.Sampler = &samplers.MPerClass{Labels: labels, M: int(m % 5), BatchSize: tr.BatchSize, LengthBeforeNewIter: n}
		}
		_, _ = tr.Train(context.Background(), 1, 2)
	})
}
