//go:build !purego

package lse

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestExpsKernels runs TestExpsVector on each vector loop the CPU has: the
// AVX-512 one (with the AVX2 one for the tails) and the AVX2 one alone.
func TestExpsKernels(t *testing.T) {
	old := have512
	defer func() { have512 = old }()
	for _, k := range []struct {
		name string
		on   bool
		ok   bool
	}{{"avx512", true, cpu.X86.HasAVX512F}, {"avx2", false, cpu.X86.HasAVX2}} {
		t.Run(k.name, func(t *testing.T) {
			if !k.ok {
				t.Skipf("the CPU lacks %s", k.name)
			}
			have512 = k.on
			TestExpsVector(t)
		})
	}
}
