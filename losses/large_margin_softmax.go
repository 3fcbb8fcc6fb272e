package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// LargeMarginSoftmax mirrors PML's LargeMarginSoftmaxLoss (Liu et al.,
// "Large-Margin Softmax Loss for Convolutional Neural Networks", 2016), the
// base of PML's ArcFace, CosFace and SphereFace losses: a softmax
// cross-entropy over class weights W in which the cosine of each
// embedding's own class, cos θ, is replaced by (−1)^k·cos(Margin·θ) − 2k
// (k = ⌊θ·Margin/π⌋, computed from the multiple-angle formula as PML does,
// k without gradient), and every logit is then multiplied by ‖w_c‖·‖x_i‖·
// Scale (norms in the distance's P).
//
// W is EmbeddingSize×NumClasses (PML's shape, parameter "W"); its gradient
// is returned in Result.ParamGrads["W"]. The cosines come from the
// distance, which must be a *distances.CosineSimilarity (PML asserts it;
// nil means NewCosineSimilarity()). Default reducer Mean; one "element"
// sub-loss "loss" indexed by embedding, each weighted by tuples.Weights
// when tuples are given (PML's convert_to_weights), plus
// "weight_reg_loss" when a weight regularizer is set (it sees Wᵀ, one row
// per class). Labels are required and must lie in [0, NumClasses); ref
// embeddings are not supported (as in PML).
//
// Make it with NewLargeMarginSoftmax(numClasses, embeddingSize, rng): its
// zero value (or a literal) is refused, see Base. Compute only reads W: it
// is safe for concurrent use as long as neither W (an optimizer step) nor
// the settings change meanwhile.
type LargeMarginSoftmax struct {
	Base
	WeightReg
	// Margin is PML's margin, the integer angle multiplier m (PML applies
	// int() to its argument; default 4). It must be at least 1.
	Margin int
	// Scale multiplies every logit (PML's scale, default 1). It must be
	// finite.
	Scale float64
	// W holds the class weights, EmbeddingSize×NumClasses (PML's W). An
	// optimizer updates it in place; its shape fixes the number of classes
	// and the embedding size.
	W *mat.Dense
}

// NewLargeMarginSoftmax returns a LargeMarginSoftmax with PML's defaults
// (LargeMarginSoftmaxLoss(num_classes, embedding_size): margin 4, scale 1,
// no weight regularizer) and W drawn from the standard normal
// distribution (PML's default init, torch.nn.init.normal_) using rng; the
// random stream differs from torch's. A nil rng means math/rand/v2's
// global generator (fresh draws at every call, safe for concurrent use);
// pass a seeded *rand.Rand for reproducible weights. numClasses and
// embeddingSize must be positive.
func NewLargeMarginSoftmax(numClasses, embeddingSize int, rng *rand.Rand) (*LargeMarginSoftmax, error) {
	w, err := initWeights("losses.LargeMarginSoftmax", embeddingSize, numClasses, rng)
	if err != nil {
		return nil, err
	}
	return &LargeMarginSoftmax{Base: defaultBase(), WeightReg: defaultWeightReg(), Margin: 4, Scale: 1, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×NumClasses).
func (l *LargeMarginSoftmax) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

var largeMarginSoftmaxDecl = marginHeadDecl("losses.LargeMarginSoftmax", "NewLargeMarginSoftmax(numClasses, embeddingSize, rng)")

// Compute implements Loss.
func (l *LargeMarginSoftmax) Compute(b Batch) (Result, error) {
	return run(&largeMarginSoftmaxDecl, l, b)
}

func (l *LargeMarginSoftmax) compute(in *input) (*term, error) { return l.head().compute(in) }

// Logits mirrors LargeMarginSoftmaxLoss.get_logits: the N×NumClasses
// cosines between the embeddings and the class weights, scaled by
// ‖w_c‖·‖x_i‖·Scale, without the margin.
func (l *LargeMarginSoftmax) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(largeMarginSoftmaxDecl.name, largeMarginSoftmaxDecl.ctor)
	}
	return l.head().logits(embeddings)
}

func (l *LargeMarginSoftmax) head() *marginHead {
	return &marginHead{decl: &largeMarginSoftmaxDecl, name: largeMarginSoftmaxDecl.name, kind: headLargeMargin, base: &l.Base, wr: &l.WeightReg,
		w: l.W, sub: 1, intMargin: l.Margin, scale: l.Scale}
}

// initWeights draws a rows×cols matrix of standard normal values.
func initWeights(name string, rows, cols int, rng *rand.Rand) (*mat.Dense, error) {
	if rows <= 0 || cols <= 0 {
		return nil, check.Errorf(name, gometric.ErrShape, "embedding size %d and number of classes %d must be positive", rows, cols)
	}
	if err := checkSizes(name, rows, cols); err != nil {
		return nil, err
	}
	rng = randsrc.Or(rng)
	w := mat.NewDense(rows, cols, nil)
	raw := w.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	return w, nil
}

// headKind selects the margin and scaling of a marginHead.
type headKind int

const (
	headLargeMargin headKind = iota // multiple-angle margin, ‖w‖‖x‖ scaling
	headSphere                      // multiple-angle margin, ‖x‖ scaling
	headArc                         // additive angular margin, constant scale
	headCos                         // additive cosine margin, constant scale
)

// marginHead is the computation PML's LargeMarginSoftmaxLoss and its
// subclasses share, configured from one loss's settings.
type marginHead struct {
	decl      *decl
	name      string
	kind      headKind
	base      *Base
	wr        *WeightReg
	w         *mat.Dense // D × C·sub
	sub       int        // sub-centres per class (SubCenterArcFace), else 1
	intMargin int        // headLargeMargin, headSphere
	margin    float64    // headArc: radians; headCos: additive
	scale     float64
	// cosM and sinM are cos and sin of the margin (headArc; set by
	// compute for modify).
	cosM, sinM float64
}

// marginHeadDecl declares LargeMarginSoftmax or one of its subclasses.
func marginHeadDecl(name, ctor string) decl {
	return decl{
		name:          name,
		ctor:          ctor,
		needLabels:    true,
		noRef:         true,
		subLossNames:  []string{"loss"},
		defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
		defReducer:    func() reducers.Reducer { return reducers.NewMean() },
		checkDistance: requireCosine,
	}
}

// validate checks the settings and the weights against d, the embedding
// size, and returns the number of classes.
func (h *marginHead) validate(d int) (int, error) {
	if h.w == nil {
		return 0, check.Errorf(h.name, gometric.ErrShape, "W is nil")
	}
	if err := check.Matrix(h.name, "W", h.w); err != nil {
		return 0, err
	}
	wr, wc := h.w.Dims()
	if wr != d {
		return 0, check.Errorf(h.name, gometric.ErrShape, "embedding size %d, W has %d rows (embedding size × classes)", d, wr)
	}
	if h.sub < 1 || wc%h.sub != 0 {
		return 0, check.Settingf(h.name, "SubCenters = %d must be positive and divide the %d columns of W", h.sub, wc)
	}
	switch h.kind {
	case headLargeMargin, headSphere:
		if h.intMargin < 1 {
			return 0, check.Settingf(h.name, "Margin = %d, want at least 1", h.intMargin)
		}
	default:
		if math.IsNaN(h.margin) || math.IsInf(h.margin, 0) {
			return 0, check.Settingf(h.name, "Margin = %v must be finite", h.margin)
		}
	}
	if math.IsNaN(h.scale) || math.IsInf(h.scale, 0) {
		return 0, check.Settingf(h.name, "Scale = %v must be finite", h.scale)
	}
	if err := h.wr.checkWeightReg(h.name); err != nil {
		return 0, err
	}
	return wc / h.sub, nil
}

// cosines returns the N×(C·sub) cosine matrix between emb and the columns
// of W, and (with sub-centres) the N×C per-class maxima and the index of
// the column each came from. Without sub-centres cos is cm.m. The caller
// releases cm.
func (h *marginHead) cosines(dist distances.Distance, emb *mat.Dense, c int) (cm *classMatrix, cos *mat.Dense, arg []int, err error) {
	cm, err = newClassMatrix(h.name, dist, emb, h.w, true)
	if err != nil {
		return nil, nil, nil, err
	}
	all := cm.m
	if h.sub == 1 {
		return cm, all, nil, nil
	}
	n, _ := emb.Dims()
	cos = mat.NewDense(n, c, nil)
	arg = make([]int, n*c)
	for i := 0; i < n; i++ {
		src, dst := all.RawRowView(i), cos.RawRowView(i)
		for k := 0; k < c; k++ {
			best, bi := src[k*h.sub], k*h.sub
			for s := 1; s < h.sub; s++ {
				if v := src[k*h.sub+s]; v > best {
					best, bi = v, k*h.sub+s
				}
			}
			dst[k], arg[i*c+k] = best, bi
		}
	}
	return cm, cos, arg, nil
}

// modify returns PML's modify_cosine_of_target_classes for one target
// cosine and its derivative.
func (h *marginHead) modify(c float64) (float64, float64) {
	switch h.kind {
	case headCos:
		return c - h.margin, 1
	case headArc:
		if m := h.margin; c > -1 && c < 1 && m >= 0 && m <= math.Pi {
			// With θ = acos c in (0, π): cos(θ + m) = c·cos m − sin θ·sin m,
			// sin θ = √(1 − c²), and θ ≤ π − m ⇔ c ≥ −cos m; the identities
			// give the values below up to rounding without acos, cos and
			// sin. Within 1e-12 of the switch the angle decides, as below.
			cm, sm := h.cosM, h.sinM
			if d := c + cm; d > 1e-12 || d < -1e-12 {
				s := math.Sqrt(1 - c*c)
				if d > 0 {
					return c*cm - s*sm, (s*cm + c*sm) / s
				}
				return c - m*sm, 1
			}
		}
		angle, dAngle := acosClamped(c)
		if angle <= math.Pi-h.margin {
			return math.Cos(angle + h.margin), -math.Sin(angle+h.margin) * dAngle
		}
		return math.Cos(angle) - h.margin*math.Sin(h.margin), -math.Sin(angle) * dAngle
	}
	// Multiple-angle formula: cos(mθ) = Σ_n (−1)^n C(m, 2n) cos^{m−2n}θ (1 − cos²θ)^n.
	m := h.intMargin
	var v, dv float64
	s := 1 - c*c
	for n := 0; n <= m/2; n++ {
		coef := binomial(m, 2*n)
		if n%2 == 1 {
			coef = -coef
		}
		a := float64(m - 2*n)
		cp, sp := math.Pow(c, a), math.Pow(s, float64(n))
		v += coef * cp * sp
		var dcp, dsp float64
		if a != 0 {
			dcp = a * math.Pow(c, a-1)
		}
		if n != 0 {
			dsp = float64(n) * math.Pow(s, float64(n-1)) * (-2 * c)
		}
		dv += coef * (dcp*sp + cp*dsp)
	}
	angle, _ := acosClamped(c)
	k := math.Floor(angle / (math.Pi / float64(m)))
	sign := 1.0
	if math.Mod(k, 2) != 0 {
		sign = -1
	}
	return sign*v - 2*k, sign * dv
}

// crossEntropyUnit is the forward loop of compute for a factor of 1
// (ArcFace, CosFace): for every row i of cos (N×C) with the target's
// logit replaced by lgY[i], values[i] = weights[i] × crossEntropyRow of
// the logits times Scale, whose gradient goes to row i of pg. The
// operations are those of crossEntropyRow (v·1·Scale = v·Scale), in passes
// over the whole matrix: one call of lse.Exps instead of one per row.
func (h *marginHead) crossEntropyUnit(cos *mat.Dense, labels []int, lgY, weights, pg, values []float64) {
	n, c := cos.Dims()
	// values holds each row's maximum until the last pass.
	for i := range n {
		y, row := labels[i], pg[i*c:(i+1)*c]
		mx := math.Inf(-1)
		for j, v := range cos.RawRowView(i)[:len(row)] {
			x := v * h.scale
			if j == y {
				x = lgY[i] * h.scale
			}
			row[j] = x
			if x > mx {
				mx = x
			}
		}
		for j := range row {
			row[j] -= mx
		}
		values[i] = mx
	}
	lse.Exps(pg[:n*c])
	for i := range n {
		y, row, mx := labels[i], pg[i*c:(i+1)*c], values[i]
		var s float64
		for _, e := range row {
			s += e
		}
		inv := 1 / s
		for j := range row {
			row[j] *= inv
		}
		row[y]--
		values[i] = (mx + math.Log(s) - lgY[i]*h.scale) * weights[i]
	}
}

// infiniteGrad is the error for a non-finite gradient of the target
// logit of embedding i: PML's gradient is infinite too, acos having an
// infinite derivative at cos θ = ±1.
func (h *marginHead) infiniteGrad(i int, dl, cos float64) error {
	return check.Errorf(h.name, gometric.ErrNonFinite,
		"the gradient of embedding %d is %v: its cosine to its class is %v, where acos has an infinite derivative", i, dl, cos)
}

// acosClamped is torch.acos(torch.clamp(c, −1, 1)) and its derivative
// (0 outside [−1, 1], −Inf at ±1 as in torch).
func acosClamped(c float64) (float64, float64) {
	if c < -1 || c > 1 {
		return math.Acos(math.Max(-1, math.Min(1, c))), 0
	}
	return math.Acos(c), -1 / math.Sqrt(1-c*c)
}

// binomial is scipy.special.binom(n, k) for 0 ≤ k ≤ n, as a float64.
func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return math.Round(r)
}

// norms returns the embedding norms and W column norms scale_logits uses
// for the head's kind (nil where unused), with Wᵀ when the column norms are
// used.
func (h *marginHead) norms(dist distances.Distance, emb *mat.Dense) (en, wn []float64, wt *mat.Dense, p float64) {
	switch h.kind {
	case headLargeMargin:
		p = dist.Settings().P
		wt = mat.DenseCopyOf(h.w.T())
		return rownorm.Norms(emb, p), rownorm.Norms(wt, p), wt, p
	case headSphere:
		return rownorm.Norms(emb, 2), nil, nil, 2
	}
	return nil, nil, nil, 0
}

// factor is the multiplier scale_logits applies to logit (i, j).
func (h *marginHead) factor(en, wn []float64, i, j int) float64 {
	switch h.kind {
	case headLargeMargin:
		return wn[j] * en[i]
	case headSphere:
		return en[i]
	}
	return 1
}

// logits is get_logits: the scaled cosines without the margin.
func (h *marginHead) logits(emb *mat.Dense) (*mat.Dense, error) {
	if err := h.decl.usable(h.base); err != nil {
		return nil, err
	}
	if err := check.Matrix(h.name, "embeddings", emb); err != nil {
		return nil, err
	}
	_, d := emb.Dims()
	c, err := h.validate(d)
	if err != nil {
		return nil, err
	}
	dist := h.base.Distance
	if dist == nil {
		dist = h.decl.defDistance()
	}
	if err := h.decl.checkDistance(h.name, dist); err != nil {
		return nil, err
	}
	cm, cos, _, err := h.cosines(dist, emb, c)
	if err != nil {
		return nil, err
	}
	defer cm.release()
	en, wn, _, _ := h.norms(dist, emb)
	n, _ := emb.Dims()
	out := mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		src, dst := cos.RawRowView(i), out.RawRowView(i)
		for j, v := range src {
			dst[j] = v * h.factor(en, wn, i, j) * h.scale
		}
	}
	return out, nil
}

func (h *marginHead) compute(in *input) (*term, error) {
	name := h.name
	c, err := h.validate(in.d)
	if err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	weights, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, err
	}
	cm, cos, arg, err := h.cosines(in.dist, in.emb, c)
	if err != nil {
		return nil, err
	}
	h.cosM, h.sinM = math.Cos(h.margin), math.Sin(h.margin)
	en, wn, wt, p := h.norms(in.dist, in.emb)
	n, k := in.n, c*h.sub
	// pg holds, row by row (N×C), the gradient of each row's cross entropy
	// with respect to its scaled logits; lgY the target's logit after the
	// margin (before scaling), dMod its derivative with respect to cos θ.
	pg := cm.scratch(0)[:n*c]
	lgY := make([]float64, n)
	dMod := make([]float64, n)
	values := make([]float64, n)
	for i := 0; i < n; i++ {
		y := in.labels[i]
		cy := cos.At(i, y)
		mod, dm := h.modify(cy)
		lgY[i], dMod[i] = cy+(mod-cy), dm
	}
	if en == nil {
		h.crossEntropyUnit(cos, in.labels, lgY, weights, pg, values)
	} else {
		for i := 0; i < n; i++ {
			y := in.labels[i]
			// The scaled logits are written to the row of pg, which
			// crossEntropyRow then overwrites with their gradient.
			row := pg[i*c : (i+1)*c]
			for j, v := range cos.RawRowView(i) {
				if j == y {
					v = lgY[i]
				}
				row[j] = v * h.factor(en, wn, i, j) * h.scale
			}
			values[i] = crossEntropyRow(row, y, row) * weights[i]
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	t := &term{subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{idx}, Kind: reducers.Element}}}
	t.backward = func(dv [][]float64, g *grads) error {
		defer cm.release()
		// dAll is d(loss)/d(cosines), N×(C·sub); every entry is written.
		dAll := cm.scratch(1)[:n*k]
		var den, dwn []float64
		if en != nil {
			den = make([]float64, n)
		}
		if wn != nil {
			dwn = make([]float64, c)
		}
		for i := 0; i < n; i++ {
			dst := dAll[i*k : (i+1)*k]
			gi := dv[0][i] * weights[i]
			if gi == 0 || arg != nil {
				clear(dst)
			}
			if gi == 0 {
				continue
			}
			y := in.labels[i]
			src, pr := cos.RawRowView(i), pg[i*c:(i+1)*c]
			if en == nil && arg == nil {
				// ArcFace, CosFace: the general loop below without the
				// factor (1) and the norms; a zero ds gives a zero dl.
				for j, p := range pr {
					dst[j] = gi * p * h.scale
				}
				if ds := gi * pr[y]; ds != 0 {
					dl := ds * h.scale * dMod[i]
					if math.IsInf(dl, 0) || math.IsNaN(dl) {
						return h.infiniteGrad(i, dl, src[y])
					}
					dst[y] = dl
				}
				continue
			}
			for j, v := range src {
				ds := gi * pr[j] // d/d(scaled logit)
				if ds == 0 {
					if arg == nil {
						dst[j] = 0
					}
					continue
				}
				dl := ds * h.factor(en, wn, i, j) * h.scale
				if j == y {
					v = lgY[i]
					dl *= dMod[i]
					if math.IsInf(dl, 0) || math.IsNaN(dl) {
						return h.infiniteGrad(i, dl, src[j])
					}
				}
				if arg != nil {
					dst[arg[i*c+j]] += dl
				} else {
					dst[j] = dl
				}
				switch h.kind {
				case headLargeMargin:
					dp := ds * v * h.scale
					den[i] += dp * wn[j]
					dwn[j] += dp * en[i]
				case headSphere:
					den[i] += ds * v * h.scale
				}
			}
		}
		gw := g.param("W", in.d, k)
		if err := cm.addVJP(name, mat.NewDense(n, k, dAll), g.q, gw); err != nil {
			return err
		}
		for i := range den {
			rownorm.NormGrad(g.q.RawRowView(i), in.emb.RawRowView(i), p, en[i], den[i])
		}
		if dwn != nil {
			// The norms are of the columns of W: their gradients go
			// through a transposed buffer.
			dwt := mat.NewDense(c, in.d, nil)
			for j := range dwn {
				rownorm.NormGrad(dwt.RawRowView(j), wt.RawRowView(j), p, wn[j], dwn[j])
			}
			gw.Add(gw, dwt.T())
		}
		return nil
	}
	return h.wr.addTo(name, t, h.wr.names("loss"), "W", h.w, true)
}
