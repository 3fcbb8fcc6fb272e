//go:build faiss

package accuracy_test

import (
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// TestGoldenFaiss runs the golden cases end to end with PML's own backends,
// FAISS's IndexFlatL2 and k-means (FaissKNN, FaissKMeans), through the
// strict harness: all seven metrics must be PML's (NMI and AMI to 1e-12),
// k and the neighbours (self match removed) PML's exactly — the same FAISS
// search, the same tie order — and the k-means assignment PML's exactly
// (the same FAISS k-means, the same seed).
func TestGoldenFaiss(t *testing.T) {
	pmlcase.Run(t, "accuracy", func(t *testing.T, c *pmlcase.Case) {
		checkBackends(t, c)
		calc, err := pmlcase.AccuracyCalculator(c)
		if err != nil {
			t.Fatal(err)
		}
		var clusters []int
		calc.KNN = accuracy.FaissKNN
		calc.KMeans = func(x gometric.Matrix, k int) ([]int, error) {
			a, err := accuracy.FaissKMeans(x, k)
			clusters = slices.Clone(a)
			return a, err
		}
		var ours knn.Result
		calc.Metrics = []accuracy.Metric{accuracy.CustomMetric{MetricName: "capture", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
			ours = knn.Result{K: in.KNN.K, Indices: slices.Clone(in.KNN.Indices)}
			return accuracy.Value{}, nil
		}}}
		in, err := c.AccuracyInput()
		if err != nil {
			t.Fatal(err)
		}
		var got accuracy.Results
		if in.SelfReference {
			got, err = calc.SelfAccuracy(in.Query, in.QueryLabels)
		} else {
			got, err = calc.Accuracy(in.Query, in.QueryLabels, in.Reference, in.ReferenceLabels, in.RefIncludesQuery)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range append(knnNames, accuracy.NameNMI, accuracy.NameAMI) {
			var want float64
			if ok, err := c.Output(name, &want); err != nil || !ok {
				t.Fatalf("output %q: present %v, %v", name, ok, err)
			}
			rel, abs := 1e-5, 1e-9
			if name == accuracy.NameNMI || name == accuracy.NameAMI {
				rel, abs = 0, 1e-12 // FAISS's k-means gives PML's clusters
			}
			if g := got[name].Scalar; !close(g, want, rel, abs) {
				t.Errorf("%s = %.17g, PML %.17g", name, g, want)
			}
		}
		var wantK int
		var recorded [][]int
		var wantClusters []int
		for name, dst := range map[string]any{"k": &wantK, "knn_indices": &recorded, "cluster_labels": &wantClusters} {
			if ok, err := c.Output(name, dst); err != nil || !ok {
				t.Fatalf("output %q: present %v, %v", name, ok, err)
			}
		}
		if ours.K != wantK {
			t.Fatalf("k = %d, PML %d", ours.K, wantK)
		}
		if want := slices.Concat(recorded...); !slices.Equal(ours.Indices, want) {
			t.Errorf("neighbours differ from PML's FAISS search\n got %v\nwant %v", ours.Indices, want)
		}
		if !slices.Equal(clusters, wantClusters) {
			t.Errorf("k-means assignment %v, PML %v", clusters, wantClusters)
		}
	})
}
