package distances

import (
	"math"

	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// DotProductSimilarity mirrors PML's DotProductSimilarity: the matrix is
// query·refᵀ between the rows (each first divided by its P-norm when
// NormalizeEmbeddings), raised to Power, from one GEMM. It is a similarity
// (Settings().Inverted): larger means closer. Normalised rows of any finite
// magnitude have unit norm (see the package doc, Magnitudes); without
// normalisation a product (to the power Power) beyond float64's range is
// an error wrapping gometric.ErrNonFinite, and one below it rounds to 0.
//
// The zero value is not PML's defaults (NormalizeEmbeddings false where
// PML normalises): it is refused with an error wrapping gometric.ErrSetting
// that names NewDotProductSimilarity, as is any value that constructor did
// not make whose P or Power is 0. Make one with NewDotProductSimilarity and
// set fields; a struct literal must set P and Power, and leaves
// NormalizeEmbeddings false unless it sets it. A DotProductSimilarity is
// safe for concurrent use by several goroutines while its fields are not
// being changed.
type DotProductSimilarity struct {
	// NormalizeEmbeddings divides every row by its P-norm first
	// (PML's normalize_embeddings, default true).
	NormalizeEmbeddings bool
	// P is the norm of the normalisation: any finite real >= 1
	// (PML's p, default 2).
	P float64
	// Power raises every similarity to this finite, non-zero power
	// (PML's power, default 1).
	Power float64

	made bool // by NewDotProductSimilarity
}

// NewDotProductSimilarity returns a DotProductSimilarity with PML 2.8.1's
// defaults: normalised embeddings, P = 2, Power = 1.
func NewDotProductSimilarity() *DotProductSimilarity {
	return &DotProductSimilarity{NormalizeEmbeddings: true, P: 2, Power: 1, made: true}
}

func (d *DotProductSimilarity) spec() spec {
	const name = "distances.DotProductSimilarity"
	if d == nil {
		return spec{name: name, nilRecv: true}
	}
	s := spec{name: name, kind: kindDot, normalize: d.NormalizeEmbeddings, p: d.P, power: d.Power}
	if !d.made && (d.P == 0 || d.Power == 0) {
		s.notMade = "NewDotProductSimilarity"
	}
	return s
}

// Matrix returns the N×M matrix of dot products (to the power Power)
// between the rows of query and ref (ref nil: query). It mirrors
// DotProductSimilarity.forward.
func (d *DotProductSimilarity) Matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	return d.spec().matrix(query, ref)
}

// MatrixVJP returns the gradients of a loss with respect to query and ref
// given grad, the gradient with respect to Matrix(query, ref); m is that
// matrix or nil.
func (d *DotProductSimilarity) MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	return d.spec().matrixVJP(query, ref, m, grad)
}

// Pairwise mirrors DotProductSimilarity.pairwise_distance: the dot product
// of x_i and y_i for every row i, with neither normalisation nor Power, as
// in PML.
func (d *DotProductSimilarity) Pairwise(x, y *mat.Dense) ([]float64, error) {
	return d.spec().pairwise(x, y)
}

// PairwiseVJP returns the gradients of a loss with respect to x and y given
// grad[i], the gradient with respect to Pairwise(x, y)[i].
func (d *DotProductSimilarity) PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	return d.spec().pairwiseVJP(x, y, grad)
}

// OpenSession implements SessionOpener: a session for Matrix(query, ref)
// with the same values, whose VJP reuses the normalised rows.
func (d *DotProductSimilarity) OpenSession(query, ref *mat.Dense) (Session, error) {
	return d.spec().open(d, query, ref)
}

func (d *DotProductSimilarity) openColumns(query, w *mat.Dense) (Session, error) {
	return d.spec().openColumns(d, query, w)
}

// Settings returns the similarity's settings (Inverted is true), or the
// zero Settings for a nil receiver.
func (d *DotProductSimilarity) Settings() Settings {
	if d == nil {
		return Settings{}
	}
	return Settings{NormalizeEmbeddings: d.NormalizeEmbeddings, P: d.P, Power: d.Power, Inverted: true}
}

// CosineSimilarity mirrors PML's CosineSimilarity: a DotProductSimilarity
// whose rows are always divided by their P-norm first, so for P = 2 the
// matrix holds cosines. It is a similarity (Settings().Inverted). Rows of
// any finite magnitude are normalised correctly (rows ×1e160 used to
// become zeros); a row of norm at most 1e-12 is divided by 1e-12, as
// torch's F.normalize does.
//
// The zero value is PML's CosineSimilarity(), as NewCosineSimilarity
// returns it. A CosineSimilarity is safe for concurrent use by several
// goroutines while its fields are not being changed.
type CosineSimilarity struct {
	// P is the norm of the normalisation: any finite real >= 1
	// (PML's p, default 2). If P is 0, 2 is used.
	P float64
	// Power raises every similarity to this finite, non-zero power
	// (PML's power, default 1). If Power is 0, 1 is used.
	Power float64
}

// NewCosineSimilarity returns a CosineSimilarity with PML 2.8.1's defaults:
// P = 2, Power = 1.
func NewCosineSimilarity() *CosineSimilarity { return &CosineSimilarity{P: 2, Power: 1} }

// settings returns P and Power with their defaults for 0.
func (d *CosineSimilarity) settings() (p, power float64) {
	p, power = d.P, d.Power
	if p == 0 {
		p = 2
	}
	if power == 0 {
		power = 1
	}
	return p, power
}

func (d *CosineSimilarity) spec() spec {
	const name = "distances.CosineSimilarity"
	if d == nil {
		return spec{name: name, nilRecv: true}
	}
	p, power := d.settings()
	return spec{name: name, kind: kindDot, normalize: true, p: p, power: power}
}

// Matrix returns the N×M matrix of cosine similarities (to the power
// Power) between the rows of query and ref (ref nil: query). It mirrors
// CosineSimilarity.forward.
func (d *CosineSimilarity) Matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	return d.spec().matrix(query, ref)
}

// MatrixVJP returns the gradients of a loss with respect to query and ref
// given grad, the gradient with respect to Matrix(query, ref); m is that
// matrix or nil.
func (d *CosineSimilarity) MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	return d.spec().matrixVJP(query, ref, m, grad)
}

// Pairwise mirrors CosineSimilarity.pairwise_distance, which PML inherits
// from DotProductSimilarity: the plain dot product of x_i and y_i, with
// neither normalisation nor Power (pass normalised rows to get cosines).
func (d *CosineSimilarity) Pairwise(x, y *mat.Dense) ([]float64, error) {
	return d.spec().pairwise(x, y)
}

// PairwiseVJP returns the gradients of a loss with respect to x and y given
// grad[i], the gradient with respect to Pairwise(x, y)[i].
func (d *CosineSimilarity) PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	return d.spec().pairwiseVJP(x, y, grad)
}

// OpenSession implements SessionOpener: a session for Matrix(query, ref)
// with the same values, whose VJP reuses the normalised rows.
func (d *CosineSimilarity) OpenSession(query, ref *mat.Dense) (Session, error) {
	return d.spec().open(d, query, ref)
}

func (d *CosineSimilarity) openColumns(query, w *mat.Dense) (Session, error) {
	return d.spec().openColumns(d, query, w)
}

// Settings returns the similarity's settings (NormalizeEmbeddings and
// Inverted are true; P and Power as used, 0 replaced by its default), or
// the zero Settings for a nil receiver.
func (d *CosineSimilarity) Settings() Settings {
	if d == nil {
		return Settings{}
	}
	p, power := d.settings()
	return Settings{NormalizeEmbeddings: true, P: p, Power: power, Inverted: true}
}

// dotVJP adds the VJP of the dot-product matrix with respect to the
// normalised rows to dq and dr (nil when self): dQ = W·R and dR = Wᵀ·Q
// with W = grad ∘ d(m)/d(raw), from one GEMM per output, or entry by entry
// when few entries of W are non-zero.
func (s spec) dotVJP(in *inputs, m, g, dq, dr *mat.Dense, ar *arena) {
	a, b := in.qn, in.rn
	n, m2, d := in.n, in.m, in.d
	es := newEntries(n, m2)
	defer putEntries(es)
	w := g
	if s.power != 1 {
		// The raw similarity is needed for d(m)/d(raw). An even power hides
		// its sign, so it is recomputed; otherwise it is m's root.
		pw := s.power
		even := pw == math.Trunc(pw) && math.Mod(pw, 2) == 0
		odd := pw == math.Trunc(pw) && !even
		var raw *mat.Dense
		if even {
			raw = ar.dirty(n, m2)
			scaledNT(raw, 1, a, b)
		}
		w = ar.dirty(n, m2)
		parallelRows(n, m2, func(blk, lo, hi int) {
			e := &es[blk]
			for i := lo; i < hi; i++ {
				gi, mi, wi := g.RawRowView(i)[:m2], m.RawRowView(i)[:m2], w.RawRowView(i)[:m2]
				for j, gij := range gi {
					wi[j] = 0
					if gij == 0 {
						continue
					}
					var x float64
					switch {
					case even:
						x = raw.RawRowView(i)[j]
					case !rownorm.Safe(math.Abs(mi[j])):
						// The powered entry lost bits to underflow (or
						// overflow): the raw product from the rows.
						x = dot(a.RawRowView(i)[:d], b.RawRowView(j)[:d])
					case odd:
						// An odd power's derivative is even in x: |x| will do.
						x = root(math.Abs(mi[j]), pw)
					default:
						x = root(mi[j], pw)
					}
					wi[j] = gij * powGrad(x, pw)
					if wi[j] != 0 {
						e.add(i, j, wi[j])
					}
				}
			}
		})
	} else {
		parallelRows(n, m2, func(blk, lo, hi int) {
			e := &es[blk]
			for i := lo; i < hi; i++ {
				for j, gij := range g.RawRowView(i)[:m2] {
					if gij != 0 {
						if e.add(i, j, gij); e.dense {
							break
						}
					}
				}
				if e.dense {
					return
				}
			}
		})
	}
	if sparse(es) {
		for bi := range es {
			for _, e := range es[bi].sparse {
				if in.self {
					var ok bool
					if e.w, ok = mirrored(w, e); !ok {
						continue
					}
				}
				qi, rj := a.RawRowView(e.i)[:d], b.RawRowView(e.j)[:d]
				gi := dq.RawRowView(e.i)[:d]
				var gj []float64
				if in.self {
					gj = dq.RawRowView(e.j)[:d]
				} else {
					gj = dr.RawRowView(e.j)[:d]
				}
				qi, gi, gj = qi[:len(rj)], gi[:len(rj)], gj[:len(rj)]
				for k, v := range rj {
					gi[k] += e.w * v
					gj[k] += e.w * qi[k]
				}
			}
		}
		return
	}
	if in.self {
		if w == g {
			w = ar.dirty(n, m2)
			w.Copy(g)
		}
		symmetrize(w)
		// w is exactly symmetric now: wᵀ·a has the bits of w·a, and the
		// GEMM packs a transposed operand with contiguous copies.
		gemmAcc(dq, true, 1, w, a)
		return
	}
	gemmAcc(dq, false, 1, w, b)
	gemmAcc(dr, true, 1, w, a)
}

// dotRaw returns the raw dot product behind the entry mij = raw^power of
// the matrix, for the derivative of the power: recomputed from the rows
// q and r for an even power, which hides the sign, and where mij lost
// bits to underflow or overflow; else mij's root (|mij| for an odd power,
// whose derivative is even).
func dotRaw(q, r []float64, mij, power float64) float64 {
	even := power == math.Trunc(power) && math.Mod(power, 2) == 0
	odd := power == math.Trunc(power) && !even
	switch {
	case even, !rownorm.Safe(math.Abs(mij)):
		return dot(q, r)
	case odd:
		return root(math.Abs(mij), power)
	}
	return root(mij, power)
}
