//go:build !amd64 || (purego && !goexperiment.simd)

package gemm

// platformKernels returns no fast kernels: this build has only the
// portable path.
func platformKernels() []kernelPair { return nil }
