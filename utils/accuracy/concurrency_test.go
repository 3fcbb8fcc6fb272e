package accuracy_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// concurrentCalculator shares c and the inputs between goroutines (run
// with -race): SelfAccuracy, Accuracy and FromKNN give every goroutine
// the results (and warnings) of a lone call.
func concurrentCalculator(t *testing.T, c *accuracy.Calculator) {
	t.Helper()
	pre := accuracy.Precomputed{QueryLabels: handLabels[:3], ReferenceLabels: handLabels, RefIncludesQuery: true,
		KNN: knn.Result{K: 2, Indices: []int{1, 3, 0, 3, 4, 5}}, ClusterLabels: []int{0, 0, 1}}
	wantS, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	q := gometric.Matrix{Rows: 3, Cols: handX.Cols, Data: handX.Data[:3*handX.Cols]}
	wantA, err := c.Accuracy(q, handLabels[:3], handX, handLabels, true)
	if err != nil {
		t.Fatal(err)
	}
	wantP, err := c.FromKNN(pre)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 2, func(int) error {
		got, err := c.SelfAccuracy(handX, handLabels)
		if err != nil || !reflect.DeepEqual(got, wantS) {
			return fmt.Errorf("concurrent SelfAccuracy: %v", err)
		}
		if got, err = c.Accuracy(q, handLabels[:3], handX, handLabels, true); err != nil || !reflect.DeepEqual(got, wantA) {
			return fmt.Errorf("concurrent Accuracy: %v", err)
		}
		if got, err = c.FromKNN(pre); err != nil || !reflect.DeepEqual(got, wantP) {
			return fmt.Errorf("concurrent FromKNN: %v", err)
		}
		if w := got.Warnings(); !reflect.DeepEqual(w, wantP.Warnings()) {
			return fmt.Errorf("concurrent Warnings %v", w)
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	custom := accuracy.CustomMetric{MetricName: "first_label", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		return accuracy.Value{Scalar: float64(in.KNNLabels[0])}, nil
	}}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Calculator", Run: func(t *testing.T) {
			concurrentCalculator(t, accuracy.NewCalculator())
			concurrentCalculator(t, &accuracy.Calculator{K: accuracy.KInt(1), Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}})
			concurrentCalculator(t, &accuracy.Calculator{K: accuracy.KMaxBinCount(), ReturnPerClass: true})
		}},
		{Type: "CustomMetric", Run: func(t *testing.T) {
			concurrentCalculator(t, &accuracy.Calculator{K: accuracy.KInt(2), Include: []string{"first_label"}, Metrics: []accuracy.Metric{custom}})
		}},
		// Settings and results shared by the goroutines above.
		{Type: "K", Run: func(t *testing.T) {
			concurrentCalculator(t, &accuracy.Calculator{K: accuracy.KAll()})
		}},
		{Type: "Precomputed", Run: func(t *testing.T) { concurrentCalculator(t, accuracy.NewCalculator()) }},
		{Type: "Results", Run: func(t *testing.T) { concurrentCalculator(t, accuracy.NewCalculator()) }},
		{Type: "Value", Run: func(t *testing.T) {
			res, err := accuracy.NewCalculator().SelfAccuracy(handX, handLabels)
			if err != nil {
				t.Fatal(err)
			}
			v := res[accuracy.NamePrecisionAt1]
			testkit.Concurrently(t, 4, 20, func(int) error {
				if c := v; c.Scalar != v.Scalar || len(c.Warnings) != len(v.Warnings) {
					return fmt.Errorf("value %+v", c)
				}
				return nil
			})
		}},
	})
}
