package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"
)

// TestBLASUse installs BLAS as gonum's global implementation and checks
// that blas64.Gemm, blas32.Gemm and mat.Dense.Mul go through this package
// (bit-identical to calling Dgemm / Sgemm directly).
func TestBLASUse(t *testing.T) {
	blas64.Use(BLAS{})
	blas32.Use(BLAS{})
	defer blas64.Use(gonum.Implementation{})
	defer blas32.Use(gonum.Implementation{})
	if _, ok := blas64.Implementation().(BLAS); !ok {
		t.Fatalf("blas64.Implementation() = %T, want gemm.BLAS", blas64.Implementation())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 33, 21, 50
	a, b := randSlice[float64](m*k, rng), randSlice[float64](k*n, rng)
	want := make([]float64, m*n)
	Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)

	var prod mat.Dense
	prod.Mul(mat.NewDense(m, k, a), mat.NewDense(k, n, b))
	if got := prod.RawMatrix().Data; !slices.Equal(got, want) {
		t.Errorf("mat.Dense.Mul through BLAS differs from Dgemm")
	}
	// Aᵀ stored k×m, through blas64.Gemm with blas.Trans.
	at := make([]float64, k*m)
	for i := range m {
		for l := range k {
			at[l*m+i] = a[i*k+l]
		}
	}
	c := blas64.General{Rows: m, Cols: n, Stride: n, Data: make([]float64, m*n)}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, blas64.General{Rows: k, Cols: m, Stride: m, Data: at},
		blas64.General{Rows: k, Cols: n, Stride: n, Data: b}, 0, c)
	want2 := make([]float64, m*n)
	Dgemm(true, false, m, n, k, 1, at, m, b, n, 0, want2, n)
	if !slices.Equal(c.Data, want2) {
		t.Errorf("blas64.Gemm(Trans, NoTrans) through BLAS differs from Dgemm")
	}

	a32, b32 := randSlice[float32](m*k, rng), randSlice[float32](n*k, rng)
	c32 := blas32.General{Rows: m, Cols: n, Stride: n, Data: make([]float32, m*n)}
	blas32.Gemm(blas.NoTrans, blas.ConjTrans, 1, blas32.General{Rows: m, Cols: k, Stride: k, Data: a32},
		blas32.General{Rows: n, Cols: k, Stride: k, Data: b32}, 0, c32)
	want32 := make([]float32, m*n)
	Sgemm(false, true, m, n, k, 1, a32, k, b32, k, 0, want32, n)
	if !slices.Equal(c32.Data, want32) {
		t.Errorf("blas32.Gemm(NoTrans, ConjTrans) through BLAS differs from Sgemm")
	}
}

// TestPanics checks that programmer errors panic with a message naming the
// function and the bad argument, as gonum's BLAS does.
func TestPanics(t *testing.T) {
	x := make([]float64, 12)
	y := make([]float32, 12)
	cases := []struct {
		name, want string
		call       func()
	}{
		{"negative m", "negative size", func() { Dgemm(false, false, -1, 2, 2, 1, x, 2, x, 2, 0, x, 2) }},
		{"lda", "lda = 2, want at least 3", func() { Dgemm(false, false, 2, 2, 3, 1, x, 2, x, 2, 0, x, 2) }},
		{"ldb trans", "ldb = 2, want at least 3", func() { Dgemm(false, true, 2, 2, 3, 1, x, 3, x, 2, 0, x, 2) }},
		{"ldc", "ldc = 1, want at least 2", func() { Sgemm(false, false, 2, 2, 2, 1, y, 2, y, 2, 0, y, 1) }},
		{"short a", "len(a) = 12", func() { Dgemm(true, false, 4, 2, 4, 1, x, 4, x, 2, 0, x, 2) }},
		{"short c", "len(c) = 12", func() { Sgemm(false, false, 4, 4, 2, 1, y, 2, y, 4, 0, y, 4) }},
		{"transpose", "bad transpose", func() { BLAS{}.Dgemm('X', blas.NoTrans, 1, 1, 1, 1, x, 1, x, 1, 0, x, 1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, c.want) {
					t.Errorf("panic %v, want one containing %q", r, c.want)
				}
			}()
			c.call()
		})
	}
}

// TestNoProduct checks the calls that do not multiply: m or n zero leaves
// C alone, alpha = 0 or k = 0 gives beta·C without reading A and B (NaN in
// them must not leak), beta = 0 overwrites NaN in C.
func TestNoProduct(t *testing.T) {
	nan := []float64{nan64(), nan64(), nan64(), nan64()}
	c := []float64{1, 2, 3, 4}
	Dgemm(false, false, 0, 2, 2, 1, nan, 2, nan, 2, 0, c, 2)
	if !slices.Equal(c, []float64{1, 2, 3, 4}) {
		t.Errorf("m = 0 changed C to %v", c)
	}
	Dgemm(false, false, 2, 2, 2, 0, nan, 2, nan, 2, 2, c, 2)
	if !slices.Equal(c, []float64{2, 4, 6, 8}) {
		t.Errorf("alpha = 0, beta = 2: C = %v, want [2 4 6 8]", c)
	}
	Dgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	if !slices.Equal(c, []float64{0, 0, 0, 0}) {
		t.Errorf("k = 0, beta = 0: C = %v, want zeros", c)
	}
	c32 := []float32{float32(nan64()), 1}
	Sgemm(false, false, 1, 2, 1, 1, []float32{2}, 1, []float32{3, 4}, 2, 0, c32, 2)
	if !slices.Equal(c32, []float32{6, 8}) {
		t.Errorf("beta = 0 with NaN in C: C = %v, want [6 8]", c32)
	}
}

func nan64() float64 { return math.NaN() }
