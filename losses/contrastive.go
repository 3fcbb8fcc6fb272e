package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Contrastive mirrors PML's ContrastiveLoss: positive pairs are pulled
// within PosMargin, relu(d - PosMargin), and negative pairs pushed beyond
// NegMargin, relu(NegMargin - d) (reversed for similarities). Sub-losses
// "pos_loss" and "neg_loss"; default distance Lp, default reducer
// AvgNonZero (applied to each sub-loss, then summed).
//
// Make it with NewContrastive(): its zero value (or a literal) is refused,
// see Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type Contrastive struct {
	Base
	// PosMargin and NegMargin are PML's pos_margin (default 0) and
	// neg_margin (default 1).
	PosMargin, NegMargin float64
}

// NewContrastive returns a Contrastive loss with PML's defaults
// (ContrastiveLoss()).
func NewContrastive() *Contrastive {
	return &Contrastive{Base: defaultBase(), PosMargin: 0, NegMargin: 1}
}

var contrastiveDecl = decl{
	name:          "losses.Contrastive",
	ctor:          "NewContrastive()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"pos_loss", "neg_loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
	pooled:        true,
}

// Compute implements Loss.
func (l *Contrastive) Compute(b Batch) (Result, error) { return run(&contrastiveDecl, l, b) }

func (l *Contrastive) validate(name string) error {
	for _, v := range []float64{l.PosMargin, l.NegMargin} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "margins %v, %v must be finite", l.PosMargin, l.NegMargin)
		}
	}
	return nil
}

func (l *Contrastive) compute(in *input) (*term, error) {
	if in.tuples == nil {
		return l.allPairs(in)
	}
	pairs, m, err := in.pairMatrix()
	if err != nil {
		return nil, err
	}
	return l.materialised(in, m, pairs), nil
}

// margins returns the functions giving the positive and negative losses of
// a matrix entry before the relu, and d(margin)/d(entry): +1 for
// distances, -1 for similarities.
func (l *Contrastive) margins(in *input) (pos, neg func(x float64) float64, s float64) {
	pm, nm := l.PosMargin, l.NegMargin
	if in.dist.Settings().Inverted {
		return func(x float64) float64 { return pm - x }, func(x float64) float64 { return x - nm }, -1
	}
	return func(x float64) float64 { return x - pm }, func(x float64) float64 { return nm - x }, 1
}

func (l *Contrastive) materialised(in *input, m *mat.Dense, pairs *tuples.Pairs) *term {
	posMargin, negMargin, s := l.margins(in)
	pos, neg := gather(m, pairs.A1, pairs.P), gather(m, pairs.A2, pairs.N)
	posLoss, posGrad := make([]float64, len(pos)), make([]float64, len(pos))
	for i, x := range pos {
		posLoss[i], posGrad[i] = relu(posMargin(x))
	}
	negLoss, negGrad := make([]float64, len(neg)), make([]float64, len(neg))
	for i, x := range neg {
		negLoss[i], negGrad[i] = relu(negMargin(x))
	}
	return &term{
		subLosses: []reducers.SubLoss{
			{Name: "pos_loss", Values: posLoss, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair},
			{Name: "neg_loss", Values: negLoss, Indices: [][]int{pairs.A2, pairs.N}, Kind: reducers.NegPair},
		},
		backward: func(dv [][]float64, g *grads) error {
			gm := in.scratchMatrix(in.n, in.m)
			for i := range posGrad {
				posGrad[i] *= s * dv[0][i]
			}
			for i := range negGrad {
				negGrad[i] *= -s * dv[1][i]
			}
			scatter(gm, pairs.A1, pairs.P, posGrad)
			scatter(gm, pairs.A2, pairs.N, negGrad)
			return in.matrixBackward(m, gm, g)
		},
	}
}

// allPairs is the loss over every pair of the batch, streamed anchor by
// anchor from the matrix instead of listing the pairs; the result is that
// of materialised over tuples.AllPairs, which serves reducers that cannot
// stream.
//
// When the matrix is symmetric (ref is query, a symmetric distance),
// pairs (a, j) and (j, a) have the same value: with a reducer of package
// reducers (internal/streamband), only the pairs above the diagonal are
// visited, each counting twice, and the gradient of both is passed to the
// distance as one entry.
func (l *Contrastive) allPairs(in *input) (*term, error) {
	ap, err := in.allPairs()
	if err != nil {
		return nil, err
	}
	m, sym, err := in.matrixUpper()
	if err != nil {
		return nil, err
	}
	raw := m.RawMatrix()
	// pos(x) = relu(s·(x − pm)) and neg(x) = relu(s·(nm − x)), s = ±1
	// being the sign of d(margin)/d(entry), computed as relu(c − σ·x):
	// c = −s·pm, σ = −s for positives, c = s·nm, σ = s for negatives.
	s := 1.0
	if in.dist.Settings().Inverted {
		s = -1
	}
	cp, sp := -s*l.PosMargin, -s
	cn, sn := s*l.NegMargin, s
	row := func(a int) []float64 { return raw.Data[a*raw.Stride : a*raw.Stride+in.m] }
	// eachPos calls fn(a, p) for every positive pair with p ≥ from(a), in
	// order.
	eachPos := func(from func(a int) int, fn func(a, p int)) {
		for a, same := range ap.same {
			for _, p := range same {
				if p >= from(a) && (p != a || !ap.refIsQuery) {
					fn(a, p)
				}
			}
		}
	}
	// eachNegRun calls fn(a, lo, hi) for every run [lo, hi) of consecutive
	// negatives j ≥ from(a) of every anchor a, in order, and end(a) after
	// the runs of each anchor with negatives.
	eachNegRun := func(from func(a int) int, fn func(a, lo, hi int), end func(a int) error) error {
		for a, same := range ap.same {
			if len(same) == in.m {
				continue
			}
			for lo, i := from(a), 0; lo < in.m; i++ {
				hi := in.m
				if i < len(same) {
					hi = same[i]
				}
				if lo < hi {
					fn(a, lo, hi)
				}
				lo = max(lo, hi+1)
			}
			if end != nil {
				if err := end(a); err != nil {
					return err
				}
			}
		}
		return nil
	}
	all := func(int) int { return 0 }
	upper := all
	if sym {
		upper = func(a int) int { return a + 1 }
	}
	// The generic streams read the whole matrix, in PML's order.
	posEach := func(yield func([]float64, int) error) error {
		raw := in.complete(m).RawMatrix()
		buf := make([]float64, 0, in.m)
		for a, same := range ap.same {
			r, vals := raw.Data[a*raw.Stride:], buf[:0]
			for _, p := range same {
				if p != a || !ap.refIsQuery {
					vals = append(vals, max(cp-sp*r[p], 0))
				}
			}
			if len(vals) > 0 {
				if err := yield(vals, a); err != nil {
					return err
				}
			}
		}
		return nil
	}
	negEach := func(yield func([]float64, int) error) error {
		raw := in.complete(m).RawMatrix()
		buf, k := make([]float64, in.m), 0
		return eachNegRun(all, func(a, lo, hi int) {
			vals := buf[k : k+hi-lo]
			for j, x := range raw.Data[a*raw.Stride+lo : a*raw.Stride+hi] {
				vals[j] = max(cn-sn*x, 0)
			}
			k += hi - lo
		}, func(a int) error {
			vals := buf[:k]
			k = 0
			return yield(vals, a)
		})
	}
	// stats computes a part's statistics from the pairs from(a) on, each
	// counting twice when they are above the diagonal of a symmetric
	// matrix. A non-finite value is located in the whole stream.
	stats := func(add func(b *bandAcc, from func(int) int)) func(lo, hi float64) (int, float64, int, float64) {
		return func(lo, hi float64) (int, float64, int, float64) {
			b := newBandAcc(lo, hi)
			add(b, upper)
			n, sum, at, bad := b.result()
			if sym {
				n, sum = 2*n, 2*sum
				if at >= 0 {
					b = newBandAcc(lo, hi)
					in.complete(m)
					add(b, all)
					_, _, at, bad = b.result()
				}
			}
			return n, sum, at, bad
		}
	}
	posStats := stats(func(b *bandAcc, from func(int) int) {
		eachPos(from, func(a, p int) { b.add(max(cp-sp*raw.Data[a*raw.Stride+p], 0)) })
	})
	negStats := stats(func(b *bandAcc, from func(int) int) {
		_ = eachNegRun(from, func(a, lo, hi int) { b.reluRun(cn, sn, row(a)[lo:hi]) }, nil)
	})
	st := &streamTerm{
		parts: []streamPart{
			{Stream: reducers.Stream{Name: "pos_loss", Kind: reducers.PosPair, Len: ap.nPos, Each: posEach}, stats: posStats},
			{Stream: reducers.Stream{Name: "neg_loss", Kind: reducers.NegPair, Len: ap.nNeg, Each: negEach}, stats: negStats},
		},
		backward: func(grads []streamGrad, g *grads) error {
			pg, ng := &grads[0], &grads[1]
			// A symmetric matrix has the same pairs, values and relu' at
			// (a, j) and (j, a): the pair is listed once, above the
			// diagonal, with both gradients. relu'(v) is 1 for v > 0, else
			// 0 (as torch at 0).
			size := ap.nPos
			if sym {
				size /= 2
			}
			entries := make([]distances.Entry, 0, size+64)
			eachPos(upper, func(a, p int) {
				if pg.banded && pg.band.Weight == 0 {
					return
				}
				if v := cp - sp*raw.Data[a*raw.Stride+p]; v > 0 {
					w := pg.at(v, a)
					if sym {
						w += pg.at(v, p)
					}
					entries = append(entries, distances.Entry{I: a, J: p, G: s * w})
				}
			})
			if ng.banded && ng.band.Weight == 0 {
				// No value in the band (or a zero weight): no gradient.
				return in.matrixBackwardEntries(m, entries, g)
			}
			_ = eachNegRun(upper, func(a, lo, hi int) {
				for j, x := range row(a)[lo:hi] {
					if v := cn - sn*x; v > 0 {
						w := ng.at(v, a)
						if sym {
							w += ng.at(v, lo+j)
						}
						entries = append(entries, distances.Entry{I: a, J: lo + j, G: -s * w})
					}
				}
			}, nil)
			return in.matrixBackwardEntries(m, entries, g)
		},
		materialise: func() (*term, error) {
			pairs, err := in.pairs()
			if err != nil {
				return nil, err
			}
			return l.materialised(in, in.complete(m), pairs), nil
		},
	}
	return &term{stream: st}, nil
}

// SignalToNoiseRatioContrastive mirrors PML's
// SignalToNoiseRatioContrastiveLoss: Contrastive with distances.SNR as its
// default distance.
//
// Make it with NewSignalToNoiseRatioContrastive(): its zero value (or a
// literal) is refused, see Base. It is safe for concurrent use as long as
// its settings are not changed meanwhile.
type SignalToNoiseRatioContrastive struct {
	Contrastive
}

// NewSignalToNoiseRatioContrastive returns the loss with PML's defaults
// (pos_margin 0, neg_margin 1, SNRDistance).
func NewSignalToNoiseRatioContrastive() *SignalToNoiseRatioContrastive {
	return &SignalToNoiseRatioContrastive{Contrastive: *NewContrastive()}
}

var snrContrastiveDecl = decl{
	name:          "losses.SignalToNoiseRatioContrastive",
	ctor:          "NewSignalToNoiseRatioContrastive()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"pos_loss", "neg_loss"},
	defDistance:   func() distances.Distance { return distances.NewSNR() },
	defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
	checkDistance: func(name string, d distances.Distance) error {
		if _, ok := d.(*distances.SNR); !ok {
			return check.Settingf(name, "distance %T, want *distances.SNR (as PML asserts)", d)
		}
		return nil
	},
	pooled: true,
}

// Compute implements Loss.
func (l *SignalToNoiseRatioContrastive) Compute(b Batch) (Result, error) {
	return run(&snrContrastiveDecl, l, b)
}
