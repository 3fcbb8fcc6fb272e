package reducers

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Kind is a sub-loss's reduction type (PML's "reduction_type"). The zero
// Kind is Element. A Kind is a plain value, safe for concurrent use.
type Kind int

// The reduction types of PML's loss dictionaries.
const (
	// Element: one value per batch element; Indices[0] names the element.
	Element Kind = iota
	// PosPair: one value per positive pair; Indices = (anchor, positive).
	PosPair
	// NegPair: one value per negative pair; Indices = (anchor, negative).
	NegPair
	// Triplet: one value per triplet; Indices = (anchor, positive, negative).
	Triplet
	// AlreadyReduced: a single value, passed through.
	AlreadyReduced
)

// String returns PML's spelling of the kind.
func (k Kind) String() string {
	switch k {
	case Element:
		return "element"
	case PosPair:
		return "pos_pair"
	case NegPair:
		return "neg_pair"
	case Triplet:
		return "triplet"
	case AlreadyReduced:
		return "already_reduced"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind turns PML's spelling of a reduction type into a Kind.
func ParseKind(s string) (Kind, error) {
	for k := Element; k <= AlreadyReduced; k++ {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("reducers: unknown reduction type %q: %w", s, gometric.ErrSetting)
}

// SubLoss is one entry of PML's loss dictionary: the unreduced values of one
// named part of a loss, the batch indices they belong to and how they are
// to be reduced.
//
// Nil (or empty) Values stand for PML's literal zero loss, which every
// reducer turns into 0 with no gradient: the zero SubLoss is such a zero
// loss, of kind Element. A SubLoss is plain data, safe for concurrent use:
// reducers only read it.
type SubLoss struct {
	// Name is the entry's key ("loss", "pos_loss", "embedding_reg_loss", ...).
	Name string
	// Values are the unreduced losses (one value for AlreadyReduced).
	Values []float64
	// Indices: Element 1 slice, PosPair/NegPair 2, Triplet 3, each as long
	// as Values; AlreadyReduced none. Reducers that do not use indices
	// accept nil.
	Indices [][]int
	// Kind is the reduction type.
	Kind Kind
	// Divisor is read by the Divisor reducer when HasDivisor is set.
	Divisor    float64
	HasDivisor bool
}

// Batch is what a reducer may need of the batch besides the losses: its size
// (PerAnchor) and its labels (ClassWeighted). The zero Batch is an empty
// batch without labels. A Batch is plain data, safe for concurrent use:
// reducers only read it.
type Batch struct {
	// N is the number of query embeddings.
	N int
	// Labels are the query labels, or nil.
	Labels []int
}

// Reducer mirrors PML's BaseReducer: it turns one sub-loss into a scalar and
// returns d(scalar)/d(Values) (for PerAnchor with duplicated pairs, the
// gradient PML's autograd returns; see PerAnchor).
//
// A Reducer of your own implements ReduceOne; a loss that streams its
// values (all triplets of a large batch) then materialises them for it,
// unless it also implements StreamPlanner or Streamer. The reducers of
// this package are safe for concurrent use while their fields are not
// being changed.
type Reducer interface {
	// ReduceOne reduces one sub-loss. grad has len(l.Values) entries.
	ReduceOne(l SubLoss, b Batch) (value float64, grad []float64, err error)
}

// Output is the result of Reduce (the zero Output: no sub-loss, a loss of
// 0). It is plain data, owned by the caller: safe for concurrent reads.
type Output struct {
	// Loss is the total: the sum of the reduced sub-losses.
	Loss float64
	// Parts holds each sub-loss's reduced value, in input order.
	Parts []float64
	// Grads holds d(Loss)/d(Values) for each sub-loss, in input order.
	Grads [][]float64
}

// Reduce reduces every sub-loss with r and sums them, as PML's loss
// functions do (one sub-loss: the reducer itself; several: MultipleReducers
// with r for each). A Multiple reducer picks its reducer per sub-loss name.
// The DoNothing reducer has no scalar: Reduce returns an error wrapping
// gometric.ErrUnsupported for it (losses hand its records back unreduced;
// see Passthrough).
//
// A nil r, a gradient of the wrong length from r (a user-defined reducer)
// or a total that overflows is an error.
func Reduce(r Reducer, losses []SubLoss, b Batch) (Output, error) {
	const component = "reducers.Reduce"
	if r == nil {
		return Output{}, check.Settingf(component, "nil reducer")
	}
	out := Output{Parts: make([]float64, len(losses)), Grads: make([][]float64, len(losses))}
	for i, l := range losses {
		v, g, err := r.ReduceOne(l, b)
		if err != nil {
			return Output{}, err
		}
		if len(g) != len(l.Values) {
			return Output{}, check.Errorf(component, gometric.ErrShape,
				"reducer %T returned %d gradient entries for the %d values of sub-loss %q", r, len(g), len(l.Values), l.Name)
		}
		out.Parts[i] = v
		out.Grads[i] = g
		out.Loss += v
	}
	if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
		return Output{}, check.Errorf(component, gometric.ErrNonFinite, "the total %v overflowed", out.Loss)
	}
	return out, nil
}
