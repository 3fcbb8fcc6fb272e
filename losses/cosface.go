package losses

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// CosFace mirrors PML's CosFaceLoss (Wang et al., "CosFace: Large Margin
// Cosine Loss for Deep Face Recognition", 2018), a LargeMarginSoftmax
// whose target logit is cos θ − Margin and whose logits are all multiplied
// by Scale (no norms).
//
// W is EmbeddingSize×NumClasses ("W"); distance, reducer, sub-losses,
// tuples and labels are as in LargeMarginSoftmax.
//
// Make it with NewCosFace(numClasses, embeddingSize, rng): its zero value
// (or a literal) is refused, see Base. Compute only reads W: it is safe for
// concurrent use as long as neither W (an optimizer step) nor the settings
// change meanwhile.
type CosFace struct {
	Base
	WeightReg
	// Margin is subtracted from the target cosine (PML's margin, default
	// 0.35). It must be finite.
	Margin float64
	// Scale multiplies every logit (PML's scale, default 64). It must be
	// finite.
	Scale float64
	// W holds the class weights, EmbeddingSize×NumClasses (PML's W).
	W *mat.Dense
}

// NewCosFace returns a CosFace loss with PML's defaults
// (CosFaceLoss(num_classes, embedding_size): margin 0.35, scale 64) and W
// drawn from the standard normal distribution using rng (PML's
// torch.nn.init.normal_; the random stream differs from torch's; a nil
// rng means math/rand/v2's global generator, fresh draws at every call and
// safe for concurrent use; pass a seeded *rand.Rand for reproducible
// weights). numClasses and embeddingSize must be positive.
func NewCosFace(numClasses, embeddingSize int, rng *rand.Rand) (*CosFace, error) {
	w, err := initWeights("losses.CosFace", embeddingSize, numClasses, rng)
	if err != nil {
		return nil, err
	}
	return &CosFace{Base: defaultBase(), WeightReg: defaultWeightReg(), Margin: 0.35, Scale: 64, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×NumClasses).
func (l *CosFace) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

var cosFaceDecl = marginHeadDecl("losses.CosFace", "NewCosFace(numClasses, embeddingSize, rng)")

// Compute implements Loss.
func (l *CosFace) Compute(b Batch) (Result, error) { return run(&cosFaceDecl, l, b) }

func (l *CosFace) compute(in *input) (*term, error) { return l.head().compute(in) }

// Logits mirrors CosFaceLoss.get_logits: Scale times the N×NumClasses
// cosines between the embeddings and the class weights (no margin).
func (l *CosFace) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(cosFaceDecl.name, cosFaceDecl.ctor)
	}
	return l.head().logits(embeddings)
}

func (l *CosFace) head() *marginHead {
	return &marginHead{decl: &cosFaceDecl, name: cosFaceDecl.name, kind: headCos, base: &l.Base, wr: &l.WeightReg,
		w: l.W, sub: 1, margin: l.Margin, scale: l.Scale}
}
