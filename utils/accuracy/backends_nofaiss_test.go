//go:build !faiss

package accuracy_test

import (
	"errors"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
)

// Without the faiss tag, PML's FAISS backends report that they are missing.
func TestFaissBackendsUnsupported(t *testing.T) {
	c := &accuracy.Calculator{KNN: accuracy.FaissKNN, Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
	if _, err := c.SelfAccuracy(handX, handLabels); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("FaissKNN: %v, want ErrUnsupported", err)
	}
	c = &accuracy.Calculator{KMeans: accuracy.FaissKMeans, Include: []string{accuracy.NameNMI}}
	if _, err := c.SelfAccuracy(handX, handLabels); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("FaissKMeans: %v, want ErrUnsupported", err)
	}
}
