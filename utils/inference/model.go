package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

const modelName = "inference.Model"

// DefaultBatchSize is the number of inputs Model embeds per call of Embed,
// PML's batch_size default of train_knn and add_to_knn.
const DefaultBatchSize = 64

// EmbedFunc maps a batch of inputs to their float32 embeddings, one row
// per input in order: PML's trunk followed by its embedder, in evaluation
// mode. It must not keep batch; the Model copies the returned matrix, so
// the function may reuse it. Model methods call it from their own
// goroutine: it must be safe for concurrent use only where Model methods
// run concurrently.
type EmbedFunc[T any] func(batch []T) (gometric.Matrix, error)

// Rows is an EmbedFunc for inputs that already are float32 embeddings, one
// []float32 per input: it stacks them into a matrix, like an identity
// trunk. Every row must have the same, non-zero length (an error wrapping
// gometric.ErrShape otherwise).
func Rows(batch [][]float32) (gometric.Matrix, error) {
	const name = "inference.Rows"
	if len(batch) == 0 || len(batch[0]) == 0 {
		return gometric.Matrix{}, check.Errorf(name, gometric.ErrShape, "no rows, or an empty first row")
	}
	d := len(batch[0])
	out := gometric.Matrix{Rows: len(batch), Cols: d, Data: make([]float32, 0, len(batch)*d)}
	for i, r := range batch {
		if len(r) != d {
			return gometric.Matrix{}, check.Errorf(name, gometric.ErrShape, "row %d has %d values, row 0 has %d", i, len(r), d)
		}
		out.Data = append(out.Data, r...)
	}
	return out, nil
}

// Model mirrors PML's InferenceModel: it embeds inputs of any type T with
// Embed, optionally normalises the embeddings to unit L2 norm, keeps
// reference embeddings in a kNN index for nearest-neighbour queries,
// decides matches with a MatchFinder and saves and loads the index.
//
// Embeddings are float32 (gometric.Matrix) throughout, as PML hands
// float32 tensors to FAISS; they are converted to float64 only where the
// MatchFinder measures them with package distances (Mask, Matches,
// IsMatch, Calibrate). The Model keeps its own copy of the reference
// vectors (and labels) so that Save can write them whatever index holds
// them; this costs 4·N·D bytes besides the index.
//
// The MatchFinder's threshold is a cosine similarity while the default
// index returns squared L2 distances: MatchingNeighbors applies the
// threshold to the index's results in the index's own metric (see
// Threshold.Bound: d² ≤ 2 − 2·threshold for unit vectors), Save stores
// the threshold with the index and Load restores it.
//
// Make a Model with NewModel. Its zero value (or a literal) is refused by
// every method with an error wrapping gometric.ErrSetting that names
// NewModel, since NormalizeEmbeddings false and BatchSize 0 are not PML's
// defaults; a nil *Model returns an error too (Index, Len, Labels: nil or
// 0).
//
// Settings are exported fields, checked at every call. The index and
// references are changed only by Train, Add and Load, each of which
// leaves the Model unchanged on error. A Model is not safe for concurrent
// use while Train, Add, Load or Calibrate runs; other calls may run
// concurrently if Embed and the index allow it (knn.Exact does), except
// two Saves to the same path (see WriteIndexFile).
type Model[T any] struct {
	// Embed computes embeddings (PML's trunk and embedder). It must not
	// be nil for calls that take inputs.
	Embed EmbedFunc[T]
	// MatchFinder decides matches for Matches, Mask, IsMatch and
	// MatchingNeighbors. nil means PML's default
	// MatchFinder(CosineSimilarity(), threshold=0.9); Calibrate then
	// creates it, and Load sets it to the threshold saved with the index.
	MatchFinder *MatchFinder
	// NormalizeEmbeddings divides every embedding by max(‖e‖₂, 1e-12)
	// (torch's F.normalize) before it is used (PML's
	// normalize_embeddings, default true).
	NormalizeEmbeddings bool
	// Metric is the metric of the index Train builds (knn.L2, the zero
	// value, as PML's FaissKNN's IndexFlatL2). Load sets it to the file's.
	Metric knn.Metric
	// NewIndex builds an empty index for Train and Load. nil means
	// knn.NewExact(dim, metric), the pure-Go equivalent of FAISS's
	// IndexFlatL2 / IndexFlatIP (PML's index_init_fn); a FAISS index
	// (knn.NewFaiss with the faiss build tag) plugs in here.
	NewIndex func(dim int, metric knn.Metric) (knn.Index, error)
	// BatchSize is the number of inputs per call of Embed, at least 1
	// (PML's batch_size, default DefaultBatchSize).
	BatchSize int

	made     bool // set by NewModel
	index    knn.Index
	vectors  gometric.Matrix // the references added; Cols is index.Dim()
	labels   []int           // one per reference, or nil when unlabelled
	unitRefs bool            // every reference has unit L2 norm
}

// NewModel returns a Model embedding with embed, with PML 2.8.1's
// InferenceModel defaults: normalised embeddings, the default MatchFinder
// (CosineSimilarity, threshold 0.9), an exact L2 index and batches of 64.
func NewModel[T any](embed EmbedFunc[T]) *Model[T] {
	return &Model[T]{
		Embed:               embed,
		MatchFinder:         NewMatchFinder(nil, DefaultThreshold),
		NormalizeEmbeddings: true,
		Metric:              knn.L2,
		BatchSize:           DefaultBatchSize,
		made:                true,
	}
}

// checkMade refuses a nil or zero Model.
func (m *Model[T]) checkMade() error {
	if m == nil {
		return check.Settingf(modelName, "nil receiver")
	}
	if !m.made {
		return check.Settingf(modelName, "not made by NewModel: the zero value is not PML's defaults (normalize_embeddings=True, batch_size=%d); use NewModel(embed) and set fields", DefaultBatchSize)
	}
	return nil
}

func (m *Model[T]) checkEmbed() error {
	if err := m.checkMade(); err != nil {
		return err
	}
	if m.Embed == nil {
		return check.Settingf(modelName, "Embed is nil")
	}
	if m.BatchSize < 1 {
		return check.Settingf(modelName, "BatchSize = %d, want >= 1", m.BatchSize)
	}
	return nil
}

// Embeddings mirrors InferenceModel.get_embeddings_from_tensor_or_dataset:
// the embeddings of inputs, BatchSize inputs per call of Embed, stacked in
// order and, with NormalizeEmbeddings, divided by their L2 norms. Every
// batch must give one finite row per input and the same number of
// columns. ctx is checked between batches.
func (m *Model[T]) Embeddings(ctx context.Context, inputs []T) (gometric.Matrix, error) {
	if err := m.checkEmbed(); err != nil {
		return gometric.Matrix{}, err
	}
	return m.embed(ctx, "inputs", inputs)
}

func (m *Model[T]) embed(ctx context.Context, what string, inputs []T) (gometric.Matrix, error) {
	if len(inputs) == 0 {
		return gometric.Matrix{}, check.Errorf(modelName, gometric.ErrShape, "no %s", what)
	}
	var out gometric.Matrix
	for start := 0; start < len(inputs); start += m.BatchSize {
		if err := ctx.Err(); err != nil {
			return gometric.Matrix{}, fmt.Errorf("%s: embedding %s: %w", modelName, what, err)
		}
		end := min(start+m.BatchSize, len(inputs))
		e, err := m.Embed(inputs[start:end])
		if err != nil {
			return gometric.Matrix{}, fmt.Errorf("%s: embedding %s [%d, %d): %w", modelName, what, start, end, err)
		}
		where := fmt.Sprintf("the embedding of %s [%d, %d)", what, start, end)
		if err := e.Validate(modelName, where); err != nil {
			return gometric.Matrix{}, err
		}
		if e.Rows != end-start {
			return gometric.Matrix{}, check.Errorf(modelName, gometric.ErrShape, "Embed gave %d rows for the %d %s [%d, %d)", e.Rows, end-start, what, start, end)
		}
		if out.Data == nil {
			out = gometric.Matrix{Rows: len(inputs), Cols: e.Cols, Data: make([]float32, len(inputs)*e.Cols)}
		} else if e.Cols != out.Cols {
			return gometric.Matrix{}, check.Errorf(modelName, gometric.ErrShape, "Embed gave %d columns for %s [%d, %d) but %d before", e.Cols, what, start, end, out.Cols)
		}
		copy(out.Data[start*out.Cols:end*out.Cols], e.Data)
	}
	if m.NormalizeEmbeddings {
		out.L2Normalize()
	}
	return out, nil
}

// unitRows reports whether every row of x has unit L2 norm (its squared
// norm, summed in float64, within 1e-4 of 1), as normalised float32 rows
// have.
func unitRows(x gometric.Matrix) bool {
	for i := range x.Rows {
		var s float64
		for _, v := range x.Row(i) {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-4 {
			return false
		}
	}
	return true
}

func (m *Model[T]) newIndex(dim int, metric knn.Metric) (knn.Index, error) {
	if m.NewIndex == nil {
		if metric != knn.L2 && metric != knn.InnerProduct {
			return nil, check.Settingf(modelName, "unknown Metric %v", metric)
		}
		return knn.NewExact(dim, metric), nil
	}
	idx, err := m.NewIndex(dim, metric)
	if err != nil {
		return nil, fmt.Errorf("%s: NewIndex(%d, %v): %w", modelName, dim, metric, err)
	}
	if idx == nil {
		return nil, check.Settingf(modelName, "NewIndex(%d, %v) returned a nil index", dim, metric)
	}
	if idx.Len() != 0 || idx.Dim() != dim || idx.Metric() != metric {
		return nil, check.Settingf(modelName, "NewIndex(%d, %v) returned an index with %d vectors, dimension %d, metric %v; want an empty one of dimension %d, metric %v",
			dim, metric, idx.Len(), idx.Dim(), idx.Metric(), dim, metric)
	}
	return idx, nil
}

func checkLabels(labels []int, n int) error {
	if labels != nil && len(labels) != n {
		return check.Errorf(modelName, gometric.ErrLabels, "%d labels for %d inputs", len(labels), n)
	}
	return nil
}

// Train mirrors InferenceModel.train_knn: it embeds inputs and replaces
// the index with a new one (NewIndex with the embeddings' dimension and
// Metric) holding them. labels, if not nil, gives one label per input and
// is kept with the references (and saved by Save); nil means unlabelled.
func (m *Model[T]) Train(ctx context.Context, inputs []T, labels []int) error {
	if err := m.checkEmbed(); err != nil {
		return err
	}
	if err := checkLabels(labels, len(inputs)); err != nil {
		return err
	}
	x, err := m.embed(ctx, "inputs", inputs)
	if err != nil {
		return err
	}
	idx, err := m.newIndex(x.Cols, m.Metric)
	if err != nil {
		return err
	}
	if err := idx.Add(x); err != nil {
		return fmt.Errorf("%s: %w", modelName, err)
	}
	m.index, m.vectors, m.unitRefs = idx, x, unitRows(x)
	m.labels = nil
	if labels != nil {
		m.labels = slices.Clone(labels)
	}
	return nil
}

// Add mirrors InferenceModel.add_to_knn: it embeds inputs and appends them
// to the index; their indices continue from Len(). Unlike PML, which
// fails when no index exists, Add on an empty Model works like Train.
// labels must be given (one per input) when the references are labelled
// and nil when they are not.
func (m *Model[T]) Add(ctx context.Context, inputs []T, labels []int) error {
	if err := m.checkEmbed(); err != nil {
		return err
	}
	if m.index == nil {
		return m.Train(ctx, inputs, labels)
	}
	if err := checkLabels(labels, len(inputs)); err != nil {
		return err
	}
	if (labels != nil) != (m.labels != nil) {
		state := "unlabelled"
		if m.labels != nil {
			state = "labelled"
		}
		return check.Errorf(modelName, gometric.ErrLabels, "the %d references are %s but Add got labels = %v", m.index.Len(), state, labels != nil)
	}
	x, err := m.embed(ctx, "inputs", inputs)
	if err != nil {
		return err
	}
	if x.Cols != m.index.Dim() {
		return check.Errorf(modelName, gometric.ErrShape, "embeddings have %d columns, the index has dimension %d", x.Cols, m.index.Dim())
	}
	if err := m.index.Add(x); err != nil {
		return fmt.Errorf("%s: %w", modelName, err)
	}
	m.vectors.Data = append(m.vectors.Data, x.Data...)
	m.vectors.Rows += x.Rows
	m.unitRefs = m.unitRefs && unitRows(x)
	m.labels = append(m.labels, labels...)
	return nil
}

// Index returns the index built by Train, Add or Load, or nil. Searching
// it directly skips Embed and normalisation; adding to it directly makes
// Save fail.
func (m *Model[T]) Index() knn.Index {
	if m == nil {
		return nil
	}
	return m.index
}

// Len returns the number of references in the index (0 before Train, Add
// or Load).
func (m *Model[T]) Len() int {
	if m == nil || m.index == nil {
		return 0
	}
	return m.index.Len()
}

// Labels returns a copy of the references' labels, or nil when they are
// unlabelled.
func (m *Model[T]) Labels() []int {
	if m == nil || m.labels == nil {
		return nil
	}
	return slices.Clone(m.labels)
}

// NearestNeighbors mirrors InferenceModel.get_nearest_neighbors: it embeds
// query and returns the k nearest references of every query input,
// nearest first, with the index's distances (squared L2 or inner product,
// as FAISS reports them). k must lie in [1, Len()].
func (m *Model[T]) NearestNeighbors(query []T, k int) (knn.Result, error) {
	if err := m.checkEmbed(); err != nil {
		return knn.Result{}, err
	}
	if m.index == nil || m.index.Len() == 0 {
		return knn.Result{}, check.Errorf(modelName, gometric.ErrShape, "the index is empty: call Train, Add or Load first")
	}
	if k < 1 || k > m.index.Len() {
		return knn.Result{}, check.Errorf(modelName, gometric.ErrSetting, "k = %d is outside [1, %d] (the number of references)", k, m.index.Len())
	}
	q, err := m.embed(context.Background(), "query", query)
	if err != nil {
		return knn.Result{}, err
	}
	if q.Cols != m.index.Dim() {
		return knn.Result{}, check.Errorf(modelName, gometric.ErrShape, "query embeddings have %d columns, the index has dimension %d", q.Cols, m.index.Dim())
	}
	res, err := m.index.Search(q, k)
	if err != nil {
		return knn.Result{}, fmt.Errorf("%s: %w", modelName, err)
	}
	return res, nil
}

func (m *Model[T]) matchFinder() *MatchFinder {
	if m.MatchFinder == nil {
		return NewMatchFinder(nil, DefaultThreshold)
	}
	return m.MatchFinder
}

// MatchingNeighbors, which PML lacks, embeds query, searches the k
// nearest references of every query input and keeps those that match
// under the MatchFinder's threshold, applied to the index's results in
// the index's own metric (see Threshold.Bound): for the default cosine
// threshold c and an L2 index, a neighbour matches when its squared
// distance d² ≤ 2 − 2c, which for unit vectors is cos ≥ c; for an
// InnerProduct index when its inner product is at least c. The matches
// come query by query, nearest first; Match.Value is the index's value
// (squared L2 distance or inner product). A pair matches here exactly
// when IsMatch on the same embeddings says so (up to float32 rounding
// within about 1e-6 of the threshold) — for the pairs among the k
// nearest; raise k to find more.
//
// It fails with an error wrapping gometric.ErrSetting when the threshold
// cannot be converted: a cosine threshold on an L2 index whose references
// or queries are not unit length (set NormalizeEmbeddings; a zero
// embedding stays zero and is not unit length), and with
// gometric.ErrUnsupported for a MatchFinder distance other than
// CosineSimilarity (Power 1). k must lie in [1, Len()].
func (m *Model[T]) MatchingNeighbors(query []T, k int) ([]Match, error) {
	if err := m.checkEmbed(); err != nil {
		return nil, err
	}
	if m.index == nil || m.index.Len() == 0 {
		return nil, check.Errorf(modelName, gometric.ErrShape, "the index is empty: call Train, Add or Load first")
	}
	t, err := m.matchFinder().IndexThreshold()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	if k < 1 || k > m.index.Len() {
		return nil, check.Errorf(modelName, gometric.ErrSetting, "k = %d is outside [1, %d] (the number of references)", k, m.index.Len())
	}
	q, err := m.embed(context.Background(), "query", query)
	if err != nil {
		return nil, err
	}
	if q.Cols != m.index.Dim() {
		return nil, check.Errorf(modelName, gometric.ErrShape, "query embeddings have %d columns, the index has dimension %d", q.Cols, m.index.Dim())
	}
	unit := m.unitRefs && unitRows(q)
	b, err := t.Bound(m.index.Metric(), unit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	res, err := m.index.Search(q, k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	if len(res.Indices) != q.Rows*k || len(res.Distances) != len(res.Indices) {
		return nil, check.Errorf(modelName, gometric.ErrShape, "the index returned %d indices and %d distances for %d queries and k = %d", len(res.Indices), len(res.Distances), q.Rows, k)
	}
	var out []Match
	n := m.index.Len()
	for i, r := range res.Indices {
		if r < -1 || r >= n {
			return nil, check.Errorf(modelName, gometric.ErrIndex, "the index returned reference %d for query %d, outside [-1, %d)", r, i/k, n)
		}
		if r >= 0 && b.Match(res.Distances[i]) { // FAISS reports -1 for a missing neighbour
			out = append(out, Match{Query: i / k, Ref: r, Value: float64(res.Distances[i])})
		}
	}
	return out, nil
}

// embedPair embeds a and b (nil b with bNilOK: nil result, "ref is
// query") and converts them to float64 for the MatchFinder, the one place
// where embeddings leave float32.
func (m *Model[T]) embedPair(a, b []T, whatA, whatB string, bNilOK bool) (ea, eb *mat.Dense, err error) {
	if err := m.checkEmbed(); err != nil {
		return nil, nil, err
	}
	xa, err := m.embed(context.Background(), whatA, a)
	if err != nil {
		return nil, nil, err
	}
	if b == nil && bNilOK {
		return xa.Dense(), nil, nil
	}
	xb, err := m.embed(context.Background(), whatB, b)
	if err != nil {
		return nil, nil, err
	}
	return xa.Dense(), xb.Dense(), nil
}

// Mask mirrors InferenceModel.get_matches with return_tuples=False: it
// embeds query and ref (nil ref: ref is query) and returns MatchFinder's
// Mask of the embeddings.
func (m *Model[T]) Mask(query, ref []T) ([][]bool, error) {
	q, r, err := m.embedPair(query, ref, "query", "ref", true)
	if err != nil {
		return nil, err
	}
	out, err := m.matchFinder().Mask(q, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	return out, nil
}

// Matches mirrors InferenceModel.get_matches with return_tuples=True: it
// embeds query and ref (nil ref: ref is query) and returns MatchFinder's
// Matches of the embeddings.
func (m *Model[T]) Matches(query, ref []T) ([]Match, error) {
	q, r, err := m.embedPair(query, ref, "query", "ref", true)
	if err != nil {
		return nil, err
	}
	out, err := m.matchFinder().Matches(q, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	return out, nil
}

// IsMatch mirrors InferenceModel.is_match: it embeds x and y (paired input
// by input) and returns MatchFinder's IsMatch of the embeddings.
func (m *Model[T]) IsMatch(x, y []T) ([]bool, error) {
	ex, ey, err := m.embedPair(x, y, "x", "y", false)
	if err != nil {
		return nil, err
	}
	out, err := m.matchFinder().IsMatch(ex, ey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	return out, nil
}

// Calibrate, which PML lacks, embeds the labelled validation pairs
// (x_i, y_i), same[i] telling whether they truly match, and calibrates
// the MatchFinder's threshold on them (MatchFinder.Calibrate), creating
// the default MatchFinder first when it is nil. IsMatch and
// MatchingNeighbors then use the threshold of best F1, and Save stores it.
func (m *Model[T]) Calibrate(x, y []T, same []bool) (Calibration, error) {
	if m != nil && len(same) != len(x) {
		return Calibration{}, check.Errorf(modelName, gometric.ErrLabels, "%d labels for %d pairs", len(same), len(x))
	}
	ex, ey, err := m.embedPair(x, y, "x", "y", false)
	if err != nil {
		return Calibration{}, err
	}
	mf := m.matchFinder()
	c, err := mf.Calibrate(ex, ey, same)
	if err != nil {
		return Calibration{}, fmt.Errorf("%s: %w", modelName, err)
	}
	m.MatchFinder = mf
	return c, nil
}

// Save mirrors InferenceModel.save_knn_func: it writes the references
// (vectors, dimension, metric and labels) and the MatchFinder's threshold
// with what it thresholds (MatchFinder.IndexThreshold) to path in the
// index file format (see WriteIndex), atomically (see WriteIndexFile,
// which also removes leftovers of interrupted saves of path). A
// MatchFinder whose
// distance cannot be applied to an index (not CosineSimilarity) saves no
// threshold; a NaN threshold or a MatchFinder not made by NewMatchFinder
// is an error. PML writes FAISS's own format; this format holds the
// vectors, so Load rebuilds any index from them.
func (m *Model[T]) Save(path string) error {
	if err := m.checkMade(); err != nil {
		return err
	}
	if m.index == nil {
		return check.Errorf(modelName, gometric.ErrShape, "nothing to save to %s: call Train, Add or Load first", path)
	}
	if n, dim := m.index.Len(), m.index.Dim(); n != m.vectors.Rows || dim != m.vectors.Cols {
		return check.Errorf(modelName, gometric.ErrShape, "the index holds %d vectors but the model added %d: vectors added to Index() directly cannot be saved", n, m.vectors.Rows)
	}
	f := IndexFile{
		Metric:  m.index.Metric(),
		Vectors: m.vectors,
		Labels:  m.labels,
	}
	t, err := m.matchFinder().IndexThreshold()
	switch {
	case err == nil:
		f.Threshold = &t
	case !errors.Is(err, gometric.ErrUnsupported):
		return fmt.Errorf("%s: Save %s: %w", modelName, path, err)
	}
	return writeIndexFile(modelName, "Save", path, f)
}

// LoadWith, which PML lacks, is Load with an index that already holds the
// file's references: it reads the index file at path (its vectors, labels,
// metric and threshold) and makes idx the Model's index instead of
// building one with NewIndex and adding the vectors — e.g. an approximate
// FAISS index (IVF, HNSW, PQ) trained and saved in FAISS's own format and
// read with knn.LoadFaiss, which would take long to build again. idx must
// hold as many vectors as the file, of its dimension, in its metric (an
// error wrapping gometric.ErrShape or gometric.ErrSetting otherwise); that
// they are the file's vectors, in order, is the caller's promise. On error
// the Model is unchanged.
func (m *Model[T]) LoadWith(path string, idx knn.Index) error {
	if err := m.checkMade(); err != nil {
		return err
	}
	if check.Nil(idx) {
		return check.Errorf(modelName, gometric.ErrSetting, "LoadWith %s: nil index", path)
	}
	f, err := readIndexFile(modelName, "LoadWith", path)
	if err != nil {
		return err
	}
	switch {
	case idx.Dim() != f.Vectors.Cols || idx.Len() != f.Vectors.Rows:
		return check.Errorf(modelName, gometric.ErrShape, "LoadWith %s: the index holds %d vectors of dimension %d, the file %d of %d", path, idx.Len(), idx.Dim(), f.Vectors.Rows, f.Vectors.Cols)
	case idx.Metric() != f.Metric:
		return check.Errorf(modelName, gometric.ErrSetting, "LoadWith %s: the index's metric is %v, the file's %v", path, idx.Metric(), f.Metric)
	}
	m.index, m.vectors, m.labels, m.Metric = idx, f.Vectors, f.Labels, f.Metric
	m.unitRefs = unitRows(f.Vectors)
	if f.Threshold != nil {
		m.MatchFinder = NewMatchFinder(nil, f.Threshold.Value)
	}
	return nil
}

// Load mirrors InferenceModel.load_knn_func: it reads an index file
// written by Save (or WriteIndexFile; format version 3, or an earlier 1 or
// 2), builds a new
// index with NewIndex for the file's dimension and metric, adds the
// stored vectors and replaces the Model's index, references, labels and
// Metric. When the file holds a threshold, MatchFinder becomes
// NewMatchFinder(CosineSimilarity, threshold), so MatchingNeighbors and
// IsMatch agree with the saved model; otherwise (version 1 files)
// MatchFinder is left as it is. On error (see ReadIndexFile: errors name
// path and the byte offset) the Model is unchanged.
func (m *Model[T]) Load(path string) error {
	if err := m.checkMade(); err != nil {
		return err
	}
	f, err := readIndexFile(modelName, "Load", path)
	if err != nil {
		return err
	}
	idx, err := m.newIndex(f.Vectors.Cols, f.Metric)
	if err != nil {
		return err
	}
	if err := idx.Add(f.Vectors); err != nil {
		return fmt.Errorf("%s: Load %s: %w", modelName, path, err)
	}
	m.index, m.vectors, m.labels, m.Metric = idx, f.Vectors, f.Labels, f.Metric
	m.unitRefs = unitRows(f.Vectors)
	if f.Threshold != nil {
		m.MatchFinder = NewMatchFinder(nil, f.Threshold.Value)
	}
	return nil
}
