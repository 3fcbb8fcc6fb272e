package testkit

import (
	"fmt"

	"github.com/gometric/gometric"
)

// RawDataset is a data set of arbitrary float32 feature vectors and labels
// that it never checks (NaN, ±Inf, any label), for fuzzing what reads data
// sets: sample i is Values[i*Dim : (i+1)*Dim], labelled SampleLabels[i].
// It has the methods of datasets.Dataset (testkit cannot import datasets)
// and keeps that interface's contract: Batch reuses dst's memory when its
// capacity suffices and refuses an index outside [0, Len()) with an error
// wrapping gometric.ErrIndex. It is safe for concurrent use if its fields
// are not changed meanwhile.
type RawDataset struct {
	Dim          int
	Values       []float32
	SampleLabels []int
}

// Len returns the number of samples.
func (r *RawDataset) Len() int { return len(r.SampleLabels) }

// Labels returns the labels, shared with r.
func (r *RawDataset) Labels() []int { return r.SampleLabels }

// SampleShape returns [Dim].
func (r *RawDataset) SampleShape() []int { return []int{r.Dim} }

// Batch returns the samples idx as the rows of a matrix, with their
// labels.
func (r *RawDataset) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	out := gometric.Matrix{Rows: len(idx), Cols: r.Dim, Data: dst.Data[:0]}
	labels := make([]int, len(idx))
	for k, i := range idx {
		if i < 0 || i >= len(r.SampleLabels) {
			return gometric.Matrix{}, nil, fmt.Errorf("testkit.RawDataset: index %d: %w", i, gometric.ErrIndex)
		}
		out.Data = append(out.Data, r.Values[i*r.Dim:(i+1)*r.Dim]...)
		labels[k] = r.SampleLabels[i]
	}
	return out, labels, nil
}
