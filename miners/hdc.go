package miners

import (
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/tuples"
)

// HDC mirrors PML's HDCMiner (Hard-Aware Deeply Cascaded embeddings): of
// the positive pairs it keeps the ceil(FilterPercentage·count) hardest
// (largest distances, or smallest similarities), and likewise of the
// negative pairs (smallest distances, largest similarities).
//
// The pairs filtered are all pairs of the batch, or — as with PML's
// set_idx_externally, for cascades — the tuples given to
// SetIndicesExternally. As in PML, once set externally the indices stay
// set until ResetIndices, and each Mine filters the result of the previous
// one further. Each list is returned in topk's order: hardest first, equal
// values in pair order (torch.topk leaves ties unspecified).
//
// A FilterPercentage of 0 is a legal setting, so the zero value cannot
// mean PML's default of 0.5: make an HDC with NewHDC and set its fields;
// Mine and SetIndicesExternally refuse a zero value or a literal with an
// error wrapping gometric.ErrSetting. Because of its state (the indices
// set externally), an HDC is not safe for concurrent use.
type HDC struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// FilterPercentage is PML's filter_percentage (default 0.5), in
	// [0, 1].
	FilterPercentage float64

	external *tuples.Pairs
	made     bool
}

// NewHDC returns an HDC miner with PML's defaults (HDCMiner():
// filter_percentage 0.5).
func NewHDC() *HDC {
	return &HDC{FilterPercentage: 0.5, made: true}
}

const hdcDefaults = "filter_percentage 0.5"

// SetIndicesExternally mirrors HDCMiner.set_idx_externally: the next calls
// of Mine filter t (converted to pairs as PML's convert_to_pairs does:
// triplets (a, p, n) become (a, p) and (a, n); nil means all pairs of
// labels) instead of the batch's pairs. Anchors must index labels; the
// positives and negatives are checked against the reference set when Mine
// runs. The slices are copied.
func (h *HDC) SetIndicesExternally(t tuples.Tuples, labels []int) error {
	const name = "miners.HDC"
	if h == nil {
		return nilReceiver(name)
	}
	if !h.made {
		return notMade(name, "NewHDC", hdcDefaults)
	}
	var p *tuples.Pairs
	switch v := t.(type) {
	case nil:
		all, err := tuples.AllPairs(labels, nil, true)
		if err != nil {
			return wrap(name, err)
		}
		p = all
	case *tuples.Pairs:
		if err := validateExternal(name, v, len(labels)); err != nil {
			return err
		}
		p = &tuples.Pairs{A1: slices.Clone(v.A1), P: slices.Clone(v.P), A2: slices.Clone(v.A2), N: slices.Clone(v.N)}
	case *tuples.Triplets:
		if err := validateExternal(name, v, len(labels)); err != nil {
			return err
		}
		p = &tuples.Pairs{A1: slices.Clone(v.A), P: slices.Clone(v.P), A2: slices.Clone(v.A), N: slices.Clone(v.N)}
	default:
		return check.Errorf(name, gometric.ErrUnsupported, "unsupported Tuples type %T", t)
	}
	h.external = p
	return nil
}

func validateExternal(name string, t tuples.Tuples, nLabels int) error {
	if err := t.Validate(nLabels, math.MaxInt); err != nil {
		return wrap(name, err)
	}
	return nil
}

// ResetIndices mirrors HDCMiner.reset_idx: Mine goes back to the batch's
// own pairs.
func (h *HDC) ResetIndices() {
	if h != nil {
		h.external = nil
	}
}

// Mine returns the filtered pairs (a *tuples.Pairs). When indices were set
// externally, the result also replaces them, as in PML.
func (h *HDC) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.HDC"
	if h == nil {
		return nil, nilReceiver(name)
	}
	if !h.made {
		return nil, notMade(name, "NewHDC", hdcDefaults)
	}
	fp := h.FilterPercentage
	if math.IsNaN(fp) || fp < 0 || fp > 1 {
		return nil, check.Settingf(name, "FilterPercentage = %v, want a number in [0, 1]", fp)
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	dist := distanceOr(h.Distance, defaultLp)
	m, err := b.matrix(name, dist)
	if err != nil {
		return nil, err
	}
	pairs := h.external
	if pairs != nil {
		if err := pairs.Validate(b.n, b.m); err != nil {
			return nil, wrap(name, err)
		}
	} else {
		pairs, err = tuples.AllPairs(b.labels, b.refArg(), b.self)
		if err != nil {
			return nil, wrap(name, err)
		}
	}
	inverted := dist.Settings().Inverted
	out := &tuples.Pairs{}
	// Positives: the largest distances (smallest similarities) are hardest.
	raw := rawOf(m)
	out.A1, out.P = topFraction(pairs.A1, pairs.P, raw, fp, !inverted)
	out.A2, out.N = topFraction(pairs.A2, pairs.N, raw, fp, inverted)
	if h.external != nil {
		h.external = &tuples.Pairs{A1: slices.Clone(out.A1), P: slices.Clone(out.P), A2: slices.Clone(out.A2), N: slices.Clone(out.N)}
	}
	return out, nil
}

// topFraction returns the ceil(fp·len) pairs (a[k], o[k]) with the largest
// (or smallest) values m[a[k], o[k]], in that order, ties by position.
func topFraction(a, o []int, m dense, fp float64, largest bool) ([]int, []int) {
	if len(a) == 0 {
		return []int{}, []int{}
	}
	k := int(math.Ceil(fp * float64(len(a))))
	ks := make([]keyed, len(a))
	for i := range a {
		key := floatKey(m.at(a[i], o[i]))
		if largest {
			key = ^key
		}
		ks[i] = keyed{key: key, pos: i}
	}
	sortKeyed(ks)
	outA, outO := make([]int, k), make([]int, k)
	for i, kd := range ks[:k] {
		outA[i], outO[i] = a[kd.pos], o[kd.pos]
	}
	return outA, outO
}
