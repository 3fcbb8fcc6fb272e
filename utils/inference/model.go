package inference

import (
	"context"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

const modelName = "inference.Model"

// DefaultBatchSize is the number of inputs Model embeds per call of Embed,
// PML's batch_size default of train_knn and add_to_knn.
const DefaultBatchSize = 64

// EmbedFunc maps a batch of inputs to their embeddings, one row per input
// in order: PML's trunk followed by its embedder, in evaluation mode. It
// must not keep batch.
type EmbedFunc[T any] func(batch []T) (*mat.Dense, error)

// Rows is an EmbedFunc for inputs that already are embeddings: it stacks
// the rows into a matrix (gometric.DenseFromRows), like an identity trunk.
func Rows(batch [][]float64) (*mat.Dense, error) {
	return gometric.DenseFromRows(batch)
}

// Model mirrors PML's InferenceModel: it embeds inputs of any type T with
// Embed, optionally normalises the embeddings to unit L2 norm, keeps
// reference embeddings in a kNN index for nearest-neighbour queries,
// decides matches with a MatchFinder and saves and loads the index.
//
// Embeddings are float64 (Embed's *mat.Dense) for matching and are
// converted once to float32 for the index, as PML hands float32 tensors
// to FAISS. The Model keeps its own copy of the float32 reference
// vectors (and labels) so that Save can write them whatever index holds
// them; this costs 4·N·D bytes besides the index.
//
// Settings are exported fields, checked at every call. The index and
// references are changed only by Train, Add and Load, each of which
// leaves the Model unchanged on error. A Model must not be used from
// several goroutines while Train, Add, Load or Calibrate runs; other
// calls may run concurrently if Embed and the index allow it (knn.Exact
// does).
type Model[T any] struct {
	// Embed computes embeddings (PML's trunk and embedder). It must not
	// be nil for calls that take inputs.
	Embed EmbedFunc[T]
	// MatchFinder decides matches for Matches, Mask and IsMatch. nil
	// means PML's default MatchFinder(CosineSimilarity(), threshold=0.9);
	// Calibrate then creates it.
	MatchFinder *MatchFinder
	// NormalizeEmbeddings divides every embedding by its L2 norm (with
	// torch's eps 1e-12) before it is used (PML's normalize_embeddings,
	// default true).
	NormalizeEmbeddings bool
	// Metric is the metric of the index Train builds (default knn.L2,
	// as PML's FaissKNN's IndexFlatL2). Load sets it to the file's.
	Metric knn.Metric
	// NewIndex builds an empty index for Train and Load. nil means
	// knn.NewExact(dim, metric), the pure-Go equivalent of FAISS's
	// IndexFlatL2 / IndexFlatIP (PML's index_init_fn); a FAISS index
	// (knn.NewFaiss with the faiss build tag) plugs in here.
	NewIndex func(dim int, metric knn.Metric) (knn.Index, error)
	// BatchSize is the number of inputs per call of Embed, at least 1
	// (PML's batch_size, default DefaultBatchSize).
	BatchSize int

	index   knn.Index
	vectors []float32 // the references added, row-major, index.Dim() columns
	labels  []int64   // one per reference, or nil when unlabelled
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
	}
}

func (m *Model[T]) checkEmbed() error {
	if m == nil {
		return check.Settingf(modelName, "nil receiver")
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
func (m *Model[T]) Embeddings(ctx context.Context, inputs []T) (*mat.Dense, error) {
	if err := m.checkEmbed(); err != nil {
		return nil, err
	}
	return m.embed(ctx, "inputs", inputs)
}

func (m *Model[T]) embed(ctx context.Context, what string, inputs []T) (*mat.Dense, error) {
	if len(inputs) == 0 {
		return nil, check.Errorf(modelName, gometric.ErrShape, "no %s", what)
	}
	var out *mat.Dense
	dim := 0
	for start := 0; start < len(inputs); start += m.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: embedding %s: %w", modelName, what, err)
		}
		end := min(start+m.BatchSize, len(inputs))
		e, err := m.Embed(inputs[start:end])
		if err != nil {
			return nil, fmt.Errorf("%s: embedding %s [%d, %d): %w", modelName, what, start, end, err)
		}
		if e == nil || e.IsEmpty() {
			return nil, check.Errorf(modelName, gometric.ErrShape, "Embed gave no embeddings for %s [%d, %d)", what, start, end)
		}
		r, c := e.Dims()
		if r != end-start {
			return nil, check.Errorf(modelName, gometric.ErrShape, "Embed gave %d rows for the %d %s [%d, %d)", r, end-start, what, start, end)
		}
		if out == nil {
			dim = c
			out = mat.NewDense(len(inputs), dim, nil)
		} else if c != dim {
			return nil, check.Errorf(modelName, gometric.ErrShape, "Embed gave %d columns for %s [%d, %d) but %d before", c, what, start, end, dim)
		}
		if err := check.Matrix(modelName, fmt.Sprintf("the embedding of %s [%d, %d)", what, start, end), e); err != nil {
			return nil, err
		}
		out.Slice(start, end, 0, dim).(*mat.Dense).Copy(e)
	}
	if m.NormalizeEmbeddings {
		out, _ = rownorm.Normalize(out, 2)
	}
	return out, nil
}

// toMatrix converts embeddings to float32, failing where a value
// overflows.
func toMatrix(what string, e *mat.Dense) (gometric.Matrix, error) {
	r, c := e.Dims()
	x := gometric.Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
	for i := 0; i < r; i++ {
		for j, v := range e.RawRowView(i)[:c] {
			x.Data[i*c+j] = float32(v)
		}
	}
	return x, x.Validate(modelName, what+" in float32")
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

func checkLabels(labels []int64, n int) error {
	if labels != nil && len(labels) != n {
		return check.Errorf(modelName, gometric.ErrLabels, "%d labels for %d inputs", len(labels), n)
	}
	return nil
}

// Train mirrors InferenceModel.train_knn: it embeds inputs and replaces
// the index with a new one (NewIndex with the embeddings' dimension and
// Metric) holding them. labels, if not nil, gives one label per input and
// is kept with the references (and saved by Save); nil means unlabelled.
func (m *Model[T]) Train(ctx context.Context, inputs []T, labels []int64) error {
	if err := m.checkEmbed(); err != nil {
		return err
	}
	if err := checkLabels(labels, len(inputs)); err != nil {
		return err
	}
	e, err := m.embed(ctx, "inputs", inputs)
	if err != nil {
		return err
	}
	x, err := toMatrix("embeddings", e)
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
	m.index, m.vectors = idx, x.Data
	m.labels = nil
	if labels != nil {
		m.labels = append([]int64(nil), labels...)
	}
	return nil
}

// Add mirrors InferenceModel.add_to_knn: it embeds inputs and appends them
// to the index; their indices continue from Len(). Unlike PML, which
// fails when no index exists, Add on an empty Model works like Train.
// labels must be given (one per input) when the references are labelled
// and nil when they are not.
func (m *Model[T]) Add(ctx context.Context, inputs []T, labels []int64) error {
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
	e, err := m.embed(ctx, "inputs", inputs)
	if err != nil {
		return err
	}
	if _, c := e.Dims(); c != m.index.Dim() {
		return check.Errorf(modelName, gometric.ErrShape, "embeddings have %d columns, the index has dimension %d", c, m.index.Dim())
	}
	x, err := toMatrix("embeddings", e)
	if err != nil {
		return err
	}
	if err := m.index.Add(x); err != nil {
		return fmt.Errorf("%s: %w", modelName, err)
	}
	m.vectors = append(m.vectors, x.Data...)
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
func (m *Model[T]) Labels() []int64 {
	if m == nil || m.labels == nil {
		return nil
	}
	return append([]int64(nil), m.labels...)
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
	e, err := m.embed(context.Background(), "query", query)
	if err != nil {
		return knn.Result{}, err
	}
	if _, c := e.Dims(); c != m.index.Dim() {
		return knn.Result{}, check.Errorf(modelName, gometric.ErrShape, "query embeddings have %d columns, the index has dimension %d", c, m.index.Dim())
	}
	q, err := toMatrix("query embeddings", e)
	if err != nil {
		return knn.Result{}, err
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

// embedPair embeds query and ref (nil ref: nil result, "ref is query").
func (m *Model[T]) embedPair(a, b []T, whatA, whatB string, bNilOK bool) (ea, eb *mat.Dense, err error) {
	if err := m.checkEmbed(); err != nil {
		return nil, nil, err
	}
	ea, err = m.embed(context.Background(), whatA, a)
	if err != nil {
		return nil, nil, err
	}
	if b == nil && bNilOK {
		return ea, nil, nil
	}
	eb, err = m.embed(context.Background(), whatB, b)
	if err != nil {
		return nil, nil, err
	}
	return ea, eb, nil
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
// the default MatchFinder first when it is nil. IsMatch then uses the
// threshold of best F1.
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
// (vectors, dimension, metric and labels) to path in the index file
// format (see WriteIndex), atomically. PML writes FAISS's own format; this
// format holds the vectors, so Load rebuilds any index from them.
func (m *Model[T]) Save(path string) error {
	if m == nil {
		return check.Settingf(modelName, "nil receiver")
	}
	if m.index == nil {
		return check.Errorf(modelName, gometric.ErrShape, "nothing to save to %s: call Train, Add or Load first", path)
	}
	dim := m.index.Dim()
	if n := m.index.Len(); n*dim != len(m.vectors) {
		return check.Errorf(modelName, gometric.ErrShape, "the index holds %d vectors but the model added %d: vectors added to Index() directly cannot be saved", n, len(m.vectors)/dim)
	}
	f := IndexFile{
		Metric:  m.index.Metric(),
		Vectors: gometric.Matrix{Rows: len(m.vectors) / dim, Cols: dim, Data: m.vectors},
		Labels:  m.labels,
	}
	if err := writeIndexFile(modelName, "Save", path, f); err != nil {
		return err
	}
	return nil
}

// Load mirrors InferenceModel.load_knn_func: it reads an index file
// written by Save (or WriteIndexFile), builds a new index with NewIndex
// for the file's dimension and metric, adds the stored vectors and
// replaces the Model's index, references, labels and Metric. On error
// (see ReadIndexFile: errors name path and the byte offset) the Model is
// unchanged.
func (m *Model[T]) Load(path string) error {
	if m == nil {
		return check.Settingf(modelName, "nil receiver")
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
	m.index, m.vectors, m.labels, m.Metric = idx, f.Vectors.Data, f.Labels, f.Metric
	return nil
}
