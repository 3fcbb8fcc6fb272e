package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Histogram mirrors PML's HistogramLoss (Ustinova & Lempitsky, 2016). From
// the triplets (all of them, or those of the mined tuples) it takes the
// distinct unordered anchor-positive and anchor-negative pairs and
// estimates the densities p⁺ and p⁻ of their similarities on the nodes
// -1, -1+Δ, ..., 1 by linear interpolation between the two nodes around
// each value. The loss is the probability that a negative pair is more
// similar than a positive one,
//
//	loss = Σ_r p⁻_r · Σ_{q≤r} p⁺_q,
//
// a single "already_reduced" sub-loss "loss". Labels or tuples are
// required; ref embeddings are not supported (as in PML). Default distance
// CosineSimilarity, default reducer Mean.
//
// As PML does, the lower node index r = floor((s+1)/Δ) of a similarity s
// is computed in float32 (s, s+1 and the quotient each rounded to
// float32), and the interpolation weights in float64. A value whose nodes
// r and r+1 are not both among the round(1 + 2/Δ) nodes — for Δ = 2/NBins,
// s < -1 or s >= 1 after rounding to float32, e.g. the cosine of two
// identical embeddings, or a distance such as Lp's beyond 1 — is an error
// wrapping gometric.ErrUnsupported, where PML raises an index error.
//
// Make it with NewHistogram(): its zero value (or a literal) is refused,
// see Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type Histogram struct {
	Base
	// NBins is PML's n_bins and Delta its delta: the node spacing is
	// Delta, or 2/NBins when Delta is 0; when both are set they must
	// satisfy Delta == 2/NBins (PML asserts it). Both 0 (the default)
	// means PML's default of 100 bins (Delta 0.02).
	NBins int
	Delta float64
}

// NewHistogram returns a Histogram loss with PML's defaults
// (HistogramLoss(): n_bins and delta None, i.e. 100 bins; CosineSimilarity,
// MeanReducer).
func NewHistogram() *Histogram {
	return &Histogram{Base: defaultBase()}
}

const histogramName = "losses.Histogram"

var histogramDecl = decl{
	name:          histogramName,
	ctor:          "NewHistogram()",
	labelsOrTuple: true,
	noRef:         true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *Histogram) Compute(b Batch) (Result, error) { return run(&histogramDecl, l, b) }

func (l *Histogram) validate(string) error {
	_, _, err := l.delta()
	return err
}

// delta returns the node spacing and the number of nodes,
// round(1 + 2/delta) as PML (Python's round: half to even).
func (l *Histogram) delta() (float64, int, error) {
	if l.NBins < 0 {
		return 0, 0, check.Settingf(histogramName, "NBins = %d is negative", l.NBins)
	}
	if math.IsNaN(l.Delta) || math.IsInf(l.Delta, 0) || l.Delta < 0 {
		return 0, 0, check.Settingf(histogramName, "Delta = %v, want a finite positive value (or 0 for 2/NBins)", l.Delta)
	}
	delta := l.Delta
	switch {
	case delta != 0 && l.NBins != 0:
		if delta != 2/float64(l.NBins) {
			return 0, 0, check.Settingf(histogramName, "Delta = %v and NBins = %d do not satisfy Delta = 2/NBins (as PML asserts)", delta, l.NBins)
		}
	case delta == 0 && l.NBins != 0:
		delta = 2 / float64(l.NBins)
	case delta == 0:
		delta = 2.0 / 100
	}
	nodes := math.RoundToEven(1 + 2/delta)
	if !(nodes <= maxRankingBins) {
		return 0, 0, check.Settingf(histogramName, "Delta = %v gives %v nodes, more than %d", delta, nodes, maxRankingBins)
	}
	return delta, int(nodes), nil
}

// histogramPairs returns PML's filter_pairs of the anchor-positive and
// anchor-negative pairs of the triplets: each pair as (min, max), distinct,
// in lexicographic order (torch.unique over the sorted columns). It
// reports whether there is any triplet at all.
func histogramPairs(in *input) (ap, an [][2]int, hasTriplet bool, err error) {
	n := in.n
	posMark := make([]bool, n*n)
	negMark := make([]bool, n*n)
	mark := func(mk []bool, a, b int) {
		if a > b {
			a, b = b, a
		}
		mk[a*n+b] = true
	}
	switch t := in.tuples.(type) {
	case nil:
		err = tuples.EachAnchor(in.labels, nil, true, func(a int, pos, neg []int) error {
			if len(pos) == 0 || len(neg) == 0 {
				return nil
			}
			hasTriplet = true
			for _, p := range pos {
				mark(posMark, a, p)
			}
			for _, q := range neg {
				mark(negMark, a, q)
			}
			return nil
		})
		if err != nil {
			return nil, nil, false, err
		}
	case *tuples.Triplets:
		// Validated by prepare against (n, n).
		for i, a := range t.A {
			hasTriplet = true
			mark(posMark, a, t.P[i])
			mark(negMark, a, t.N[i])
		}
	case *tuples.Pairs:
		// convert_to_triplets joins the pairs on their anchors: a
		// positive pair takes part when its anchor has a negative pair,
		// and conversely.
		hasPos, hasNeg := make([]bool, n), make([]bool, n)
		for _, a := range t.A1 {
			hasPos[a] = true
		}
		for _, a := range t.A2 {
			hasNeg[a] = true
		}
		for i, a := range t.A1 {
			if hasNeg[a] {
				hasTriplet = true
				mark(posMark, a, t.P[i])
			}
		}
		for i, a := range t.A2 {
			if hasPos[a] {
				mark(negMark, a, t.N[i])
			}
		}
	default:
		return nil, nil, false, check.Errorf(histogramName, gometric.ErrUnsupported, "unsupported Tuples type %T", in.tuples)
	}
	collect := func(mk []bool) [][2]int {
		var out [][2]int
		for k, v := range mk {
			if v {
				out = append(out, [2]int{k / n, k % n})
			}
		}
		return out
	}
	return collect(posMark), collect(negMark), hasTriplet, nil
}

// histogramDensity is PML's compute_density for the values at pairs of m:
// the density on the nodes and each value's lower node.
func histogramDensity(m *mat.Dense, pairs [][2]int, delta float64, nodes int) ([]float64, []int, error) {
	raw := m.RawMatrix()
	delta32 := float32(delta)
	lower := make([]int, len(pairs))
	for k, p := range pairs {
		s := raw.Data[p[0]*raw.Stride+p[1]]
		// PML: floor((s.float() + 1) / delta), every step in float32.
		r := math.Floor(float64(float32(float32(s)+1) / delta32))
		if !(r >= 0 && r+1 < float64(nodes)) {
			return nil, nil, check.Errorf(histogramName, gometric.ErrUnsupported,
				"the value %v at (%d, %d) falls outside the %d histogram nodes of [-1, 1] (PML raises an index error)", s, p[0], p[1], nodes)
		}
		lower[k] = int(r)
	}
	dens := make([]float64, nodes)
	for k, p := range pairs {
		s, r := raw.Data[p[0]*raw.Stride+p[1]], float64(lower[k])
		dens[lower[k]+1] += (s + 1 - r*delta) / delta
	}
	for k, p := range pairs {
		s, r := raw.Data[p[0]*raw.Stride+p[1]], float64(lower[k])
		dens[lower[k]] += ((r+1)*delta - 1 - s) / delta
	}
	size := float64(len(pairs))
	for i := range dens {
		dens[i] /= size
	}
	return dens, lower, nil
}

func (l *Histogram) compute(in *input) (*term, error) {
	delta, nodes, err := l.delta()
	if err != nil {
		return nil, err
	}
	ap, an, hasTriplet, err := histogramPairs(in)
	if err != nil {
		return nil, err
	}
	if !hasTriplet {
		return nil, nil
	}
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	pPos, rPos, err := histogramDensity(m, ap, delta, nodes)
	if err != nil {
		return nil, err
	}
	pNeg, rNeg, err := histogramDensity(m, an, delta, nodes)
	if err != nil {
		return nil, err
	}
	phi := make([]float64, nodes)
	var acc, loss float64
	for r := range phi {
		acc += pPos[r]
		phi[r] = acc
		loss += pNeg[r] * phi[r]
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{loss}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			up := dv[0][0]
			if up == 0 {
				return nil
			}
			// d loss/d p⁻_r = Φ_r and d loss/d p⁺_q = Σ_{r≥q} p⁻_r; a
			// value s in [node r, node r+1] adds (s+1-rΔ)/Δ to node r+1
			// and ((r+1)Δ-1-s)/Δ to node r.
			gPos := make([]float64, nodes)
			var tail float64
			for r := nodes - 1; r >= 0; r-- {
				tail += pNeg[r]
				gPos[r] = tail
			}
			gm := mat.NewDense(in.n, in.m, nil)
			graw := gm.RawMatrix()
			add := func(pairs [][2]int, lower []int, gp []float64) {
				c := up / (delta * float64(len(pairs)))
				for k, p := range pairs {
					r := lower[k]
					graw.Data[p[0]*graw.Stride+p[1]] += c * (gp[r+1] - gp[r])
				}
			}
			add(ap, rPos, gPos)
			add(an, rNeg, phi)
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
