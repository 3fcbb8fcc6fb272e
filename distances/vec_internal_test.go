package distances

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGuardRowVec checks guardRow (vector loop and scalar tail) against
// guardRowScalar bit for bit, near entries, NaN and overflow included.
func TestGuardRowVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for it := range 400 {
		n := rng.IntN(40)
		row, nb := make([]float64, n), make([]float64, n)
		na := 1 + rng.Float64()
		for j := range row {
			nb[j] = 1 + rng.Float64()
			row[j] = -2 * rng.Float64() * math.Sqrt(na*nb[j])
			switch rng.IntN(12) {
			case 0: // near: the formula cancels
				row[j] = -(na + nb[j]) * (1 - 1e-9*rng.Float64())
			case 1:
				row[j] = math.NaN()
			case 2:
				row[j] = math.Inf(1)
			case 3:
				row[j] = math.MaxFloat64
			}
		}
		root := it%2 == 0
		want := slices.Clone(row)
		wn, wf := guardRowScalar(want, nb, na, root)
		got := slices.Clone(row)
		gn, gf := guardRow(got, nb, na, root)
		if gn != wn || gf != wf {
			t.Fatalf("it %d: near, finite = %d, %v; want %d, %v", it, gn, gf, wn, wf)
		}
		for j := range got {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) && !(math.IsNaN(got[j]) && math.IsNaN(want[j])) {
				t.Fatalf("it %d: entry %d = %v, want %v", it, j, got[j], want[j])
			}
		}
	}
}

// TestDiffAddVec checks the vector updates against the scalar loops bit for
// bit, with gi and gj the same row.
func TestDiffAddVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for it := range 200 {
		n := rng.IntN(30)
		mk := func() []float64 {
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			return x
		}
		qi, rj, gi, gj := mk(), mk(), mk(), mk()
		w := rng.NormFloat64()
		same := it%3 == 0
		wi, wj := slices.Clone(gi), slices.Clone(gj)
		if same {
			wj = wi
		}
		for k := range qi {
			tt := float64(w * (qi[k] - rj[k])) // no FMA: the vector loop's bits
			wi[k] += tt
			wj[k] -= tt
		}
		ggi, ggj := slices.Clone(gi), slices.Clone(gj)
		if same {
			ggj = ggi
		}
		for k := diffAdd2Vec(ggi, ggj, qi, rj, w); k < n; k++ {
			tt := float64(w * (qi[k] - rj[k])) // no FMA: the vector loop's bits
			ggi[k] += tt
			ggj[k] -= tt
		}
		if !slices.Equal(ggi, wi) || !slices.Equal(ggj, wj) {
			t.Fatalf("it %d: diffAdd2Vec differs", it)
		}
		a, s := slices.Clone(gi), slices.Clone(gj)
		for k := diffAddVec(a, qi, rj, w); k < n; k++ {
			a[k] += float64(w * (qi[k] - rj[k]))
		}
		for k := diffSubVec(s, qi, rj, w); k < n; k++ {
			s[k] -= float64(w * (qi[k] - rj[k]))
		}
		for k := range qi {
			gi[k] += float64(w * (qi[k] - rj[k]))
			gj[k] -= float64(w * (qi[k] - rj[k]))
		}
		if !slices.Equal(a, gi) || !slices.Equal(s, gj) {
			t.Fatalf("it %d: diffAddVec or diffSubVec differs", it)
		}
	}
}
