package distances_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// extremeCase is a distance whose matrix at any scale s of its inputs
// follows from its matrix at scale 1:
//
//   - without normalisation the matrix is homogeneous of degree deg:
//     M(s·x) = s^deg M(x), and its VJP s^(deg−1) times that at x;
//   - with normalisation and every row norm above Eps it does not change,
//     and its VJP is divided by s;
//   - with normalisation and every row norm at or below Eps, torch's clamp
//     makes the rows x·s/Eps: M(s·x) = t^deg un(x) with t = s/Eps, un the
//     same distance without normalisation, and the VJP is t^(deg−1)/Eps
//     times un's at x.
type extremeCase struct {
	name string
	d    distances.Distance
	un   distances.Distance // d without normalisation (nil: d does not normalise)
	deg  int
	// noSelf: the self matrix is undefined (a negative power of the zero
	// diagonal).
	noSelf bool
}

func extremeCases() []extremeCase {
	var cs []extremeCase
	for _, p := range []float64{2, 1, 3, 2.5, 50} {
		for _, power := range []float64{1, 2} {
			cs = append(cs,
				extremeCase{fmt.Sprintf("Lp/P%v/Power%v/normalised", p, power),
					&distances.Lp{NormalizeEmbeddings: true, P: p, Power: power},
					&distances.Lp{P: p, Power: power}, int(power), false},
				extremeCase{fmt.Sprintf("Lp/P%v/Power%v", p, power), &distances.Lp{P: p, Power: power}, nil, int(power), false})
		}
	}
	for _, p := range []float64{2, 3} {
		for _, power := range []float64{1, 2} {
			cs = append(cs,
				extremeCase{fmt.Sprintf("Cosine/P%v/Power%v", p, power), &distances.CosineSimilarity{P: p, Power: power},
					&distances.DotProductSimilarity{P: p, Power: power}, 2 * int(power), false},
				extremeCase{fmt.Sprintf("Dot/P%v/Power%v/normalised", p, power), &distances.DotProductSimilarity{NormalizeEmbeddings: true, P: p, Power: power},
					&distances.DotProductSimilarity{P: p, Power: power}, 2 * int(power), false})
		}
	}
	cs = append(cs,
		extremeCase{"Cosine/P2/Power3", &distances.CosineSimilarity{P: 2, Power: 3}, &distances.DotProductSimilarity{P: 2, Power: 3}, 6, false},
		extremeCase{"Dot/Power3", &distances.DotProductSimilarity{P: 2, Power: 3}, nil, 6, false},
		extremeCase{"Lp/P2/Power3", &distances.Lp{P: 2, Power: 3}, nil, 3, false},
		extremeCase{"Lp/P3/Power-1", &distances.Lp{P: 3, Power: -1}, nil, -1, true},
		extremeCase{"Lp/P2/Power-2/normalised", &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: -2}, &distances.Lp{P: 2, Power: -2}, -2, true})
	for _, power := range []float64{1, 2} {
		cs = append(cs,
			extremeCase{fmt.Sprintf("Dot/Power%v", power), &distances.DotProductSimilarity{P: 2, Power: power}, nil, 2 * int(power), false},
			extremeCase{fmt.Sprintf("SNR/Power%v/normalised", power), &distances.SNR{NormalizeEmbeddings: true, P: 2, Power: power},
				&distances.SNR{P: 2, Power: power}, 0, false},
			extremeCase{fmt.Sprintf("SNR/Power%v", power), &distances.SNR{P: 2, Power: power}, nil, 0, false},
			extremeCase{fmt.Sprintf("SNR/P3/Power%v/normalised", power), &distances.SNR{NormalizeEmbeddings: true, P: 3, Power: power},
				&distances.SNR{P: 3, Power: power}, 0, false})
	}
	cs = append(cs, extremeCase{"Batched/Cosine", distances.NewBatched(distances.NewCosineSimilarity(), 2),
		&distances.DotProductSimilarity{P: 2, Power: 1}, 2, false})
	return cs
}

// extremeScalesD are the scales of the inputs: the (1e160, 1e30,
// 1e-30, 1e-160) and the ends of float64's range.
var extremeScalesD = []float64{1e300, 1e160, 1e30, 1e7, 1e-7, 1e-30, 1e-160, 1e-300}

// times returns v·f·t^k exactly rounded (big.Float holds any exponent), as
// float64: ±Inf when it overflows, 0 or a subnormal when it underflows.
func times(v, f, t float64, k int) float64 {
	x := new(big.Float).SetPrec(200).SetFloat64(v)
	x.Mul(x, new(big.Float).SetFloat64(f))
	bt := new(big.Float).SetPrec(200).SetFloat64(t)
	for range max(k, -k) {
		if k > 0 {
			x.Mul(x, bt)
		} else {
			x.Quo(x, bt)
		}
	}
	r, _ := x.Float64()
	return r
}

// expected maps a result at scale 1 (a matrix when grad is false, a
// gradient when true) to the one at scale s, by extremeCase's rules; ok
// is false when that result is not representable (an entry overflows).
func (c extremeCase) expected(at1, un1 *mat.Dense, s float64, clamped, grad bool) (*mat.Dense, bool) {
	src, f, t, k := at1, 1.0, s, c.deg
	switch {
	case c.un == nil: // homogeneous of degree deg
		if grad {
			k--
		}
	case !clamped: // free of scale
		k = 0
		if grad {
			k = -1
		}
	default: // the rows are x·s/Eps
		src, t = un1, s/rownorm.Eps
		if grad {
			f, k = 1/rownorm.Eps, k-1
		}
	}
	r, cc := src.Dims()
	out := mat.NewDense(r, cc, nil)
	ok := true
	for i := range r {
		for j := range cc {
			v := times(src.At(i, j), f, t, k)
			ok = ok && !math.IsInf(v, 0)
			out.Set(i, j, v)
		}
	}
	return out, ok
}

// closeTo compares got with want entry by entry, relative to each entry
// and to the largest magnitude of want (cancellation), with a floor for
// values that underflow.
func closeTo(got, want *mat.Dense, tol float64) error {
	if got == nil {
		return errors.New("nil result")
	}
	r, c := want.Dims()
	if gr, gc := got.Dims(); gr != r || gc != c {
		return fmt.Errorf("%d×%d, want %d×%d", gr, gc, r, c)
	}
	scale := mat.Norm(want, math.Inf(1))
	for i := range r {
		for j := range c {
			g, w := got.At(i, j), want.At(i, j)
			if math.IsNaN(g) || math.IsInf(g, 0) {
				return fmt.Errorf("entry (%d, %d) is %v, want %v", i, j, g, w)
			}
			if d := math.Abs(g - w); d > tol*math.Abs(w) && d > tol*scale && d > 1e-300 {
				return fmt.Errorf("entry (%d, %d) is %v, want %v", i, j, g, w)
			}
		}
	}
	return nil
}

func scaledCopy(x *mat.Dense, s float64) *mat.Dense {
	y := mat.DenseCopyOf(x)
	y.Scale(s, y)
	return y
}

// TestExtremeScales runs every distance (each P, Power and normalisation
// that changes the arithmetic) through Matrix (self and with a ref),
// MatrixVJP, a session's Matrix, Backward and BackwardEntries, and for the
// unit product a column session, on inputs scaled from 1e-300 to 1e300:
// each result is the one the scale predicts (see extremeCase), or an
// error wrapping ErrNonFinite exactly when that result overflows float64.
// Never zeros, NaN or ±Inf silently. The reproductions are among
// them: CosineSimilarity on X·1e160 (all zeros before), Lp{P: 50,
// NormalizeEmbeddings: true} on X·1e7, Euclidean distances of rows ×1e160.
func TestExtremeScales(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 37))
	q, r := testkit.NormalDense(rng, 6, 5), testkit.NormalDense(rng, 4, 5)
	gqr, gqq := testkit.NormalDense(rng, 6, 4), testkit.NormalDense(rng, 6, 6)
	entries := []distances.Entry{{I: 1, J: 2, G: 0.7}, {I: 4, J: 0, G: -1.3}}
	gEntries := mat.NewDense(6, 4, nil)
	for _, e := range entries {
		gEntries.Set(e.I, e.J, e.G)
	}
	for _, c := range extremeCases() {
		t.Run(c.name, func(t *testing.T) {
			run := func(d distances.Distance, q, r *mat.Dense, self bool) (m, dq, dr *mat.Dense, err error) {
				g := gqr
				if self {
					r, g = nil, gqq
				}
				if m, err = d.Matrix(q, r); err != nil {
					return nil, nil, nil, err
				}
				dq, dr, err = d.MatrixVJP(q, r, nil, g)
				return m, dq, dr, err
			}
			at1 := func(d distances.Distance, self bool) (m, dq, dr *mat.Dense) {
				if d == nil {
					return nil, nil, nil
				}
				m, dq, dr, err := run(d, q, r, self)
				if err != nil {
					t.Fatalf("at scale 1: %v", err)
				}
				return m, dq, dr
			}
			for _, s := range extremeScalesD {
				qs, rs := scaledCopy(q, s), scaledCopy(r, s)
				// Every row norm of q and r lies in [0.5, 5]: a scale
				// clamps all rows or none.
				clamped := c.un != nil && s*5 <= rownorm.Eps
				if c.un != nil && !clamped && s*0.5 <= rownorm.Eps {
					t.Fatalf("scale %v clamps some rows only", s)
				}
				for _, self := range []bool{true, false} {
					if self && c.noSelf {
						continue
					}
					m1, dq1, dr1 := at1(c.d, self)
					u1, uq1, ur1 := at1(c.un, self)
					wm, okM := c.expected(m1, u1, s, clamped, false)
					wq, okQ := c.expected(dq1, uq1, s, clamped, true)
					okR, wr := true, (*mat.Dense)(nil)
					if !self {
						wr, okR = c.expected(dr1, ur1, s, clamped, true)
					}
					what := fmt.Sprintf("scale %v self %v", s, self)
					m, dq, dr, err := run(c.d, qs, rs, self)
					switch {
					case !okM || !okQ || !okR:
						if !errors.Is(err, gometric.ErrNonFinite) {
							t.Errorf("%s: the result overflows float64, want an error wrapping ErrNonFinite, got %v", what, err)
						}
						continue
					case err != nil:
						t.Errorf("%s: %v", what, err)
						continue
					}
					if err := closeTo(m, wm, 1e-9); err != nil {
						t.Errorf("%s: matrix %v", what, err)
					}
					if err := closeTo(dq, wq, 1e-8); err != nil {
						t.Errorf("%s: dQuery %v", what, err)
					}
					if !self {
						if err := closeTo(dr, wr, 1e-8); err != nil {
							t.Errorf("%s: dRef %v", what, err)
						}
					}
					// The session: its matrix, Backward and BackwardEntries.
					var ref *mat.Dense
					g := gqq
					if !self {
						ref, g = rs, gqr
					}
					ss, err := distances.NewSession(c.d, qs, ref)
					if err != nil {
						t.Errorf("%s: session: %v", what, err)
						continue
					}
					if err := closeTo(ss.Matrix(), wm, 1e-9); err != nil {
						t.Errorf("%s: session matrix %v", what, err)
					}
					sq := mat.NewDense(6, 5, nil)
					var sr *mat.Dense
					if !self {
						sr = mat.NewDense(4, 5, nil)
					}
					if err := ss.Backward(g, sq, sr); err != nil {
						t.Errorf("%s: Backward: %v", what, err)
					} else if err := closeTo(sq, wq, 1e-8); err != nil {
						t.Errorf("%s: Backward dq %v", what, err)
					} else if !self {
						if err := closeTo(sr, wr, 1e-8); err != nil {
							t.Errorf("%s: Backward dr %v", what, err)
						}
					}
					if !self {
						// BackwardEntries against MatrixVJP of the same
						// sparse gradient at scale 1.
						_, eq1, er1, _ := runG(c.d, q, r, gEntries)
						_, uq, ur, _ := runG(c.un, q, r, gEntries)
						weq, _ := c.expected(eq1, uq, s, clamped, true)
						wer, _ := c.expected(er1, ur, s, clamped, true)
						eq, er := mat.NewDense(6, 5, nil), mat.NewDense(4, 5, nil)
						if err := ss.BackwardEntries(entries, eq, er); err != nil {
							t.Errorf("%s: BackwardEntries: %v", what, err)
						} else if err := closeTo(eq, weq, 1e-8); err != nil {
							t.Errorf("%s: BackwardEntries dq %v", what, err)
						} else if err := closeTo(er, wer, 1e-8); err != nil {
							t.Errorf("%s: BackwardEntries dr %v", what, err)
						}
						// The ref vectors as columns (the class-head path).
						cs, err := distances.NewColumnSession(c.d, qs, mat.DenseCopyOf(rs.T()))
						if err != nil {
							t.Errorf("%s: column session: %v", what, err)
						} else {
							if err := closeTo(cs.Matrix(), wm, 1e-9); err != nil {
								t.Errorf("%s: column session matrix %v", what, err)
							}
							cq, cw := mat.NewDense(6, 5, nil), mat.NewDense(5, 4, nil)
							if err := cs.Backward(g, cq, cw); err != nil {
								t.Errorf("%s: column Backward: %v", what, err)
							} else if err := closeTo(cq, wq, 1e-8); err != nil {
								t.Errorf("%s: column Backward dq %v", what, err)
							} else if err := closeTo(cw, mat.DenseCopyOf(wr.T()), 1e-8); err != nil {
								t.Errorf("%s: column Backward dw %v", what, err)
							}
							cs.Release()
						}
					}
					ss.Release()
				}
			}
		})
	}
}

// runG is MatrixVJP with gradient g between q and r (nil d: nils).
func runG(d distances.Distance, q, r, g *mat.Dense) (m, dq, dr *mat.Dense, err error) {
	if d == nil {
		return nil, nil, nil, nil
	}
	dq, dr, err = d.MatrixVJP(q, r, nil, g)
	return nil, dq, dr, err
}

// TestExtremeRows: rows of very different magnitudes in one batch. A
// normalised distance normalises each row on its own, so the matrix is
// the one of the unscaled rows and each row's gradient is divided by its
// scale; the Euclidean distance between a huge row and ordinary ones is
// the huge row's norm to many digits, and between two ordinary rows it is
// unchanged.
func TestExtremeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := testkit.NormalDense(rng, 6, 5)
	for i := range 6 {
		// Row norms in [0.5, 5]: the smallest scale, 1e-11, clamps none.
		row := x.RawRowView(i)
		n := rownorm.Norm(row, 2)
		for k := range row {
			row[k] *= (0.5 + 4.5*rng.Float64()) / n
		}
	}
	g := testkit.NormalDense(rng, 6, 6)
	rowScale := []float64{1e300, 1, 1e-10, 1e160, 1e-11, 3}
	xs := mat.DenseCopyOf(x)
	for i, s := range rowScale {
		row := xs.RawRowView(i)
		for k := range row {
			row[k] *= s
		}
	}
	for _, d := range []distances.Distance{
		distances.NewCosineSimilarity(), distances.NewLp(), distances.NewDotProductSimilarity(), distances.NewSNR(),
		&distances.Lp{NormalizeEmbeddings: true, P: 50, Power: 1}, &distances.CosineSimilarity{P: 2.5},
	} {
		want, err := d.Matrix(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantG, _, err := d.MatrixVJP(x, nil, nil, g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Matrix(xs, nil)
		if err != nil {
			t.Errorf("%T %+v: %v", d, d.Settings(), err)
			continue
		}
		if err := closeTo(got, want, 1e-9); err != nil {
			t.Errorf("%T %+v: matrix %v", d, d.Settings(), err)
		}
		gotG, _, err := d.MatrixVJP(xs, nil, nil, g)
		if err != nil {
			t.Errorf("%T %+v: VJP %v", d, d.Settings(), err)
			continue
		}
		for i, s := range rowScale {
			w := mat.NewDense(1, 5, nil)
			w.Scale(1/s, wantG.Slice(i, i+1, 0, 5))
			if err := closeTo(mat.DenseCopyOf(gotG.Slice(i, i+1, 0, 5)), w, 1e-8); err != nil {
				t.Errorf("%T %+v: gradient row %d (scale %v): %v", d, d.Settings(), i, s, err)
			}
		}
	}
	// Unnormalised Euclidean distances across magnitudes.
	lp := &distances.Lp{P: 2, Power: 1}
	m, err := lp.Matrix(xs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		for j := range 6 {
			e := make([]float64, 5)
			for k := range e {
				e[k] = xs.At(i, k) - xs.At(j, k)
			}
			want := 0.0
			if i != j {
				want = refNorm(e, 2)
			}
			if got := m.At(i, j); math.Abs(got-want) > 1e-12*want {
				t.Errorf("Euclidean (%d, %d) = %v, want %v", i, j, got, want)
			}
		}
	}
}

// TestExtremePairwise: Pairwise and PairwiseVJP at every scale, against a
// direct computation: ‖x − y + 1e-6‖_p for Lp (torch's pairwise_distance),
// x·y for the dot products, the SNR ratio (scale-free).
func TestExtremePairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	x, y := testkit.NormalDense(rng, 4, 5), testkit.NormalDense(rng, 4, 5)
	g := []float64{1, -0.5, 2, 0.25}
	snrX, _, _ := distances.NewSNR().PairwiseVJP(x, y, g)
	snrV, _ := distances.NewSNR().Pairwise(x, y)
	for _, s := range extremeScalesD {
		xs, ys := scaledCopy(x, s), scaledCopy(y, s)
		for _, p := range []float64{1, 2, 3, 50} {
			d := &distances.Lp{P: p, Power: 1}
			got, err := d.Pairwise(xs, ys)
			if err != nil {
				t.Errorf("Lp P%v scale %v: %v", p, s, err)
				continue
			}
			dx, dy, err := d.PairwiseVJP(xs, ys, g)
			if err != nil {
				t.Errorf("Lp P%v scale %v: VJP %v", p, s, err)
				continue
			}
			for i := range 4 {
				e := make([]float64, 5)
				for k := range e {
					e[k] = xs.At(i, k) - ys.At(i, k) + 1e-6
				}
				n := refNorm(e, p)
				if math.Abs(got[i]-n) > 1e-13*n {
					t.Errorf("Lp P%v scale %v row %d: %v, want %v", p, s, i, got[i], n)
				}
				for k, v := range e {
					w := g[i] * math.Copysign(math.Pow(math.Abs(v)/n, p-1), v)
					if math.Abs(dx.At(i, k)-w) > 1e-12*math.Max(math.Abs(w), 1e-3) || dy.At(i, k) != -dx.At(i, k) {
						t.Errorf("Lp P%v scale %v (%d, %d): dx %v dy %v, want %v", p, s, i, k, dx.At(i, k), dy.At(i, k), w)
					}
				}
			}
		}
		// SNR is free of scale: the value does not change, the gradient
		// is divided by s.
		d := distances.NewSNR()
		got, err := d.Pairwise(xs, ys)
		if err != nil {
			t.Errorf("SNR scale %v: %v", s, err)
			continue
		}
		dx, _, err := d.PairwiseVJP(xs, ys, g)
		if err != nil {
			t.Errorf("SNR scale %v: VJP %v", s, err)
			continue
		}
		if err := closeTo(mat.NewDense(1, 4, got), mat.NewDense(1, 4, snrV), 1e-12); err != nil {
			t.Errorf("SNR scale %v: %v", s, err)
		}
		w := mat.NewDense(4, 5, nil)
		w.Scale(1/s, snrX)
		if err := closeTo(dx, w, 1e-10); err != nil {
			t.Errorf("SNR scale %v: dx %v", s, err)
		}
		// The dot product: s²·x·y, an error where that overflows.
		dp := distances.NewDotProductSimilarity()
		v, err := dp.Pairwise(xs, ys)
		if s*s > 1e300 {
			if !errors.Is(err, gometric.ErrNonFinite) {
				t.Errorf("dot scale %v: error %v, want ErrNonFinite", s, err)
			}
			continue
		}
		for i := range 4 {
			w := times(mat.Dot(x.RowView(i), y.RowView(i)), 1, s, 2)
			if math.Abs(v[i]-w) > 1e-13*math.Abs(w) && math.Abs(v[i]-w) > 1e-300 {
				t.Errorf("dot scale %v row %d: %v, want %v", s, i, v[i], w)
			}
		}
	}
}

// refNorm is the p-norm of e computed on e divided by its largest
// magnitude.
func refNorm(e []float64, p float64) float64 {
	var m float64
	for _, v := range e {
		m = math.Max(m, math.Abs(v))
	}
	var s float64
	for _, v := range e {
		s += math.Pow(math.Abs(v)/m, p)
	}
	return m * math.Pow(s, 1/p)
}

// TestOrderErrors: Smallest and Largest (the reproduction:
// Smallest(nil, {1, 2}) dereferenced a nil pointer) return an error for a
// nil distance, an empty row and a NaN at any position, naming it; Margin
// and Closer return their documented values for a nil distance.
func TestOrderErrors(t *testing.T) {
	nan := math.NaN()
	type userDist struct{ distances.Distance }
	for _, c := range []struct {
		name string
		d    distances.Distance
		row  []float64
		want error
		at   string
	}{
		{"nil interface", nil, []float64{1, 2}, gometric.ErrSetting, ""},
		{"nil Lp", (*distances.Lp)(nil), []float64{1, 2}, gometric.ErrSetting, ""},
		{"nil user distance", (*userDist)(nil), []float64{1, 2}, gometric.ErrSetting, ""},
		{"empty Batched", &distances.Batched{}, []float64{1, 2}, gometric.ErrSetting, ""},
		{"nil row", distances.NewLp(), nil, gometric.ErrShape, ""},
		{"empty row", distances.NewCosineSimilarity(), []float64{}, gometric.ErrShape, ""},
		{"leading NaN", distances.NewLp(), []float64{nan, 1, 2}, gometric.ErrNonFinite, "row[0]"},
		{"later NaN", distances.NewLp(), []float64{1, nan, 2}, gometric.ErrNonFinite, "row[1]"},
		{"last NaN", distances.NewCosineSimilarity(), []float64{3, 2, nan}, gometric.ErrNonFinite, "row[2]"},
		{"two NaNs", distances.NewSNR(), []float64{0, 1, nan, 2, nan}, gometric.ErrNonFinite, "row[2]"},
	} {
		for name, f := range map[string]func(distances.Distance, []float64) (float64, int, error){
			"Smallest": distances.Smallest, "Largest": distances.Largest,
		} {
			_, i, err := f(c.d, c.row)
			if !errors.Is(err, c.want) || i != -1 {
				t.Errorf("%s %s: index %d, error %v, want -1 and %v", name, c.name, i, err, c.want)
				continue
			}
			if c.at != "" && !containsAll(err.Error(), "distances."+name+": ", c.at) {
				t.Errorf("%s %s: error %q does not name %s", name, c.name, err, c.at)
			}
		}
	}
	// ±Inf are ordinary values.
	if v, i, err := distances.Smallest(distances.NewLp(), []float64{2, math.Inf(-1), 1}); err != nil || i != 1 || !math.IsInf(v, -1) {
		t.Errorf("Smallest with -Inf: %v at %d, %v", v, i, err)
	}
	if !math.IsNaN(distances.Margin(nil, 1, 2)) || distances.Closer((*distances.SNR)(nil), 1, 2) {
		t.Error("Margin or Closer of a nil distance")
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// FuzzExtremeScale: a random batch times 2^e for e in [-1000, 1000] gives,
// for the default distances, the matrix the scale predicts or an error
// wrapping ErrNonFinite when it overflows.
func FuzzExtremeScale(f *testing.F) {
	f.Add(uint64(1), int16(0), uint8(0))
	f.Add(uint64(2), int16(531), uint8(1))
	f.Add(uint64(3), int16(-531), uint8(2))
	f.Add(uint64(4), int16(1000), uint8(3))
	f.Add(uint64(5), int16(-1000), uint8(4))
	f.Fuzz(func(t *testing.T, seed uint64, e int16, which uint8) {
		e %= 1001
		cs := extremeCases()
		c := cs[int(which)%len(cs)]
		if c.noSelf {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		x := testkit.NormalDense(rng, 5, 3)
		for i := range 5 {
			// Row norms in [0.5, 5], as TestExtremeScales assumes.
			n := rownorm.Norm(x.RawRowView(i), 2)
			row := x.RawRowView(i)
			for k := range row {
				row[k] *= (0.5 + 4.5*rng.Float64()) / n
			}
		}
		s := math.Ldexp(1, int(e))
		clamped := c.un != nil && s*5 <= rownorm.Eps
		if c.un != nil && !clamped && s*0.5 <= rownorm.Eps {
			return
		}
		m1, err := c.d.Matrix(x, nil)
		if err != nil {
			t.Fatal(err)
		}
		var u1 *mat.Dense
		if c.un != nil {
			if u1, err = c.un.Matrix(x, nil); err != nil {
				t.Fatal(err)
			}
		}
		want, ok := c.expected(m1, u1, s, clamped, false)
		got, err := c.d.Matrix(scaledCopy(x, s), nil)
		if !ok {
			if !errors.Is(err, gometric.ErrNonFinite) {
				t.Fatalf("%s at 2^%d: error %v, want ErrNonFinite", c.name, e, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s at 2^%d: %v", c.name, e, err)
		}
		if err := closeTo(got, want, 1e-9); err != nil {
			t.Fatalf("%s at 2^%d: %v", c.name, e, err)
		}
		// The VJP, for a gradient of ones.
		g := mat.NewDense(5, 5, nil)
		for i := range 5 {
			for j := range 5 {
				g.Set(i, j, 1+float64(i-j)/8)
			}
		}
		dq1, _, err := c.d.MatrixVJP(x, nil, nil, g)
		if err != nil {
			t.Fatal(err)
		}
		var uq1 *mat.Dense
		if c.un != nil {
			if uq1, _, err = c.un.MatrixVJP(x, nil, nil, g); err != nil {
				t.Fatal(err)
			}
		}
		wantQ, ok := c.expected(dq1, uq1, s, clamped, true)
		dq, _, err := c.d.MatrixVJP(scaledCopy(x, s), nil, nil, g)
		if !ok {
			if !errors.Is(err, gometric.ErrNonFinite) {
				t.Fatalf("%s at 2^%d: VJP error %v, want ErrNonFinite", c.name, e, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s at 2^%d: VJP %v", c.name, e, err)
		}
		if err := closeTo(dq, wantQ, 1e-8); err != nil {
			t.Fatalf("%s at 2^%d: VJP %v", c.name, e, err)
		}
	})
}

// TestProjectedVJP: the normalised Lp VJP leaves out the components along
// the rows its normalisation projects (diffVJP's projA, projB). Its sparse
// and GEMM paths, self and not, with more query rows than ref rows and
// fewer, with rows whose clamp is active (norm below 1e-12) among them,
// agree with central finite differences.
func TestProjectedVJP(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	// Sparse gradients take the entry-by-entry path only beyond 16 rows.
	for _, shape := range []struct{ n, m int }{{3, 5}, {20, 40}, {40, 20}, {30, 0}} {
		q := testkit.NormalDense(rng, shape.n, 3)
		row0 := q.Slice(0, 1, 0, 3).(*mat.Dense)
		row0.Scale(1e-13, row0) // a clamped row
		var r *mat.Dense
		cols := shape.n
		if shape.m > 0 {
			r, cols = testkit.NormalDense(rng, shape.m, 3), shape.m
		}
		sparse := mat.NewDense(shape.n, cols, nil)
		sparse.Set(shape.n-1, cols-1, 0.7)
		sparse.Set(0, cols-1, -0.4)
		dense := testkit.NormalDense(rng, shape.n, cols)
		for _, power := range []float64{1, 2} {
			d := &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: power}
			for name, g := range map[string]*mat.Dense{"sparse": sparse, "dense": dense} {
				dq, dr, err := d.MatrixVJP(q, r, nil, g)
				if err != nil {
					t.Fatal(err)
				}
				f := func() float64 {
					m, err := d.Matrix(q, r)
					if err != nil {
						t.Fatal(err)
					}
					return mat.Sum(testkit.MulElem(m, g))
				}
				// The clamped row's gradient is 1e12 times larger: compare
				// it relative to itself.
				num := fdiff.Gradient(f, q, 1e-6*1e-13)
				num1 := fdiff.Gradient(f, q, 1e-6)
				for i := 1; i < shape.n; i++ {
					for k := range 3 {
						num.Set(i, k, num1.At(i, k))
					}
				}
				if err := fdiff.Compare(dq, num, 1e-5, 1e-7); err != nil {
					t.Errorf("%dx%d power %v %s: dq %v", shape.n, shape.m, power, name, err)
				}
				if r != nil {
					if err := fdiff.Compare(dr, fdiff.Gradient(f, r, 1e-6), 1e-5, 1e-7); err != nil {
						t.Errorf("%dx%d power %v %s: dr %v", shape.n, shape.m, power, name, err)
					}
				}
			}
		}
	}
}
