//go:build faiss

package accuracy_test

import (
	"testing"

	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestGoldenFaiss runs the golden cases end to end with PML's own backends,
// FAISS's IndexFlatL2 and k-means (FaissKNN, FaissKMeans): all seven
// metrics, NMI and AMI included, must be PML's (NMI and AMI to 1e-12).
func TestGoldenFaiss(t *testing.T) {
	cases, err := pmlcase.Cases("accuracy")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			calc, err := pmlcase.AccuracyCalculator(c)
			if err != nil {
				t.Fatal(err)
			}
			calc.KNN, calc.KMeans = accuracy.FaissKNN, accuracy.FaissKMeans
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
				if _, err := c.Output(name, &want); err != nil {
					t.Fatal(err)
				}
				rel, abs := 1e-5, 1e-9
				if name == accuracy.NameNMI || name == accuracy.NameAMI {
					rel, abs = 0, 1e-12 // FAISS's k-means gives PML's clusters
				}
				if g := got[name].Scalar; !close(g, want, rel, abs) {
					t.Errorf("%s = %.17g, PML %.17g", name, g, want)
				}
			}
		})
	}
}
