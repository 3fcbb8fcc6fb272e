package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// maxManifoldNodes bounds N + K, the side of Manifold's dense graph
// matrices (2^14: 2 GiB each).
const maxManifoldNodes = 1 << 14

// Manifold mirrors PML's ManifoldLoss (Aziere and Todorovic, "Ensemble
// Deep Manifold Similarity Learning using Hard Proxies", CVPR 2019). The
// N embeddings and the K learnable proxies (Proxies, K×L; PML's parameter
// "proxies") form a graph whose affinities are exp(2·max(s, 0)) for the
// similarity s of the distance (default CosineSimilarity), without self
// loops; with S̄ its symmetric normalisation D^{-1/2}·S·D^{-1/2}, the
// random-walk matrix is F = (1 − Alpha)·(I − Alpha·S̄)^{-1}. Each embedding
// i belongs to the proxy MetaClasses[i]. The intrinsic loss is the mean
// over embeddings of log(1 + Σ_j exp(F_i,N+j − F_i,N+m_i + Margin)) over
// the proxies j ≠ m_i whose term is non-negative; the context loss is the
// same with the cosine between row i and row N+j of F in place of
// F_i,N+j. The loss is intrinsic + LambdaC·context, one already reduced
// sub-loss "loss".
//
// PML inverts I − Alpha·S̄ in float32; here everything is float64, so
// results agree with PML's to about 1e-6 relative. Labels, ref embeddings
// and tuples are not supported (PML takes the meta classes through
// indices_tuple; here they are the MetaClasses field).
//
// Make it with NewManifold(l, k, rng): its zero value (or a literal) is
// refused, see Base. Compute only reads Proxies: it is safe for concurrent
// use as long as neither Proxies (an optimizer step) nor the settings
// change meanwhile and Rand is nil (or MetaClasses is set); a seeded Rand
// makes it unsafe for concurrent use.
type Manifold struct {
	Base
	// K is PML's K, the number of proxies (default 50); L is PML's l, the
	// embedding size. Proxies must be K×L. The graph's matrices are
	// (N+K)×(N+K), so N + K is at most 2^14 (16384).
	K, L int
	// LambdaC is PML's lambdaC (default 1), the weight of the context
	// loss; it must be finite and non-negative (PML's lambdaC = ∞, which
	// makes its loss infinite, is rejected).
	LambdaC float64
	// Alpha is PML's alpha (default 0.8), in (0, 1).
	Alpha float64
	// Margin is PML's margin (default 5e-4).
	Margin float64
	// Proxies is the K×L parameter "proxies", standard normal at New.
	Proxies *mat.Dense
	// MetaClasses, when set, gives each embedding's proxy (N entries in
	// [0, K); PML's indices_tuple). When nil, each call draws them as PML
	// does: every proxy once and the other N − K at random, shuffled,
	// which needs N ≥ K.
	MetaClasses []int
	// Rand draws the meta classes when MetaClasses is nil; the stream
	// differs from torch's. A nil Rand means math/rand/v2's global
	// generator: fresh draws at every call, safe for concurrent use. A
	// seeded Rand makes the draws reproducible and the loss unsafe for
	// concurrent use.
	Rand *rand.Rand
}

// NewManifold returns a Manifold loss with PML's defaults
// (ManifoldLoss(l, K=k): lambdaC 1, alpha 0.8, margin 5e-4,
// CosineSimilarity). The proxies are standard normal draws from rng; a nil
// rng means math/rand/v2's global generator (fresh draws at every call,
// safe for concurrent use); pass a seeded *rand.Rand for reproducible
// proxies. l and k must be positive.
func NewManifold(l, k int, rng *rand.Rand) (*Manifold, error) {
	const name = "losses.Manifold"
	if err := checkSizes(name, l, k); err != nil {
		return nil, err
	}
	p := mat.NewDense(k, l, nil)
	fillNormal(randsrc.Or(rng), p, 1)
	return &Manifold{Base: defaultBase(), K: k, L: l, LambdaC: 1, Alpha: 0.8, Margin: 5e-4, Proxies: p}, nil
}

// Params implements Learnable: "proxies" (K×L).
func (l *Manifold) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "proxies", Value: l.Proxies}}
}

var manifoldDecl = decl{
	name:         "losses.Manifold",
	ctor:         "NewManifold(l, k, rng)",
	noLabels:     true,
	noRef:        true,
	noTuples:     true,
	subLossNames: []string{"loss"},
	defDistance:  func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *Manifold) Compute(b Batch) (Result, error) { return run(&manifoldDecl, l, b) }

func (l *Manifold) validate(name string) error {
	switch {
	case math.IsNaN(l.LambdaC) || math.IsInf(l.LambdaC, 0) || l.LambdaC < 0:
		return check.Settingf(name, "LambdaC = %v, want finite and non-negative", l.LambdaC)
	case !(l.Alpha > 0 && l.Alpha < 1):
		return check.Settingf(name, "Alpha = %v, want it in (0, 1)", l.Alpha)
	case math.IsNaN(l.Margin) || math.IsInf(l.Margin, 0):
		return check.Settingf(name, "Margin = %v must be finite", l.Margin)
	}
	return nil
}

func (l *Manifold) metaClasses(n int) ([]int, error) {
	const name = "losses.Manifold"
	k := l.K
	if l.MetaClasses != nil {
		if len(l.MetaClasses) != n {
			return nil, check.Errorf(name, gometric.ErrLabels, "%d MetaClasses for %d embeddings", len(l.MetaClasses), n)
		}
		if err := check.Indices(name, "MetaClasses", l.MetaClasses, k); err != nil {
			return nil, err
		}
		return l.MetaClasses, nil
	}
	if n < k {
		return nil, check.Errorf(name, gometric.ErrShape, "%d embeddings for %d proxies: random meta classes need N >= K (PML fails too)", n, k)
	}
	rng := randsrc.Or(l.Rand)
	mc := make([]int, n)
	for i := range mc {
		if i < k {
			mc[i] = i
		} else {
			mc[i] = rng.IntN(k)
		}
	}
	rng.Shuffle(n, func(i, j int) { mc[i], mc[j] = mc[j], mc[i] })
	return mc, nil
}

func (l *Manifold) compute(in *input) (*term, error) {
	const name = "losses.Manifold"
	if l.L != in.d {
		return nil, check.Errorf(name, gometric.ErrShape, "the embeddings have %d columns, L = %d", in.d, l.L)
	}
	k, n, d := l.K, in.n, in.d
	if err := checkParam(name, "Proxies", l.Proxies, k, d); err != nil {
		return nil, err
	}
	mc, err := l.metaClasses(n)
	if err != nil {
		return nil, err
	}
	t := n + k
	if k > maxManifoldNodes || t > maxManifoldNodes {
		return nil, check.Errorf(name, gometric.ErrShape, "N + K = %d + %d nodes, more than the limit of %d (the graph's matrices are (N+K)×(N+K))", n, k, maxManifoldNodes)
	}
	x := mat.NewDense(t, d, nil)
	x.Slice(0, n, 0, d).(*mat.Dense).Copy(in.emb)
	x.Slice(n, t, 0, d).(*mat.Dense).Copy(l.Proxies)
	s0, err := in.dist.Matrix(x, nil)
	if err != nil {
		return nil, err
	}
	// s holds the affinities (zero diagonal), deg their row sums.
	s := mat.NewDense(t, t, nil)
	deg := make([]float64, t)
	for i := range t {
		r0, r := s0.RawRowView(i), s.RawRowView(i)
		for j := range t {
			if i != j {
				r[j] = math.Exp(math.Max(r0[j], 0) / 0.5)
				deg[i] += r[j]
			}
		}
	}
	h := make([]float64, t)
	for i, v := range deg {
		h[i] = math.Pow(v, -0.5)
	}
	alpha := l.Alpha
	a := mat.NewDense(t, t, nil)
	for i := range t {
		r, ar := s.RawRowView(i), a.RawRowView(i)
		for j := range t {
			ar[j] = -alpha * (h[i] * r[j] * h[j])
		}
		ar[i]++
	}
	var inv mat.Dense
	if err := inv.Inverse(a); err != nil {
		return nil, check.Errorf(name, gometric.ErrNonFinite, "I − Alpha·S̄ cannot be inverted: %v", err)
	}
	f := mat.NewDense(t, t, nil)
	f.Scale(1-alpha, &inv)

	// dF accumulates d(total)/dF per unit of the reduced loss.
	type hinge struct {
		i, j int
		w    float64 // d(mean loss)/d(value of entry (i, j))
	}
	// termsOf computes log(1 + Σ exp(v_ij − v_i,m_i + Margin)) per row of
	// the N×K matrix val, its mean and the weights of the kept entries.
	termsOf := func(val func(i, j int) float64) (float64, []hinge) {
		var mean float64
		var hs []hinge
		e := make([]float64, k)
		for i := range n {
			own := val(i, mc[i])
			var sum float64
			for j := range k {
				e[j] = 0
				if j == mc[i] {
					continue
				}
				v := val(i, j) - own + l.Margin
				if v < 0 {
					continue
				}
				e[j] = math.Exp(v)
				sum += e[j]
			}
			mean += math.Log1p(sum)
			for j := range k {
				if e[j] != 0 {
					hs = append(hs, hinge{i, j, e[j] / (1 + sum) / float64(n)})
				}
			}
		}
		return mean / float64(n), hs
	}
	intr, intHinges := termsOf(func(i, j int) float64 { return f.At(i, n+j) })
	rowNorm := make([]float64, t)
	for i := range t {
		rowNorm[i] = mat.Norm(f.RowView(i), 2)
	}
	cosIJ := func(i, j int) float64 {
		return mat.Dot(f.RowView(i), f.RowView(n+j)) / (rowNorm[i] * rowNorm[n+j])
	}
	ctxCos := mat.NewDense(n, k, nil)
	for i := range n {
		for j := range k {
			ctxCos.Set(i, j, cosIJ(i, j))
		}
	}
	ctx, ctxHinges := termsOf(func(i, j int) float64 { return ctxCos.At(i, j) })
	loss := intr + l.LambdaC*ctx
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{loss}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			w := dv[0][0]
			df := mat.NewDense(t, t, nil)
			for _, hg := range intHinges {
				c := w * hg.w
				df.Set(hg.i, n+hg.j, df.At(hg.i, n+hg.j)+c)
				df.Set(hg.i, n+mc[hg.i], df.At(hg.i, n+mc[hg.i])-c)
			}
			// gc is d(total)/d(cosine) (N×K).
			gc := mat.NewDense(n, k, nil)
			for _, hg := range ctxHinges {
				c := w * l.LambdaC * hg.w
				gc.Set(hg.i, hg.j, gc.At(hg.i, hg.j)+c)
				gc.Set(hg.i, mc[hg.i], gc.At(hg.i, mc[hg.i])-c)
			}
			for i := range n {
				for j := range k {
					c := gc.At(i, j)
					if c == 0 {
						continue
					}
					ai, bj := f.RawRowView(i), f.RawRowView(n+j)
					na, nb, cs := rowNorm[i], rowNorm[n+j], ctxCos.At(i, j)
					da, db := df.RawRowView(i), df.RawRowView(n+j)
					for q := range t {
						da[q] += c * (bj[q]/(na*nb) - cs*ai[q]/(na*na))
						db[q] += c * (ai[q]/(na*nb) - cs*bj[q]/(nb*nb))
					}
				}
			}
			// F = (1−α)·A⁻¹, A = I − α·S̄: dS̄ = α(1−α)·A⁻ᵀ·dF·A⁻ᵀ.
			var tmp, dsb mat.Dense
			tmp.Mul(inv.T(), df)
			dsb.Mul(&tmp, inv.T())
			dsb.Scale(alpha*(1-alpha), &dsb)
			// S̄_ij = h_i·S_ij·h_j, h = deg^{-1/2}, deg_i = Σ_j S_ij.
			ds := mat.NewDense(t, t, nil)
			dh := make([]float64, t)
			for i := range t {
				gr, sr, dr := dsb.RawRowView(i), s.RawRowView(i), ds.RawRowView(i)
				for j := range t {
					dr[j] = gr[j] * h[i] * h[j]
					v := gr[j] * sr[j]
					dh[i] += v * h[j]
					dh[j] += v * h[i]
				}
			}
			ds0 := mat.NewDense(t, t, nil)
			for i := range t {
				ddeg := dh[i] * -0.5 * h[i] / deg[i]
				dr, sr, r0, out := ds.RawRowView(i), s.RawRowView(i), s0.RawRowView(i), ds0.RawRowView(i)
				for j := range t {
					if i == j || r0[j] < 0 {
						continue // diagonal removed; clamp at 0 cuts the gradient below it
					}
					out[j] = (dr[j] + ddeg) * 2 * sr[j]
				}
			}
			dx, _, err := in.dist.MatrixVJP(x, nil, s0, ds0)
			if err != nil {
				return err
			}
			g.q.Add(g.q, dx.Slice(0, n, 0, d))
			pg := g.param("proxies", k, d)
			pg.Add(pg, dx.Slice(n, t, 0, d))
			return nil
		},
	}, nil
}
