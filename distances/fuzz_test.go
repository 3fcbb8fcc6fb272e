package distances_test

import (
	"math"
	"testing"

	"github.com/gometric/gometric/distances"
	"gonum.org/v1/gonum/mat"
)

// fuzzValue maps a byte to a matrix value, with a few bytes reserved for
// values that must be rejected or that stress the arithmetic.
func fuzzValue(b byte) float64 {
	switch b {
	case 255:
		return math.NaN()
	case 254:
		return math.Inf(1)
	case 253:
		return 1e300
	case 252:
		return 1e-300
	case 251:
		return -1e200
	}
	return (float64(b) - 128) / 16
}

// FuzzMatrix runs arbitrary shapes, values and settings through Matrix,
// MatrixVJP, Pairwise, PairwiseVJP and Batched.Each: nothing may panic, and
// every result returned without an error must have the right shape and be
// finite.
func FuzzMatrix(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 3, 2, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add([]byte{1, 2, 0, 1, 4, 4, 2, 100, 130, 140, 120, 110, 200, 90, 128, 128, 128})
	f.Add([]byte{2, 3, 2, 2, 2, 5, 4, 255, 1, 2, 3})
	f.Add([]byte{3, 0, 3, 3, 5, 3, 1, 120, 140, 160, 180})
	f.Add([]byte{3, 1, 1, 0, 2, 2, 3, 128, 128, 128, 1, 2, 3})
	f.Add([]byte{4, 2, 1, 4, 6, 6, 5, 253, 251, 252, 0, 7, 9})
	f.Add([]byte{0, 0, 6, 5, 3, 3, 2, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		at := func(i int) byte {
			if i < len(data) {
				return data[i]
			}
			return 0
		}
		ps := []float64{1, 2, 3, 2.5, 0.5, math.NaN(), 1.0000001, 7}
		powers := []float64{1, 2, 0.5, 3, -1, 0, 1.5, -2}
		normalize, self := at(1)&1 != 0, at(1)&2 != 0
		p, power := ps[int(at(2))%len(ps)], powers[int(at(3))%len(powers)]
		n, m, dim := 1+int(at(4))%6, 1+int(at(5))%6, 1+int(at(6))%5
		pos := 7
		fill := func(r, c int) *mat.Dense {
			out := mat.NewDense(r, c, nil)
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					out.Set(i, j, fuzzValue(at(pos)))
					pos++
				}
			}
			return out
		}
		var d distances.Distance
		switch at(0) % 5 {
		case 0:
			d = &distances.Lp{NormalizeEmbeddings: normalize, P: p, Power: power}
		case 1:
			d = &distances.CosineSimilarity{P: p, Power: power}
		case 2:
			d = &distances.DotProductSimilarity{NormalizeEmbeddings: normalize, P: p, Power: power}
		case 3:
			d = &distances.SNR{NormalizeEmbeddings: normalize, P: p, Power: power}
		case 4:
			d = distances.NewBatched(&distances.Lp{NormalizeEmbeddings: normalize, P: p, Power: power}, 1+int(at(1))%4)
		}
		query := fill(n, dim)
		var ref *mat.Dense
		cols := n
		if !self {
			ref, cols = fill(m, dim), m
		}
		grad := fill(n, cols)
		finite := func(what string, x *mat.Dense, r, c int) {
			if x == nil {
				t.Fatalf("%s is nil without an error", what)
			}
			if xr, xc := x.Dims(); xr != r || xc != c {
				t.Fatalf("%s is %d×%d, want %d×%d", what, xr, xc, r, c)
			}
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					if v := x.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("%s[%d][%d] = %v without an error", what, i, j, v)
					}
				}
			}
		}

		mm, err := d.Matrix(query, ref)
		if err == nil {
			finite("matrix", mm, n, cols)
		}
		for _, given := range []*mat.Dense{nil, mm} {
			dq, dr, err := d.MatrixVJP(query, ref, given, grad)
			if err != nil {
				continue
			}
			finite("dQuery", dq, n, dim)
			if self {
				if dr != nil {
					t.Fatal("dRef is not nil for a nil ref")
				}
			} else {
				finite("dRef", dr, m, dim)
			}
		}

		y := fill(n, dim)
		pw, err := d.Pairwise(query, y)
		if err == nil {
			finite("pairwise", mat.NewDense(1, n, pw), 1, n)
		}
		dx, dy, err := d.PairwiseVJP(query, y, mat.Row(nil, 0, fill(1, n)))
		if err == nil {
			finite("dx", dx, n, dim)
			finite("dy", dy, n, dim)
		}

		if b, ok := d.(*distances.Batched); ok {
			rows := 0
			err := b.Each(query, ref, func(block *mat.Dense, s, e int) error {
				finite("block", block, e-s, cols)
				rows += e - s
				return nil
			})
			if err == nil && rows != n {
				t.Fatalf("Each covered %d rows of %d", rows, n)
			}
		}
	})
}
