package models

import (
	"fmt"
	"testing"

	"github.com/gometric/gometric"
)

// BenchmarkResNet times torchvision's ResNet-18 and -50 at 224×224:
// Embed (eval-mode forward) and TrainStep (train-mode forward and
// backward) at batch 8 and 32. scripts/torchvision_bench.py times torch
// on the same cases (2 threads); run both with
//
//	go test ./models -run '^$' -bench BenchmarkResNet -benchtime 3x
func BenchmarkResNet(b *testing.B) {
	for _, depth := range []int{18, 50} {
		for _, n := range []int{8, 32} {
			m, err := NewResNet(ResNetConfig{Depth: depth, NumClasses: 1000, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			x := gometric.Matrix{Rows: n, Cols: 3 * 224 * 224, Data: make([]float32, n*3*224*224)}
			for i := range x.Data {
				x.Data[i] = float32(i%251)/125 - 1
			}
			loss := func(e gometric.Matrix) (float32, gometric.Matrix, error) {
				g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
				for i := range g.Data {
					g.Data[i] = 1e-3
				}
				return 0, g, nil
			}
			b.Run(fmt.Sprintf("resnet%d/eval/batch%d", depth, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.Embed(x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
			})
			b.Run(fmt.Sprintf("resnet%d/train/batch%d", depth, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.TrainStep(x, loss); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}
