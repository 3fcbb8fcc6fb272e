package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// TripletMargin mirrors PML's TripletMarginLoss: for every triplet
// (a, p, n), relu(d(a,p) - d(a,n) + Margin) — softplus with SmoothLoss —
// with the distance's margin semantics for similarities. Default distance
// Lp (normalised L2), default reducer AvgNonZero.
//
// With no mined tuples and TripletsPerAnchor = tuples.AllPerAnchor (the
// default) it uses every triplet of the batch, streamed per anchor: memory
// stays O(N·M) however many triplets there are, as long as the reducer can
// stream (reducers.Streamer); otherwise the triplets are materialised.
//
// Make it with NewTripletMargin(): its zero value (or a literal) is
// refused, see Base. It is safe for concurrent use as long as its settings
// are not changed meanwhile and Rand is nil; a seeded Rand makes it unsafe
// for concurrent use.
type TripletMargin struct {
	Base
	// Margin is PML's margin (default 0.05).
	Margin float64
	// Swap uses the positive-negative distance when it violates the margin
	// more (PML's swap).
	Swap bool
	// SmoothLoss uses softplus instead of relu (PML's smooth_loss).
	SmoothLoss bool
	// TripletsPerAnchor is PML's triplets_per_anchor: tuples.AllPerAnchor
	// ("all", the default) or the number of random triplets per anchor,
	// drawn with Rand.
	TripletsPerAnchor int
	// Rand draws the random triplets when TripletsPerAnchor is not
	// tuples.AllPerAnchor. A nil Rand means math/rand/v2's global
	// generator: fresh draws at every call (as PML's torch global
	// generator), safe for concurrent use. A seeded Rand makes the draws
	// reproducible and the loss unsafe for concurrent use.
	Rand *rand.Rand
}

// NewTripletMargin returns a TripletMargin loss with PML's defaults
// (TripletMarginLoss()).
func NewTripletMargin() *TripletMargin {
	return &TripletMargin{Base: defaultBase(), Margin: 0.05, TripletsPerAnchor: tuples.AllPerAnchor}
}

var tripletMarginDecl = decl{
	name:          "losses.TripletMargin",
	ctor:          "NewTripletMargin()",
	labelsOrTuple: true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
	pooled:        true,
}

// Compute implements Loss.
func (l *TripletMargin) Compute(b Batch) (Result, error) { return run(&tripletMarginDecl, l, b) }

func (l *TripletMargin) validate(name string) error {
	if math.IsNaN(l.Margin) || math.IsInf(l.Margin, 0) {
		return check.Settingf(name, "Margin = %v", l.Margin)
	}
	return nil
}

func (l *TripletMargin) compute(in *input) (*term, error) {
	if in.tuples == nil && l.TripletsPerAnchor == tuples.AllPerAnchor {
		return l.allTriplets(in)
	}
	if p, ok := in.tuples.(*tuples.Pairs); ok {
		return l.pairTriplets(in, p)
	}
	t, err := in.triplets(l.TripletsPerAnchor, randsrc.Or(l.Rand))
	if err != nil {
		return nil, err
	}
	if len(t.A) == 0 {
		return nil, nil
	}
	if err := l.checkSwap(in, t); err != nil {
		return nil, err
	}
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	return l.materialised(in, m, t), nil
}

// checkSwap: PML indexes the distance matrix's rows with the positives when
// swapping, which only works where they are valid query rows.
func (l *TripletMargin) checkSwap(in *input, t *tuples.Triplets) error {
	if !l.Swap || in.refIsQuery {
		return nil
	}
	if t == nil {
		if in.m > in.n {
			return check.Errorf("losses.TripletMargin", gometric.ErrUnsupported, "Swap with %d ref embeddings for %d queries: PML indexes query rows with positive indices", in.m, in.n)
		}
		return nil
	}
	if err := check.Indices("losses.TripletMargin", "positives (Swap indexes query rows with them)", t.P, in.n); err != nil {
		return err
	}
	return nil
}

func (l *TripletMargin) materialised(in *input, m *mat.Dense, t *tuples.Triplets) *term {
	ev := l.evaluator(in, m)
	vals := make([]float64, len(t.A))
	for i := range vals {
		vals[i], _, _, _ = ev.eval(t.A[i], t.P[i], t.N[i])
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{t.A, t.P, t.N}, Kind: reducers.Triplet}},
		backward: func(dv [][]float64, g *grads) error {
			gm := in.scratchMatrix(in.n, in.m)
			gr := gm.RawMatrix()
			for i, a := range t.A {
				_, dap, dan, dpn := ev.eval(a, t.P[i], t.N[i])
				ev.accumulate(gr, dv[0][i], a, t.P[i], t.N[i], dap, dan, dpn)
			}
			return in.matrixBackward(m, gm, g)
		},
	}
}

// tripletEval evaluates single triplets on a distance matrix's raw data.
type tripletEval struct {
	data              []float64
	stride            int
	margin            float64
	inv, swap, smooth bool
	// sign is d(violation)/d(ap): 1 for distances, -1 for similarities.
	sign float64
}

// plain reports whether the triplet loss is relu(sign·(ap - an) + margin),
// with neither swap nor smoothing, for the fast inner loops.
func (e *tripletEval) plain() bool { return !e.swap && !e.smooth }

func (l *TripletMargin) evaluator(in *input, m *mat.Dense) tripletEval {
	raw := m.RawMatrix()
	e := tripletEval{data: raw.Data, stride: raw.Stride, margin: l.Margin,
		inv: in.dist.Settings().Inverted, swap: l.Swap, smooth: l.SmoothLoss, sign: 1}
	if e.inv {
		e.sign = -1
	}
	return e
}

// eval returns the loss of one triplet and its derivatives with respect
// to the matrix entries (a,p), (a,n) and, with Swap, (p,n).
func (e *tripletEval) eval(a, p, n int) (v, dap, dan, dpn float64) {
	ap, an := e.data[a*e.stride+p], e.data[a*e.stride+n]
	wan, wpn := 1.0, 0.0
	if e.swap {
		// torch.maximum / torch.minimum: ties split the gradient.
		pn := e.data[p*e.stride+n]
		switch {
		case an == pn:
			wan, wpn = 0.5, 0.5
		case (e.inv && pn > an) || (!e.inv && pn < an):
			wan, wpn = 0, 1
		}
		if wpn == 1 {
			an = pn
		}
	}
	var viol float64
	sign := 1.0 // d(viol)/d(ap)
	if e.inv {
		viol, sign = an-ap+e.margin, -1
	} else {
		viol = ap - an + e.margin
	}
	var dv float64
	if e.smooth {
		v, dv = softplus(viol)
	} else if viol > 0 {
		v, dv = viol, 1
	}
	return v, dv * sign, -dv * sign * wan, -dv * sign * wpn
}

// accumulate adds w times the derivatives of one triplet to the raw
// gradient matrix.
func (e *tripletEval) accumulate(g blas64.General, w float64, a, p, n int, dap, dan, dpn float64) {
	if w == 0 {
		return
	}
	g.Data[a*g.Stride+p] += w * dap
	g.Data[a*g.Stride+n] += w * dan
	if dpn != 0 {
		g.Data[p*g.Stride+n] += w * dpn
	}
}

// softplus is torch.nn.functional.softplus (beta 1, threshold 20) and its
// derivative.
func softplus(x float64) (float64, float64) {
	if x > 20 {
		return x, 1
	}
	e := math.Exp(x)
	return math.Log1p(e), e / (1 + e)
}
