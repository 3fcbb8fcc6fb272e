package losses

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// ArcFace mirrors PML's ArcFaceLoss (Deng et al., "ArcFace: Additive
// Angular Margin Loss for Deep Face Recognition", 2019), a
// LargeMarginSoftmax whose target logit is cos(θ + m), with m = Margin in
// degrees (PML converts it with np.radians), or cos θ − m·sin m where
// θ > π − m (PML keeps the loss monotonic there), and whose logits are all
// multiplied by Scale (no norms). θ = acos(clamp(cos, −1, 1)); a cosine of
// exactly ±1 makes PML's gradient infinite, and Compute then returns an
// error wrapping gometric.ErrNonFinite (unless the softmax has saturated
// so that the target's upstream gradient is exactly 0: PML then gets
// 0·∞ = NaN, here the gradient is 0).
//
// W is EmbeddingSize×NumClasses ("W"); distance, reducer, sub-losses,
// tuples and labels are as in LargeMarginSoftmax.
//
// Make it with NewArcFace(numClasses, embeddingSize, rng): its zero value
// (or a literal) is refused, see Base. Compute only reads W: it is safe for
// concurrent use as long as neither W (an optimizer step) nor the settings
// change meanwhile.
type ArcFace struct {
	Base
	WeightReg
	// Margin is the additive angular margin in degrees (PML's margin,
	// default 28.6). It must be finite.
	Margin float64
	// Scale multiplies every logit (PML's scale, default 64). It must be
	// finite.
	Scale float64
	// W holds the class weights, EmbeddingSize×NumClasses (PML's W).
	W *mat.Dense
}

// NewArcFace returns an ArcFace loss with PML's defaults
// (ArcFaceLoss(num_classes, embedding_size): margin 28.6 degrees, scale
// 64) and W drawn from the standard normal distribution using rng (PML's
// torch.nn.init.normal_; the random stream differs from torch's; a nil
// rng means math/rand/v2's global generator, fresh draws at every call and
// safe for concurrent use; pass a seeded *rand.Rand for reproducible
// weights). numClasses and embeddingSize must be positive.
func NewArcFace(numClasses, embeddingSize int, rng *rand.Rand) (*ArcFace, error) {
	w, err := initWeights("losses.ArcFace", embeddingSize, numClasses, rng)
	if err != nil {
		return nil, err
	}
	return &ArcFace{Base: defaultBase(), WeightReg: defaultWeightReg(), Margin: 28.6, Scale: 64, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×NumClasses).
func (l *ArcFace) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

var arcFaceDecl = marginHeadDecl("losses.ArcFace", "NewArcFace(numClasses, embeddingSize, rng)")

// Compute implements Loss.
func (l *ArcFace) Compute(b Batch) (Result, error) { return run(&arcFaceDecl, l, b) }

func (l *ArcFace) compute(in *input) (*term, error) { return l.head().compute(in) }

// Logits mirrors ArcFaceLoss.get_logits: Scale times the N×NumClasses
// cosines between the embeddings and the class weights (no margin).
func (l *ArcFace) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(arcFaceDecl.name, arcFaceDecl.ctor)
	}
	return l.head().logits(embeddings)
}

func (l *ArcFace) head() *marginHead {
	return &marginHead{decl: &arcFaceDecl, name: arcFaceDecl.name, kind: headArc, base: &l.Base, wr: &l.WeightReg,
		w: l.W, sub: 1, margin: l.Margin * (math.Pi / 180), scale: l.Scale}
}
