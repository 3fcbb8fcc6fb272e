package losses

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// SphereFace mirrors PML's SphereFaceLoss (Liu et al., "SphereFace: Deep
// Hypersphere Embedding for Face Recognition", 2017): a
// LargeMarginSoftmax (same multiple-angle margin) whose logits are
// multiplied by ‖x_i‖₂·Scale only (the class weight norms are left out).
//
// W is EmbeddingSize×NumClasses ("W"); distance, reducer, sub-losses,
// tuples and labels are as in LargeMarginSoftmax.
//
// Make it with NewSphereFace(numClasses, embeddingSize, rng): its zero
// value (or a literal) is refused, see Base. Compute only reads W: it is
// safe for concurrent use as long as neither W (an optimizer step) nor the
// settings change meanwhile.
type SphereFace struct {
	Base
	WeightReg
	// Margin is the integer angle multiplier (PML's margin, default 4). It
	// must be at least 1.
	Margin int
	// Scale multiplies every logit (PML's scale, default 1). It must be
	// finite.
	Scale float64
	// W holds the class weights, EmbeddingSize×NumClasses (PML's W).
	W *mat.Dense
}

// NewSphereFace returns a SphereFace loss with PML's defaults
// (SphereFaceLoss(num_classes, embedding_size): margin 4, scale 1) and W
// drawn from the standard normal distribution using rng (PML's
// torch.nn.init.normal_; the random stream differs from torch's; a nil
// rng means math/rand/v2's global generator, fresh draws at every call and
// safe for concurrent use; pass a seeded *rand.Rand for reproducible
// weights). numClasses and embeddingSize must be positive.
func NewSphereFace(numClasses, embeddingSize int, rng *rand.Rand) (*SphereFace, error) {
	w, err := initWeights("losses.SphereFace", embeddingSize, numClasses, rng)
	if err != nil {
		return nil, err
	}
	return &SphereFace{Base: defaultBase(), WeightReg: defaultWeightReg(), Margin: 4, Scale: 1, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×NumClasses).
func (l *SphereFace) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

var sphereFaceDecl = marginHeadDecl("losses.SphereFace", "NewSphereFace(numClasses, embeddingSize, rng)")

// Compute implements Loss.
func (l *SphereFace) Compute(b Batch) (Result, error) { return run(&sphereFaceDecl, l, b) }

func (l *SphereFace) compute(in *input) (*term, error) { return l.head().compute(in) }

// Logits mirrors SphereFaceLoss.get_logits: the N×NumClasses cosines
// between the embeddings and the class weights times ‖x_i‖₂·Scale (no
// margin).
func (l *SphereFace) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(sphereFaceDecl.name, sphereFaceDecl.ctor)
	}
	return l.head().logits(embeddings)
}

func (l *SphereFace) head() *marginHead {
	return &marginHead{decl: &sphereFaceDecl, name: sphereFaceDecl.name, kind: headSphere, base: &l.Base, wr: &l.WeightReg,
		w: l.W, sub: 1, intMargin: l.Margin, scale: l.Scale}
}
