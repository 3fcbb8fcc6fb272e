package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

// blobs is a synthetic data set of well separated classes: item i is
// referred to by its index, and embedding it looks its row up, so the
// Model is exercised with a non-matrix input type.
type blobs struct {
	x      *mat.Dense
	labels []int
	calls  int // Embed calls
	maxLen int // largest batch seen
}

func newBlobs(seed uint64, classes, perClass, dim int) *blobs {
	rng := rand.New(rand.NewPCG(seed, 99))
	centres := testkit.NormalDense(rng, classes, dim)
	n := classes * perClass
	b := &blobs{x: mat.NewDense(n, dim, nil), labels: make([]int, n)}
	for i := range n {
		c := i % classes
		b.labels[i] = c
		for j := range dim {
			b.x.Set(i, j, 4*centres.At(c, j)+0.2*rng.NormFloat64())
		}
	}
	return b
}

func (b *blobs) embed(batch []int) (gometric.Matrix, error) {
	b.calls++
	b.maxLen = max(b.maxLen, len(batch))
	return b.embedNoCount(batch)
}

// embedNoCount is embed without the call statistics, safe for concurrent
// use.
func (b *blobs) embedNoCount(batch []int) (gometric.Matrix, error) {
	_, d := b.x.Dims()
	out := gometric.Matrix{Rows: len(batch), Cols: d, Data: make([]float32, len(batch)*d)}
	for i, id := range batch {
		if id < 0 || id >= len(b.labels) {
			return gometric.Matrix{}, fmt.Errorf("item %d does not exist", id)
		}
		for j, v := range b.x.RawRowView(id) {
			out.Data[i*d+j] = float32(v)
		}
	}
	return out, nil
}

func ids(lo, hi int) []int {
	out := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// bruteIndex is a minimal knn.Index test double (float64 sums, stable
// order) that records how it is used.
type bruteIndex struct {
	dim    int
	metric knn.Metric
	data   []float32
	adds   int
}

func (b *bruteIndex) Add(x gometric.Matrix) error {
	if err := x.Validate("bruteIndex", "x"); err != nil {
		return err
	}
	if x.Cols != b.dim {
		return fmt.Errorf("bruteIndex: %d columns, want %d: %w", x.Cols, b.dim, gometric.ErrShape)
	}
	b.adds++
	b.data = append(b.data, x.Data...)
	return nil
}

func (b *bruteIndex) Search(q gometric.Matrix, k int) (knn.Result, error) {
	n := b.Len()
	if k < 1 || k > n || q.Cols != b.dim {
		return knn.Result{}, fmt.Errorf("bruteIndex: bad search: %w", gometric.ErrShape)
	}
	res := knn.Result{K: k}
	for i := range q.Rows {
		type cand struct {
			d float64
			j int
		}
		cands := make([]cand, n)
		for j := range n {
			var s float64
			for c := range b.dim {
				u, v := float64(q.Data[i*b.dim+c]), float64(b.data[j*b.dim+c])
				if b.metric == knn.L2 {
					s += (u - v) * (u - v)
				} else {
					s -= u * v
				}
			}
			cands[j] = cand{s, j}
		}
		slices.SortStableFunc(cands, func(a, c cand) int {
			switch {
			case a.d < c.d:
				return -1
			case a.d > c.d:
				return 1
			}
			return 0
		})
		for _, c := range cands[:k] {
			d := c.d
			if b.metric == knn.InnerProduct {
				d = -d
			}
			res.Indices = append(res.Indices, c.j)
			res.Distances = append(res.Distances, float32(d))
		}
	}
	return res, nil
}

func (b *bruteIndex) Len() int           { return len(b.data) / b.dim }
func (b *bruteIndex) Dim() int           { return b.dim }
func (b *bruteIndex) Metric() knn.Metric { return b.metric }

// TestModelEndToEnd trains on labelled, well separated data and checks
// that every query's nearest neighbours share its class, that the result
// is the exact search of the normalised float32 embeddings, and that
// batching follows BatchSize.
func TestModelEndToEnd(t *testing.T) {
	data := newBlobs(1, 5, 30, 8)
	for _, metric := range []knn.Metric{knn.L2, knn.InnerProduct} {
		t.Run(metric.String(), func(t *testing.T) {
			data.calls, data.maxLen = 0, 0
			m := NewModel(data.embed)
			m.BatchSize = 7
			m.Metric = metric
			refs := ids(0, 100)
			if err := m.Train(context.Background(), refs, data.labels[:100]); err != nil {
				t.Fatal(err)
			}
			if data.calls != 15 || data.maxLen != 7 { // ceil(100/7)
				t.Errorf("Embed called %d times with batches up to %d, want 15 and 7", data.calls, data.maxLen)
			}
			if m.Len() != 100 || m.Index().Dim() != 8 || m.Index().Metric() != metric {
				t.Fatalf("index: %d vectors, dim %d, metric %v", m.Len(), m.Index().Dim(), m.Index().Metric())
			}
			queries := ids(100, 150)
			const k = 5
			res, err := m.NearestNeighbors(queries, k)
			if err != nil {
				t.Fatal(err)
			}
			if res.K != k || len(res.Indices) != len(queries)*k {
				t.Fatalf("result K %d with %d indices", res.K, len(res.Indices))
			}
			for qi, q := range queries {
				for j := range k {
					if r := res.Indices[qi*k+j]; data.labels[r] != data.labels[q] {
						t.Errorf("query %d (class %d): neighbour %d is %d (class %d)", q, data.labels[q], j, r, data.labels[r])
					}
				}
			}
			// The same as an exact search of the normalised float32 embeddings.
			qe, err := m.Embeddings(context.Background(), queries)
			if err != nil {
				t.Fatal(err)
			}
			re, err := m.Embeddings(context.Background(), refs)
			if err != nil {
				t.Fatal(err)
			}
			if !unitRows(qe) || !unitRows(re) {
				t.Fatal("embeddings are not unit length")
			}
			want, err := knn.Search(qe, re, k, metric)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Indices, want.Indices) || !slices.Equal(res.Distances, want.Distances) {
				t.Errorf("NearestNeighbors differs from knn.Search of the embeddings")
			}
			// The test double agrees (up to float32 rounding of the sums).
			m2 := NewModel(data.embed)
			m2.Metric = metric
			m2.NewIndex = func(dim int, metric knn.Metric) (knn.Index, error) {
				return &bruteIndex{dim: dim, metric: metric}, nil
			}
			if err := m2.Train(context.Background(), refs, nil); err != nil {
				t.Fatal(err)
			}
			res2, err := m2.NearestNeighbors(queries, k)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameNeighbours(res, res2, 1e-5); err != nil {
				t.Errorf("Exact and the brute-force double disagree: %v", err)
			}
		})
	}
}

// TestModelAdd grows the index in steps and checks it equals one Train.
func TestModelAdd(t *testing.T) {
	data := newBlobs(2, 4, 10, 6)
	ctx := context.Background()
	m := NewModel(data.embed)
	if err := m.Add(ctx, ids(0, 15), data.labels[:15]); err != nil { // Add on an empty Model trains
		t.Fatal(err)
	}
	if err := m.Add(ctx, ids(15, 40), data.labels[15:40]); err != nil {
		t.Fatal(err)
	}
	one := NewModel(data.embed)
	if err := one.Train(ctx, ids(0, 40), data.labels[:40]); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 40 || !slices.Equal(m.Labels(), data.labels[:40]) {
		t.Fatalf("Len %d, labels %v", m.Len(), m.Labels())
	}
	a, err := m.NearestNeighbors(ids(0, 40), 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := one.NearestNeighbors(ids(0, 40), 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Indices, b.Indices) || !slices.Equal(a.Distances, b.Distances) {
		t.Error("Add in two steps differs from one Train")
	}
	// Labels() is a copy.
	l := m.Labels()
	l[0] = 99
	if m.Labels()[0] == 99 {
		t.Error("Labels() exposes the model's slice")
	}
	// Train replaces everything, here with unlabelled references.
	if err := m.Train(ctx, ids(0, 5), nil); err != nil || m.Len() != 5 || m.Labels() != nil {
		t.Errorf("retrain: err %v, Len %d, labels %v", err, m.Len(), m.Labels())
	}
}

// TestModelMatching checks Model's matching methods against MatchFinder on
// the model's embeddings, and calibration on separable pairs.
func TestModelMatching(t *testing.T) {
	data := newBlobs(3, 3, 8, 5)
	m := NewModel(data.embed)
	q, r := ids(0, 10), ids(10, 24)
	eq32, _ := m.Embeddings(context.Background(), q)
	er32, _ := m.Embeddings(context.Background(), r)
	eq, er := eq32.Dense(), er32.Dense()
	mf := NewMatchFinder(nil, DefaultThreshold)

	gotMask, err := m.Mask(q, r)
	if err != nil {
		t.Fatal(err)
	}
	wantMask, _ := mf.Mask(eq, er)
	gotSelf, err := m.Matches(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSelf, _ := mf.Matches(eq, nil)
	if !equalMasks(gotMask, wantMask) || !slices.Equal(gotSelf, wantSelf) || len(gotSelf) == 0 {
		t.Errorf("Model matching differs from MatchFinder on the embeddings")
	}
	gotMatches, err := m.Matches(q, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range gotMatches {
		if !gotMask[p.Query][p.Ref] {
			t.Errorf("match %+v not in the mask", p)
		}
	}
	// With normalised embeddings, IsMatch (dot products) compares cosines.
	x, y := ids(0, 12), ids(12, 24)
	same := make([]bool, len(x))
	for i := range x {
		same[i] = data.labels[x[i]] == data.labels[y[i]]
	}
	m.MatchFinder = nil // PML's default is created by Calibrate
	c, err := m.Calibrate(x, y, same)
	if err != nil {
		t.Fatal(err)
	}
	if m.MatchFinder == nil || m.MatchFinder.Threshold != c.Threshold || c.F1 != 1 {
		t.Fatalf("calibration %+v, MatchFinder %+v", c, m.MatchFinder)
	}
	got, err := m.IsMatch(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, same) {
		t.Errorf("IsMatch after calibration %v, want %v", got, same)
	}
	cos, _ := NewMatchFinder(distances.NewCosineSimilarity(), c.Threshold).Mask(eq, eq)
	for i := range cos {
		if !cos[i][i] {
			t.Errorf("self pair %d does not match at the calibrated threshold", i)
		}
	}
}

// sameNeighbours reports whether two results agree up to near-ties: the
// same neighbour set per query, and equal distances (within tol) rank by
// rank, so only neighbours at (nearly) equal distances may swap.
func sameNeighbours(a, b knn.Result, tol float64) error {
	if a.K != b.K || len(a.Indices) != len(b.Indices) {
		return fmt.Errorf("K %d vs %d, %d vs %d indices", a.K, b.K, len(a.Indices), len(b.Indices))
	}
	for q := 0; q < len(a.Indices); q += a.K {
		x := slices.Sorted(slices.Values(a.Indices[q : q+a.K]))
		y := slices.Sorted(slices.Values(b.Indices[q : q+b.K]))
		if !slices.Equal(x, y) {
			return fmt.Errorf("query %d: neighbours %v vs %v", q/a.K, a.Indices[q:q+a.K], b.Indices[q:q+b.K])
		}
	}
	for i, d := range a.Distances {
		if math.Abs(float64(d-b.Distances[i])) > tol {
			return fmt.Errorf("rank %d of query %d: distance %v vs %v", i%a.K, i/a.K, d, b.Distances[i])
		}
	}
	return nil
}

func equalMasks(a, b [][]bool) bool {
	return slices.EqualFunc(a, b, func(x, y []bool) bool { return slices.Equal(x, y) })
}

func TestModelErrors(t *testing.T) {
	data := newBlobs(4, 2, 5, 3)
	ctx := context.Background()
	trained := func() *Model[int] {
		m := NewModel(data.embed)
		if err := m.Train(ctx, ids(0, 10), data.labels); err != nil {
			t.Fatal(err)
		}
		return m
	}
	userErr := errors.New("camera unplugged")
	constEmbed := func(rows, cols int, v float32) EmbedFunc[int] {
		return func(batch []int) (gometric.Matrix, error) {
			if rows < 0 {
				rows = len(batch)
			}
			d := gometric.Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
			for i := range rows {
				for j := range cols {
					d.Data[i*cols+j] = v + float32(i+j)
				}
			}
			return d, nil
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var nilModel *Model[int]
	tests := []struct {
		name     string
		run      func() error
		sentinel error
	}{
		{"nil-model", func() error { return nilModel.Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting},
		{"nil-embed", func() error { return NewModel[int](nil).Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting},
		{"batch-size", func() error { m := NewModel(data.embed); m.BatchSize = 0; return m.Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting},
		{"metric", func() error { m := NewModel(data.embed); m.Metric = 7; return m.Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting},
		{"empty", func() error { return NewModel(data.embed).Train(ctx, nil, nil) }, gometric.ErrShape},
		{"label-count", func() error { return NewModel(data.embed).Train(ctx, ids(0, 3), data.labels[:2]) }, gometric.ErrLabels},
		{"embed-error", func() error { return NewModel(data.embed).Train(ctx, []int{0, 99}, nil) }, nil},
		{"user-error", func() error {
			return NewModel(func([]int) (gometric.Matrix, error) { return gometric.Matrix{}, userErr }).Train(ctx, ids(0, 2), nil)
		}, userErr},
		{"embed-nil", func() error {
			return NewModel(func([]int) (gometric.Matrix, error) { return gometric.Matrix{}, nil }).Train(ctx, ids(0, 2), nil)
		}, gometric.ErrShape},
		{"embed-rows", func() error { return NewModel(constEmbed(1, 3, 1)).Train(ctx, ids(0, 2), nil) }, gometric.ErrShape},
		{"embed-nan", func() error { return NewModel(constEmbed(-1, 3, float32(math.NaN()))).Train(ctx, ids(0, 2), nil) }, gometric.ErrNonFinite},
		{"embed-cols", func() error {
			calls := 0
			m := NewModel(func(b []int) (gometric.Matrix, error) {
				calls++
				return gometric.Matrix{Rows: len(b), Cols: 2 + calls, Data: make([]float32, len(b)*(2+calls))}, nil
			})
			m.BatchSize = 1
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrShape},
		{"embed-inf", func() error {
			m := NewModel(constEmbed(-1, 2, float32(math.Inf(1))))
			m.NormalizeEmbeddings = false
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrNonFinite},
		{"norm-overflow", func() error {
			m := NewModel(constEmbed(-1, 2, 3e38))
			m.NormalizeEmbeddings = false
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrNonFinite},
		{"cancelled", func() error { return NewModel(data.embed).Train(cancelled, ids(0, 2), nil) }, context.Canceled},
		{"add-dim", func() error {
			m := trained()
			m.Embed = constEmbed(-1, 4, 1)
			return m.Add(ctx, ids(0, 2), data.labels[:2])
		}, gometric.ErrShape},
		{"add-unlabelled", func() error { return trained().Add(ctx, ids(0, 2), nil) }, gometric.ErrLabels},
		{"add-labels-count", func() error { return trained().Add(ctx, ids(0, 2), data.labels[:1]) }, gometric.ErrLabels},
		{"nn-untrained", func() error { _, err := NewModel(data.embed).NearestNeighbors(ids(0, 2), 1); return err }, gometric.ErrShape},
		{"nn-k0", func() error { _, err := trained().NearestNeighbors(ids(0, 2), 0); return err }, gometric.ErrSetting},
		{"nn-k-too-big", func() error { _, err := trained().NearestNeighbors(ids(0, 2), 11); return err }, gometric.ErrSetting},
		{"nn-empty-query", func() error { _, err := trained().NearestNeighbors(nil, 1); return err }, gometric.ErrShape},
		{"nn-dim", func() error {
			m := trained()
			m.Embed = constEmbed(-1, 5, 1)
			_, err := m.NearestNeighbors(ids(0, 2), 1)
			return err
		}, gometric.ErrShape},
		{"ismatch-count", func() error { _, err := trained().IsMatch(ids(0, 2), ids(0, 3)); return err }, gometric.ErrShape},
		{"ismatch-empty", func() error { _, err := trained().IsMatch(nil, nil); return err }, gometric.ErrShape},
		{"matches-empty-ref", func() error { _, err := trained().Matches(ids(0, 2), []int{}); return err }, gometric.ErrShape},
		{"mask-threshold", func() error {
			m := trained()
			m.MatchFinder.Threshold = math.NaN()
			_, err := m.Mask(ids(0, 2), nil)
			return err
		}, gometric.ErrSetting},
		{"calibrate-labels", func() error { _, err := trained().Calibrate(ids(0, 2), ids(2, 4), []bool{true}); return err }, gometric.ErrLabels},
		{"calibrate-no-positive", func() error {
			_, err := trained().Calibrate(ids(0, 2), ids(2, 4), []bool{false, false})
			return err
		}, gometric.ErrLabels},
		{"new-index-error", func() error {
			m := NewModel(data.embed)
			m.NewIndex = func(int, knn.Metric) (knn.Index, error) { return nil, userErr }
			return m.Train(ctx, ids(0, 2), nil)
		}, userErr},
		{"new-index-nil", func() error {
			m := NewModel(data.embed)
			m.NewIndex = func(int, knn.Metric) (knn.Index, error) { return nil, nil }
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrSetting},
		{"new-index-wrong-dim", func() error {
			m := NewModel(data.embed)
			m.NewIndex = func(_ int, mt knn.Metric) (knn.Index, error) { return &bruteIndex{dim: 2, metric: mt}, nil }
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrSetting},
		{"save-untrained", func() error { return NewModel(data.embed).Save(filepath.Join(t.TempDir(), "x")) }, gometric.ErrShape},
		{"save-bypassed", func() error {
			m := trained()
			if err := m.Index().Add(gometric.Matrix{Rows: 1, Cols: 3, Data: []float32{1, 2, 3}}); err != nil {
				t.Fatal(err)
			}
			return m.Save(filepath.Join(t.TempDir(), "x"))
		}, gometric.ErrShape},
		{"load-missing", func() error { return NewModel(data.embed).Load(filepath.Join(t.TempDir(), "missing")) }, os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), "inference.Model: ") {
				t.Errorf("error %q does not start with the component", err)
			}
		})
	}
}

// TestModelUnchangedOnError: a failed Train or Add leaves the index alone.
func TestModelUnchangedOnError(t *testing.T) {
	data := newBlobs(5, 2, 5, 3)
	ctx := context.Background()
	m := NewModel(data.embed)
	if err := m.Train(ctx, ids(0, 6), data.labels[:6]); err != nil {
		t.Fatal(err)
	}
	if m.Train(ctx, []int{0, 1, 99}, nil) == nil || m.Add(ctx, []int{2, 99}, data.labels[:2]) == nil {
		t.Fatal("bad items accepted")
	}
	if m.Len() != 6 || !slices.Equal(m.Labels(), data.labels[:6]) {
		t.Errorf("after failed calls: Len %d, labels %v", m.Len(), m.Labels())
	}
}
