package gometric

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Matrix is the library's one float32 matrix, row-major: row i is
// Data[i*Cols : (i+1)*Cols]. It carries everything that crosses the
// float32 boundary between packages: a batch of inputs (one flattened
// sample per row: C·H·W values in NCHW order for an image, D for a feature
// vector), embeddings and their gradients, kNN queries and references,
// the vectors of an index. The metric layer (distances, reducers, losses,
// miners) computes in float64 on gonum matrices; Dense and MatrixFromDense
// convert.
//
// A Matrix is a view: copying the struct shares Data. It is not safe for
// concurrent use when one goroutine writes Data.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// NewMatrix returns a zero rows×cols Matrix. It returns an error wrapping
// ErrShape when rows or cols is negative or their product overflows.
func NewMatrix(rows, cols int) (Matrix, error) {
	if rows < 0 || cols < 0 || (cols > 0 && rows > math.MaxInt/cols) {
		return Matrix{}, fmt.Errorf("gometric.NewMatrix: %d×%d: %w", rows, cols, ErrShape)
	}
	return Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}, nil
}

// Row returns row i, a view into Data.
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Dims returns the number of rows and columns.
func (m Matrix) Dims() (rows, cols int) { return m.Rows, m.Cols }

// Clone returns a copy of m that shares no memory with it.
func (m Matrix) Clone() Matrix {
	return Matrix{Rows: m.Rows, Cols: m.Cols, Data: append([]float32(nil), m.Data...)}
}

// CheckShape checks that m is non-empty and that Data holds Rows×Cols
// values, without reading them. component and what name m in the error,
// which wraps ErrShape.
func (m Matrix) CheckShape(component, what string) error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("%s: %s is empty (%d×%d): %w", component, what, m.Rows, m.Cols, ErrShape)
	}
	if len(m.Data)%m.Cols != 0 || len(m.Data)/m.Cols != m.Rows { // Rows*Cols could overflow
		return fmt.Errorf("%s: %s has %d values for %d×%d: %w", component, what, len(m.Data), m.Rows, m.Cols, ErrShape)
	}
	return nil
}

// Validate checks that m is non-empty, that Data holds Rows×Cols values and
// that they are finite. component and what name m in the error, which
// wraps ErrShape or ErrNonFinite.
func (m Matrix) Validate(component, what string) error {
	if err := m.CheckShape(component, what); err != nil {
		return err
	}
	// v−v is 0 for every finite v and NaN for NaN and ±Inf, so four
	// branch-free sums tell whether any value is not finite; only then
	// is the first one looked for.
	d := m.Data
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(d); i += 4 {
		s0 += d[i] - d[i]
		s1 += d[i+1] - d[i+1]
		s2 += d[i+2] - d[i+2]
		s3 += d[i+3] - d[i+3]
	}
	for ; i < len(d); i++ {
		s0 += d[i] - d[i]
	}
	if s0+s1+s2+s3 == 0 {
		return nil
	}
	for i, v := range d {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s has %v at row %d, column %d: %w", component, what, v, i/m.Cols, i%m.Cols, ErrNonFinite)
		}
	}
	return nil
}

// Dense returns m as a new float64 gonum matrix (exact: every float32 is a
// float64). It returns nil for an empty m.
func (m Matrix) Dense() *mat.Dense {
	if m.Rows <= 0 || m.Cols <= 0 || len(m.Data) < m.Rows*m.Cols {
		return nil
	}
	d := make([]float64, m.Rows*m.Cols)
	for i, v := range m.Data[:len(d)] {
		d[i] = float64(v)
	}
	return mat.NewDense(m.Rows, m.Cols, d)
}

// MatrixFromDense returns d rounded to float32 as a new Matrix (the zero
// Matrix for a nil or empty d). Values beyond float32's range become ±Inf:
// check the result with Validate where that can happen.
func MatrixFromDense(d mat.Matrix) Matrix {
	if d == nil {
		return Matrix{}
	}
	if dd, ok := d.(*mat.Dense); ok && dd.IsEmpty() {
		return Matrix{}
	}
	r, c := d.Dims()
	out := Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
	if dd, ok := d.(*mat.Dense); ok {
		raw := dd.RawMatrix()
		for i := 0; i < r; i++ {
			row := out.Data[i*c : (i+1)*c]
			for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+c] {
				row[j] = float32(v)
			}
		}
		return out
	}
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Data[i*c+j] = float32(d.At(i, j))
		}
	}
	return out
}

// normEps is torch.nn.functional.normalize's default eps.
const normEps = 1e-12

// L2Normalize divides every row of m, in place, by max(‖row‖₂, 1e-12):
// torch.nn.functional.normalize(x, p=2, dim=1), what PML's testers do to
// embeddings (normalize_embeddings=True). The norm is accumulated in
// float64 and the division is done in float32, as torch does, except for a
// row whose norm exceeds float32's range, which is divided in float64: any
// finite row normalises correctly, and a zero row stays zero.
func (m Matrix) L2Normalize() {
	for i := 0; i < m.Rows; i++ {
		row := m.Row(i)
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		d := math.Max(math.Sqrt(s), normEps)
		if d > math.MaxFloat32 {
			for j, v := range row {
				row[j] = float32(float64(v) / d)
			}
			continue
		}
		d32 := float32(d)
		for j := range row {
			row[j] /= d32
		}
	}
}
