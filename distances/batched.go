package distances

import (
	"fmt"

	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

// DefaultBatchSize is PML's default BatchedDistance batch_size.
const DefaultBatchSize = 32

// Batched mirrors PML's BatchedDistance: it computes Distance's matrix a
// block of query rows at a time, so the whole N×M matrix never has to be
// held at once (see Each). It also satisfies Distance itself by delegating
// every method to Distance, as PML's wrapper forwards attribute access.
//
// The zero value has no Distance: it is refused with an error wrapping
// gometric.ErrSetting that names NewBatched. A Batched is safe for
// concurrent use by several goroutines when its Distance is, while its
// fields are not being changed.
type Batched struct {
	// Distance computes each block (PML's distance). It must not be nil.
	Distance Distance
	// BatchSize is the number of query rows per block, at least 1
	// (PML's batch_size, default DefaultBatchSize).
	BatchSize int
}

// NewBatched returns a Batched wrapper around d with blocks of batchSize
// query rows (PML's default is DefaultBatchSize).
func NewBatched(d Distance, batchSize int) *Batched {
	return &Batched{Distance: d, BatchSize: batchSize}
}

const batchedName = "distances.Batched"

func (b *Batched) validate() error {
	if b == nil {
		return check.Settingf(batchedName, "nil receiver")
	}
	if b.Distance == nil {
		return check.Settingf(batchedName, "Distance is nil (the zero value has no distance: use NewBatched(d, DefaultBatchSize))")
	}
	if b.BatchSize < 1 {
		return check.Settingf(batchedName, "BatchSize = %d, want >= 1", b.BatchSize)
	}
	return nil
}

// Each mirrors BatchedDistance.forward with iter_fn = fn: for every block of
// BatchSize consecutive query rows [start, end) it calls fn with the
// (end−start)×M matrix between those rows and ref (ref nil: query), in
// order, and stops at the first error, which it returns unchanged. Unlike
// PML, end is clamped to the number of query rows.
func (b *Batched) Each(query, ref *mat.Dense, fn func(block *mat.Dense, start, end int) error) error {
	if err := b.validate(); err != nil {
		return err
	}
	if fn == nil {
		return check.Settingf(batchedName, "fn is nil")
	}
	if err := check.Matrix(batchedName, "query", query); err != nil {
		return err
	}
	if ref == nil {
		ref = query
	} else if err := check.Matrix(batchedName, "ref", ref); err != nil {
		return err
	}
	if err := check.SameCols(batchedName, "query", "ref", query, ref); err != nil {
		return err
	}
	n, d := query.Dims()
	for s := 0; s < n; s += b.BatchSize {
		e := min(n, s+b.BatchSize)
		blk, err := b.Distance.Matrix(query.Slice(s, e, 0, d).(*mat.Dense), ref)
		if err != nil {
			return fmt.Errorf("%s: rows %d to %d: %w", batchedName, s, e, err)
		}
		if err := fn(blk, s, e); err != nil {
			return err
		}
	}
	return nil
}

// Matrix returns Distance's whole matrix (see Distance.Matrix).
func (b *Batched) Matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b.Distance.Matrix(query, ref)
}

// MatrixVJP delegates to Distance.MatrixVJP.
func (b *Batched) MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	if err := b.validate(); err != nil {
		return nil, nil, err
	}
	return b.Distance.MatrixVJP(query, ref, m, grad)
}

// Pairwise delegates to Distance.Pairwise.
func (b *Batched) Pairwise(x, y *mat.Dense) ([]float64, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b.Distance.Pairwise(x, y)
}

// PairwiseVJP delegates to Distance.PairwiseVJP.
func (b *Batched) PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	if err := b.validate(); err != nil {
		return nil, nil, err
	}
	return b.Distance.PairwiseVJP(x, y, grad)
}

// OpenSession implements SessionOpener: the session NewSession opens for
// Distance, reporting b as its distance.
func (b *Batched) OpenSession(query, ref *mat.Dense) (Session, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	s, err := NewSession(b.Distance, query, ref)
	if err != nil {
		return nil, err
	}
	return relabeled{s, b}, nil
}

// Settings returns Distance's settings (the zero Settings for a nil
// receiver or a nil Distance).
func (b *Batched) Settings() Settings {
	if b == nil || b.Distance == nil {
		return Settings{}
	}
	return b.Distance.Settings()
}
