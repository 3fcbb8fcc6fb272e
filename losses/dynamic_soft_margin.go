package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// maxDynamicSoftMarginBins bounds NumBins (2^20) so that an absurd setting
// gives an error rather than a huge allocation.
const maxDynamicSoftMarginBins = 1 << 20

// DynamicSoftMargin mirrors PML's DynamicSoftMarginLoss (Zhang et al.,
// "Learning Local Descriptors With a CDF-Based Dynamic Soft Margin", ICCV
// 2019). For every triplet (a, p, n) of the batch — all of them, or the
// mined tuples converted to triplets as PML's convert_to_triplets does — it
// takes v = d(a,p) − d(a,n); without labels (Labels nil, whatever Tuples
// holds, as in PML) v pairs the diagonal of the distance matrix with the
// smallest off-diagonal entry of its row and column. The values update a
// running histogram of NumBins bins of width delta = 2·|MinVal|/NumBins
// starting at MinVal (linear interpolation between the two nearest
// bins, weight Momentum for the batch, 1 on the first call), and the loss
// is the mean of CDF(v)·v, where CDF is the cumulative histogram after the
// update. Sub-loss "loss" (already reduced); default distance Lp
// (normalised L2; PML asserts an Lp distance with NormalizeEmbeddings and
// P = 2), default reducer Mean.
//
// The histogram is state: it persists across calls and every call with at
// least one value updates it, as PML's module attribute hist_ does; Reset
// starts it afresh. A DynamicSoftMargin is therefore not safe for
// concurrent use. As in PML, the gradient also flows through the current
// batch's contribution to the histogram (torch.frac is differentiable);
// the histogram carried from earlier calls is a constant (in PML backward
// through it would reach the graph of an earlier batch).
//
// PML raises when a value falls outside [MinVal, MinVal+(NumBins−1)·delta)
// (its update writes to bin floor((v−MinVal)/delta)+1): Compute then
// returns an error wrapping gometric.ErrUnsupported and leaves the
// histogram unchanged.
//
// Make it with NewDynamicSoftMargin(): its zero value (or a literal) is
// refused, see Base.
type DynamicSoftMargin struct {
	Base
	// MinVal is PML's min_val (default −2): the lower end of the
	// histogram's range; it must be finite and non-zero.
	MinVal float64
	// NumBins is PML's num_bins (default 10), 2 to 2^20. Changing it
	// after a call starts a fresh histogram.
	NumBins int
	// Momentum is PML's momentum (default 0.01): the weight of the current
	// batch in the histogram update (1 while the histogram is all zeros).
	Momentum float64

	hist []float64
}

// NewDynamicSoftMargin returns a DynamicSoftMargin loss with PML's defaults
// (DynamicSoftMarginLoss(): min_val −2, num_bins 10, momentum 0.01) and an
// empty histogram.
func NewDynamicSoftMargin() *DynamicSoftMargin {
	return &DynamicSoftMargin{Base: defaultBase(), MinVal: -2, NumBins: 10, Momentum: 0.01}
}

// Reset clears the histogram, as constructing a new PML module does (it
// does nothing on a nil DynamicSoftMargin).
func (l *DynamicSoftMargin) Reset() {
	if l != nil {
		l.hist = nil
	}
}

// Histogram returns a copy of the current histogram (PML's hist_): NumBins
// zeros before the first update, else the normalised bin weights. It
// returns nil when NumBins is not a valid setting or l is nil.
func (l *DynamicSoftMargin) Histogram() []float64 {
	if l == nil || l.NumBins < 2 || l.NumBins > maxDynamicSoftMarginBins {
		return nil
	}
	out := make([]float64, l.NumBins)
	if len(l.hist) == l.NumBins {
		copy(out, l.hist)
	}
	return out
}

var dynamicSoftMarginDecl = decl{
	name:          "losses.DynamicSoftMargin",
	ctor:          "NewDynamicSoftMargin()",
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: checkNormalizedL2,
}

// Compute implements Loss. It updates the histogram (see the type's doc).
func (l *DynamicSoftMargin) Compute(b Batch) (Result, error) {
	return run(&dynamicSoftMarginDecl, l, b)
}

func (l *DynamicSoftMargin) validate(name string) error {
	switch {
	case math.IsNaN(l.MinVal) || math.IsInf(l.MinVal, 0) || l.MinVal == 0:
		return check.Settingf(name, "MinVal = %v, want a finite non-zero value", l.MinVal)
	case l.NumBins < 2 || l.NumBins > maxDynamicSoftMarginBins:
		return check.Settingf(name, "NumBins = %d, want 2 to %d (PML's update writes to bin index+1)", l.NumBins, maxDynamicSoftMarginBins)
	case math.IsNaN(l.Momentum) || math.IsInf(l.Momentum, 0):
		return check.Settingf(name, "Momentum = %v", l.Momentum)
	}
	return nil
}

// dsmSource yields the values d_pos − d_neg of one call, in PML's order,
// and back-propagates per-value gradients into the distance matrix.
type dsmSource struct {
	each func(fn func(v float64) error) error
	back func(grad func(v float64) float64, gm *mat.Dense) error
}

func (l *DynamicSoftMargin) compute(in *input) (*term, error) {
	const name = "losses.DynamicSoftMargin"
	nb := l.NumBins
	delta := 2 * math.Abs(l.MinVal) / float64(nb)
	minVal := l.MinVal
	// bin returns PML's floor((v−min_val)/delta) and frac((v−min_val)/delta),
	// or ok false where PML's histogram update indexes outside the bins.
	bin := func(v float64) (k int, alpha float64, ok bool) {
		x := (v - minVal) / delta
		if !(x >= 0 && x < float64(nb-1)) {
			return 0, 0, false
		}
		f := math.Floor(x)
		return int(f), x - f, true
	}

	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	var src *dsmSource
	if in.labels == nil {
		src = dsmNoLabels(in, m)
	} else if src, err = dsmTriplets(in, m); err != nil {
		return nil, err
	}

	// Pass 1: bins, the current batch's histogram contributions and the
	// per-bin sums of the values.
	lo := make([]float64, nb) // sum of (1-alpha) per bin
	hi := make([]float64, nb) // sum of alpha per bin (at index+1)
	vsum := make([]float64, nb)
	count := 0
	err = src.each(func(v float64) error {
		k, alpha, ok := bin(v)
		if !ok {
			return check.Errorf(name, gometric.ErrUnsupported,
				"d_pos - d_neg = %v lies outside [%v, %v) (MinVal + (NumBins-1)·delta), where PML's histogram update indexes past its %d bins",
				v, minVal, minVal+float64(nb-1)*delta, nb)
		}
		lo[k] += 1 - alpha
		hi[k+1] += alpha
		vsum[k] += v
		count++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, nil // PML's zero_losses(); the histogram is unchanged
	}

	// PML's update_histogram: momentum 1 while the histogram sums to zero.
	old := l.hist
	if len(old) != nb {
		old = make([]float64, nb)
	}
	oldSum := 0.0
	for _, h := range old {
		oldSum += h
	}
	mom := l.Momentum
	if oldSum == 0 {
		mom = 1
	}
	h := make([]float64, nb)
	s := 0.0
	for k := range h {
		h[k] = (1-mom)*old[k] + mom*lo[k] + mom*hi[k]
		s += h[k]
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil, check.Settingf(name, "Momentum = %v makes the histogram sum %v", l.Momentum, s)
	}
	cdf := make([]float64, nb)
	acc := 0.0
	for k := range h {
		h[k] /= s
		acc += h[k]
		cdf[k] = acc
	}
	// weigh_loss and the mean: sum over bins of CDF[k]·(sum of the values
	// in bin k), divided by the count.
	total := 0.0
	for k, c := range cdf {
		total += c * vsum[k]
	}
	tf := float64(count)
	loss := total / tf
	l.hist = h

	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{loss}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			up := dv[0][0]
			if up == 0 {
				return nil
			}
			// d loss/d v = CDF[k]/T (the weight) − mom·Vsum[k]/(T·S·delta)
			// (through frac's slope 1/delta into the current histogram).
			coef := make([]float64, nb)
			for k := range coef {
				coef[k] = up * (cdf[k]/tf - mom*vsum[k]/(tf*s*delta))
			}
			gm := mat.NewDense(in.n, in.m, nil)
			err := src.back(func(v float64) float64 {
				k, _, _ := bin(v)
				return coef[k]
			}, gm)
			if err != nil {
				return err
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}

// dsmTriplets is PML's compute_loss_with_labels: the triplets of
// convert_to_triplets(indices_tuple, labels, ref_labels, "all"), all of
// them streamed per anchor when no tuples are given.
func dsmTriplets(in *input, m *mat.Dense) (*dsmSource, error) {
	raw := m.RawMatrix()
	if in.tuples == nil {
		each := func(fn func(a, p, n int) error) error {
			return tuples.EachAnchor(in.labels, in.refLabels, in.refIsQuery, func(a int, pos, neg []int) error {
				for _, p := range pos {
					for _, n := range neg {
						if err := fn(a, p, n); err != nil {
							return err
						}
					}
				}
				return nil
			})
		}
		return tripletSource(raw, each), nil
	}
	t, err := in.triplets(tuples.AllPerAnchor, nil)
	if err != nil {
		return nil, err
	}
	each := func(fn func(a, p, n int) error) error {
		for i, a := range t.A {
			if err := fn(a, t.P[i], t.N[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return tripletSource(raw, each), nil
}

func tripletSource(raw blas64.General, each func(fn func(a, p, n int) error) error) *dsmSource {
	return &dsmSource{
		each: func(fn func(v float64) error) error {
			return each(func(a, p, n int) error {
				row := raw.Data[a*raw.Stride:]
				return fn(row[p] - row[n])
			})
		},
		back: func(grad func(v float64) float64, gm *mat.Dense) error {
			g := gm.RawMatrix()
			return each(func(a, p, n int) error {
				row := raw.Data[a*raw.Stride:]
				w := grad(row[p] - row[n])
				grow := g.Data[a*g.Stride:]
				grow[p] += w
				grow[n] -= w
				return nil
			})
		},
	}
}

// dsmNoLabels is PML's compute_loss_without_labels on the r×c matrix m:
// for k < max(r, c), v_k = d_pos[k] − min(min_a[k], min_p[k]) where d_pos
// is the diagonal (0 past it), min_a the column minima and min_p the row
// minima with the diagonal excluded (0 past the matrix's columns or rows).
// torch.min returns the first minimum; torch.minimum splits the gradient
// of a tie in halves.
func dsmNoLabels(in *input, m *mat.Dense) *dsmSource {
	raw := m.RawMatrix()
	r, c := in.n, in.m
	colMin, colArg := make([]float64, c), make([]int, c)
	for j := range colMin {
		colMin[j] = math.Inf(1)
	}
	rowMin, rowArg := make([]float64, r), make([]int, r)
	for i := 0; i < r; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+c]
		best, arg := math.Inf(1), 0
		for j, v := range row {
			if i == j {
				continue // the diagonal is +Inf in PML
			}
			if v < best {
				best, arg = v, j
			}
			if v < colMin[j] {
				colMin[j], colArg[j] = v, i
			}
		}
		rowMin[i], rowArg[i] = best, arg
	}
	size := max(r, c)
	// part returns d_pos, min_a, min_p for index k, and whether min_a and
	// min_p are matrix entries (else the constant 0).
	part := func(k int) (dpos, ma, mp float64, hasA, hasP bool) {
		if k < r && k < c {
			dpos = raw.Data[k*raw.Stride+k]
		}
		if k < c {
			ma, hasA = colMin[k], true
		}
		if k < r {
			mp, hasP = rowMin[k], true
		}
		return
	}
	return &dsmSource{
		each: func(fn func(v float64) error) error {
			for k := 0; k < size; k++ {
				dpos, ma, mp, _, _ := part(k)
				if err := fn(dpos - min(ma, mp)); err != nil {
					return err
				}
			}
			return nil
		},
		back: func(grad func(v float64) float64, gm *mat.Dense) error {
			g := gm.RawMatrix()
			for k := 0; k < size; k++ {
				dpos, ma, mp, hasA, hasP := part(k)
				w := grad(dpos - min(ma, mp))
				if k < r && k < c {
					g.Data[k*g.Stride+k] += w
				}
				wa, wp := 0.0, 0.0
				switch {
				case ma == mp:
					wa, wp = 0.5, 0.5
				case ma < mp:
					wa = 1
				default:
					wp = 1
				}
				if hasA && wa != 0 {
					g.Data[colArg[k]*g.Stride+k] -= wa * w
				}
				if hasP && wp != 0 {
					g.Data[k*g.Stride+rowArg[k]] -= wp * w
				}
			}
			return nil
		},
	}
}
