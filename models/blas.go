package models

import (
	"os"

	"github.com/gometric/gometric/internal/gemm"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

// BLASEnv is the environment variable read at start-up: "gonum" keeps
// Gorgonia on gonum's pure-Go BLAS instead of the package's fast GEMM.
const BLASEnv = "GOMETRIC_BLAS"

func init() {
	if os.Getenv(BLASEnv) != "gonum" {
		UseFastBLAS()
	}
}

// UseFastBLAS makes Gorgonia use the library's float32/float64 GEMM
// (internal/gemm: gonum's BLAS with Sgemm and Dgemm replaced) through
// gorgonia.Use. Every matrix product of the encoders (the convolutions'
// im2col products and the dense layers) and of Gorgonia's own ops then
// runs on it. Importing models does this, unless GOMETRIC_BLAS=gonum. It
// changes Gorgonia's process-wide setting; call it before training, not
// during a step.
func UseFastBLAS() { G.Use(gemm.BLAS{}) }

// UseGonumBLAS makes Gorgonia use gonum's pure-Go BLAS, Gorgonia's
// default (for comparisons).
func UseGonumBLAS() { G.Use(gonum.Implementation{}) }

// BLASName names the BLAS that Gorgonia uses: "gemm (<kernel>)" for the
// library's GEMM, "gonum" for gonum's, or the implementation's type.
func BLASName() string {
	switch G.WhichBLAS().(type) {
	case gemm.BLAS:
		return "gemm (" + gemm.Impl() + ")"
	case gonum.Implementation:
		return "gonum"
	default:
		return "other"
	}
}
