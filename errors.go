package gometric

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Sentinel errors. Every error the library returns for bad input wraps one
// of these, with the component and the offending value in its message.
var (
	// ErrShape reports a matrix of the wrong shape: empty, ragged, or with a
	// dimension that does not match another input.
	ErrShape = errors.New("bad shape")
	// ErrNonFinite reports a NaN or ±Inf in an input.
	ErrNonFinite = errors.New("non-finite value")
	// ErrLabels reports labels that do not fit the embeddings (wrong count,
	// missing where required).
	ErrLabels = errors.New("bad labels")
	// ErrIndex reports a tuple or loss index outside its valid range.
	ErrIndex = errors.New("index out of range")
	// ErrSetting reports an invalid constructor setting or option (p < 1,
	// a threshold with neither bound, a negative divisor, ...).
	ErrSetting = errors.New("invalid setting")
	// ErrUnsupported reports an operation that the component does not
	// support, mirroring a place where PML raises.
	ErrUnsupported = errors.New("unsupported")
)

// DenseFromRows copies rows into a new N×D matrix. It returns an error
// wrapping ErrShape when rows is empty, a row is empty or the rows are
// ragged, and one wrapping ErrNonFinite when a value is NaN or ±Inf.
func DenseFromRows(rows [][]float64) (*mat.Dense, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("gometric.DenseFromRows: no rows: %w", ErrShape)
	}
	d := len(rows[0])
	if d == 0 {
		return nil, fmt.Errorf("gometric.DenseFromRows: row 0 is empty: %w", ErrShape)
	}
	data := make([]float64, 0, len(rows)*d)
	for i, r := range rows {
		if len(r) != d {
			return nil, fmt.Errorf("gometric.DenseFromRows: row %d has %d values, row 0 has %d: %w", i, len(r), d, ErrShape)
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("gometric.DenseFromRows: value %v at row %d, column %d: %w", v, i, j, ErrNonFinite)
			}
		}
		data = append(data, r...)
	}
	return mat.NewDense(len(rows), d, data), nil
}
