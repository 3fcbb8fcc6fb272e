package miners_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// The tests here compare the miners with naive transliterations of PML's
// tensor code (full masks, materialised triplets, sorted rows) on random
// batches, with and without ref embeddings, with repeated rows for ties.

type randomBatch struct {
	in   miners.Input
	dist distances.Distance
	desc string
}

func randomBatches(seed uint64, count int) []randomBatch {
	rng := rand.New(rand.NewPCG(seed, 99))
	dists := []func() distances.Distance{
		func() distances.Distance { return distances.NewLp() },
		func() distances.Distance { return distances.NewCosineSimilarity() },
		func() distances.Distance { return &distances.Lp{P: 1, Power: 1} },
		func() distances.Distance { return &distances.DotProductSimilarity{P: 2, Power: 1} },
		func() distances.Distance { return &distances.Lp{P: 2, Power: 2, NormalizeEmbeddings: true} },
	}
	out := make([]randomBatch, count)
	for k := range out {
		n := 1 + rng.IntN(12)
		d := 1 + rng.IntN(4)
		classes := 1 + rng.IntN(4)
		emb, labels := randomRows(rng, n, d, classes)
		in := miners.Input{Embeddings: emb, Labels: labels}
		if rng.IntN(3) == 0 {
			m := 1 + rng.IntN(10)
			in.Ref, in.RefLabels = randomRows(rng, m, d, classes)
			// Share a row now and then, for equal values across the sets.
			if rng.IntN(2) == 0 {
				in.Ref.SetRow(0, emb.RawRowView(0))
			}
		}
		di := rng.IntN(len(dists))
		out[k] = randomBatch{in: in, dist: dists[di](), desc: fmt.Sprintf("batch %d (n %d, d %d, ref %v, distance %d)", k, n, d, in.Ref != nil, di)}
	}
	return out
}

// randomRows draws n rows, some repeated (ties) and some rounded to a
// coarse grid (more ties), with labels among classes.
func randomRows(rng *rand.Rand, n, d, classes int) (*mat.Dense, []int) {
	m := mat.NewDense(n, d, nil)
	labels := make([]int, n)
	for i := range n {
		labels[i] = rng.IntN(classes)
		if i > 0 && rng.IntN(5) == 0 {
			m.SetRow(i, m.RawRowView(rng.IntN(i)))
			continue
		}
		for j := range d {
			v := rng.NormFloat64()
			if rng.IntN(3) == 0 {
				v = math.Round(v)
			}
			if v == 0 && j == 0 {
				v = 1 // no zero rows: normalising them is degenerate
			}
			m.Set(i, j, v)
		}
	}
	return m, labels
}

func refOf(in miners.Input) (*mat.Dense, []int, bool) {
	if in.Ref == nil {
		return in.Embeddings, in.Labels, true
	}
	return in.Ref, in.RefLabels, false
}

func distMatrix(t *testing.T, d distances.Distance, in miners.Input) *mat.Dense {
	t.Helper()
	m, err := d.Matrix(in.Embeddings, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// allTripletsNaive is get_all_triplets_indices: torch.where over the
// N×M×M mask.
func allTripletsNaive(labels, refLabels []int, self bool) (a, p, n []int) {
	for i := range labels {
		for j := range refLabels {
			for k := range refLabels {
				if labels[i] == refLabels[j] && !(self && i == j) && labels[i] != refLabels[k] {
					a, p, n = append(a, i), append(p, j), append(n, k)
				}
			}
		}
	}
	return a, p, n
}

func TestTripletMarginBrute(t *testing.T) {
	for _, rb := range randomBatches(1, 300) {
		dm := distMatrix(t, rb.dist, rb.in)
		_, refLabels, self := refOf(rb.in)
		inv := rb.dist.Settings().Inverted
		aa, pp, nn := allTripletsNaive(rb.in.Labels, refLabels, self)
		for _, kind := range []miners.Strategy{miners.All, miners.Hard, miners.SemiHard, miners.Easy} {
			for _, margin := range []float64{0, 0.1, 0.5, -0.2} {
				want := &tuples.Triplets{}
				for k := range aa {
					ap, an := dm.At(aa[k], pp[k]), dm.At(aa[k], nn[k])
					tm := an - ap
					if inv {
						tm = ap - an
					}
					var keep bool
					if kind == miners.Easy {
						keep = tm > margin
					} else {
						keep = tm <= margin
						if kind == miners.Hard {
							keep = keep && tm <= 0
						} else if kind == miners.SemiHard {
							keep = keep && tm > 0
						}
					}
					if keep {
						want.A, want.P, want.N = append(want.A, aa[k]), append(want.P, pp[k]), append(want.N, nn[k])
					}
				}
				m := set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.Distance = rb.dist; m.Margin = margin; m.TypeOfTriplets = kind })
				got, err := m.Mine(rb.in)
				if err != nil {
					t.Fatalf("%s: %v", rb.desc, err)
				}
				if !sameTuples(got, want) {
					t.Fatalf("%s %s %v: got %+v, want %+v", rb.desc, kind, margin, got, want)
				}
			}
		}
	}
}

func TestPairMarginBrute(t *testing.T) {
	for _, rb := range randomBatches(2, 200) {
		dm := distMatrix(t, rb.dist, rb.in)
		_, refLabels, self := refOf(rb.in)
		all, err := tuples.AllPairs(rb.in.Labels, refLabelsArg(refLabels, self), self)
		if err != nil {
			t.Fatal(err)
		}
		inv := rb.dist.Settings().Inverted
		for _, mg := range [][2]float64{{0.2, 0.8}, {0.5, 0.5}, {1, 0}} {
			want := &tuples.Pairs{}
			for k := range all.A1 {
				v := dm.At(all.A1[k], all.P[k])
				if (inv && v < mg[0]) || (!inv && v > mg[0]) {
					want.A1, want.P = append(want.A1, all.A1[k]), append(want.P, all.P[k])
				}
			}
			for k := range all.A2 {
				v := dm.At(all.A2[k], all.N[k])
				if (inv && v > mg[1]) || (!inv && v < mg[1]) {
					want.A2, want.N = append(want.A2, all.A2[k]), append(want.N, all.N[k])
				}
			}
			got, err := (set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = rb.dist; m.PosMargin = mg[0]; m.NegMargin = mg[1] })).Mine(rb.in)
			if err != nil || !sameTuples(got, want) {
				t.Fatalf("%s %v: got %+v, %v; want %+v", rb.desc, mg, got, err, want)
			}
		}
	}
}

func refLabelsArg(refLabels []int, self bool) []int {
	if self {
		return nil
	}
	return refLabels
}

// TestMultiSimilarityBrute follows PML's code: rows masked with ±Inf,
// sorted, compared with the row extremes; torch.sort's order among equal
// values is unspecified, so the comparison is of canonical sets, plus a
// check that each anchor's pairs come in ascending order of value.
func TestMultiSimilarityBrute(t *testing.T) {
	for _, rb := range randomBatches(3, 300) {
		dm := distMatrix(t, rb.dist, rb.in)
		_, refLabels, self := refOf(rb.in)
		inv := rb.dist.Settings().Inverted
		n, m := dm.Dims()
		for _, eps := range []float64{0.1, 0.5, 0, -0.1} {
			want := &tuples.Pairs{}
			posIgnore, negIgnore := math.Inf(-1), math.Inf(1)
			if inv {
				posIgnore, negIgnore = negIgnore, posIgnore
			}
			anyPos, anyNeg := false, false
			posRows, negRows := make([][]float64, n), make([][]float64, n)
			for i := range n {
				posRows[i], negRows[i] = make([]float64, m), make([]float64, m)
				for j := range m {
					v := dm.At(i, j)
					posRows[i][j], negRows[i][j] = v, v
					same := rb.in.Labels[i] == refLabels[j]
					if same && !(self && i == j) {
						anyPos = true
						negRows[i][j] = negIgnore
					}
					if !same {
						anyNeg = true
						posRows[i][j] = posIgnore
					}
					if self && i == j {
						posRows[i][j], negRows[i][j] = posIgnore, negIgnore
					}
				}
			}
			if anyPos && anyNeg {
				for i := range n {
					ps, ns := slices.Sorted(slices.Values(posRows[i])), slices.Sorted(slices.Values(negRows[i]))
					for j := range m {
						pv, nv := posRows[i][j], negRows[i][j]
						var hp, hn bool
						if inv {
							hp = pv-eps < ns[m-1]
							hn = nv+eps > ps[0]
						} else {
							hp = pv+eps > ns[0]
							hn = nv-eps < ps[m-1]
						}
						if hp {
							want.A1, want.P = append(want.A1, i), append(want.P, j)
						}
						if hn {
							want.A2, want.N = append(want.A2, i), append(want.N, j)
						}
					}
				}
			}
			got, err := (set(miners.NewMultiSimilarity(), func(m *miners.MultiSimilarity) { m.Distance = rb.dist; m.Epsilon = eps })).Mine(rb.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equalLists(canonical(got), canonical(want)) {
				t.Fatalf("%s eps %v: got %+v, want %+v", rb.desc, eps, got, want)
			}
			p := got.(*tuples.Pairs)
			for _, half := range [][2][]int{{p.A1, p.P}, {p.A2, p.N}} {
				for k := 1; k < len(half[0]); k++ {
					a0, a1 := half[0][k-1], half[0][k]
					if a1 < a0 || (a1 == a0 && dm.At(a1, half[1][k]) < dm.At(a0, half[1][k-1])) {
						t.Fatalf("%s: pairs not in PML's order: %+v", rb.desc, p)
					}
				}
			}
		}
	}
}

// TestBatchEasyHardBrute follows PML's get_x_per_row with full masks.
func TestBatchEasyHardBrute(t *testing.T) {
	strategies := []miners.Strategy{miners.Easy, miners.SemiHard, miners.Hard, miners.All}
	ranges := []*miners.Range{nil, {Low: 0.3, High: 1.2}, {Low: math.Inf(-1), High: 0.5}}
	for bi, rb := range randomBatches(4, 150) {
		dm := distMatrix(t, rb.dist, rb.in)
		_, refLabels, self := refOf(rb.in)
		for _, ps := range strategies {
			for _, ns := range strategies {
				if (ps == miners.SemiHard && ns == miners.SemiHard) || (ps == miners.All && ns == miners.SemiHard) || (ns == miners.All && ps == miners.SemiHard) {
					continue
				}
				pr, nr := ranges[bi%3], ranges[(bi/3)%3]
				want := easyHardNaive(dm, rb.in.Labels, refLabels, self, rb.dist.Settings().Inverted, ps, ns, pr, nr)
				m := &miners.BatchEasyHard{Distance: rb.dist, PosStrategy: ps, NegStrategy: ns, AllowedPosRange: pr, AllowedNegRange: nr}
				got, err := m.Mine(rb.in)
				if err != nil || !sameTuples(got, want) {
					t.Fatalf("%s %s/%s: got %+v, %v; want %+v", rb.desc, ps, ns, got, err, want)
				}
				if ps == miners.Hard && ns == miners.Hard {
					bh := &miners.BatchHard{Distance: rb.dist, AllowedPosRange: pr, AllowedNegRange: nr}
					gotBH, err := bh.Mine(rb.in)
					wp := want
					if err != nil || !sameTuples(gotBH, &tuples.Triplets{A: wp.A1, P: wp.P, N: wp.N}) {
						t.Fatalf("%s BatchHard: got %+v, %v; want %+v", rb.desc, gotBH, err, wp)
					}
				}
			}
		}
	}
}

func easyHardNaive(dm *mat.Dense, labels, refLabels []int, self, inv bool, ps, ns miners.Strategy, pr, nr *miners.Range) *tuples.Pairs {
	n, m := dm.Dims()
	isPos := func(i, j int) bool { return labels[i] == refLabels[j] && !(self && i == j) }
	isNeg := func(i, j int) bool { return labels[i] != refLabels[j] }
	// getXPerRow returns (values, indices, non-inf rows) of the masked
	// row minimum or maximum.
	getXPerRow := func(useMin bool, allowed func(i, j int) bool, r *miners.Range, thr []float64) ([]float64, []int, []bool) {
		inf := math.Inf(-1)
		if useMin {
			inf = math.Inf(1)
		}
		vals, idx, keep := make([]float64, n), make([]int, n), make([]bool, n)
		for i := range n {
			mask := make([]float64, m)
			for j := range m {
				mask[j] = inf
				if allowed(i, j) {
					mask[j] = 1
				}
				v := dm.At(i, j)
				if thr != nil && ((useMin && v <= thr[i]) || (!useMin && v >= thr[i])) {
					mask[j] = inf
				}
				if r != nil && (v > r.High || v < r.Low) {
					mask[j] = inf
				}
			}
			row := make([]float64, m)
			for j := range m {
				row[j] = dm.At(i, j)
				if mask[j] == inf {
					row[j] = inf
				} else {
					keep[i] = true
				}
			}
			// torch.min / max: first index of the extreme.
			bi := 0
			for j := 1; j < m; j++ {
				if (useMin && row[j] < row[bi]) || (!useMin && row[j] > row[bi]) {
					bi = j
				}
			}
			vals[i], idx[i] = row[bi], bi
		}
		return vals, idx, keep
	}
	mineFn := func(s miners.Strategy) bool { // true: min
		if s == miners.Easy {
			return !inv
		}
		return inv
	}
	posFn := mineFn(ps)
	negStrategy := miners.Hard
	if ns == miners.Hard || ns == miners.SemiHard {
		negStrategy = miners.Easy
	}
	negFn := mineFn(negStrategy)
	var pv, nv []float64
	var pi, ni []int
	var pk, nk []bool
	switch {
	case ps == miners.SemiHard && ns != miners.All:
		nv, ni, nk = getXPerRow(negFn, isNeg, nr, nil)
		pv, pi, pk = getXPerRow(posFn, isPos, pr, nv)
	case ns == miners.SemiHard && ps != miners.All:
		pv, pi, pk = getXPerRow(posFn, isPos, pr, nil)
		nv, ni, nk = getXPerRow(negFn, isNeg, nr, pv)
	default:
		if ps != miners.All {
			pv, pi, pk = getXPerRow(posFn, isPos, pr, nil)
		}
		if ns != miners.All {
			nv, ni, nk = getXPerRow(negFn, isNeg, nr, nil)
		}
	}
	_, _ = pv, nv
	out := &tuples.Pairs{}
	for i := range n {
		for j := range m {
			if ps == miners.All && isPos(i, j) {
				out.A1, out.P = append(out.A1, i), append(out.P, j)
			}
			if ns == miners.All && isNeg(i, j) {
				out.A2, out.N = append(out.A2, i), append(out.N, j)
			}
		}
	}
	for i := range n {
		switch {
		case ps != miners.All && ns != miners.All:
			if pk[i] && nk[i] {
				out.A1, out.P = append(out.A1, i), append(out.P, pi[i])
				out.A2, out.N = append(out.A2, i), append(out.N, ni[i])
			}
		case ps == miners.All && ns != miners.All:
			if nk[i] {
				out.A2, out.N = append(out.A2, i), append(out.N, ni[i])
			}
		case ps != miners.All && ns == miners.All:
			if pk[i] {
				out.A1, out.P = append(out.A1, i), append(out.P, pi[i])
			}
		}
	}
	return out
}

// TestAngularBrute computes every angle directly, as PML does, including
// batches with near-coincident points where the fast formula cancels.
func TestAngularBrute(t *testing.T) {
	batches := randomBatches(5, 200)
	// Points almost at the centre of an anchor-positive pair.
	rng := rand.New(rand.NewPCG(5, 5))
	for k := range 50 {
		d := 1 + rng.IntN(6)
		emb := mat.NewDense(6, d, nil)
		for j := range d {
			a, p := rng.NormFloat64(), rng.NormFloat64()
			emb.Set(0, j, a)
			emb.Set(1, j, p)
			c := (a + p) / 2
			emb.Set(2, j, c-1e-6+float64(k%3)*1e-9)
			emb.Set(3, j, c+rng.NormFloat64()*1e-7)
			emb.Set(4, j, rng.NormFloat64())
			emb.Set(5, j, a)
		}
		batches = append(batches, randomBatch{in: miners.Input{Embeddings: emb, Labels: []int{0, 0, 1, 1, 2, 0}}, desc: fmt.Sprintf("near-centre %d", k)})
	}
	for _, rb := range batches {
		ref, refLabels, self := refOf(rb.in)
		aa, pp, nn := allTripletsNaive(rb.in.Labels, refLabels, self)
		_, d := rb.in.Embeddings.Dims()
		for _, deg := range []float64{0, 20, 45, 60, 89.9} {
			theta := deg * (math.Pi / 180)
			want := &tuples.Triplets{}
			for k := range aa {
				av, pv, nv := rb.in.Embeddings.RawRowView(aa[k]), ref.RawRowView(pp[k]), ref.RawRowView(nn[k])
				var s1, s2 float64
				for j := range d {
					x := av[j] - pv[j] + 1e-6
					s1 += x * x
					y := nv[j] - (av[j]+pv[j])/2 + 1e-6
					s2 += y * y
				}
				if math.Atan(math.Sqrt(s1)/(2*math.Sqrt(s2))) > theta {
					want.A, want.P, want.N = append(want.A, aa[k]), append(want.P, pp[k]), append(want.N, nn[k])
				}
			}
			m := miners.NewAngular()
			m.Angle = deg
			got, err := m.Mine(rb.in)
			if err != nil || !sameTuples(got, want) {
				t.Fatalf("%s angle %v: got %+v, %v; want %+v", rb.desc, deg, got, err, want)
			}
		}
	}
}
