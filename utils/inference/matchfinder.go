package inference

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
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
// and set Threshold on the copy. A MatchFinder is safe for concurrent use
// by methods other than Calibrate, which sets Threshold.
type MatchFinder struct {
	// Distance measures embeddings. nil means distances.CosineSimilarity
	// with PML's defaults.
	Distance distances.Distance
	// Threshold is the match threshold; it must not be NaN (±Inf is
	// allowed: it matches everything or nothing).
	Threshold float64
}

// NewMatchFinder returns a MatchFinder over d (nil: CosineSimilarity) with
// the given threshold, as PML's MatchFinder(distance, threshold).
func NewMatchFinder(d distances.Distance, threshold float64) *MatchFinder {
	return &MatchFinder{Distance: d, Threshold: threshold}
}

// Match is one (query row, reference row) pair within the threshold.
type Match struct {
	// Query and Ref are the row indices.
	Query, Ref int
	// Value is the pair's distance or similarity.
	Value float64
}

func (f *MatchFinder) settings() (distances.Distance, float64, error) {
	if f == nil {
		return nil, 0, check.Settingf(matchFinderName, "nil receiver")
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
	if f == nil {
		return Calibration{}, check.Settingf(matchFinderName, "nil receiver")
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
