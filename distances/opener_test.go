package distances_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// twiceLp is a user distance that embeds *distances.Lp and overrides Matrix
// and MatrixVJP: twice the Lp distance. It inherits Lp's OpenSession, whose
// session is for the embedded *Lp and must not be used for it.
type twiceLp struct{ *distances.Lp }

func (d twiceLp) Matrix(q, r *mat.Dense) (*mat.Dense, error) {
	m, err := d.Lp.Matrix(q, r)
	if err != nil {
		return nil, err
	}
	m.Scale(2, m)
	return m, nil
}

func (d twiceLp) MatrixVJP(q, r, _, g *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	g2 := mat.DenseCopyOf(g)
	g2.Scale(2, g2)
	return d.Lp.MatrixVJP(q, r, nil, g2)
}

// twiceCos is twiceLp for CosineSimilarity, which NewColumnSession reads
// in place.
type twiceCos struct{ *distances.CosineSimilarity }

func (d twiceCos) Matrix(q, r *mat.Dense) (*mat.Dense, error) {
	m, err := d.CosineSimilarity.Matrix(q, r)
	if err != nil {
		return nil, err
	}
	m.Scale(2, m)
	return m, nil
}

func (d twiceCos) MatrixVJP(q, r, _, g *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	g2 := mat.DenseCopyOf(g)
	g2.Scale(2, g2)
	return d.CosineSimilarity.MatrixVJP(q, r, nil, g2)
}

// uncomparable embeds *Lp beside a slice: its values cannot be compared.
type uncomparable struct {
	*distances.Lp
	tags []string
}

// ownOpener implements OpenSession itself, counting the sessions it opens.
type ownOpener struct {
	*distances.Lp
	opened *int
}

func (d ownOpener) OpenSession(q, r *mat.Dense) (distances.Session, error) {
	*d.opened++
	s, err := d.Lp.OpenSession(q, r)
	if err != nil {
		return nil, err
	}
	return reported{s, d}, nil
}

// reported is a session reporting another distance.
type reported struct {
	distances.Session
	d distances.Distance
}

func (r reported) Distance() distances.Distance { return r.d }

// sessionResults returns the matrix of s and the gradients of Backward for
// g, with the ones of BackwardEntries for g's entries.
func sessionResults(t *testing.T, s distances.Session, q, r, g *mat.Dense) (m, dq, dr, eq, er *mat.Dense) {
	t.Helper()
	n, d := q.Dims()
	m = mat.DenseCopyOf(s.Matrix())
	dq, eq = mat.NewDense(n, d, nil), mat.NewDense(n, d, nil)
	if r != nil {
		k, _ := r.Dims()
		dr, er = mat.NewDense(k, d, nil), mat.NewDense(k, d, nil)
	}
	if err := s.Backward(g, dq, dr); err != nil {
		t.Fatal(err)
	}
	if err := s.BackwardEntries(entriesOf(g, false), eq, er); err != nil {
		t.Fatal(err)
	}
	return m, dq, dr, eq, er
}

// TestUserDistances checks the path NewSession takes for user distances:
// the generic one (the distance's own Matrix and MatrixVJP) for a plain
// Distance, for a type that embeds a distance of this package and
// overrides its methods, and for one that cannot be compared; the type's
// own session when it implements OpenSession itself.
func TestUserDistances(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	q, r := testkit.UniformDense(rng, 9, 4), testkit.UniformDense(rng, 7, 4)
	opened := 0
	for _, tc := range []struct {
		name    string
		d       distances.Distance
		generic bool
	}{
		{"plain", struct{ distances.Distance }{distances.NewLp()}, true},
		{"embeds Lp", twiceLp{distances.NewLp()}, true},
		{"embeds cosine", twiceCos{distances.NewCosineSimilarity()}, true},
		{"uncomparable", uncomparable{distances.NewLp(), []string{"x"}}, true},
		{"own OpenSession", ownOpener{distances.NewLp(), &opened}, false},
	} {
		for _, ref := range []*mat.Dense{nil, r} {
			t.Run(fmt.Sprintf("%s/ref=%v", tc.name, ref != nil), func(t *testing.T) {
				opened = 0
				s, err := distances.NewSession(tc.d, q, ref)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Release()
				if got := s.Distance(); fmt.Sprint(got) != fmt.Sprint(tc.d) {
					t.Errorf("session for %v, want %v", got, tc.d)
				}
				if !tc.generic && opened != 1 {
					t.Errorf("OpenSession called %d times, want 1", opened)
				}
				if tc.generic && s.Symmetric() {
					t.Error("a generic session is symmetric")
				}
				k := 9
				if ref != nil {
					k = 7
				}
				g := testkit.UniformDense(rng, 9, k)
				want, err := tc.d.Matrix(q, ref)
				if err != nil {
					t.Fatal(err)
				}
				wq, wr, err := tc.d.MatrixVJP(q, ref, want, g)
				if err != nil {
					t.Fatal(err)
				}
				m, dq, dr, eq, er := sessionResults(t, s, q, ref, g)
				if !mat.Equal(m, want) {
					t.Error("matrix differs from the distance's Matrix")
				}
				if !mat.Equal(dq, wq) || (ref != nil && !mat.Equal(dr, wr)) {
					t.Error("Backward differs from the distance's MatrixVJP")
				}
				if err := fdiff.Compare(eq, wq, 1e-9, 1e-12*mat.Norm(wq, 1)); err != nil {
					t.Errorf("BackwardEntries dQuery: %v", err)
				}
				if ref != nil {
					if err := fdiff.Compare(er, wr, 1e-9, 1e-12*mat.Norm(wr, 1)); err != nil {
						t.Errorf("BackwardEntries dRef: %v", err)
					}
				}
			})
		}
	}
}

// TestColumnSession checks NewColumnSession, the ref vectors given as the
// columns of w, against NewSession on the rows of wᵀ: in place for the
// unit dot products, through a transposed copy otherwise (a cosine with
// Power 2, Lp, and a user type embedding CosineSimilarity, which must not
// take the in-place path).
func TestColumnSession(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	cos2 := distances.NewCosineSimilarity()
	cos2.Power = 2
	for _, d := range []distances.Distance{
		distances.NewCosineSimilarity(), distances.NewDotProductSimilarity(), cos2, distances.NewLp(),
		twiceCos{distances.NewCosineSimilarity()}, distances.NewBatched(distances.NewCosineSimilarity(), 3),
	} {
		t.Run(fmt.Sprintf("%T", d), func(t *testing.T) {
			q, rows := testkit.UniformDense(rng, 8, 5), testkit.UniformDense(rng, 6, 5)
			w := mat.DenseCopyOf(rows.T())
			s, err := distances.NewColumnSession(d, q, w)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			if s.Distance() != d {
				t.Errorf("session for %v", s.Distance())
			}
			want, err := d.Matrix(q, rows)
			if err != nil {
				t.Fatal(err)
			}
			if err := fdiff.Compare(s.Matrix(), want, 1e-14, 1e-14); err != nil {
				t.Errorf("matrix: %v", err)
			}
			g := testkit.UniformDense(rng, 8, 6)
			wq, wr, err := d.MatrixVJP(q, rows, nil, g)
			if err != nil {
				t.Fatal(err)
			}
			dq, dw := testkit.UniformDense(rng, 8, 5), testkit.UniformDense(rng, 5, 6)
			dq0, dw0 := mat.DenseCopyOf(dq), mat.DenseCopyOf(dw)
			if err := s.Backward(g, dq, dw); err != nil {
				t.Fatal(err)
			}
			dq.Sub(dq, dq0)
			dw.Sub(dw, dw0)
			if err := fdiff.Compare(dq, wq, 1e-12, 1e-14); err != nil {
				t.Errorf("dQuery: %v", err)
			}
			if err := fdiff.Compare(dw, mat.DenseCopyOf(wr.T()), 1e-12, 1e-14); err != nil {
				t.Errorf("dW: %v", err)
			}
			ew := mat.NewDense(5, 6, nil)
			if err := s.BackwardEntries(entriesOf(g, false), mat.NewDense(8, 5, nil), ew); err != nil {
				t.Fatal(err)
			}
			if err := fdiff.Compare(ew, mat.DenseCopyOf(wr.T()), 1e-12, 1e-14); err != nil {
				t.Errorf("BackwardEntries dW: %v", err)
			}
			if _, err := distances.NewColumnSession(d, q, rows); !errors.Is(err, gometric.ErrShape) {
				t.Errorf("w of the wrong shape: %v", err)
			}
		})
	}
}

// TestSessionInputErrors checks that a session reports bad inputs with the
// error Matrix gives, whether it scans them first or finds them in its row
// norms, and that rows whose squares overflow (but are finite) are
// computed as Matrix computes them.
func TestSessionInputErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	// Negative powers map +Inf to 0: the session must not rely on the
	// matrix to show a non-finite input.
	negative := []config{{"Lp", false, 2, -1}, {"Lp", true, 2, -1}, {"Lp", false, 1, -1}, {"SNR", false, 2, -1}, {"Dot", false, 2, -1}}
	for _, c := range append(configs(), negative...) {
		for _, self := range []bool{true, false} {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e200} {
				for _, where := range []string{"query", "ref"} {
					if self && where == "ref" {
						continue
					}
					t.Run(fmt.Sprintf("%v/self=%v/%v in %s", c, self, bad, where), func(t *testing.T) {
						d := c.build()
						q := c.gen(rng, 6, 4)
						var r *mat.Dense
						if !self {
							r = c.gen(rng, 5, 4)
						}
						target := q
						if where == "ref" {
							target = r
						}
						target.Set(2, 1, bad)
						if bad == 1e200 {
							target.Set(2, 3, -bad)
						}
						want, wantErr := d.Matrix(q, r)
						s, err := d.(distances.SessionOpener).OpenSession(q, r)
						if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
							t.Fatalf("OpenSession error %v, Matrix error %v", err, wantErr)
						}
						if err != nil {
							if _, err := distances.NewSession(d, q, r); err == nil || err.Error() != wantErr.Error() {
								t.Errorf("NewSession error %v, want %v", err, wantErr)
							}
							return
						}
						defer s.Release()
						if !mat.Equal(s.Matrix(), want) {
							t.Error("session matrix differs from Matrix")
						}
					})
				}
			}
		}
	}
	// Shapes and settings.
	q := mat.NewDense(2, 2, []float64{1, 2, 3, 4})
	for _, tc := range []struct {
		d        distances.Distance
		q, r     *mat.Dense
		sentinel error
	}{
		{nil, q, nil, gometric.ErrSetting},
		{distances.NewLp(), nil, nil, gometric.ErrShape},
		{distances.NewCosineSimilarity(), q, &mat.Dense{}, gometric.ErrShape},
		{distances.NewSNR(), q, mat.NewDense(1, 3, nil), gometric.ErrShape},
		{distances.NewBatched(distances.NewLp(), 0), q, nil, gometric.ErrSetting},
		{&distances.CosineSimilarity{P: 0.5}, q, q, gometric.ErrSetting},
	} {
		if _, err := distances.NewSession(tc.d, tc.q, tc.r); !errors.Is(err, tc.sentinel) {
			t.Errorf("NewSession(%T): %v, want %v", tc.d, err, tc.sentinel)
		}
	}
}

// TestSessionMisuse checks the errors of Backward and BackwardEntries for
// gradients of the wrong shape and entries outside the matrix, and after
// Release, for every kind of session.
func TestSessionMisuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	q, r := testkit.UniformDense(rng, 4, 3), testkit.UniformDense(rng, 5, 3)
	open := map[string]func() (distances.Session, error){
		"Lp self":     func() (distances.Session, error) { return distances.NewSession(distances.NewLp(), q, nil) },
		"SNR":         func() (distances.Session, error) { return distances.NewSession(distances.NewSNR(), q, r) },
		"unit cosine": func() (distances.Session, error) { return distances.NewSession(distances.NewCosineSimilarity(), q, r) },
		"columns": func() (distances.Session, error) {
			return distances.NewColumnSession(distances.NewLp(), q, mat.DenseCopyOf(r.T()))
		},
		"generic": func() (distances.Session, error) {
			return distances.NewSession(struct{ distances.Distance }{distances.NewLp()}, q, r)
		},
	}
	for name, f := range open {
		t.Run(name, func(t *testing.T) {
			s, err := f()
			if err != nil {
				t.Fatal(err)
			}
			n, k := s.Matrix().Dims()
			var dr *mat.Dense
			if name != "Lp self" {
				dr = mat.NewDense(5, 3, nil)
				if name == "columns" {
					dr = mat.NewDense(3, 5, nil)
				}
			}
			dq := mat.NewDense(4, 3, nil)
			g := mat.NewDense(n, k, nil)
			for _, tc := range []struct {
				what     string
				err      error
				sentinel error
			}{
				{"grad shape", s.Backward(mat.NewDense(n, k+1, nil), dq, dr), gometric.ErrShape},
				{"dq shape", s.Backward(g, mat.NewDense(4, 2, nil), dr), gometric.ErrShape},
				{"entry outside", s.BackwardEntries([]distances.Entry{{I: n, J: 0, G: 1}}, dq, dr), gometric.ErrIndex},
				{"negative entry", s.BackwardEntries([]distances.Entry{{I: 0, J: -1, G: 1}}, dq, dr), gometric.ErrIndex},
			} {
				if !errors.Is(tc.err, tc.sentinel) {
					t.Errorf("%s: %v, want %v", tc.what, tc.err, tc.sentinel)
				}
			}
			if dr != nil {
				if err := s.Backward(g, dq, nil); !errors.Is(err, gometric.ErrShape) {
					t.Errorf("nil dr: %v", err)
				}
			}
			s.Release()
			if s.Matrix() != nil {
				t.Error("Matrix after Release is not nil")
			}
			if err := s.Backward(g, dq, dr); err == nil {
				t.Error("Backward after Release: no error")
			}
			if err := s.BackwardEntries(nil, dq, dr); err == nil {
				t.Error("BackwardEntries after Release: no error")
			}
		})
	}
}
