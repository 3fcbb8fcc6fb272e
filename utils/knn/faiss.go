//go:build faiss

package knn

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	faiss "github.com/DataIntelligenceCrew/go-faiss"
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Faiss is an Index backed by a FAISS index through go-faiss (the build tag
// faiss is required; see scripts/install-faiss.sh). It mirrors PML's
// FaissKNN, whose default index_init_fn is faiss.IndexFlatL2: the
// description "Flat" with L2 gives IndexFlatL2 and with InnerProduct
// IndexFlatIP, both exact. Any other faiss.index_factory string
// ("IVF1024,Flat", "HNSW32", "IVF256,PQ16", ...) gives an approximate index.
//
// Training: indexes such as IVF or PQ must be trained before vectors are
// added. Call Train with representative vectors (FAISS wants at least as
// many as the index has centroids, and warns below 39 per centroid); if Add
// is called on an untrained index it first trains the index on the vectors
// being added, so the Index interface alone is enough. Flat and HNSW
// indexes need no training.
//
// Ties follow FAISS (1.7.3, Debian's build). With L2 its heaps keep
// (distance, index) order and admit a reference only when it is strictly
// nearer than the worst kept, so equal distances go to the smaller index,
// as with Exact. But from 20 queries per Search on, FAISS computes
// distances as ‖q‖² + ‖r‖² − 2q·r with BLAS's GEMM, whose rounding can
// depend on a reference's position, so identical references need not tie
// exactly and a later duplicate can come first (below 20 queries it sums
// (qᵢ − rᵢ)² per pair and duplicates tie). With InnerProduct FAISS 1.7.3's
// min-heap breaks ties towards the larger index: equal inner products come
// in decreasing index order, and which of several references tied at the
// k-th place are kept is FAISS's choice.
//
// Approximate indexes can find fewer than k neighbours for a query (an IVF
// index with few probed lists, for example); FAISS then reports index -1,
// and Search keeps that -1 in Result.Indices with FAISS's sentinel
// distance. Exact (Flat) indexes always return k neighbours.
//
// A Faiss holds C memory: call Close when done (an unclosed Faiss is freed
// when it is garbage collected). Make it with NewFaiss: the zero value holds
// no FAISS index, and its methods, like those of a closed Faiss, return
// errors wrapping gometric.ErrSetting that name NewFaiss (Len, Dim,
// IsTrained: 0 or false); a nil *Faiss behaves the same. Search may be
// called concurrently (it is safe for concurrent use); Add, Train,
// SetParameter and Close take an exclusive lock.
type Faiss struct {
	mu          sync.RWMutex
	idx         *faiss.Index
	cleanup     runtime.Cleanup
	description string
	dim         int
	metric      Metric
}

const faissComponent = "knn.Faiss"

// FaissBuilt reports whether this binary was built with the faiss tag, so the
// FAISS backend (NewFaiss, FaissKMeans) is available.
const FaissBuilt = true

// NewFaiss returns a FAISS index of dimension dim made by
// faiss.index_factory(dim, description, metric), mirroring the
// index_init_fn of PML's FaissKNN. Use "Flat" for exact search
// (IndexFlatL2 or IndexFlatIP). An empty or unknown description, dim < 1
// or an unknown metric returns an error wrapping gometric.ErrSetting.
func NewFaiss(description string, dim int, metric Metric) (*Faiss, error) {
	if strings.TrimSpace(description) == "" {
		return nil, check.Settingf(faissComponent, "empty index description (use \"Flat\" for exact search)")
	}
	if dim < 1 || dim > math.MaxInt32 {
		return nil, check.Settingf(faissComponent, "dimension %d outside [1, 2^31-1]", dim)
	}
	fm, err := faissMetric(metric)
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread() // FAISS's last error is thread-local
	idx, err := faiss.IndexFactory(dim, description, fm)
	runtime.UnlockOSThread()
	if err != nil {
		return nil, fmt.Errorf("%s: index_factory(%d, %q, %v) failed: %s: %w", faissComponent, dim, description, metric, faissMessage(err), gometric.ErrSetting)
	}
	f := &Faiss{idx: idx, description: description, dim: dim, metric: metric}
	f.cleanup = runtime.AddCleanup(f, func(idx *faiss.Index) { idx.Delete() }, idx)
	return f, nil
}

func faissMetric(m Metric) (int, error) {
	switch m {
	case L2:
		return faiss.MetricL2, nil
	case InnerProduct:
		return faiss.MetricInnerProduct, nil
	}
	return 0, check.Settingf(faissComponent, "unknown metric %v", m)
}

// faissMessage trims FAISS's multi-line exception text to one line.
func faissMessage(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if s == "" {
		return "unknown FAISS error"
	}
	return s
}

func (f *Faiss) closedErr() error {
	if f == nil {
		return fmt.Errorf("%s: nil receiver: %w", faissComponent, gometric.ErrSetting)
	}
	return fmt.Errorf("%s: index is closed (or was not made by NewFaiss): %w", faissComponent, gometric.ErrSetting)
}

// Description is the index_factory string the index was made with ("" for
// a nil receiver).
func (f *Faiss) Description() string {
	if f == nil {
		return ""
	}
	return f.description
}

// Dim is the vector dimension (0 for a nil receiver).
func (f *Faiss) Dim() int {
	if f == nil {
		return 0
	}
	return f.dim
}

// Metric is the index's metric (L2 for a nil receiver).
func (f *Faiss) Metric() Metric {
	if f == nil {
		return L2
	}
	return f.metric
}

// Len is the number of vectors added (FAISS's ntotal); 0 after Close.
func (f *Faiss) Len() int {
	if f == nil {
		return 0
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.idx == nil {
		return 0
	}
	return int(f.idx.Ntotal())
}

// IsTrained reports whether the index is trained (always true for Flat and
// HNSW indexes); false after Close.
func (f *Faiss) IsTrained() bool {
	if f == nil {
		return false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.idx != nil && f.idx.IsTrained()
}

func (f *Faiss) checkInput(x gometric.Matrix, what string) error {
	if f == nil || f.dim < 1 {
		return f.closedErr()
	}
	if err := x.Validate(faissComponent, what); err != nil {
		return err
	}
	if x.Cols != f.dim {
		return fmt.Errorf("%s: %s has %d columns but the index has dimension %d: %w", faissComponent, what, x.Cols, f.dim, gometric.ErrShape)
	}
	return nil
}

// Train trains the index on x (FAISS's Index.train), e.g. the coarse
// quantizer of an IVF index. It is a no-op for indexes that need no
// training. x must have Dim columns and finite values.
func (f *Faiss) Train(x gometric.Matrix) error {
	if err := f.checkInput(x, "training set"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.idx == nil {
		return f.closedErr()
	}
	return f.train(x)
}

func (f *Faiss) train(x gometric.Matrix) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := f.idx.Train(x.Data); err != nil {
		return fmt.Errorf("%s: training %q on %d vectors failed: %s: %w", faissComponent, f.description, x.Rows, faissMessage(err), gometric.ErrSetting)
	}
	return nil
}

// Add appends the rows of x to the index (FAISS's Index.add); their indices
// continue from Len. An untrained index is first trained on x.
func (f *Faiss) Add(x gometric.Matrix) error {
	if err := f.checkInput(x, "reference"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.idx == nil {
		return f.closedErr()
	}
	if !f.idx.IsTrained() {
		if err := f.train(x); err != nil {
			return err
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := f.idx.Add(x.Data); err != nil {
		return fmt.Errorf("%s: adding %d vectors to %q failed: %s: %w", faissComponent, x.Rows, f.description, faissMessage(err), gometric.ErrSetting)
	}
	return nil
}

// SetParameter sets a search-time parameter through FAISS's ParameterSpace,
// e.g. "nprobe" for IVF indexes or "efSearch" for HNSW. An unknown name for
// the index returns an error wrapping gometric.ErrSetting.
func (f *Faiss) SetParameter(name string, value float64) error {
	if f == nil {
		return f.closedErr()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.idx == nil {
		return f.closedErr()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ps, err := faiss.NewParameterSpace()
	if err != nil {
		return fmt.Errorf("%s: ParameterSpace: %s: %w", faissComponent, faissMessage(err), gometric.ErrUnsupported)
	}
	defer ps.Delete()
	if err := ps.SetIndexParameter(f.idx, name, value); err != nil {
		return fmt.Errorf("%s: setting %s=%v on %q failed: %s: %w", faissComponent, name, value, f.description, faissMessage(err), gometric.ErrSetting)
	}
	return nil
}

// Search returns the k nearest references of every query row, nearest
// first: squared L2 distances (ascending) or inner products (descending),
// as FAISS's Index.search reports them. query must have Dim columns and
// finite values, and 1 ≤ k ≤ Len.
func (f *Faiss) Search(query gometric.Matrix, k int) (Result, error) {
	if err := f.checkInput(query, "query"); err != nil {
		return Result{}, err
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.idx == nil {
		return Result{}, f.closedErr()
	}
	n := int(f.idx.Ntotal())
	if n == 0 {
		return Result{}, fmt.Errorf("%s: the index is empty: add references before searching: %w", faissComponent, gometric.ErrShape)
	}
	if k < 1 || k > n {
		return Result{}, check.Settingf(faissComponent, "k = %d outside [1, %d] (the number of references)", k, n)
	}
	runtime.LockOSThread()
	dist, labels, err := f.idx.Search(query.Data, int64(k))
	runtime.UnlockOSThread()
	if err != nil {
		return Result{}, fmt.Errorf("%s: search in %q failed: %s: %w", faissComponent, f.description, faissMessage(err), gometric.ErrSetting)
	}
	idx := make([]int, len(labels))
	for i, l := range labels {
		if l < -1 || l >= int64(n) {
			return Result{}, fmt.Errorf("%s: FAISS returned label %d for query %d, outside [-1, %d): %w", faissComponent, l, i/k, n, gometric.ErrIndex)
		}
		idx[i] = int(l)
	}
	return Result{K: k, Indices: idx, Distances: dist}, nil
}

// Close frees the FAISS index. Later calls return errors (Len returns 0);
// closing twice is harmless.
func (f *Faiss) Close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.idx == nil {
		return nil
	}
	f.cleanup.Stop()
	f.idx.Delete()
	f.idx = nil
	return nil
}

var _ Index = (*Faiss)(nil)
