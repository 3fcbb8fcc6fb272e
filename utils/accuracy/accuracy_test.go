package accuracy_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// column returns the n×1 matrix of xs.
func column(xs ...float32) gometric.Matrix {
	return gometric.Matrix{Rows: len(xs), Cols: 1, Data: xs}
}

// byLabel is a KMeansFunc for tests that "clusters" rows by a fixed
// assignment, so clustering metrics are predictable.
func byLabel(assign []int) accuracy.KMeansFunc {
	return func(x gometric.Matrix, k int) ([]int, error) { return slices.Clone(assign), nil }
}

// want is a table of expected metric values.
type want map[string]float64

func checkResults(t *testing.T, got accuracy.Results, w want) {
	t.Helper()
	if len(got) != len(w) {
		t.Errorf("metrics %v, want %d of them", got.Names(), len(w))
	}
	for name, v := range w {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if !close(g.Scalar, v, 1e-12, 1e-12) {
			t.Errorf("%s = %.17g, want %.17g", name, g.Scalar, v)
		}
	}
}

// The 1-D self-reference case of TestHandSelf: positions and labels; label
// 3 is lone. Worked neighbours (self removed), by distance:
//
//	q0 (0, l1): 1 3 7 8 20 → labels 1 2 1 2 3 (R = 2)
//	q1 (1, l1): 0 3 7 8 20 → labels 1 2 1 2 3 (R = 2)
//	q2 (3, l2): 1 0 7 8 20 → labels 1 1 1 2 3 (R = 1)
//	q3 (7, l1): 8 3 1 0 20 → labels 2 2 1 1 3 (R = 2)
//	q4 (8, l2): 7 3 1 0 20 → labels 1 2 1 1 3 (R = 1)
var (
	handX      = column(0, 1, 3, 7, 8, 20)
	handLabels = []int{1, 1, 2, 1, 2, 3}
)

func TestHandSelf(t *testing.T) {
	knnOnly := []string{accuracy.NameNMI, accuracy.NameAMI}
	tests := []struct {
		name string
		k    accuracy.K
		want want
	}{
		// max bin count 3 → k = 2.
		{"max_bin_count", accuracy.KMaxBinCount(), want{
			accuracy.NamePrecisionAt1:            2.0 / 5,
			accuracy.NameRPrecision:              (0.5 + 0.5) / 5,
			accuracy.NameMeanAveragePrecisionAtR: (0.5 + 0.5) / 5,
			accuracy.NameMeanAveragePrecision:    (0.5 + 0.5 + 0.5) / 5,
			accuracy.NameMeanReciprocalRank:      (1 + 1 + 0.5) / 5,
		}},
		// k = 1: R is cut at 1 for r_precision, MAP@R still divides by R.
		{"k=1", accuracy.KInt(1), want{
			accuracy.NamePrecisionAt1:            2.0 / 5,
			accuracy.NameRPrecision:              2.0 / 5,
			accuracy.NameMeanAveragePrecisionAtR: (0.5 + 0.5) / 5,
			accuracy.NameMeanAveragePrecision:    (0.5 + 0.5) / 5,
			accuracy.NameMeanReciprocalRank:      2.0 / 5,
		}},
		// k = None → 5 neighbours.
		{"all", accuracy.KAll(), want{
			accuracy.NamePrecisionAt1:            2.0 / 5,
			accuracy.NameRPrecision:              (0.5 + 0.5) / 5,
			accuracy.NameMeanAveragePrecisionAtR: (0.5 + 0.5) / 5,
			accuracy.NameMeanAveragePrecision:    (5.0/6 + 5.0/6 + 1.0/4 + 5.0/12 + 1.0/2) / 5,
			accuracy.NameMeanReciprocalRank:      (1 + 1 + 1.0/4 + 1.0/3 + 1.0/2) / 5,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := accuracy.NewCalculator()
			c.K = tc.k
			c.Exclude = knnOnly
			got, err := c.SelfAccuracy(handX, handLabels)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, got, tc.want)
			// The same through Accuracy with an explicit reference.
			got2, err := c.Accuracy(handX, handLabels, handX, handLabels, true)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, got2, tc.want)
		})
	}
}

// The FromKNN case of TestHandPrecomputed: separate query and reference,
// hand-written neighbours (K = 3).
//
//	reference labels 1 1 2 2 2 3  → R(1) = 2, R(2) = 3, label 4 is lone
//	q0 l1: 2 0 1 → labels 2 1 1 → F T T
//	q1 l2: 2 5 3 → labels 2 3 2 → T F T
//	q2 l4: lone
//	q3 l2: 0 1 5 → labels 1 1 3 → F F F
var handPre = accuracy.Precomputed{
	QueryLabels:     []int{1, 2, 4, 2},
	ReferenceLabels: []int{1, 1, 2, 2, 2, 3},
	KNN:             knn.Result{K: 3, Indices: []int{2, 0, 1, 2, 5, 3, 0, 1, 2, 0, 1, 5}},
	ClusterLabels:   []int{0, 1, 1, 1},
}

func TestHandPrecomputed(t *testing.T) {
	// Per query: p@1, r_precision, MAP@R, MAP, MRR.
	//   q0: 0, 1/2, 1/4, 7/12, 1/2
	//   q1: 1, 2/3, 5/9, 5/9, 1
	//   q3: 0, 0, 0, 0, 0
	nmi, _ := accuracy.NMI(handPre.QueryLabels, handPre.ClusterLabels)
	ami, _ := accuracy.AMI(handPre.QueryLabels, handPre.ClusterLabels)
	tests := []struct {
		name          string
		avg, perClass bool
		want          want
		perClassWant  map[string][]float64
	}{
		{"mean", false, false, want{
			accuracy.NamePrecisionAt1:            1.0 / 3,
			accuracy.NameRPrecision:              (1.0/2 + 2.0/3) / 3,
			accuracy.NameMeanAveragePrecisionAtR: (1.0/4 + 5.0/9) / 3,
			accuracy.NameMeanAveragePrecision:    (7.0/12 + 5.0/9) / 3,
			accuracy.NameMeanReciprocalRank:      (1.0/2 + 1) / 3,
			accuracy.NameNMI:                     nmi,
			accuracy.NameAMI:                     ami,
		}, nil},
		// Classes 1 (q0) and 2 (q1, q3).
		{"avg_of_avgs", true, false, want{
			accuracy.NamePrecisionAt1:            (0 + 0.5) / 2,
			accuracy.NameRPrecision:              (1.0/2 + 1.0/3) / 2,
			accuracy.NameMeanAveragePrecisionAtR: (1.0/4 + 5.0/18) / 2,
			accuracy.NameMeanAveragePrecision:    (7.0/12 + 5.0/18) / 2,
			accuracy.NameMeanReciprocalRank:      (1.0/2 + 1.0/2) / 2,
			accuracy.NameNMI:                     nmi,
			accuracy.NameAMI:                     ami,
		}, nil},
		{"return_per_class", false, true, want{
			accuracy.NamePrecisionAt1:            (0 + 0.5) / 2,
			accuracy.NameRPrecision:              (1.0/2 + 1.0/3) / 2,
			accuracy.NameMeanAveragePrecisionAtR: (1.0/4 + 5.0/18) / 2,
			accuracy.NameMeanAveragePrecision:    (7.0/12 + 5.0/18) / 2,
			accuracy.NameMeanReciprocalRank:      (1.0/2 + 1.0/2) / 2,
			accuracy.NameNMI:                     nmi,
			accuracy.NameAMI:                     ami,
		}, map[string][]float64{
			accuracy.NamePrecisionAt1:            {0, 0.5},
			accuracy.NameRPrecision:              {1.0 / 2, 1.0 / 3},
			accuracy.NameMeanAveragePrecisionAtR: {1.0 / 4, 5.0 / 18},
			accuracy.NameMeanAveragePrecision:    {7.0 / 12, 5.0 / 18},
			accuracy.NameMeanReciprocalRank:      {1.0 / 2, 1.0 / 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := accuracy.NewCalculator()
			c.AvgOfAvgs, c.ReturnPerClass = tc.avg, tc.perClass
			got, err := c.FromKNN(handPre)
			if err != nil {
				t.Fatal(err)
			}
			checkResults(t, got, tc.want)
			for name, v := range got {
				pc, ok := tc.perClassWant[name]
				if !ok {
					if v.PerClass != nil || v.Classes != nil {
						t.Errorf("%s: unexpected per-class values %v", name, v.PerClass)
					}
					continue
				}
				if !slices.Equal(v.Classes, []int{1, 2}) || len(v.PerClass) != len(pc) {
					t.Fatalf("%s: classes %v, per class %v", name, v.Classes, v.PerClass)
				}
				for i := range pc {
					if !close(v.PerClass[i], pc[i], 1e-12, 1e-12) {
						t.Errorf("%s class %d = %.17g, want %.17g", name, v.Classes[i], v.PerClass[i], pc[i])
					}
				}
			}
		})
	}
}

// TestCustomCompare uses labels that match when they differ by at most 1.
// Self reference, labels 1 2 5 5 9:
//
//	matches: l1 {1,2} → 2, l2 {1,2} → 2, l5 {5,5} → 2, l9 {9} → 1 (lone)
//	R = matches − 1 = 1 for q0..q3
//	q0 l1: 1 2 → labels 2 5 → T F
//	q1 l2: 2 0 → labels 5 1 → F T
//	q2 l5: 3 0 → labels 5 1 → T F
//	q3 l5: 4 2 → labels 9 5 → F T
//
// With equality, labels 1, 2 and 9 are lone and only q2, q3 count.
func TestCustomCompare(t *testing.T) {
	pre := accuracy.Precomputed{
		QueryLabels:      []int{1, 2, 5, 5, 9},
		ReferenceLabels:  []int{1, 2, 5, 5, 9},
		RefIncludesQuery: true,
		KNN:              knn.Result{K: 2, Indices: []int{1, 2, 2, 0, 3, 0, 4, 2, 3, 2}},
	}
	near := func(a, b int) bool { return a-b <= 1 && b-a <= 1 }
	c := &accuracy.Calculator{Compare: near, Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
	var lone []int
	var counts []int
	c.Metrics = []accuracy.Metric{accuracy.CustomMetric{MetricName: "lone", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		lone, counts = in.LoneLabels, in.MatchCounts
		return accuracy.Value{Scalar: float64(len(in.LoneLabels))}, nil
	}}}
	got, err := c.FromKNN(pre)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, got, want{
		accuracy.NamePrecisionAt1:            0.5,
		accuracy.NameRPrecision:              0.5,
		accuracy.NameMeanAveragePrecisionAtR: 0.5,
		accuracy.NameMeanAveragePrecision:    0.75,
		accuracy.NameMeanReciprocalRank:      0.75,
		"lone":                               1,
	})
	if !slices.Equal(lone, []int{9}) || !slices.Equal(counts, []int{2, 2, 2, 1}) {
		t.Errorf("lone labels %v, match counts %v", lone, counts)
	}

	c.Compare = nil
	got, err = c.FromKNN(pre)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, got, want{
		accuracy.NamePrecisionAt1:            0.5,
		accuracy.NameRPrecision:              0.5,
		accuracy.NameMeanAveragePrecisionAtR: 0.5,
		accuracy.NameMeanAveragePrecision:    0.75,
		accuracy.NameMeanReciprocalRank:      0.75,
		"lone":                               3,
	})
	if !slices.Equal(lone, []int{1, 2, 9}) || !slices.Equal(counts, []int{1, 1, 2, 1}) {
		t.Errorf("equality: lone labels %v, match counts %v", lone, counts)
	}

	// A custom comparison with clustering metrics is unsupported, as in PML.
	c.Compare, c.Exclude = near, nil
	if _, err := c.FromKNN(pre); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("Compare with NMI/AMI: %v, want ErrUnsupported", err)
	}
}

func TestIncludeExclude(t *testing.T) {
	all := []string{"AMI", "NMI", "mean_average_precision", "mean_average_precision_at_r",
		"mean_reciprocal_rank", "precision_at_1", "r_precision"}
	tests := []struct {
		name             string
		include, exclude []string
		want             []string
	}{
		{"default", nil, nil, all},
		{"include", []string{"precision_at_1", "NMI"}, nil, []string{"NMI", "precision_at_1"}},
		{"exclude", nil, []string{"NMI", "AMI"}, all[2:]},
		{"both", []string{"precision_at_1", "AMI"}, []string{"AMI"}, []string{"precision_at_1"}},
		{"mrr only", []string{"mean_reciprocal_rank"}, nil, []string{"mean_reciprocal_rank"}},
		{"nothing left", []string{"AMI"}, []string{"AMI"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &accuracy.Calculator{Include: tc.include, Exclude: tc.exclude, KMeans: byLabel([]int{0, 0, 1, 0, 1, 2})}
			names, err := c.MetricNames()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("MetricNames = %v, want %v", names, tc.want)
			}
			got, err := c.SelfAccuracy(handX, handLabels)
			if err != nil {
				t.Fatal(err)
			}
			if g := got.Names(); !slices.Equal(g, tc.want) {
				t.Errorf("results %v, want %v", g, tc.want)
			}
		})
	}
}

// TestUserMetrics checks user metrics: a new kNN metric (recall@2 through
// Inputs.Average), a clustering one, and one that replaces a built-in.
func TestUserMetrics(t *testing.T) {
	recallAt2 := accuracy.CustomMetric{MetricName: "recall_at_2", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		var per []float64
		var labels []int
		for q, keep := range in.NotLone {
			if !keep {
				continue
			}
			hit := 0.0
			for _, l := range in.KNNLabels[q*in.KNN.K : q*in.KNN.K+2] {
				if in.Compare(in.QueryLabels[q], l) {
					hit = 1
				}
			}
			per, labels = append(per, hit), append(labels, in.QueryLabels[q])
		}
		return in.Average(per, labels), nil
	}}
	numClusters := accuracy.CustomMetric{MetricName: "num_clusters", Clustering: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		return accuracy.Value{Scalar: float64(len(slices.Compact(slices.Sorted(slices.Values(in.ClusterLabels)))))}, nil
	}}
	replaced := accuracy.CustomMetric{MetricName: accuracy.NamePrecisionAt1, Func: func(*accuracy.Inputs) (accuracy.Value, error) {
		return accuracy.Value{Scalar: 42}, nil
	}}
	c := &accuracy.Calculator{
		K:       accuracy.KMaxBinCount(),
		Metrics: []accuracy.Metric{recallAt2, numClusters, replaced},
		Include: []string{"recall_at_2", "num_clusters", accuracy.NamePrecisionAt1},
		KMeans:  byLabel([]int{0, 0, 1, 0, 1, 2}),
	}
	got, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	// Neighbours at k = 2 (see handX): q0 T F, q1 T F, q2 F F, q3 F F,
	// q4 F T → recall@2 = 3/5.
	checkResults(t, got, want{"recall_at_2": 3.0 / 5, "num_clusters": 3, accuracy.NamePrecisionAt1: 42})

	// A failing user metric fails the call.
	boom := errors.New("boom")
	c.Metrics = []accuracy.Metric{accuracy.CustomMetric{MetricName: "x", Func: func(*accuracy.Inputs) (accuracy.Value, error) { return accuracy.Value{}, boom }}}
	c.Include = nil
	if _, err := c.SelfAccuracy(handX, handLabels); !errors.Is(err, boom) {
		t.Errorf("failing metric: %v", err)
	}
}

func TestLoneQueries(t *testing.T) {
	x := column(0, 1, 2)
	labels := []int{7, 8, 9} // every label is lone
	for _, perClass := range []bool{false, true} {
		c := &accuracy.Calculator{K: accuracy.KInt(1), ReturnPerClass: perClass, Exclude: []string{"NMI", "AMI"}}
		got, err := c.SelfAccuracy(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range got {
			if !math.IsNaN(v.Scalar) {
				t.Errorf("perClass=%v %s = %v, want NaN", perClass, name, v.Scalar)
			}
			if perClass && (!slices.Equal(v.Classes, labels) || len(v.PerClass) != 3 || !math.IsNaN(v.PerClass[0])) {
				t.Errorf("%s per class %v %v", name, v.Classes, v.PerClass)
			}
		}
	}
	// Lone queries do not count, the others do.
	c := &accuracy.Calculator{K: accuracy.KInt(1), Include: []string{accuracy.NamePrecisionAt1}}
	got, err := c.Accuracy(column(0, 5), []int{1, 2}, column(0.5, 9), []int{1, 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, got, want{accuracy.NamePrecisionAt1: 1})
}

// TestSelfRemoval checks PML's return_results: a query's own index is
// removed wherever it is; when it is absent the last neighbour goes.
func TestSelfRemoval(t *testing.T) {
	// Duplicated points: the search may return the twin before the query
	// itself, which must still be the one removed.
	rows := [][]int{{1, 0, 2}, {0, 2, 1}, {0, 1, 2}}
	c := &accuracy.Calculator{
		K: accuracy.KInt(2),
		KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			if k != 3 {
				t.Errorf("searched k = %d, want 3", k)
			}
			return knn.Result{K: 3, Indices: slices.Concat(rows...), Distances: []float32{0, 0, 1, 0, 1, 2, 0, 0, 3}}, nil
		},
	}
	var got knn.Result
	c.Metrics = []accuracy.Metric{accuracy.CustomMetric{MetricName: "capture", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		got = in.KNN
		return accuracy.Value{}, nil
	}}}
	c.Include = []string{"capture"}
	if _, err := c.SelfAccuracy(column(0, 0, 1), []int{1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	// Row 0 drops index 0 (position 1), row 1 drops 1 (position 2), row 2
	// drops 2 (position 2).
	wantIdx := []int{1, 2, 0, 2, 0, 1}
	wantDist := []float32{0, 1, 0, 1, 0, 0}
	if got.K != 2 || !slices.Equal(got.Indices, wantIdx) || !slices.Equal(got.Distances, wantDist) {
		t.Errorf("got %+v, want indices %v distances %v", got, wantIdx, wantDist)
	}

	// A row without its own index loses its last neighbour (rows 0 and 2).
	c.K = accuracy.KInt(1)
	c.KNN = func(q, r gometric.Matrix, k int) (knn.Result, error) {
		return knn.Result{K: 2, Indices: []int{1, 2, 1, 0, 3, 0, 3, 2}}, nil
	}
	if _, err := c.SelfAccuracy(column(0, 0, 1, 1), []int{1, 1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 0, 3, 2}; got.K != 1 || !slices.Equal(got.Indices, want) || got.Distances != nil {
		t.Errorf("self match absent: got %+v, want %v", got, want)
	}
}

func TestKNNIndexAdapter(t *testing.T) {
	c := &accuracy.Calculator{
		K:       accuracy.KMaxBinCount(),
		Exclude: []string{accuracy.NameNMI, accuracy.NameAMI},
		KNN: accuracy.IndexKNN(func(d int) (knn.Index, error) {
			return knn.NewExact(d, knn.L2), nil
		}),
	}
	got, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, got, want{
		accuracy.NamePrecisionAt1:            2.0 / 5,
		accuracy.NameRPrecision:              (0.5 + 0.5) / 5,
		accuracy.NameMeanAveragePrecisionAtR: (0.5 + 0.5) / 5,
		accuracy.NameMeanAveragePrecision:    (0.5 + 0.5 + 0.5) / 5,
		accuracy.NameMeanReciprocalRank:      (1 + 1 + 0.5) / 5,
	})
	c.KNN = accuracy.IndexKNN(nil)
	if _, err := c.SelfAccuracy(handX, handLabels); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil newIndex: %v", err)
	}
}

func TestKString(t *testing.T) {
	for _, tc := range []struct {
		k    accuracy.K
		want string
	}{{accuracy.KInt(5), "5"}, {accuracy.KAll(), "None"}, {accuracy.K{}, "None"}, {accuracy.KMaxBinCount(), "max_bin_count"}} {
		if g := tc.k.String(); g != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.k, g, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	nan := column(0, float32(math.NaN()), 2)
	inf := column(0, 1, float32(math.Inf(1)))
	two := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{0, 0, 1, 1}}
	l3 := []int{1, 1, 2}
	failKNN := func(gometric.Matrix, gometric.Matrix, int) (knn.Result, error) {
		return knn.Result{}, errors.New("search failed")
	}
	noKM := []string{"NMI", "AMI"}
	tests := []struct {
		name     string
		calc     accuracy.Calculator
		run      func(c *accuracy.Calculator) error
		sentinel error
		msg      string
	}{
		{"dimension mismatch", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1), []int{1, 1}, two, []int{1, 1}, false)
			return err
		}, gometric.ErrShape, "dimension"},
		{"k = 0", accuracy.Calculator{K: accuracy.KInt(0)}, self(handX, handLabels), gometric.ErrSetting, "k = 0"},
		{"k < 0", accuracy.Calculator{K: accuracy.KInt(-3)}, self(handX, handLabels), gometric.ErrSetting, "k = -3"},
		{"k too large (self)", accuracy.Calculator{K: accuracy.KInt(6), Exclude: noKM}, self(handX, handLabels), gometric.ErrSetting, "larger than the reference"},
		{"k too large", accuracy.Calculator{K: accuracy.KInt(3), Exclude: noKM}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0), []int{1}, column(1, 2), []int{1, 1}, false)
			return err
		}, gometric.ErrSetting, "larger than the reference"},
		{"NaN query", accuracy.Calculator{}, self(nan, l3), gometric.ErrNonFinite, "query"},
		{"Inf reference", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1, 2), l3, inf, l3, false)
			return err
		}, gometric.ErrNonFinite, "reference"},
		{"empty query", accuracy.Calculator{}, self(gometric.Matrix{}, nil), gometric.ErrShape, "empty"},
		{"empty reference", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0), []int{1}, gometric.Matrix{Cols: 1}, nil, false)
			return err
		}, gometric.ErrShape, "reference is empty"},
		{"ragged data", accuracy.Calculator{}, self(gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1}}, []int{1, 1}), gometric.ErrShape, "values"},
		{"query label count", accuracy.Calculator{}, self(handX, handLabels[:5]), gometric.ErrLabels, "query labels"},
		{"reference label count", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0), []int{1}, column(1, 2), []int{1}, false)
			return err
		}, gometric.ErrLabels, "reference labels"},
		{"max_bin_count, all lone (self)", accuracy.Calculator{K: accuracy.KMaxBinCount(), Exclude: noKM}, self(column(0, 1, 2), []int{1, 2, 3}), gometric.ErrLabels, "lone"},
		{"max_bin_count, all lone", accuracy.Calculator{K: accuracy.KMaxBinCount(), Exclude: noKM}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1), []int{1, 2}, column(1, 2), []int{3, 4}, false)
			return err
		}, gometric.ErrLabels, "lone"},
		{"k = None, single reference", accuracy.Calculator{Exclude: noKM}, self(column(0), []int{1}), gometric.ErrShape, "None"},
		{"unknown include", accuracy.Calculator{Include: []string{"precision_at_2"}}, self(handX, handLabels), gometric.ErrSetting, "precision_at_2"},
		{"unknown exclude", accuracy.Calculator{Exclude: []string{"nmi"}}, self(handX, handLabels), gometric.ErrSetting, `"nmi"`},
		{"avg_of_avgs and return_per_class", accuracy.Calculator{AvgOfAvgs: true, ReturnPerClass: true}, self(handX, handLabels), gometric.ErrSetting, "mutually exclusive"},
		{"nil metric", accuracy.Calculator{Metrics: []accuracy.Metric{nil}}, self(handX, handLabels), gometric.ErrSetting, "nil"},
		{"unnamed metric", accuracy.Calculator{Metrics: []accuracy.Metric{accuracy.CustomMetric{}}}, self(handX, handLabels), gometric.ErrSetting, "empty name"},
		{"duplicate metric", accuracy.Calculator{Metrics: []accuracy.Metric{accuracy.CustomMetric{MetricName: "a"}, accuracy.CustomMetric{MetricName: "a"}}}, self(handX, handLabels), gometric.ErrSetting, "two user metrics"},
		{"metric without func", accuracy.Calculator{Metrics: []accuracy.Metric{accuracy.CustomMetric{MetricName: "a"}}, Include: []string{"a"}}, self(handX, handLabels), gometric.ErrSetting, "no Func"},
		{"reference does not start with query", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1), []int{1, 1}, column(0, 1.5, 2), []int{1, 1, 1}, true)
			return err
		}, gometric.ErrShape, "differs"},
		{"reference labels do not start with query labels", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1), []int{1, 1}, column(0, 1, 2), []int{1, 2, 1}, true)
			return err
		}, gometric.ErrLabels, "reference label 1"},
		{"reference shorter than query", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.Accuracy(column(0, 1), []int{1, 1}, column(0), []int{1}, true)
			return err
		}, gometric.ErrShape, "fewer"},
		{"knn fails", accuracy.Calculator{KNN: failKNN, Exclude: noKM}, self(handX, handLabels), nil, "search failed"},
		{"knn wrong K", accuracy.Calculator{Exclude: noKM, KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			return knn.Result{K: k - 1, Indices: make([]int, q.Rows*(k-1))}, nil
		}}, self(handX, handLabels), gometric.ErrShape, "K ="},
		{"knn short", accuracy.Calculator{Exclude: noKM, KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			return knn.Result{K: k, Indices: make([]int, 1)}, nil
		}}, self(handX, handLabels), gometric.ErrShape, "indices"},
		{"knn bad distances", accuracy.Calculator{Exclude: noKM, KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			return knn.Result{K: k, Indices: make([]int, q.Rows*k), Distances: []float32{1}}, nil
		}}, self(handX, handLabels), gometric.ErrShape, "distances"},
		{"knn index out of range", accuracy.Calculator{Exclude: noKM, KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			idx := make([]int, q.Rows*k)
			idx[3] = r.Rows
			return knn.Result{K: k, Indices: idx}, nil
		}}, self(handX, handLabels), gometric.ErrIndex, "outside"},
		{"kmeans fails", accuracy.Calculator{Include: []string{"NMI"}, KMeans: func(gometric.Matrix, int) ([]int, error) {
			return nil, errors.New("no convergence")
		}}, self(handX, handLabels), nil, "no convergence"},
		{"kmeans wrong length", accuracy.Calculator{Include: []string{"AMI"}, KMeans: byLabel([]int{1})}, self(handX, handLabels), gometric.ErrShape, "cluster labels"},
		{"FromKNN no neighbours", accuracy.Calculator{Exclude: noKM}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}, ReferenceLabels: []int{1}})
			return err
		}, gometric.ErrShape, "K = 0"},
		{"FromKNN no queries", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{ReferenceLabels: []int{1}})
			return err
		}, gometric.ErrShape, "no query labels"},
		{"FromKNN no references", accuracy.Calculator{}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}})
			return err
		}, gometric.ErrShape, "no reference labels"},
		{"FromKNN cluster count", accuracy.Calculator{Include: []string{"NMI"}}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1, 2}, ReferenceLabels: []int{1}, ClusterLabels: []int{0}})
			return err
		}, gometric.ErrLabels, "cluster labels"},
		{"FromKNN index out of range", accuracy.Calculator{Exclude: noKM}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}, ReferenceLabels: []int{1, 1}, KNN: knn.Result{K: 1, Indices: []int{2}}})
			return err
		}, gometric.ErrIndex, "outside"},
		{"FromKNN labels not a prefix", accuracy.Calculator{Exclude: noKM}, func(c *accuracy.Calculator) error {
			_, err := c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}, ReferenceLabels: []int{2, 1}, RefIncludesQuery: true, KNN: knn.Result{K: 1, Indices: []int{1}}})
			return err
		}, gometric.ErrLabels, "start with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.calc
			err := tc.run(&c)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), "accuracy.") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q: want an accuracy.* message containing %q", err, tc.msg)
			}
		})
	}
}

// self runs SelfAccuracy on x and labels.
func self(x gometric.Matrix, labels []int) func(c *accuracy.Calculator) error {
	return func(c *accuracy.Calculator) error {
		_, err := c.SelfAccuracy(x, labels)
		return err
	}
}

// TestLargeLabels shows that labels above 2^24 stay distinct (PML's float32
// cast would merge 16777216 and 16777217).
func TestLargeLabels(t *testing.T) {
	labels := []int{1 << 24, 1<<24 + 1, 1 << 24, 1<<24 + 1}
	c := &accuracy.Calculator{K: accuracy.KInt(1), Include: []string{accuracy.NamePrecisionAt1}}
	got, err := c.SelfAccuracy(column(0, 1, 10, 11), labels)
	if err != nil {
		t.Fatal(err)
	}
	// Nearest neighbours: 0↔1 and 10↔11, all of another label.
	checkResults(t, got, want{accuracy.NamePrecisionAt1: 0})
}
