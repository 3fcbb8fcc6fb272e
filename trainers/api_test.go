package trainers_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/trainers"
)

// TestAPIConventions: every exported struct type is covered (checked
// against the source) and its doc says whether it is safe for concurrent
// use; every method of a nil or zero *MetricLossOnly returns an error
// wrapping ErrSetting (EpochInfo and IterationInfo are plain results).
func TestAPIConventions(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Base", "BatchLoss", "Component", "CascadedEmbeddings", "DeepAdversarialMetricLearning", "EpochInfo", "IterationInfo", "MetricLossOnly", "TrainWithClassifier", "TwoStreamMetricLoss"})
	testkit.CheckConcurrencyDocs(t, ".")
	ty := reflect.TypeFor[*trainers.MetricLossOnly]()
	for method, err := range testkit.NilReceiver(t, ty) {
		if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "trainers.MetricLossOnly."+method+": nil receiver") {
			t.Errorf("nil receiver %s: %v, want an ErrSetting naming the method", method, err)
		}
	}
	// Without arguments the nil context is reported first;
	// TestSettingsErrors checks that a zero trainer given a context names
	// NewMetricLossOnly.
	for method, err := range testkit.ZeroValue(t, ty) {
		if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "trainers.MetricLossOnly") {
			t.Errorf("zero value %s: %v, want an ErrSetting naming the trainer", method, err)
		}
	}
	for _, tc := range []struct {
		ty   reflect.Type
		name string
	}{{reflect.TypeFor[*trainers.Base](), "trainers.Base"}, {reflect.TypeFor[*trainers.TrainWithClassifier](), "trainers.TrainWithClassifier"}, {reflect.TypeFor[*trainers.TwoStreamMetricLoss](), "trainers.TwoStreamMetricLoss"}, {reflect.TypeFor[*trainers.CascadedEmbeddings](), "trainers.CascadedEmbeddings"}, {reflect.TypeFor[*trainers.DeepAdversarialMetricLearning](), "trainers.DeepAdversarialMetricLearning"}} {
		for method, err := range testkit.NilReceiver(t, tc.ty) {
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), tc.name+"."+method+": nil receiver") {
				t.Errorf("nil receiver %s.%s: %v", tc.name, method, err)
			}
		}
		for method, err := range testkit.ZeroValue(t, tc.ty) {
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), tc.name) {
				t.Errorf("zero value %s.%s: %v, want an ErrSetting naming the trainer", tc.name, method, err)
			}
		}
	}
}
