package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// maxRankingBins bounds the number of histogram bins of FastAP and
// Histogram (2^20), so that an absurd setting gives an error instead of an
// allocation failure.
const maxRankingBins = 1 << 20

// FastAP mirrors PML's FastAPLoss (Cakir et al., 2019): a histogram
// approximation of average precision. The distances d_ij of each query
// row to the other embeddings (squared normalised L2 by default, in
// [0, 2^Power]) are spread over NumBins+1 evenly spaced bin centres c_b by
// triangular kernels relu(1 - |d_ij - c_b|/Δ), Δ = 2^Power/NumBins; with
// h⁺_b and h_b the positive and total histograms and H⁺_b, H_b their
// cumulative sums,
//
//	loss_i = (1 - Σ_b h⁺_b·H⁺_b/H_b / N⁺_i) · w_i
//
// over the bins where h⁺_b·H⁺_b > 0 and H_b > 0, for every row i with
// N⁺_i > 0 positives; w_i are the miner weights of the mined tuples (PML's
// convert_to_weights: each element's count in the tuples over the largest
// count; 1 without tuples). The gradient flows through the soft bin
// memberships. One "element" sub-loss "loss".
//
// Labels are required and ref embeddings are not supported (as in PML).
// The distance must be a *distances.Lp with NormalizeEmbeddings and P = 2
// (PML asserts it); the default is distances.Lp with Power 2 (PML's
// LpDistance(power=2)); the default reducer is Mean.
//
// Memory is O(N·NumBins) beyond the N×N distance matrix (PML builds an
// (NumBins+1)×N×N tensor); each distance touches at most two bins.
//
// Make it with NewFastAP(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type FastAP struct {
	Base
	// NumBins is PML's num_bins (default 10): the number of histogram
	// intervals, 1 to 2^20. The histograms hold N·(NumBins+1) values
	// each, at most max(N², 2^24).
	NumBins int
}

// NewFastAP returns a FastAP loss with PML's defaults (FastAPLoss():
// num_bins 10, LpDistance(power=2), MeanReducer).
func NewFastAP() *FastAP {
	return &FastAP{Base: defaultBase(), NumBins: 10}
}

const fastAPName = "losses.FastAP"

var fastAPDecl = decl{
	name:         fastAPName,
	ctor:         "NewFastAP()",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"loss"},
	defDistance: func() distances.Distance {
		return &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: 2}
	},
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: checkNormalizedL2,
}

// Compute implements Loss.
func (l *FastAP) Compute(b Batch) (Result, error) { return run(&fastAPDecl, l, b) }

func (l *FastAP) validate(name string) error {
	if l.NumBins < 1 || l.NumBins > maxRankingBins {
		return check.Settingf(name, "NumBins = %d, want 1 to %d", l.NumBins, maxRankingBins)
	}
	return nil
}

// checkNormalizedL2 is PML's assert_distance_type(self, LpDistance,
// normalize_embeddings=True, p=2).
func checkNormalizedL2(name string, d distances.Distance) error {
	lp, ok := d.(*distances.Lp)
	if !ok || lp == nil {
		return check.Settingf(name, "distance %T, want *distances.Lp (as PML asserts)", d)
	}
	if !lp.NormalizeEmbeddings || lp.P != 2 {
		return check.Settingf(name, "distance Lp with NormalizeEmbeddings = %v and P = %v, want true and 2 (as PML asserts)", lp.NormalizeEmbeddings, lp.P)
	}
	return nil
}

// fastAPGeom holds the bin layout: centres[b] is torch.linspace(0, max,
// NumBins+1)[b] and delta the bin width.
type fastAPGeom struct {
	centres []float64
	max     float64
	delta   float64
}

func newFastAPGeom(bins int, power float64) (fastAPGeom, error) {
	hmax := math.Pow(2, power)
	delta := hmax / float64(bins)
	if math.IsInf(hmax, 0) || !(delta > 0) || math.IsInf(delta, 0) {
		return fastAPGeom{}, check.Settingf(fastAPName, "distance Power = %v gives the histogram range 2^Power = %v, which float64 cannot bin", power, hmax)
	}
	// torch.linspace fills the first half from the start and the second
	// half from the end.
	steps := bins + 1
	step := hmax / float64(steps-1)
	c := make([]float64, steps)
	for b := range c {
		if b < steps/2 {
			c[b] = step * float64(b)
		} else {
			c[b] = hmax - step*float64(steps-b-1)
		}
	}
	return fastAPGeom{centres: c, max: hmax, delta: delta}, nil
}

// each calls fn(b, pulse, dpulse) for every bin b whose triangular kernel
// relu(1 - |d - c_b|/Δ) is positive at d, with the kernel's derivative in
// d (torch's: sign(0) = 0 at a centre).
func (g fastAPGeom) each(d float64, fn func(b int, pulse, dpulse float64)) {
	if !(d > -2*g.delta && d < g.max+2*g.delta) {
		return // no centre within Δ (or not a number)
	}
	k := int(math.Floor(d / g.delta))
	for b := max(k-1, 0); b <= min(k+2, len(g.centres)-1); b++ {
		diff := d - g.centres[b]
		p := 1 - math.Abs(diff)/g.delta
		if p <= 0 {
			continue
		}
		var dp float64
		switch {
		case diff > 0:
			dp = -1 / g.delta
		case diff < 0:
			dp = 1 / g.delta
		}
		fn(b, p, dp)
	}
}

func (l *FastAP) compute(in *input) (*term, error) {
	weights, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, err
	}
	n, labels := in.n, in.labels
	nPos := make([]int, n)
	var safe []int
	for i, same := range in.sameLabels() {
		nPos[i] = len(same) - 1 // ref is query: i is among its same-label indices
		if nPos[i] > 0 {
			safe = append(safe, i)
		}
	}
	if len(safe) == 0 {
		return nil, nil
	}
	geom, err := newFastAPGeom(l.NumBins, in.dist.Settings().Power)
	if err != nil {
		return nil, err
	}
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	raw := m.RawMatrix()
	e := l.NumBins + 1
	if len(safe) > max(n*n, 1<<24)/e {
		return nil, check.Settingf("losses.FastAP", "NumBins = %d gives histograms of %d×%d values, more than the limit of max(N², 2^24) for N = %d", l.NumBins, len(safe), e, n)
	}
	// Histograms of the rows with positives only: the others have no
	// positive mass, hence no safe bin and no loss.
	pos := make([]float64, len(safe)*e)
	neg := make([]float64, len(safe)*e)
	for r, i := range safe {
		ph, nh := pos[r*e:(r+1)*e], neg[r*e:(r+1)*e]
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		for j, d := range row {
			if j == i {
				continue
			}
			h := nh
			if labels[j] == labels[i] {
				h = ph
			}
			geom.each(d, func(b int, p, _ float64) { h[b] += p })
		}
	}
	// fastAPRow returns Σ_b over the safe bins of h⁺_b·H⁺_b/H_b and
	// reports whether any bin was safe.
	fastAPRow := func(ph, nh []float64) (float64, bool) {
		var cp, ct, s float64
		found := false
		for b := range ph {
			cp += ph[b]
			ct += ph[b] + nh[b]
			if prod := ph[b] * cp; prod > 0 && ct > 0 {
				s += prod / ct
				found = true
			}
		}
		return s, found
	}
	vals := make([]float64, len(safe))
	anySafe := false
	for r, i := range safe {
		s, ok := fastAPRow(pos[r*e:(r+1)*e], neg[r*e:(r+1)*e])
		anySafe = anySafe || ok
		vals[r] = (1 - s/float64(nPos[i])) * weights[i]
	}
	if !anySafe {
		return nil, nil
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{safe}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(n, n, nil)
			graw := gm.RawMatrix()
			gPos, gNeg := make([]float64, e), make([]float64, e)
			cp, ct := make([]float64, e), make([]float64, e)
			for r, i := range safe {
				gs := -dv[0][r] * weights[i] / float64(nPos[i])
				if gs == 0 {
					continue
				}
				ph, nh := pos[r*e:(r+1)*e], neg[r*e:(r+1)*e]
				var sp, st float64
				for b := range ph {
					sp += ph[b]
					st += ph[b] + nh[b]
					cp[b], ct[b] = sp, st
				}
				// s_b = h⁺_b·H⁺_b/H_b on safe bins; H⁺ and H are
				// cumulative sums, so their gradients are reverse
				// cumulative sums.
				var accC, accT float64
				for b := e - 1; b >= 0; b-- {
					gDirect := 0.0
					if prod := ph[b] * cp[b]; prod > 0 && ct[b] > 0 {
						gDirect = gs * cp[b] / ct[b]
						accC += gs * ph[b] / ct[b]
						accT -= gs * prod / (ct[b] * ct[b])
					}
					gPos[b] = gDirect + accC + accT
					gNeg[b] = accT
				}
				row := raw.Data[i*raw.Stride : i*raw.Stride+n]
				grow := graw.Data[i*graw.Stride : i*graw.Stride+n]
				for j, d := range row {
					if j == i {
						continue
					}
					gh := gNeg
					if labels[j] == labels[i] {
						gh = gPos
					}
					geom.each(d, func(b int, _, dp float64) { grow[j] += gh[b] * dp })
				}
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
