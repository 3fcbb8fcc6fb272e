package accuracy_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// TestWarnings: PML's warnings (k below the max bin count; every query
// lone) and the reasons for non-finite values reach Value.Warnings and
// Results.Warnings, and only where they apply.
func TestWarnings(t *testing.T) {
	knnOnly := []string{accuracy.NameNMI, accuracy.NameAMI}
	// handX / handLabels: match counts 3 (label 1), 2 (label 2), 1 (label
	// 3), so PML's max bin count is 3 for SelfAccuracy.
	tests := []struct {
		name string
		calc *accuracy.Calculator
		run  func(c *accuracy.Calculator) (accuracy.Results, error)
		// want maps each metric to substrings of its warnings, in order;
		// metrics not listed must have none.
		want map[string][]string
		nan  bool // every kNN metric is NaN
	}{
		{"k=1 below max bin count 3", &accuracy.Calculator{K: accuracy.KInt(1), Exclude: knnOnly}, selfHand,
			map[string][]string{
				accuracy.NameRPrecision:              {"k (1) is less than the max bin count (3)"},
				accuracy.NameMeanAveragePrecisionAtR: {"k (1) is less than the max bin count (3) so the value of this metric will be incorrect (PML warns likewise); to fix this, set K to KMaxBinCount(); if you're looking for MAP@1 instead of MAP@R"},
			}, false},
		// PML's condition counts the query itself: k = 2 is exact here but
		// PML still warns, and so does the Calculator.
		{"k=2, PML's condition", &accuracy.Calculator{K: accuracy.KInt(2), Exclude: knnOnly}, selfHand,
			map[string][]string{
				accuracy.NameRPrecision:              {"k (2) is less than the max bin count (3)"},
				accuracy.NameMeanAveragePrecisionAtR: {"k (2) is less than the max bin count (3)"},
			}, false},
		{"k=3", &accuracy.Calculator{K: accuracy.KInt(3), Exclude: knnOnly}, selfHand, nil, false},
		{"max_bin_count", &accuracy.Calculator{K: accuracy.KMaxBinCount(), Exclude: knnOnly}, selfHand, nil, false},
		{"None", &accuracy.Calculator{Exclude: knnOnly}, selfHand, nil, false},
		{"k=1 without the two metrics", &accuracy.Calculator{K: accuracy.KInt(1), Include: []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecision}}, selfHand, nil, false},
		{"k=1, only r_precision", &accuracy.Calculator{K: accuracy.KInt(1), Include: []string{accuracy.NameRPrecision}}, selfHand,
			map[string][]string{accuracy.NameRPrecision: {"k (1) is less than the max bin count (3)"}}, false},
		{"every query lone", &accuracy.Calculator{K: accuracy.KInt(1), Exclude: knnOnly}, func(c *accuracy.Calculator) (accuracy.Results, error) {
			return c.SelfAccuracy(column(0, 1, 2), []int{7, 8, 9})
		}, map[string][]string{
			accuracy.NamePrecisionAt1:            {"none of the query labels are in the reference set"},
			accuracy.NameRPrecision:              {"none of the query labels are in the reference set"},
			accuracy.NameMeanAveragePrecisionAtR: {"none of the query labels are in the reference set"},
			accuracy.NameMeanAveragePrecision:    {"none of the query labels are in the reference set"},
			accuracy.NameMeanReciprocalRank:      {"none of the query labels are in the reference set"},
		}, true},
		{"every query lone, per class", &accuracy.Calculator{K: accuracy.KInt(1), ReturnPerClass: true, Include: []string{accuracy.NamePrecisionAt1}}, func(c *accuracy.Calculator) (accuracy.Results, error) {
			return c.Accuracy(column(0, 1), []int{1, 2}, column(0, 1, 2), []int{3, 4, 5}, false)
		}, map[string][]string{
			accuracy.NamePrecisionAt1: {"none of the query labels are in the reference set"},
		}, true},
		// A custom Compare false for equal labels: R = 0 for a kept query.
		{"R = 0 with a custom Compare", &accuracy.Calculator{K: accuracy.KInt(1), Exclude: knnOnly,
			Compare: func(q, r int) bool { return q != r }}, func(c *accuracy.Calculator) (accuracy.Results, error) {
			return c.SelfAccuracy(column(0, 1), []int{1, 2})
		}, map[string][]string{
			accuracy.NameRPrecision:              {"2 of the 2 kept queries have R = 0"},
			accuracy.NameMeanAveragePrecisionAtR: {"2 of the 2 kept queries have R = 0"},
			accuracy.NameMeanAveragePrecision:    {"2 of the 2 kept queries have R = 0"},
		}, false},
		{"user metric NaN without reason", &accuracy.Calculator{Include: []string{"nan"}, Metrics: []accuracy.Metric{
			accuracy.CustomMetric{MetricName: "nan", Func: func(*accuracy.Inputs) (accuracy.Value, error) {
				return accuracy.Value{Scalar: math.NaN()}, nil
			}}}}, selfHand, map[string][]string{"nan": {"not finite"}}, false},
		{"user metric's own warning kept", &accuracy.Calculator{Include: []string{"w"}, Metrics: []accuracy.Metric{
			accuracy.CustomMetric{MetricName: "w", Func: func(*accuracy.Inputs) (accuracy.Value, error) {
				return accuracy.Value{Scalar: math.NaN(), Warnings: []string{"mine"}}, nil
			}}}}, selfHand, map[string][]string{"w": {"mine"}}, false},
		{"FromKNN K=1 below R=2", &accuracy.Calculator{Include: []string{accuracy.NameRPrecision}}, func(c *accuracy.Calculator) (accuracy.Results, error) {
			return c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}, ReferenceLabels: []int{1, 1, 2},
				KNN: knn.Result{K: 1, Indices: []int{0}}})
		}, map[string][]string{accuracy.NameRPrecision: {"k (1) is less than the max bin count (2)"}}, false},
		{"FromKNN K=1 self-included R=1", &accuracy.Calculator{Include: []string{accuracy.NameRPrecision}}, func(c *accuracy.Calculator) (accuracy.Results, error) {
			return c.FromKNN(accuracy.Precomputed{QueryLabels: []int{1}, ReferenceLabels: []int{1, 1, 2}, RefIncludesQuery: true,
				KNN: knn.Result{K: 1, Indices: []int{1}}})
		}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.run(tc.calc)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, name := range got.Names() {
				v := got[name]
				w := tc.want[name]
				if len(v.Warnings) != len(w) {
					t.Errorf("%s: warnings %q, want %d of them (%q)", name, v.Warnings, len(w), w)
					continue
				}
				for i, sub := range w {
					if !strings.Contains(v.Warnings[i], sub) {
						t.Errorf("%s: warning %q lacks %q", name, v.Warnings[i], sub)
					}
					all = append(all, name+": "+v.Warnings[i])
				}
				if tc.nan && !math.IsNaN(v.Scalar) {
					t.Errorf("%s = %v, want NaN", name, v.Scalar)
				}
				finite := !math.IsNaN(v.Scalar) && !math.IsInf(v.Scalar, 0)
				for _, x := range v.PerClass {
					finite = finite && !math.IsNaN(x)
				}
				if !finite && len(v.Warnings) == 0 {
					t.Errorf("%s = %v (per class %v) with no warning", name, v.Scalar, v.PerClass)
				}
			}
			if !reflect.DeepEqual(got.Warnings(), all) {
				t.Errorf("Results.Warnings() = %q, want %q", got.Warnings(), all)
			}
		})
	}
}

func selfHand(c *accuracy.Calculator) (accuracy.Results, error) {
	return c.SelfAccuracy(handX, handLabels)
}

// TestWarningsDoNotChangeValues: asking for the same metrics with and
// without a warning gives the same numbers.
func TestWarningsDoNotChangeValues(t *testing.T) {
	c := &accuracy.Calculator{K: accuracy.KInt(1), Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
	got, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	c.Include = []string{accuracy.NamePrecisionAt1}
	p1, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	if got[accuracy.NamePrecisionAt1].Scalar != p1[accuracy.NamePrecisionAt1].Scalar {
		t.Error("precision_at_1 changed with the other metrics")
	}
}

// TestZeroAndNil: the zero Calculator is NewCalculator(); the zero K is
// KAll; zero CustomMetric and Precomputed are refused; nil receivers
// return errors and Average on a nil *Inputs does not panic (Value is a
// plain result). Every exported struct type is covered (checked
// against the source), and every type's doc says whether it is safe for
// concurrent use.
func TestZeroAndNil(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Calculator", "CustomMetric", "Inputs", "K", "Precomputed", "Value"})
	testkit.CheckConcurrencyDocs(t, ".")
	for method, err := range testkit.NilReceiver(t, reflect.TypeFor[*accuracy.Calculator]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil Calculator: %s: %v, want ErrSetting", method, err)
		}
	}
	// Average of a nil *Inputs is NaN with a warning (checked below).
	testkit.NilReceiver(t, reflect.TypeFor[*accuracy.Inputs](), "Average")
	x, labels := handX, handLabels
	clusters := accuracy.KMeansFunc(byLabel([]int{0, 0, 1, 0, 1, 2}))
	var nilCalc *accuracy.Calculator
	tests := []struct {
		name string
		call func() (accuracy.Results, error)
		// same, when set, must give the same results as call.
		same func() (accuracy.Results, error)
		want error
	}{
		{"Calculator{} is NewCalculator()",
			func() (accuracy.Results, error) {
				return (&accuracy.Calculator{KMeans: clusters}).SelfAccuracy(x, labels)
			},
			func() (accuracy.Results, error) {
				c := accuracy.NewCalculator()
				c.KMeans = clusters
				return c.SelfAccuracy(x, labels)
			}, nil},
		{"K{} is KAll()",
			func() (accuracy.Results, error) {
				return (&accuracy.Calculator{K: accuracy.K{}, KMeans: clusters}).SelfAccuracy(x, labels)
			},
			func() (accuracy.Results, error) {
				return (&accuracy.Calculator{K: accuracy.KAll(), KMeans: clusters}).SelfAccuracy(x, labels)
			}, nil},
		{"nil Calculator.SelfAccuracy", func() (accuracy.Results, error) { return nilCalc.SelfAccuracy(x, labels) }, nil, gometric.ErrSetting},
		{"nil Calculator.Accuracy", func() (accuracy.Results, error) { return nilCalc.Accuracy(x, labels, x, labels, true) }, nil, gometric.ErrSetting},
		{"nil Calculator.FromKNN", func() (accuracy.Results, error) { return nilCalc.FromKNN(accuracy.Precomputed{}) }, nil, gometric.ErrSetting},
		{"nil Calculator.MetricNames", func() (accuracy.Results, error) { _, err := nilCalc.MetricNames(); return nil, err }, nil, gometric.ErrSetting},
		{"CustomMetric{}", func() (accuracy.Results, error) {
			return (&accuracy.Calculator{Metrics: []accuracy.Metric{accuracy.CustomMetric{}}}).SelfAccuracy(x, labels)
		}, nil, gometric.ErrSetting},
		{"CustomMetric without Func", func() (accuracy.Results, error) {
			_, err := accuracy.CustomMetric{MetricName: "m"}.Compute(&accuracy.Inputs{})
			return nil, err
		}, nil, gometric.ErrSetting},
		{"Precomputed{}", func() (accuracy.Results, error) { return accuracy.NewCalculator().FromKNN(accuracy.Precomputed{}) }, nil, gometric.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call()
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.same()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
		})
	}
	var in *accuracy.Inputs
	if v := in.Average([]float64{1}, []int{1}); !math.IsNaN(v.Scalar) || len(v.Warnings) == 0 {
		t.Errorf("nil Inputs.Average = %+v", v)
	}
	if v := (&accuracy.Inputs{}).Average(nil, nil); !math.IsNaN(v.Scalar) || len(v.Warnings) == 0 {
		t.Errorf("Average of nothing = %+v", v)
	}
	if accuracy.Results(nil).Warnings() != nil {
		t.Error("nil Results has warnings")
	}
}

// TestCalculatorConcurrent backs the Calculator's concurrency claim: one
// Calculator used from several goroutines gives the same results and
// warnings. Run with -race.
func TestCalculatorConcurrent(t *testing.T) {
	c := &accuracy.Calculator{K: accuracy.KInt(1), Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
	want, err := c.SelfAccuracy(handX, handLabels)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 1, func(int) error {
		got, err := c.SelfAccuracy(handX, handLabels)
		if err != nil || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("concurrent SelfAccuracy: %v", err)
		}
		return nil
	})
}
