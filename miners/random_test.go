package miners_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// chiSquare returns testkit.ChiSquare's statistic, failing the test at
// once if a cell of probability 0 was drawn.
func chiSquare(t *testing.T, what string, observed []int, prob []float64) float64 {
	t.Helper()
	x2, _, err := testkit.ChiSquare(observed, prob)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return x2
}

// chiCritical is an upper bound of the chi-square quantile 1 − 1e-6 for
// dof degrees of freedom (Wilson–Hilferty, z = 4.75), so that a correct
// sampler fails with probability about 1e-6; the seeds are fixed anyway.
func chiCritical(dof int) float64 {
	k := float64(dof)
	z := 4.75
	c := 1 - 2/(9*k) + z*math.Sqrt(2/(9*k))
	return k * c * c * c
}

// unitRows returns n random unit vectors in dimension d.
func unitRows(rng *rand.Rand, n, d int) *mat.Dense {
	m := mat.NewDense(n, d, nil)
	for i := range n {
		var s float64
		for j := range d {
			v := rng.NormFloat64()
			m.Set(i, j, v)
			s += v * v
		}
		for j := range d {
			m.Set(i, j, m.At(i, j)/math.Sqrt(s))
		}
	}
	return m
}

// TestDistanceWeightedDistribution checks, over many draws, that
// DistanceWeighted's positives are uniform over the anchor's class and its
// negatives follow the distance weights of the paper, recomputed here from
// the definition: w(d) ∝ d^(2−D)·(1 − d²/4)^((3−D)/2), d = max(dist,
// cutoff), 0 beyond the non-zero-loss cut-off.
func TestDistanceWeightedDistribution(t *testing.T) {
	for _, tc := range []struct {
		dim            int
		cutoff, nzLoss float64
	}{
		{3, 0.5, 1.4}, // w ∝ 1/d
		{5, 0.5, 1.6},
		{8, 0.2, 10},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.dim), 11))
		const n = 10
		emb := unitRows(rng, n, tc.dim)
		labels := []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}
		in := miners.Input{Embeddings: emb, Labels: labels}
		dw := set(miners.NewDistanceWeighted(), func(m *miners.DistanceWeighted) {
			m.Cutoff = tc.cutoff
			m.NonzeroLossCutoff = tc.nzLoss
			m.Rand = rand.New(rand.NewPCG(3, uint64(tc.dim)))
		})

		// Expected negative distribution of every anchor.
		expected := make([][]float64, n)
		for a := range n {
			expected[a] = make([]float64, n)
			var sum float64
			for j := range n {
				if labels[j] == labels[a] {
					continue
				}
				var sq float64
				for k := range tc.dim {
					x := emb.At(a, k) - emb.At(j, k)
					sq += x * x
				}
				d := math.Max(math.Sqrt(sq), tc.cutoff)
				if d >= tc.nzLoss {
					continue
				}
				w := math.Pow(d, float64(2-tc.dim)) * math.Pow(1-d*d/4, float64(3-tc.dim)/2)
				expected[a][j] = w
				sum += w
			}
			for j := range expected[a] {
				if sum > 0 {
					expected[a][j] /= sum
				}
			}
		}

		negCounts := make([][]int, n)
		posCounts := make([][]int, n)
		for a := range n {
			negCounts[a] = make([]int, n)
			posCounts[a] = make([]int, n)
		}
		const calls = 3000
		for range calls {
			got, err := dw.Mine(in)
			if err != nil {
				t.Fatal(err)
			}
			tr := got.(*tuples.Triplets)
			for k, a := range tr.A {
				negCounts[a][tr.N[k]]++
				posCounts[a][tr.P[k]]++
			}
		}
		for a := range n {
			support := 0
			for _, p := range expected[a] {
				if p > 0 {
					support++
				}
			}
			if support == 0 {
				for j, c := range negCounts[a] {
					if c != 0 {
						t.Fatalf("D=%d: anchor %d has no admissible negative but drew %d %d times", tc.dim, a, j, c)
					}
				}
				continue
			}
			if x2 := chiSquare(t, "negatives", negCounts[a], expected[a]); support > 1 && x2 > chiCritical(support-1) {
				t.Errorf("D=%d anchor %d: negatives %v do not follow %v (chi² %.1f > %.1f)", tc.dim, a, negCounts[a], expected[a], x2, chiCritical(support-1))
			}
			// Positives: uniform over the other members of the class.
			prob := make([]float64, n)
			classSize := 0
			for j := range n {
				if labels[j] == labels[a] {
					classSize++
				}
			}
			for j := range n {
				if labels[j] == labels[a] && j != a {
					prob[j] = 1 / float64(classSize-1)
				}
			}
			if x2 := chiSquare(t, "positives", posCounts[a], prob); x2 > chiCritical(classSize-2) {
				t.Errorf("D=%d anchor %d: positives %v not uniform (chi² %.1f)", tc.dim, a, posCounts[a], x2)
			}
			// Each call draws class-size triplets for the anchor.
			total := 0
			for _, c := range posCounts[a] {
				total += c
			}
			if total != calls*classSize {
				t.Errorf("D=%d anchor %d: %d triplets over %d calls, want %d per call", tc.dim, a, total, calls, classSize)
			}
		}
	}
}

// TestUniformHistogramDistribution checks that every non-empty bin gets
// exactly its share of draws per call and that the draws are uniform over
// the bin's pairs.
func TestUniformHistogramDistribution(t *testing.T) {
	// 1-D points: pair distances |x_i − x_j| with uneven bin populations.
	xs := []float64{0, 0.1, 0.15, 0.9, 2, 2.05, 3.5, 4}
	labels := []int{0, 0, 0, 0, 1, 1, 1, 1}
	in := miners.Input{Embeddings: line(xs...), Labels: labels}
	u := &miners.UniformHistogram{Distance: rawLp(), NumBins: 4, PosPerBin: 3, NegPerBin: 2, Rand: rand.New(rand.NewPCG(8, 9))}
	all, err := tuples.AllPairs(labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, half := range []struct {
		name   string
		a, o   []int
		perBin int
		pick   func(p *tuples.Pairs) ([]int, []int)
	}{
		{"positive", all.A1, all.P, 3, func(p *tuples.Pairs) ([]int, []int) { return p.A1, p.P }},
		{"negative", all.A2, all.N, 2, func(p *tuples.Pairs) ([]int, []int) { return p.A2, p.N }},
	} {
		vals := make([]float64, len(half.a))
		lo, hi := math.Inf(1), math.Inf(-1)
		for k := range vals {
			vals[k] = math.Abs(xs[half.a[k]] - xs[half.o[k]])
			lo, hi = math.Min(lo, vals[k]), math.Max(hi, vals[k])
		}
		edges := torchLinspace(lo, hi, u.NumBins+1)
		binOf := func(v float64) int {
			for b := range u.NumBins {
				if edges[b] <= v && (v < edges[b+1] || (b == u.NumBins-1 && v <= edges[b+1])) {
					return b
				}
			}
			return -1
		}
		// bins[b] = positions k of the pairs in bin b.
		bins := make([][]int, u.NumBins)
		pos := map[[2]int]int{}
		for k, v := range vals {
			b := binOf(v)
			bins[b] = append(bins[b], k)
			pos[[2]int{half.a[k], half.o[k]}] = k
		}
		counts := make([]int, len(vals))
		const calls = 4000
		for range calls {
			got, err := u.Mine(in)
			if err != nil {
				t.Fatal(err)
			}
			a, o := half.pick(got.(*tuples.Pairs))
			// Bin by bin, perBin draws each, in bin order.
			k := 0
			for b := range bins {
				if len(bins[b]) == 0 {
					continue
				}
				for range half.perBin {
					if k >= len(a) {
						t.Fatalf("%s: too few pairs %d", half.name, len(a))
					}
					if binOf(math.Abs(xs[a[k]]-xs[o[k]])) != b {
						t.Fatalf("%s: draw %d (%d, %d) is not from bin %d", half.name, k, a[k], o[k], b)
					}
					counts[pos[[2]int{a[k], o[k]}]]++
					k++
				}
			}
			if k != len(a) {
				t.Fatalf("%s: %d pairs, want %d", half.name, len(a), k)
			}
		}
		for b, members := range bins {
			if len(members) < 2 {
				continue
			}
			obs := make([]int, len(members))
			prob := make([]float64, len(members))
			for i, k := range members {
				obs[i] = counts[k]
				prob[i] = 1 / float64(len(members))
			}
			if x2 := chiSquare(t, half.name, obs, prob); x2 > chiCritical(len(members)-1) {
				t.Errorf("%s bin %d: draws %v not uniform (chi² %.1f)", half.name, b, obs, x2)
			}
		}
	}
}

// TestRandomMinersSeeded checks that the same seed gives the same draws.
func TestRandomMinersSeeded(t *testing.T) {
	in := miners.Input{Embeddings: unitRows(rand.New(rand.NewPCG(1, 1)), 12, 4), Labels: []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}}
	run := func(seed uint64) []tuples.Tuples {
		dw := miners.NewDistanceWeighted()
		dw.NonzeroLossCutoff = 10
		dw.Rand = rand.New(rand.NewPCG(seed, 0))
		uh := miners.NewUniformHistogram()
		uh.NumBins = 5
		uh.Rand = rand.New(rand.NewPCG(seed, 0))
		var out []tuples.Tuples
		for _, m := range []miners.Miner{dw, uh} {
			got, err := m.Mine(in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, got)
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	for i := range a {
		if !sameTuples(a[i], b[i]) {
			t.Errorf("miner %d: the same seed gave different draws", i)
		}
		if sameTuples(a[i], c[i]) {
			t.Errorf("miner %d: different seeds gave the same draws", i)
		}
	}
}
