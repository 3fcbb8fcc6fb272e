package datasets

import (
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// TwoStream is a two-stream data set, the form PML's TwoStreamMetricLoss
// trainer and GlobalTwoStreamEmbeddingSpaceTester read: sample i is the
// triple (anchor i, positive i, label i), PML's dataset __getitem__
// returning (anchor, positive, label). Anchors and Positives are two data
// sets of the same length, labels and sample shape, paired sample by
// sample (for two augmentations of one image set, use two ImageFiles with
// different Seeds, e.g. f and a Subset of f). Their fields are exactly
// those of testers.TwoStreamSplit, so TwoStreamSplit(ts) converts one to
// the other.
//
// Make it with NewTwoStream, which checks the pairing: the zero value
// has no data sets and its methods that return an error refuse it with
// an error wrapping gometric.ErrSetting that names NewTwoStream. A
// TwoStream is as safe for concurrent use as its two data sets.
type TwoStream struct {
	Anchors, Positives Dataset
}

// NewTwoStream pairs anchors and positives: they must have the same
// number of samples (gometric.ErrShape), the same labels, sample by
// sample (gometric.ErrLabels), and the same sample shape
// (gometric.ErrShape).
func NewTwoStream(anchors, positives Dataset) (TwoStream, error) {
	const comp = "datasets.NewTwoStream"
	ts := TwoStream{Anchors: anchors, Positives: positives}
	return ts, ts.check(comp)
}

// check validates the pairing.
func (t TwoStream) check(comp string) error {
	if check.Nil(t.Anchors) || check.Nil(t.Positives) {
		return check.Settingf(comp, "not made by NewTwoStream: nil Anchors or Positives")
	}
	na, np := t.Anchors.Len(), t.Positives.Len()
	if na != np {
		return check.Errorf(comp, gometric.ErrShape, "%d anchors and %d positives", na, np)
	}
	la, lp := t.Anchors.Labels(), t.Positives.Labels()
	if len(la) != na || len(lp) != np {
		return check.Errorf(comp, gometric.ErrShape, "%d anchor labels and %d positive labels for %d pairs", len(la), len(lp), na)
	}
	for i := range la {
		if la[i] != lp[i] {
			return check.Errorf(comp, gometric.ErrLabels, "pair %d: anchor label %d, positive label %d", i, la[i], lp[i])
		}
	}
	sa, sp := t.Anchors.SampleShape(), t.Positives.SampleShape()
	if len(sa) != len(sp) {
		return check.Errorf(comp, gometric.ErrShape, "anchor samples %v, positive samples %v", sa, sp)
	}
	for k := range sa {
		if sa[k] != sp[k] {
			return check.Errorf(comp, gometric.ErrShape, "anchor samples %v, positive samples %v", sa, sp)
		}
	}
	return nil
}

// Len returns the number of pairs (0 for the zero value).
func (t TwoStream) Len() int {
	if check.Nil(t.Anchors) {
		return 0
	}
	return t.Anchors.Len()
}

// Labels returns the labels of the pairs, the anchors' (shared: do not
// modify; nil for the zero value).
func (t TwoStream) Labels() []int {
	if check.Nil(t.Anchors) {
		return nil
	}
	return t.Anchors.Labels()
}

// Batch returns pairs idx: the anchors and the positives as the rows of
// two len(idx)×prod(SampleShape) matrices (reusing dstA and dstP as
// Dataset.Batch does) and their labels. It checks the pairing first and
// that both streams return the same labels.
func (t TwoStream) Batch(idx []int, dstA, dstP gometric.Matrix) (anchors, positives gometric.Matrix, labels []int, err error) {
	const comp = "datasets.TwoStream.Batch"
	if err := t.check(comp); err != nil {
		return gometric.Matrix{}, gometric.Matrix{}, nil, err
	}
	a, la, err := t.Anchors.Batch(idx, dstA)
	if err != nil {
		return gometric.Matrix{}, gometric.Matrix{}, nil, err
	}
	p, lp, err := t.Positives.Batch(idx, dstP)
	if err != nil {
		return gometric.Matrix{}, gometric.Matrix{}, nil, err
	}
	if len(la) != len(lp) || a.Rows != p.Rows || a.Cols != p.Cols {
		return gometric.Matrix{}, gometric.Matrix{}, nil, check.Errorf(comp, gometric.ErrShape, "anchors %d×%d with %d labels, positives %d×%d with %d labels", a.Rows, a.Cols, len(la), p.Rows, p.Cols, len(lp))
	}
	for k := range la {
		if la[k] != lp[k] {
			return gometric.Matrix{}, gometric.Matrix{}, nil, check.Errorf(comp, gometric.ErrLabels, "pair %d (sample %d): anchor label %d, positive label %d", k, idx[k], la[k], lp[k])
		}
	}
	return a, p, la, nil
}
