package accuracy_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

var knnNames = []string{
	accuracy.NamePrecisionAt1,
	accuracy.NameRPrecision,
	accuracy.NameMeanAveragePrecisionAtR,
	accuracy.NameMeanAveragePrecision,
	accuracy.NameMeanReciprocalRank,
}

// close reports |got−want| ≤ abs + rel·|want|.
func close(got, want, rel, abs float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return testkit.Close(got, want, rel, abs)
}

// sqDist is the squared L2 distance of two float32 rows, in float64.
func sqDist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// exactKNNFuncs are the knn_func descriptions of the generator whose
// neighbours an exact L2 search reproduces: PML's default FaissKNN
// (IndexFlatL2) and its fallback CustomKNN over LpDistance.
var exactKNNFuncs = []string{
	"FaissKNN (PML default, faiss.IndexFlatL2, CPU)",
	"CustomKNN(LpDistance(normalize_embeddings=False)) exact",
}

// checkBackends reads a case's knn_func and kmeans_func: the recorded
// neighbours must come from an exact L2 search (what ExactKNN and FaissKNN
// compute), the clusters from PML's FaissKMeans with PMLKMeansIter
// iterations and FAISS's default seed 1234 (knn.FaissKMeansSeed), what
// FaissKMeans computes.
func checkBackends(t *testing.T, c *pmlcase.Case) {
	t.Helper()
	knnFunc, err := c.OutputString("knn_func")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(exactKNNFuncs, knnFunc) {
		t.Fatalf("knn_func %q is not an exact L2 search (%q)", knnFunc, exactKNNFuncs)
	}
	km, err := c.OutputString("kmeans_func")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(km, "FaissKMeans") || !strings.Contains(km, fmt.Sprintf("niter=%d", accuracy.PMLKMeansIter)) || !strings.Contains(km, "seed 1234") {
		t.Fatalf("kmeans_func %q is not PML's FaissKMeans(niter=%d) with FAISS's default seed", km, accuracy.PMLKMeansIter)
	}
}

// TestGolden runs every AccuracyCalculator case recorded from PML:
//   - the full calculation (our kNN search) gives PML's five kNN metrics
//     (1e-5) and PML's k, and its neighbours equal the recorded knn_indices
//     up to exact ties in distance;
//   - FromKNN on the recorded knn_indices and cluster_labels gives all seven
//     of PML's metrics: the kNN ones at 1e-6 relative / 1e-9 absolute, NMI
//     and AMI at 1e-12.
func TestGolden(t *testing.T) {
	pmlcase.Run(t, "accuracy", func(t *testing.T, c *pmlcase.Case) {
		checkBackends(t, c)
		calc, err := pmlcase.AccuracyCalculator(c)
		if err != nil {
			t.Fatal(err)
		}
		in, err := c.AccuracyInput()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{}
		for _, name := range append(knnNames, accuracy.NameNMI, accuracy.NameAMI) {
			var v float64
			ok, err := c.Output(name, &v)
			if err != nil || !ok {
				t.Fatalf("output %q: ok=%v err=%v", name, ok, err)
			}
			want[name] = v
		}
		var wantK int
		var recorded [][]int
		var clusters []int
		for name, dst := range map[string]any{"k": &wantK, "knn_indices": &recorded, "cluster_labels": &clusters} {
			if ok, err := c.Output(name, dst); err != nil || !ok {
				t.Fatalf("output %q: ok=%v err=%v", name, ok, err)
			}
		}

		// Our own search, kNN metrics only (k-means differs from
		// FAISS's, so NMI/AMI are checked from the recorded clusters).
		knnCalc := *calc
		knnCalc.Exclude = append(knnCalc.Exclude, accuracy.NameNMI, accuracy.NameAMI)
		var ours knn.Result // the neighbours the metrics saw
		knnCalc.Metrics = []accuracy.Metric{accuracy.CustomMetric{
			MetricName: "capture",
			KNN:        true,
			Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
				ours = in.KNN
				return accuracy.Value{}, nil
			},
		}}
		var got accuracy.Results
		if in.SelfReference {
			got, err = knnCalc.SelfAccuracy(in.Query, in.QueryLabels)
		} else {
			got, err = knnCalc.Accuracy(in.Query, in.QueryLabels, in.Reference, in.ReferenceLabels, in.RefIncludesQuery)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range knnNames {
			if g := got[name].Scalar; !close(g, want[name], 1e-5, 1e-9) {
				t.Errorf("%s = %.17g, PML %.17g", name, g, want[name])
			}
		}
		if len(got) != len(knnNames)+1 {
			t.Errorf("got metrics %v", got.Names())
		}

		// Neighbours (self match removed) must equal PML's up to exact
		// ties in distance.
		if ours.K != wantK {
			t.Fatalf("k = %d, PML k = %d", ours.K, wantK)
		}
		if len(recorded) != in.Query.Rows {
			t.Fatalf("%d recorded rows for %d queries", len(recorded), in.Query.Rows)
		}
		ties := 0
		for q, row := range recorded {
			mine := ours.Indices[q*wantK : (q+1)*wantK]
			if len(row) != wantK {
				t.Fatalf("query %d: %d recorded neighbours, k = %d", q, len(row), wantK)
			}
			for j := range row {
				if row[j] == mine[j] {
					continue
				}
				qr := in.Query.Row(q)
				da, db := sqDist(qr, in.Reference.Row(row[j])), sqDist(qr, in.Reference.Row(mine[j]))
				if !close(da, db, 1e-5, 1e-6) {
					t.Errorf("query %d neighbour %d: PML %d (d²=%.9g), ours %d (d²=%.9g)", q, j, row[j], da, mine[j], db)
				}
				ties++
			}
		}
		if ties > 0 {
			t.Logf("%d neighbour positions differ by an exact tie", ties)
		}

		// The metric half on PML's own neighbours and clusters.
		flat := make([]int, 0, len(recorded)*wantK)
		for _, row := range recorded {
			flat = append(flat, row...)
		}
		from, err := calc.FromKNN(accuracy.Precomputed{
			QueryLabels:      in.QueryLabels,
			ReferenceLabels:  in.ReferenceLabels,
			RefIncludesQuery: in.RefIncludesQuery,
			KNN:              knn.Result{K: wantK, Indices: flat},
			ClusterLabels:    clusters,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range knnNames {
			if g := from[name].Scalar; !close(g, want[name], 1e-6, 1e-9) {
				t.Errorf("FromKNN %s = %.17g, PML %.17g", name, g, want[name])
			}
		}
		for _, name := range []string{accuracy.NameNMI, accuracy.NameAMI} {
			if g := from[name].Scalar; !close(g, want[name], 0, 1e-12) {
				t.Errorf("FromKNN %s = %.17g, PML %.17g", name, g, want[name])
			}
		}
		nmi, err := accuracy.NMI(in.QueryLabels, clusters)
		if err != nil || !close(nmi, want[accuracy.NameNMI], 0, 1e-12) {
			t.Errorf("NMI = %.17g (%v), PML %.17g", nmi, err, want[accuracy.NameNMI])
		}
		ami, err := accuracy.AMI(in.QueryLabels, clusters)
		if err != nil || !close(ami, want[accuracy.NameAMI], 0, 1e-12) {
			t.Errorf("AMI = %.17g (%v), PML %.17g", ami, err, want[accuracy.NameAMI])
		}
	})
}
