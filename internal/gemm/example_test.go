package gemm_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/gemm"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"
)

func ExampleDgemm() {
	a := []float64{ // 2×3
		1, 2, 3,
		4, 5, 6,
	}
	b := []float64{ // 2×3, used transposed: C = A·Bᵀ
		1, 0, 1,
		0, 1, 1,
	}
	c := make([]float64, 4)
	gemm.Dgemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

func ExampleBLAS() {
	blas64.Use(gemm.BLAS{}) // every gonum mat product now uses gemm.Dgemm
	defer blas64.Use(gonum.Implementation{})
	var p mat.Dense
	p.Mul(mat.NewDense(2, 2, []float64{1, 2, 3, 4}), mat.NewDense(2, 2, []float64{0, 1, 1, 0}))
	fmt.Println(mat.Formatted(&p))
	// Output:
	// ⎡2  1⎤
	// ⎣4  3⎦
}

func ExampleDsyrk() {
	a := []float64{ // three 2-wide rows
		1, 2,
		3, 4,
		0, 1,
	}
	c := make([]float64, 9)
	gemm.Dsyrk(3, 2, 1, a, 2, c, 3) // C = A·Aᵀ, both triangles
	fmt.Println(c[0:3])
	fmt.Println(c[3:6])
	fmt.Println(c[6:9])
	// Output:
	// [5 11 2]
	// [11 25 4]
	// [2 4 1]
}
