package gometric_test

import (
	"errors"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// TestAPIConventions: the root package's one struct type, Matrix, is
// covered here (checked against the source), and every exported type's
// doc says whether it is safe for concurrent use. The zero Matrix is
// empty: refused by CheckShape and Validate with ErrShape, nil as a Dense,
// and left alone by L2Normalize and Clone.
func TestAPIConventions(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Matrix"})
	testkit.CheckConcurrencyDocs(t, ".")
	var m gometric.Matrix
	if err := m.CheckShape("c", "m"); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("CheckShape of the zero Matrix: %v, want ErrShape", err)
	}
	if err := m.Validate("c", "m"); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("Validate of the zero Matrix: %v, want ErrShape", err)
	}
	if r, c := m.Dims(); r != 0 || c != 0 || m.Dense() != nil {
		t.Errorf("zero Matrix: Dims %d×%d, Dense %v", r, c, m.Dense())
	}
	m.L2Normalize()
	if c := m.Clone(); c.Rows != 0 || c.Cols != 0 || len(c.Data) != 0 {
		t.Errorf("Clone of the zero Matrix: %+v", c)
	}
}
