package accuracy_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// TestRunawayK: a k such as math.MaxInt or a precomputed K whose product
// with the query count overflows is a clear error (it used to overflow
// the checks and index out of range), never a panic or an allocation.
func TestRunawayK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := testkit.NormalMatrix(rng, 12, 3)
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	calc := func(k accuracy.K) *accuracy.Calculator {
		return &accuracy.Calculator{K: k, Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
	}
	pre := func(k int, idx []int) accuracy.Precomputed {
		return accuracy.Precomputed{QueryLabels: labels[:4], ReferenceLabels: labels, KNN: knn.Result{K: k, Indices: idx}}
	}
	cases := []struct {
		name string
		call func() error
		want error
		text string
	}{
		{"SelfAccuracy k MaxInt", func() error { _, err := calc(accuracy.KInt(math.MaxInt)).SelfAccuracy(x, labels); return err }, gometric.ErrSetting, "9223372036854775807"},
		{"SelfAccuracy k 1e18", func() error { _, err := calc(accuracy.KInt(1e18)).SelfAccuracy(x, labels); return err }, gometric.ErrSetting, "1000000000000000000"},
		{"SelfAccuracy k 12 (the reference)", func() error { _, err := calc(accuracy.KInt(12)).SelfAccuracy(x, labels); return err }, gometric.ErrSetting, "12"},
		{"SelfAccuracy k 11", func() error { _, err := calc(accuracy.KInt(11)).SelfAccuracy(x, labels); return err }, nil, ""},
		{"Accuracy k MaxInt", func() error {
			_, err := calc(accuracy.KInt(math.MaxInt)).Accuracy(x, labels, x, labels, false)
			return err
		}, gometric.ErrSetting, "9223372036854775807"},
		{"Accuracy k MaxInt, ref includes query", func() error {
			_, err := calc(accuracy.KInt(math.MaxInt)).Accuracy(x, labels, x, labels, true)
			return err
		}, gometric.ErrSetting, "9223372036854775807"},
		{"FromKNN K 2^62 without indices", func() error { _, err := calc(accuracy.KAll()).FromKNN(pre(1<<62, nil)); return err }, gometric.ErrShape, "4611686018427387904"},
		{"FromKNN K MaxInt", func() error { _, err := calc(accuracy.KAll()).FromKNN(pre(math.MaxInt, []int{0, 1, 2, 3})); return err }, gometric.ErrShape, "9223372036854775807"},
		{"FromKNN K MinInt", func() error { _, err := calc(accuracy.KAll()).FromKNN(pre(math.MinInt, nil)); return err }, gometric.ErrShape, "-9223372036854775808"},
		{"FromKNN K 1", func() error { _, err := calc(accuracy.KAll()).FromKNN(pre(1, []int{3, 4, 5, 6})); return err }, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "accuracy.") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an error wrapping %v naming the calculator and %s", err, tc.want, tc.text)
			}
		})
	}
}

// TestExtremeLabels: labels (and cluster labels) such as 10^18,
// math.MaxInt and math.MinInt give exactly the metrics of small labels in
// the same order.
func TestExtremeLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := testkit.NormalMatrix(rng, 13, 3)
	small := []int{0, 1, 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 2}
	ext := testkit.Relabel(small, testkit.ExtremeLabels())
	clusters := []int{1, 0, 2, 2, 0, 1, 3, 3, 4, 5, 5, 4, 0}
	extClusters := testkit.Relabel(clusters, testkit.ExtremeLabels())
	calc := func(cl []int) *accuracy.Calculator {
		return &accuracy.Calculator{K: accuracy.KMaxBinCount(), KMeans: func(q gometric.Matrix, _ int) ([]int, error) { return cl[:q.Rows], nil }}
	}
	for _, run := range []struct {
		name string
		f    func(labels, clusters []int) (accuracy.Results, error)
	}{
		{"SelfAccuracy", func(l, cl []int) (accuracy.Results, error) { return calc(cl).SelfAccuracy(x, l) }},
		{"Accuracy", func(l, cl []int) (accuracy.Results, error) {
			return calc(cl).Accuracy(gometric.Matrix{Rows: 6, Cols: x.Cols, Data: x.Data[:6*x.Cols]}, l[:6], x, l, false)
		}},
		{"FromKNN", func(l, cl []int) (accuracy.Results, error) {
			return calc(cl).FromKNN(accuracy.Precomputed{QueryLabels: l[:4], ReferenceLabels: l, KNN: knn.Result{K: 2, Indices: []int{3, 4, 5, 6, 7, 8, 9, 0}},
				ClusterLabels: cl[:4]})
		}},
	} {
		want, err := run.f(small, clusters)
		if err != nil {
			t.Fatalf("%s, small labels: %v", run.name, err)
		}
		got, err := run.f(ext, extClusters)
		if err != nil {
			t.Fatalf("%s, extreme labels: %v", run.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: extreme labels give %v, small ones %v", run.name, got, want)
		}
	}
}
