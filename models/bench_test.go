package models

import (
	"testing"
)

// BenchmarkTrainStep times one training iteration (TrainStep + Adam Step)
// of the reference network at batch 64 on 1×28×28 inputs, with the
// library's GEMM and with gonum's BLAS.
func BenchmarkTrainStep(b *testing.B) {
	defer UseFastBLAS()
	for _, bl := range []struct {
		name string
		use  func()
	}{{"gemm", UseFastBLAS}, {"gonum", UseGonumBLAS}} {
		b.Run(bl.name, func(b *testing.B) {
			bl.use()
			m, err := NewConvNet(ReferenceConvNetConfig(0))
			if err != nil {
				b.Fatal(err)
			}
			opt, err := NewOptimizer("adam", 1e-3)
			if err != nil {
				b.Fatal(err)
			}
			x := randTensor(1, 64, 1, 28, 28)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.TrainStep(x, sumSquares); err != nil {
					b.Fatal(err)
				}
				if err := m.Step(opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}

// BenchmarkEmbed times inference of 256 images with the reference network.
func BenchmarkEmbed(b *testing.B) {
	m, err := NewConvNet(ReferenceConvNetConfig(0))
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(1, 256, 1, 28, 28)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Embed(x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOptimizerStep times one optimizer step (no forward or backward)
// over the reference network's parameters, for each optimizer.
func BenchmarkOptimizerStep(b *testing.B) {
	for _, name := range []string{"sgd", "adam", "rmsprop"} {
		b.Run(name, func(b *testing.B) {
			m, err := NewConvNet(ReferenceConvNetConfig(0))
			if err != nil {
				b.Fatal(err)
			}
			opt, err := NewOptimizer(name, 1e-3)
			if err != nil {
				b.Fatal(err)
			}
			opt.Momentum = 0.9
			ps := m.Params()
			if err := opt.Step(ps); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := opt.Step(ps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
