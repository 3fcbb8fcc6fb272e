package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

// SubCenterArcFace mirrors PML's SubCenterArcFaceLoss (Deng et al.,
// "Sub-center ArcFace", ECCV 2020): an ArcFace loss in which each class
// has SubCenters weight vectors and the cosine of an embedding to a class
// is the largest of its cosines to that class's sub-centres (the gradient
// flows to that sub-centre only; the first wins ties).
//
// W is EmbeddingSize×(NumClasses·SubCenters), grouped class-major: column
// c·SubCenters+s is sub-centre s of class c (PML's W and layout). Its
// gradient is Result.ParamGrads["W"]. Distance, reducer, sub-losses,
// tuples and labels (in [0, NumClasses)) are as in ArcFace.
//
// PML's constructor does not forward its other keyword arguments
// (distance, reducer, regularizers, weight_init_func) to ArcFaceLoss, so
// in PML they are silently ignored; here Base and WeightReg are honoured.
//
// Make it with NewSubCenterArcFace(numClasses, embeddingSize, subCenters,
// rng): its zero value (or a literal) is refused, see Base. Compute only
// reads W: it is safe for concurrent use as long as neither W (an optimizer
// step) nor the settings change meanwhile.
type SubCenterArcFace struct {
	Base
	WeightReg
	// Margin is the additive angular margin in degrees (PML's margin,
	// default 28.6). It must be finite.
	Margin float64
	// Scale multiplies every logit (PML's scale, default 64). It must be
	// finite.
	Scale float64
	// SubCenters is the number of sub-centres per class (PML's
	// sub_centers, default 3). It must divide the columns of W.
	SubCenters int
	// W holds the sub-centres, EmbeddingSize×(NumClasses·SubCenters).
	W *mat.Dense
}

// NewSubCenterArcFace returns a SubCenterArcFace loss with PML's defaults
// (SubCenterArcFaceLoss(num_classes=, embedding_size=): margin 28.6
// degrees, scale 64) with subCenters sub-centres per class (PML's default
// is 3) and W drawn from the standard normal distribution using rng (PML's
// torch.nn.init.normal_; the random stream differs from torch's; a nil
// rng means math/rand/v2's global generator, fresh draws at every call and
// safe for concurrent use; pass a seeded *rand.Rand for reproducible
// weights). All sizes must be positive.
func NewSubCenterArcFace(numClasses, embeddingSize, subCenters int, rng *rand.Rand) (*SubCenterArcFace, error) {
	const name = "losses.SubCenterArcFace"
	if subCenters <= 0 || numClasses <= 0 {
		return nil, check.Errorf(name, gometric.ErrShape, "number of classes %d and sub-centres %d must be positive", numClasses, subCenters)
	}
	if err := checkSizes(name, numClasses, subCenters, max(embeddingSize, 1)); err != nil {
		return nil, err // numClasses·subCenters must not overflow
	}
	w, err := initWeights(name, embeddingSize, numClasses*subCenters, rng)
	if err != nil {
		return nil, err
	}
	return &SubCenterArcFace{Base: defaultBase(), WeightReg: defaultWeightReg(), Margin: 28.6, Scale: 64, SubCenters: subCenters, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×(NumClasses·SubCenters)).
func (l *SubCenterArcFace) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

var subCenterArcFaceDecl = marginHeadDecl("losses.SubCenterArcFace", "NewSubCenterArcFace(numClasses, embeddingSize, subCenters, rng)")

// Compute implements Loss.
func (l *SubCenterArcFace) Compute(b Batch) (Result, error) { return run(&subCenterArcFaceDecl, l, b) }

func (l *SubCenterArcFace) compute(in *input) (*term, error) { return l.head().compute(in) }

// Logits mirrors SubCenterArcFaceLoss.get_logits: Scale times the
// N×NumClasses matrix of each embedding's largest cosine to a class's
// sub-centres (no margin).
func (l *SubCenterArcFace) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(subCenterArcFaceDecl.name, subCenterArcFaceDecl.ctor)
	}
	return l.head().logits(embeddings)
}

func (l *SubCenterArcFace) head() *marginHead {
	return &marginHead{decl: &subCenterArcFaceDecl, name: subCenterArcFaceDecl.name, kind: headArc, base: &l.Base, wr: &l.WeightReg,
		w: l.W, sub: l.SubCenters, margin: l.Margin * (math.Pi / 180), scale: l.Scale}
}

// Outliers mirrors SubCenterArcFaceLoss.get_outliers. For every class
// present in labels, each of its embeddings is assigned to the sub-centre
// it is most similar to (first on ties); the sub-centre with the most
// embeddings (first on ties) is the class's dominant centre, and the
// embeddings whose similarity to it is below cos(threshold) are outliers
// (threshold in degrees; PML's default is 75). It returns the outlier
// indices (by class, then by position, as PML) and the
// EmbeddingSize×NumClasses matrix of dominant centres; the columns of
// classes absent from labels are zero (PML leaves them uninitialised).
// PML returns both whatever its return_dominant_centers says. Nothing is
// differentiated.
func (l *SubCenterArcFace) Outliers(embeddings *mat.Dense, labels []int, threshold float64) ([]int, *mat.Dense, error) {
	if l == nil {
		return nil, nil, nilError(subCenterArcFaceDecl.name, subCenterArcFaceDecl.ctor)
	}
	h := l.head()
	name := h.name
	if err := h.decl.usable(&l.Base); err != nil {
		return nil, nil, err
	}
	if err := check.Matrix(name, "embeddings", embeddings); err != nil {
		return nil, nil, err
	}
	n, d := embeddings.Dims()
	if err := check.Labels(name, "labels", labels, n); err != nil {
		return nil, nil, err
	}
	if math.IsNaN(threshold) || math.IsInf(threshold, 0) {
		return nil, nil, check.Settingf(name, "threshold = %v must be finite", threshold)
	}
	c, err := h.validate(d)
	if err != nil {
		return nil, nil, err
	}
	if err := checkClassLabels(name, labels, c); err != nil {
		return nil, nil, err
	}
	dist := l.Distance
	if dist == nil {
		dist = h.decl.defDistance()
	}
	if err := h.decl.checkDistance(name, dist); err != nil {
		return nil, nil, err
	}
	all, err := dist.Matrix(embeddings, mat.DenseCopyOf(l.W.T()))
	if err != nil {
		return nil, nil, wrap(name, err)
	}
	cosThreshold := math.Cos(threshold * (math.Pi / 180))
	s := l.SubCenters
	dominant := mat.NewDense(d, c, nil)
	outliers := []int{}
	members := make([][]int, c)
	for i, y := range labels {
		members[y] = append(members[y], i)
	}
	counts := make([]int, s)
	for y, idx := range members {
		if len(idx) == 0 {
			continue
		}
		clear(counts)
		for _, i := range idx {
			row := all.RawRowView(i)[y*s : (y+1)*s]
			bi := 0 // torch.argmax: the first maximum
			for k, v := range row {
				if v > row[bi] {
					bi = k
				}
			}
			counts[bi]++
		}
		dom := 0
		for k, v := range counts {
			if v > counts[dom] {
				dom = k
			}
		}
		for r := 0; r < d; r++ {
			dominant.Set(r, y, l.W.At(r, y*s+dom))
		}
		for _, i := range idx {
			if all.At(i, y*s+dom) < cosThreshold {
				outliers = append(outliers, i)
			}
		}
	}
	return outliers, dominant, nil
}
