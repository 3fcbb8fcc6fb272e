package inference

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/utils/knn"
)

type pair struct{ q, r int }

// isMatchPairs returns every (query, ref) pair that the Model's IsMatch
// accepts, by asking for all pairs at once, and the pairs' MatchFinder
// values (dot products of the embeddings).
func isMatchPairs(t *testing.T, m *Model[int], query, refs []int) ([]pair, []float64) {
	t.Helper()
	var x, y []int
	for _, q := range query {
		for _, r := range refs {
			x, y = append(x, q), append(y, r)
		}
	}
	ok, err := m.IsMatch(x, y)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := m.Embeddings(context.Background(), x)
	ey, _ := m.Embeddings(context.Background(), y)
	vals, err := distances.NewCosineSimilarity().Pairwise(ex.Dense(), ey.Dense())
	if err != nil {
		t.Fatal(err)
	}
	var out []pair
	for i, b := range ok {
		if b {
			out = append(out, pair{i / len(refs), i % len(refs)})
		}
	}
	return out, vals
}

// indexPairs returns the pairs MatchingNeighbors finds among all
// references.
func indexPairs(t *testing.T, m *Model[int], query []int) []pair {
	t.Helper()
	ms, err := m.MatchingNeighbors(query, m.Len())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]pair, len(ms))
	for i, x := range ms {
		out[i] = pair{x.Query, x.Ref}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].q != out[j].q {
			return out[i].q < out[j].q
		}
		return out[i].r < out[j].r
	})
	return out
}

// gapThreshold returns a threshold in the middle of the widest gap between
// the sorted values near their median, so no pair lies within rounding of
// it.
func gapThreshold(vals []float64) float64 {
	v := slices.Sorted(slices.Values(vals))
	best, at := -1.0, 0.0
	for i := len(v) / 4; i < 3*len(v)/4; i++ {
		if g := v[i+1] - v[i]; g > best {
			best, at = g, (v[i]+v[i+1])/2
		}
	}
	return at
}

// TestIndexAgreesWithMatchFinder: the cosine threshold applied to the
// index's results in its own metric finds the same pairs as the
// MatchFinder, for L2 and inner-product indexes, before and after
// Save/Load (which restores the threshold).
func TestIndexAgreesWithMatchFinder(t *testing.T) {
	data := newBlobs(11, 4, 10, 6)
	refs, query := ids(0, 30), ids(30, 40)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		metric    knn.Metric
		normalize bool
	}{
		{"L2-unit", knn.L2, true},
		{"IP-unit", knn.InnerProduct, true},
		{"IP-dot-products", knn.InnerProduct, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(data.embed)
			m.Metric = tc.metric
			m.NormalizeEmbeddings = tc.normalize
			if err := m.Train(ctx, refs, data.labels[:30]); err != nil {
				t.Fatal(err)
			}
			_, vals := isMatchPairs(t, m, ids(0, 10), refs)
			m.MatchFinder.Threshold = gapThreshold(vals)
			want, _ := isMatchPairs(t, m, query, refs)
			got := indexPairs(t, m, query)
			if len(want) == 0 || len(want) == len(query)*len(refs) {
				t.Fatalf("degenerate test: %d of %d pairs match", len(want), len(query)*len(refs))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("index matches %v\nMatchFinder matches %v", got, want)
			}
			if tc.normalize { // Mask (cosines) agrees too
				mask, err := m.Mask(query, refs)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range got {
					if !mask[p.q][p.r] {
						t.Errorf("pair %v not in Mask", p)
					}
				}
			}
			path := filepath.Join(t.TempDir(), "idx")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			loaded := NewModel(data.embed)
			loaded.NormalizeEmbeddings = tc.normalize
			if err := loaded.Load(path); err != nil {
				t.Fatal(err)
			}
			if loaded.MatchFinder.Threshold != m.MatchFinder.Threshold {
				t.Fatalf("loaded threshold %v, saved %v", loaded.MatchFinder.Threshold, m.MatchFinder.Threshold)
			}
			if g := indexPairs(t, loaded, query); !slices.Equal(g, want) {
				t.Errorf("after Load, index matches %v\nwant %v", g, want)
			}
			if w, _ := isMatchPairs(t, loaded, query, refs); !slices.Equal(w, want) {
				t.Errorf("after Load, IsMatch matches %v\nwant %v", w, want)
			}
		})
	}
}

// TestMatchingNeighborsRefusals: combinations that cannot be converted
// fail with a clear error instead of comparing a cosine with a squared
// distance.
func TestMatchingNeighborsRefusals(t *testing.T) {
	data := newBlobs(12, 3, 5, 4)
	ctx := context.Background()
	train := func(metric knn.Metric, normalize bool) *Model[int] {
		m := NewModel(data.embed)
		m.Metric, m.NormalizeEmbeddings = metric, normalize
		if err := m.Train(ctx, ids(0, 15), nil); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name     string
		m        func() *Model[int]
		sentinel error
	}{
		{"unnormalised L2", func() *Model[int] { return train(knn.L2, false) }, gometric.ErrSetting},
		{"normalised refs, unnormalised queries", func() *Model[int] {
			m := train(knn.L2, true)
			m.NormalizeEmbeddings = false
			return m
		}, gometric.ErrSetting},
		{"Lp distance", func() *Model[int] {
			m := train(knn.L2, true)
			m.MatchFinder = NewMatchFinder(distances.NewLp(), 0.5)
			return m
		}, gometric.ErrUnsupported},
		{"cosine to a power", func() *Model[int] {
			m := train(knn.L2, true)
			c := distances.NewCosineSimilarity()
			c.Power = 2
			m.MatchFinder = NewMatchFinder(c, 0.5)
			return m
		}, gometric.ErrUnsupported},
		{"NaN threshold", func() *Model[int] {
			m := train(knn.L2, true)
			m.MatchFinder.Threshold = math.NaN()
			return m
		}, gometric.ErrSetting},
		{"zero MatchFinder", func() *Model[int] {
			m := train(knn.L2, true)
			m.MatchFinder = &MatchFinder{}
			return m
		}, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m().MatchingNeighbors(ids(0, 3), 2)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.sentinel)
			}
		})
	}
	// Save stores no threshold for a distance that cannot be applied, and
	// Load then keeps the loading model's MatchFinder.
	m := train(knn.L2, true)
	m.MatchFinder = NewMatchFinder(distances.NewLp(), 0.5)
	path := filepath.Join(t.TempDir(), "lp")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadIndexFile(path)
	if err != nil || f.Threshold != nil {
		t.Fatalf("ReadIndexFile: %v, threshold %v", err, f.Threshold)
	}
	loaded := NewModel(data.embed)
	loaded.MatchFinder.Threshold = 0.3
	if err := loaded.Load(path); err != nil || loaded.MatchFinder.Threshold != 0.3 {
		t.Fatalf("Load: %v, threshold %v", err, loaded.MatchFinder.Threshold)
	}
	// A NaN threshold cannot be saved.
	m.MatchFinder = NewMatchFinder(nil, math.NaN())
	if err := m.Save(path); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Save with a NaN threshold: %v", err)
	}
}

// TestThresholdBound: the conversion table of Threshold.Bound.
func TestThresholdBound(t *testing.T) {
	cos := func(v float64) Threshold { return Threshold{Measure: MeasureCosine, Value: v} }
	tests := []struct {
		name   string
		t      Threshold
		metric knn.Metric
		unit   bool
		want   IndexBound
		err    error
	}{
		{"L2 0.9", cos(0.9), knn.L2, true, IndexBound{knn.L2, 2 - 2*0.9}, nil},
		{"L2 -1", cos(-1), knn.L2, true, IndexBound{knn.L2, 4}, nil},
		{"L2 +Inf", cos(math.Inf(1)), knn.L2, true, IndexBound{knn.L2, math.Inf(-1)}, nil},
		{"IP 0.9", cos(0.9), knn.InnerProduct, true, IndexBound{knn.InnerProduct, 0.9}, nil},
		{"IP not unit", cos(0.9), knn.InnerProduct, false, IndexBound{knn.InnerProduct, 0.9}, nil},
		{"L2 not unit", cos(0.9), knn.L2, false, IndexBound{}, gometric.ErrSetting},
		{"unknown metric", cos(0.9), knn.Metric(5), true, IndexBound{}, gometric.ErrSetting},
		{"zero Threshold", Threshold{}, knn.L2, true, IndexBound{}, gometric.ErrSetting},
		{"NaN", cos(math.NaN()), knn.L2, true, IndexBound{}, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Bound(tc.metric, tc.unit)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got.Metric != tc.want.Metric || math.Abs(got.Value-tc.want.Value) > 1e-15 && got.Value != tc.want.Value {
				t.Fatalf("Bound = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	b := IndexBound{Metric: knn.L2, Value: 0.25}
	if !b.Match(0.25) || !b.Match(0) || b.Match(0.2501) || b.Match(float32(math.NaN())) {
		t.Error("L2 bound is not inclusive at <= 0.25")
	}
	b = IndexBound{Metric: knn.InnerProduct, Value: 0.75}
	if !b.Match(0.75) || !b.Match(2) || b.Match(0.7499) || b.Match(float32(math.NaN())) {
		t.Error("inner-product bound is not inclusive at >= 0.75")
	}
}

// TestVersion1Files: files written by the version-1 writer (testdata,
// written before thresholds were saved) still load, without a threshold.
func TestVersion1Files(t *testing.T) {
	f, err := ReadIndexFile("testdata/v1-l2-labelled.gmidx")
	if err != nil {
		t.Fatal(err)
	}
	if f.Metric != knn.L2 || f.Vectors.Rows != 3 || f.Vectors.Cols != 2 ||
		!slices.Equal(f.Vectors.Data, []float32{0.6, 0.8, 1, 0, 0, -1}) ||
		!slices.Equal(f.Labels, []int{10, -5, 1 << 40}) || f.Threshold != nil {
		t.Errorf("read %+v", f)
	}
	f, err = ReadIndexFile("testdata/v1-ip.gmidx")
	if err != nil {
		t.Fatal(err)
	}
	if f.Metric != knn.InnerProduct || f.Vectors.Rows != 2 || f.Vectors.Cols != 3 || f.Labels != nil || f.Threshold != nil {
		t.Errorf("read %+v", f)
	}
	// Load keeps the Model's MatchFinder, and the unit references of the
	// file let the cosine threshold apply to the L2 index.
	m := NewModel(Rows)
	m.MatchFinder.Threshold = 0.95
	if err := m.Load("testdata/v1-l2-labelled.gmidx"); err != nil {
		t.Fatal(err)
	}
	if m.MatchFinder.Threshold != 0.95 || !slices.Equal(m.Labels(), []int{10, -5, 1 << 40}) {
		t.Errorf("threshold %v, labels %v", m.MatchFinder.Threshold, m.Labels())
	}
	ms, err := m.MatchingNeighbors([][]float32{{3, 4}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Ref != 0 {
		t.Errorf("matches %+v, want ref 0 only", ms)
	}
	// Re-saving writes the current version, which reads back the same.
	path := filepath.Join(t.TempDir(), "v2")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := ReadIndexFile(path)
	if err != nil || g.Threshold == nil || g.Threshold.Value != 0.95 || !slices.Equal(g.Labels, m.Labels()) {
		t.Fatalf("re-saved: %v, %+v", err, g)
	}
	b, _ := os.ReadFile(path)
	if v := b[8]; v != IndexVersion {
		t.Errorf("re-saved version %d", v)
	}
}
