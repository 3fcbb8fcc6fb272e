package inference

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

const matchFinderName = "inference.MatchFinder"

// DefaultThreshold is the threshold of the MatchFinder that PML's
// InferenceModel builds when it is given none: CosineSimilarity, 0.9.
const DefaultThreshold = 0.9

// MatchFinder mirrors PML's MatchFinder: two embeddings match when their
// distance is at most Threshold or, for a similarity (the distance's
// Settings().Inverted), when their similarity is at least Threshold. Both
// comparisons are inclusive, as in PML.
//
// Matrix-based methods (Mask, Matches) use Distance.Matrix, i.e. PML's
// distance(query, ref) with its normalisation and power; IsMatch and
// Calibrate use Distance.Pairwise, i.e. PML's pairwise_distance, which
// applies neither. For the default CosineSimilarity that means IsMatch
// compares plain dot products: pass unit-length rows (as Model does when
// NormalizeEmbeddings is set) to compare cosines. This mirrors PML exactly.
//
// PML's per-call threshold argument has no counterpart: copy the value
// and set Threshold on the copy.
//
// Make it with NewMatchFinder. PML's MatchFinder has no default threshold
// (its InferenceModel's is 0.9), so a zero value or literal, whose
// Threshold 0 would silently match every pair with a cosine of at least 0,
// is refused by every method with an error wrapping gometric.ErrSetting
// that names NewMatchFinder; so is a nil *MatchFinder.
//
// A MatchFinder is safe for concurrent use by methods other than
// Calibrate, which sets Threshold, as long as its fields are not modified
// meanwhile.
type MatchFinder struct {
	// Distance measures embeddings. nil means distances.CosineSimilarity
	// with PML's defaults (the distance of InferenceModel's default
	// MatchFinder).
	Distance distances.Distance
	// Threshold is the match threshold; it must not be NaN (±Inf is
	// allowed: it matches everything or nothing).
	Threshold float64

	made bool // set by NewMatchFinder
}

// NewMatchFinder returns a MatchFinder over d (nil: CosineSimilarity) with
// the given threshold, as PML's MatchFinder(distance, threshold).
func NewMatchFinder(d distances.Distance, threshold float64) *MatchFinder {
	return &MatchFinder{Distance: d, Threshold: threshold, made: true}
}

// checkMade refuses a nil or zero MatchFinder.
func (f *MatchFinder) checkMade() error {
	if f == nil {
		return check.Settingf(matchFinderName, "nil receiver")
	}
	if !f.made {
		return check.Settingf(matchFinderName, "not made by NewMatchFinder: PML's MatchFinder has no default threshold (InferenceModel's is %v); use NewMatchFinder(distance, threshold)", DefaultThreshold)
	}
	return nil
}

// Match is one (query row, reference row) pair within the threshold. It
// is plain data, safe for concurrent reads.
type Match struct {
	// Query and Ref are the row indices.
	Query, Ref int
	// Value is the pair's distance or similarity (for
	// Model.MatchingNeighbors, the index's squared L2 distance or inner
	// product).
	Value float64
}

// Measure names what a match threshold compares, as saved in an index
// file. It is a plain value, safe for concurrent use.
type Measure uint32

// MeasureCosine is the cosine similarity of PML's CosineSimilarity (with
// Power 1): a pair matches when its cosine is at least the threshold.
const MeasureCosine Measure = 1

// String returns the measure's name.
func (m Measure) String() string {
	if m == MeasureCosine {
		return "cosine"
	}
	return fmt.Sprintf("Measure(%d)", uint32(m))
}

// Threshold is a match threshold with what it thresholds: what Model.Save
// stores with an index and Model.Load restores as the Model's
// MatchFinder. It is a plain value, safe for concurrent use. Its zero
// value has no measure: Bound and WriteIndex refuse it with an error
// wrapping gometric.ErrSetting.
type Threshold struct {
	// Measure is what Value thresholds.
	Measure Measure
	// Value is the threshold, never NaN.
	Value float64
}

func (t Threshold) validate(name string) error {
	if t.Measure != MeasureCosine {
		return check.Settingf(name, "unknown threshold measure %v", t.Measure)
	}
	if math.IsNaN(t.Value) {
		return check.Settingf(name, "threshold is NaN")
	}
	return nil
}

// IndexThreshold returns f's threshold with what it thresholds, for
// saving with an index and applying to an index's results (Bound). Only
// CosineSimilarity with Power 1 (f.Distance nil, or a
// *distances.CosineSimilarity) can be applied to an index: any other
// distance returns an error wrapping gometric.ErrUnsupported. A NaN
// Threshold wraps gometric.ErrSetting.
func (f *MatchFinder) IndexThreshold() (Threshold, error) {
	d, t, err := f.settings()
	if err != nil {
		return Threshold{}, err
	}
	c, ok := d.(*distances.CosineSimilarity)
	if !ok {
		return Threshold{}, check.Errorf(matchFinderName, gometric.ErrUnsupported,
			"a threshold on %T cannot be applied to an index's squared L2 distances or inner products: use CosineSimilarity", d)
	}
	if p := c.Settings().Power; p != 1 && p != 0 {
		return Threshold{}, check.Errorf(matchFinderName, gometric.ErrUnsupported,
			"a threshold on cosines to the power %v cannot be applied to an index: use Power 1", p)
	}
	return Threshold{Measure: MeasureCosine, Value: t}, nil
}

// IndexBound is a Threshold converted to an index's metric (Bound). It is
// a plain value, safe for concurrent use; its zero value is an L2 bound of
// 0, which only exact duplicates meet.
type IndexBound struct {
	// Metric is the index's metric.
	Metric knn.Metric
	// Value is the bound in that metric: with knn.L2 a neighbour matches
	// when its squared distance is at most Value; with knn.InnerProduct
	// when its inner product is at least Value.
	Value float64
}

// Match reports whether an index result v (a squared L2 distance or an
// inner product, as knn.Result.Distances holds them) lies within the
// bound. NaN never matches.
func (b IndexBound) Match(v float32) bool {
	if b.Metric == knn.InnerProduct {
		return float64(v) >= b.Value
	}
	return float64(v) <= b.Value
}

// Bound converts t to the metric of an index, so that the index's results
// are thresholded in their own metric. unit says that the query and
// reference vectors all have unit L2 norm (Model.NormalizeEmbeddings).
//
// For a cosine threshold c:
//   - knn.L2 (squared distances, the default index): for unit vectors
//     d² = ‖q − r‖² = 2 − 2·cos(q, r), so a pair matches when
//     d² ≤ 2 − 2c. Without unit vectors d² says nothing about the cosine:
//     an error wrapping gometric.ErrSetting.
//   - knn.InnerProduct: the index's value is the dot product q·r, which is
//     the cosine for unit vectors; a pair matches when q·r ≥ c. Without
//     unit vectors this compares dot products, exactly as MatchFinder's
//     IsMatch does (PML's pairwise_distance of CosineSimilarity does not
//     normalise), but not as Mask and Matches do.
//
// The index computes in float32 (and FAISS's L2 formula rounds), so a pair
// whose value lies within float32 rounding (about 1e-6) of the threshold
// may fall on the other side than in MatchFinder's float64 computation.
// An unknown metric or measure wraps gometric.ErrSetting.
func (t Threshold) Bound(metric knn.Metric, unit bool) (IndexBound, error) {
	const name = "inference.Threshold"
	if err := t.validate(name); err != nil {
		return IndexBound{}, err
	}
	switch metric {
	case knn.L2:
		if !unit {
			return IndexBound{}, check.Settingf(name, "a cosine threshold cannot be applied to squared L2 distances of vectors that are not unit length: normalise the embeddings (Model.NormalizeEmbeddings) or use an InnerProduct index")
		}
		return IndexBound{Metric: knn.L2, Value: 2 - 2*t.Value}, nil
	case knn.InnerProduct:
		return IndexBound{Metric: knn.InnerProduct, Value: t.Value}, nil
	}
	return IndexBound{}, check.Settingf(name, "unknown metric %v", metric)
}

func (f *MatchFinder) settings() (distances.Distance, float64, error) {
	if err := f.checkMade(); err != nil {
		return nil, 0, err
	}
	if math.IsNaN(f.Threshold) {
		return nil, 0, check.Settingf(matchFinderName, "Threshold is NaN")
	}
	return f.distance(), f.Threshold, nil
}

// distance returns Distance, or CosineSimilarity when it is nil.
func (f *MatchFinder) distance() distances.Distance {
	if f.Distance == nil {
		return distances.NewCosineSimilarity()
	}
	return f.Distance
}

// within reports whether v is a match under threshold t.
func within(v, t float64, inverted bool) bool {
	if inverted {
		return v >= t
	}
	return v <= t
}

func (f *MatchFinder) matrix(query, ref *mat.Dense) (*mat.Dense, float64, bool, error) {
	d, t, err := f.settings()
	if err != nil {
		return nil, 0, false, err
	}
	m, err := d.Matrix(query, ref)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%s: %w", matchFinderName, err)
	}
	return m, t, d.Settings().Inverted, nil
}

// Mask mirrors MatchFinder.get_matching_pairs with return_tuples=False:
// mask[i][j] reports whether query row i and ref row j match, from
// Distance.Matrix(query, ref). A nil ref means ref is query (PML's
// ref_emb=None); the diagonal is then included.
func (f *MatchFinder) Mask(query, ref *mat.Dense) ([][]bool, error) {
	m, t, inv, err := f.matrix(query, ref)
	if err != nil {
		return nil, err
	}
	r, c := m.Dims()
	flat := make([]bool, r*c)
	mask := make([][]bool, r)
	for i := range mask {
		mask[i] = flat[i*c : (i+1)*c : (i+1)*c]
		for j, v := range m.RawRowView(i)[:c] {
			mask[i][j] = within(v, t, inv)
		}
	}
	return mask, nil
}

// Matches mirrors MatchFinder.get_matching_pairs with return_tuples=True:
// every matching (query row, ref row) pair with its value, in row-major
// order (numpy.where's order). A nil ref means ref is query.
func (f *MatchFinder) Matches(query, ref *mat.Dense) ([]Match, error) {
	m, t, inv, err := f.matrix(query, ref)
	if err != nil {
		return nil, err
	}
	r, c := m.Dims()
	var out []Match
	for i := 0; i < r; i++ {
		for j, v := range m.RawRowView(i)[:c] {
			if within(v, t, inv) {
				out = append(out, Match{Query: i, Ref: j, Value: v})
			}
		}
	}
	return out, nil
}

// IsMatch mirrors MatchFinder.is_match: for already paired rows it
// reports whether x_i and y_i match, from Distance.Pairwise(x, y) — no
// normalisation and no power, as PML's pairwise_distance. PML returns a
// bare bool for a single pair; this always returns a slice.
func (f *MatchFinder) IsMatch(x, y *mat.Dense) ([]bool, error) {
	d, t, err := f.settings()
	if err != nil {
		return nil, err
	}
	vals, err := d.Pairwise(x, y)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", matchFinderName, err)
	}
	inv := d.Settings().Inverted
	out := make([]bool, len(vals))
	for i, v := range vals {
		out[i] = within(v, t, inv)
	}
	return out, nil
}

// Calibrate, which PML lacks, chooses the threshold that maximises the F1
// score of IsMatch on labelled validation pairs (x_i, y_i): same[i]
// reports whether the pair truly matches. It computes Distance.Pairwise(x,
// y), as IsMatch does, calls the package-level Calibrate with the
// distance's Inverted setting, sets f.Threshold to the result's threshold
// and returns the calibration. On error Threshold is left unchanged.
func (f *MatchFinder) Calibrate(x, y *mat.Dense, same []bool) (Calibration, error) {
	if err := f.checkMade(); err != nil {
		return Calibration{}, err
	}
	d := f.distance() // the current Threshold, even NaN, is replaced
	vals, err := d.Pairwise(x, y)
	if err != nil {
		return Calibration{}, fmt.Errorf("%s: %w", matchFinderName, err)
	}
	c, err := calibrate(matchFinderName, vals, same, d.Settings().Inverted)
	if err != nil {
		return Calibration{}, err
	}
	f.Threshold = c.Threshold
	return c, nil
}
