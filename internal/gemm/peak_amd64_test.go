//go:build !purego && !goexperiment.simd

package gemm

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// BenchmarkPeak measures the FMA peak from registers only (peakZ, peakY):
// float32 GFLOP/s with every goroutine of -cpu N running the loop, the
// ceiling the kernels of BenchmarkSgemm compare with (half of it for
// float64).
func BenchmarkPeak(b *testing.B) {
	const rounds = 1 << 16
	for _, c := range []struct {
		name  string
		ok    bool
		run   func(int)
		flops float64 // per round
	}{
		{"avx512-zmm", cpu.X86.HasAVX512F, peakZ, 24 * 16 * 2},
		{"avx2-ymm", cpu.X86.HasAVX2 && cpu.X86.HasFMA, peakY, 12 * 8 * 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			if !c.ok {
				b.Skip("not supported by this CPU")
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.run(rounds)
				}
			})
			b.ReportMetric(c.flops*rounds*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
