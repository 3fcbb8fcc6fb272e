package tuples

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func TestRandomTripletsReproducible(t *testing.T) {
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 3}
	a, err := RandomTriplets(labels, nil, true, 5, nil, seeded(42))
	if err != nil {
		t.Fatal(err)
	}
	b, err := RandomTriplets(labels, nil, true, 5, nil, seeded(42))
	if err != nil {
		t.Fatal(err)
	}
	if !sameTriplets(a, b) {
		t.Error("same seed gave different triplets")
	}
	c, err := RandomTriplets(labels, nil, true, 5, nil, seeded(43))
	if err != nil {
		t.Fatal(err)
	}
	if sameTriplets(a, c) {
		t.Error("different seeds gave identical triplets")
	}
	w := mat.NewDense(len(labels), len(labels), nil)
	for i := range len(labels) {
		for j := range len(labels) {
			w.Set(i, j, float64(1+(i*7+j*3)%5))
		}
	}
	d, err := RandomTriplets(labels, nil, true, 5, w, seeded(42))
	if err != nil {
		t.Fatal(err)
	}
	e, err := RandomTriplets(labels, nil, true, 5, w, seeded(42))
	if err != nil || !sameTriplets(d, e) {
		t.Errorf("weighted: same seed gave different triplets (%v)", err)
	}
}

// TestRandomTripletsStructure checks PML's structure on random labels: the
// exact anchor sequence (labels ascending, anchors ascending, each
// repeated k times, labels without enough positives or any negative
// skipped) and the validity of every triplet.
func TestRandomTripletsStructure(t *testing.T) {
	rng := seeded(5)
	for it := range 300 {
		self := it%2 == 0
		labels, ref := randomCase(rng, self)
		r := refOf(labels, ref, self)
		perAnchor := []int{0, 1, 3}[it%3]
		useWeights := it%5 == 4 && len(labels) > 0 && len(r) > 0
		var w *mat.Dense
		if useWeights {
			w = mat.NewDense(len(labels), len(r), nil)
			for i := range len(labels) {
				for j := range len(r) {
					w.Set(i, j, rng.Float64())
				}
			}
		}
		name := fmt.Sprintf("case %d labels %v ref %v self %v perAnchor %d weights %v", it, labels, ref, self, perAnchor, useWeights)
		got, err := RandomTriplets(labels, ref, self, perAnchor, w, seeded(uint64(it)))
		if err != nil {
			t.Fatal(name, err)
		}
		if len(got.A) != len(got.P) || len(got.A) != len(got.N) {
			t.Fatalf("%s: ragged result", name)
		}
		uniq := slices.Compact(slices.Sorted(slices.Values(labels)))
		var wantA []int
		perLabel := map[int]int{}
		for _, l := range uniq {
			nP, nN := 0, 0
			for _, v := range r {
				if v == l {
					nP++
				} else {
					nN++
				}
			}
			minP := 1
			if self {
				minP = 2
			}
			if nP < minP || nN == 0 {
				continue
			}
			k := perAnchor
			if k == 0 {
				k = nP
			}
			for i, v := range labels {
				if v == l {
					for range k {
						wantA = append(wantA, i)
					}
					perLabel[l] += k
				}
			}
		}
		if !sameInts(got.A, wantA) {
			t.Fatalf("%s: anchors %v, want %v", name, got.A, wantA)
		}
		gotPerLabel := map[int]int{}
		for i, a := range got.A {
			p, n := got.P[i], got.N[i]
			if labels[a] != r[p] || labels[a] == r[n] || (self && a == p) {
				t.Fatalf("%s: invalid triplet (%d, %d, %d)", name, a, p, n)
			}
			gotPerLabel[labels[a]]++
		}
		for l, c := range perLabel {
			if gotPerLabel[l] != c {
				t.Fatalf("%s: label %d has %d triplets, want n_anchors*k = %d", name, l, gotPerLabel[l], c)
			}
		}
	}
}

func TestRandomTripletsUniform(t *testing.T) {
	labels := []int{0, 0, 0, 0, 1, 1, 2, 2, 2}
	const k = 4000
	got, err := RandomTriplets(labels, nil, true, k, nil, seeded(99))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[int][]int{}
	neg := map[int][]int{}
	for a := range labels {
		pos[a] = make([]int, len(labels))
		neg[a] = make([]int, len(labels))
	}
	for i, a := range got.A {
		pos[a][got.P[i]]++
		neg[a][got.N[i]]++
	}
	for a := range labels {
		pp := make([]float64, len(labels))
		np := make([]float64, len(labels))
		nPos, nNeg := 0, 0
		for j, l := range labels {
			if l == labels[a] && j != a {
				nPos++
			} else if l != labels[a] {
				nNeg++
			}
		}
		for j, l := range labels {
			if l == labels[a] && j != a {
				pp[j] = 1 / float64(nPos)
			} else if l != labels[a] {
				np[j] = 1 / float64(nNeg)
			}
		}
		testkit.CheckChiSquare(t, fmt.Sprintf("anchor %d positives", a), pos[a], pp, 1e-4)
		testkit.CheckChiSquare(t, fmt.Sprintf("anchor %d negatives", a), neg[a], np, 1e-4)
	}

	// Reference set: k = 0 means one triplet per positive of the label.
	ref := []int{1, 0, 0, 2, 1}
	got, err = RandomTriplets([]int{0, 1, 3}, ref, false, 0, nil, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	if !sameInts(got.A, ints(0, 0, 1, 1)) {
		t.Errorf("ref, k=None: anchors %v, want [0 0 1 1]", got.A)
	}
}

func TestRandomTripletsWeighted(t *testing.T) {
	labels := []int{0, 0, 1, 1, 2, 0}
	nan := math.NaN()
	w := mat.NewDense(6, 6, []float64{
		// anchor 0 (label 0): negatives are columns 2, 3, 4
		9, 9, 1, 0, 3, 9,
		// anchor 1: zero over its negatives (weights on positives do not count): skipped
		5, 0, 0, 0, 0, 7,
		// anchor 2 (label 1): negatives 0, 1, 4, 5
		2, 0.5, 0, 0, 0, 1.5,
		// anchor 3: NaN row sum: skipped, as PML's sum > 0 test drops it
		nan, nan, nan, nan, nan, nan,
		// anchor 4: label 2 has one element: skipped before weights
		-1, -1, -1, -1, -1, -1,
		// anchor 5 (label 0): only column 4
		0, 0, 0, 0, 1e-300, 0,
	})
	const k = 6000
	got, err := RandomTriplets(labels, nil, true, k, w, seeded(2024))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int][]int{}
	for i, a := range got.A {
		if counts[a] == nil {
			counts[a] = make([]int, 6)
		}
		counts[a][got.N[i]]++
		if labels[got.P[i]] != labels[a] || got.P[i] == a || labels[got.N[i]] == labels[a] {
			t.Fatalf("invalid triplet (%d, %d, %d)", a, got.P[i], got.N[i])
		}
	}
	wantAnchors := []int{0, 2, 5}
	for a := range counts {
		if !slices.Contains(wantAnchors, a) {
			t.Errorf("anchor %d should have been skipped", a)
		}
	}
	testkit.CheckChiSquare(t, "anchor 0", counts[0], []float64{0, 0, 0.25, 0, 0.75, 0}, 1e-4)
	testkit.CheckChiSquare(t, "anchor 2", counts[2], []float64{0.5, 0.125, 0, 0, 0, 0.375}, 1e-4)
	testkit.CheckChiSquare(t, "anchor 5", counts[5], []float64{0, 0, 0, 0, 1, 0}, 1e-4)
	for _, a := range wantAnchors {
		n := 0
		for _, c := range counts[a] {
			n += c
		}
		if n != k {
			t.Errorf("anchor %d has %d triplets, want %d", a, n, k)
		}
	}

	// Reference set: weights are N×M.
	wr := mat.NewDense(2, 4, []float64{
		0, 0, 1, 1,
		1, 0, 0, 3,
	})
	got, err = RandomTriplets([]int{0, 1}, []int{0, 0, 1, 2}, false, 4000, wr, seeded(8))
	if err != nil {
		t.Fatal(err)
	}
	c0, c1 := make([]int, 4), make([]int, 4)
	for i, a := range got.A {
		if a == 0 {
			c0[got.N[i]]++
		} else {
			c1[got.N[i]]++
		}
	}
	testkit.CheckChiSquare(t, "ref anchor 0", c0, []float64{0, 0, 0.5, 0.5}, 1e-4)
	testkit.CheckChiSquare(t, "ref anchor 1", c1, []float64{0.25, 0, 0, 0.75}, 1e-4)
}

func TestRandomTripletsErrors(t *testing.T) {
	labels := []int{0, 0, 1, 2}
	tests := []struct {
		name      string
		ref       []int
		self      bool
		perAnchor int
		w         *mat.Dense
		rng       *rand.Rand
		want      error
	}{
		{"negative perAnchor", nil, true, -1, nil, seeded(1), gometric.ErrSetting},
		{"weights wrong shape", nil, true, 1, mat.NewDense(4, 2, nil), seeded(1), gometric.ErrShape},
		{"negative weight in a kept row", nil, true, 1, mat.NewDense(4, 4, []float64{
			0, 0, -1, 2,
			0, 0, 1, 1,
			0, 0, 0, 0,
			0, 0, 0, 0}), seeded(1), gometric.ErrSetting},
		{"infinite weight", nil, true, 1, mat.NewDense(4, 4, []float64{
			0, 0, 1, 1,
			0, 0, math.Inf(1), 1,
			0, 0, 0, 0,
			0, 0, 0, 0}), seeded(1), gometric.ErrNonFinite},
		{"bad ref labels", []int{0}, true, 1, nil, seeded(1), gometric.ErrLabels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RandomTriplets(labels, tc.ref, tc.self, tc.perAnchor, tc.w, tc.rng); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	// A row whose sum over the negatives is not positive is skipped
	// before torch.multinomial would see it, negative entries included.
	w := mat.NewDense(4, 4, []float64{
		9, 9, -1, 0,
		9, 9, 0, 0,
		-5, -5, -5, -5,
		math.NaN(), 0, 0, 0})
	got, err := RandomTriplets(labels, nil, true, 2, w, seeded(1))
	if err != nil || got.Len() != 0 {
		t.Errorf("rows with sum <= 0: got %+v, %v; want no triplets", got, err)
	}
}

// TestRandomTripletsNilRand checks the nil *rand.Rand rule: nil means the
// process-wide generator, which draws afresh at every call and is safe for
// concurrent use (run with -race).
func TestRandomTripletsNilRand(t *testing.T) {
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3}
	first, err := RandomTriplets(labels, nil, true, 8, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Validate(len(labels), len(labels)); err != nil {
		t.Fatal(err)
	}
	// 112 triplets each with several choices: two equal draws would mean
	// the generator was not fresh (probability far below 1e-30).
	differs := false
	for range 3 {
		again, err := RandomTriplets(labels, nil, true, 8, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTriplets(first, again) {
			differs = true
		}
	}
	if !differs {
		t.Error("nil rng gave the same triplets at every call; want fresh draws")
	}
	w := mat.NewDense(len(labels), len(labels), nil)
	for i := range len(labels) {
		for j := range len(labels) {
			w.Set(i, j, float64(1+(i+j)%3))
		}
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var weights *mat.Dense
			if g%2 == 1 {
				weights = w
			}
			got, err := RandomTriplets(labels, nil, true, 4, weights, nil)
			if err == nil {
				err = got.Validate(len(labels), len(labels))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
