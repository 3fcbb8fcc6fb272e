package accuracy_test

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// Two well-separated classes in 2-D, evaluated against themselves (PML's
// get_accuracy(query, labels)) with every metric.
func ExampleCalculator_SelfAccuracy() {
	emb := gometric.Matrix{Rows: 6, Cols: 2, Data: []float32{
		0, 0, 0.1, 0, 0, 0.2, // class 1
		5, 5, 5.2, 5, 9, 9, // class 2, its last point far out
	}}
	labels := []int{1, 1, 1, 2, 2, 2}
	calc := accuracy.NewCalculator()
	calc.K = accuracy.KMaxBinCount()
	res, err := calc.SelfAccuracy(emb, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range res.Names() {
		fmt.Printf("%s %.4f\n", name, res[name].Scalar)
	}
	// Output:
	// AMI 1.0000
	// NMI 1.0000
	// mean_average_precision 1.0000
	// mean_average_precision_at_r 1.0000
	// mean_reciprocal_rank 1.0000
	// precision_at_1 1.0000
	// r_precision 1.0000
}

// Metrics from neighbours computed elsewhere, per class.
func ExampleCalculator_FromKNN() {
	calc := &accuracy.Calculator{
		ReturnPerClass: true,
		Include:        []string{accuracy.NamePrecisionAt1, accuracy.NameMeanReciprocalRank},
	}
	res, err := calc.FromKNN(accuracy.Precomputed{
		QueryLabels:     []int{1, 1, 2},
		ReferenceLabels: []int{1, 2, 2, 1},
		// Two neighbours per query, nearest first.
		KNN: knn.Result{K: 2, Indices: []int{0, 1, 1, 3, 0, 2}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range res.Names() {
		fmt.Println(name, res[name].Classes, res[name].PerClass)
	}
	// Output:
	// mean_reciprocal_rank [1 2] [0.75 0.5]
	// precision_at_1 [1 2] [0.5 0]
}

// A user-defined metric: the share of queries with a match among their
// first two neighbours.
func ExampleCustomMetric() {
	recallAt2 := accuracy.CustomMetric{
		MetricName: "recall_at_2",
		KNN:        true,
		Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
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
		},
	}
	calc := &accuracy.Calculator{
		K:       accuracy.KInt(2),
		Metrics: []accuracy.Metric{recallAt2},
		Include: []string{"recall_at_2", accuracy.NamePrecisionAt1},
	}
	emb := gometric.Matrix{Rows: 5, Cols: 1, Data: []float32{0, 1, 3, 4.5, 5}}
	res, err := calc.SelfAccuracy(emb, []int{1, 2, 1, 2, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("precision_at_1 %.2f recall_at_2 %.2f\n", res[accuracy.NamePrecisionAt1].Scalar, res["recall_at_2"].Scalar)
	// Output:
	// precision_at_1 0.40 recall_at_2 0.60
}

func ExampleNMI() {
	labels := []int{0, 0, 0, 1, 1, 1}
	clusters := []int{0, 0, 1, 1, 2, 2}
	nmi, _ := accuracy.NMI(labels, clusters)
	ami, _ := accuracy.AMI(labels, clusters)
	fmt.Printf("NMI %.6f AMI %.6f\n", nmi, ami)
	// Output:
	// NMI 0.515804 AMI 0.298792
}

// ExampleResults_Warnings shows PML's warning for an integer k below the
// largest class: r_precision and MAP@R are then truncated, and their
// Values say so instead of a log line.
func ExampleResults_Warnings() {
	x := gometric.Matrix{Rows: 5, Cols: 1, Data: []float32{0, 1, 2, 10, 11}}
	labels := []int{1, 1, 1, 2, 2}
	c := &accuracy.Calculator{K: accuracy.KInt(1), Include: []string{accuracy.NamePrecisionAt1, accuracy.NameRPrecision}}
	res, err := c.SelfAccuracy(x, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range res.Warnings() {
		fmt.Println(w)
	}
	// Output:
	// r_precision: k (1) is less than the max bin count (3) so the value of this metric will be incorrect (PML warns likewise); to fix this, set K to KMaxBinCount()
}
