package trainers_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/trainers"
)

func roles(cs []trainers.Component) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Role+":"+c.Kind.String())
	}
	return out
}

// Every trainer lists its parts by PML's keys, and each part saves and
// loads back.
func TestComponents(t *testing.T) {
	ds := blobs(t, 1, 48, 4, 4, 0.1)
	plain := mlpTrainer(t, ds, 1)

	full := mlpTrainer(t, ds, 1)
	emb, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 4}, Seed: 2})
	full.Embedder, full.EmbedderOptimizer = emb, mustOpt(t)
	arc, err := losses.NewArcFace(4, 4, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	full.Loss, full.LossOptimizer = arc, mustOpt(t)
	s1, _ := models.NewStepLR(full.Optimizer, 1, 0.5)
	s2, _ := models.NewExponentialLR(full.EmbedderOptimizer, 0.5)
	full.LRSchedulersByIteration = []models.LRScheduler{s1}
	full.LRSchedulersByEpoch = []models.LRScheduler{s2}

	twc, _ := classifierTrainer(t, ds, 1, 4)
	frozen := mlpTrainer(t, ds, 1)
	frozen.Optimizer = nil

	arc0, err := losses.NewArcFace(4, 4, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	ce := trainers.NewCascadedEmbeddings([]int{4, 4}, plain.Encoder, plain.Optimizer, 16, []losses.Loss{arc0, losses.NewContrastive()}, ds)
	clf1, _ := models.NewMLP(models.MLPConfig{Sizes: []int{4, 4}, Seed: 3})
	ce.Classifiers = []models.InputGradStepper{nil, clf1}
	ce.ClassifierOptimizers = []*models.Optimizer{nil, mustOpt(t)}
	ce.LossOptimizers = []*models.Optimizer{mustOpt(t)}
	daml, _ := damlTrainer(t, ds, 1, true, 4)

	tests := []struct {
		name string
		cs   []trainers.Component
		want []string
	}{
		{"MetricLossOnly", plain.Components(), []string{"trunk:model", "trunk_optimizer:optimizer"}},
		{"MetricLossOnly with every part", full.Components(), []string{"trunk:model", "trunk_optimizer:optimizer", "embedder:model", "embedder_optimizer:optimizer",
			"metric_loss:loss", "metric_loss_optimizer:optimizer", "lr_scheduler_by_iteration_0:scheduler", "lr_scheduler_by_epoch_0:scheduler"}},
		{"no optimizer", frozen.Components(), []string{"trunk:model"}},
		{"TrainWithClassifier", twc.Components(), []string{"trunk:model", "trunk_optimizer:optimizer", "classifier:model", "classifier_optimizer:optimizer"}},
		{"Base", trainers.NewBase(plain.Encoder, plain.Optimizer, 16, ds, nil).Components(), []string{"trunk:model", "trunk_optimizer:optimizer"}},
		{"CascadedEmbeddings", ce.Components(), []string{"trunk:model", "trunk_optimizer:optimizer", "classifier_1:model", "classifier_1_optimizer:optimizer",
			"metric_loss_0:loss", "metric_loss_0_optimizer:optimizer"}},
		{"DeepAdversarialMetricLearning", daml.Components(), []string{"trunk:model", "trunk_optimizer:optimizer", "embedder:model", "embedder_optimizer:optimizer",
			"classifier:model", "classifier_optimizer:optimizer", "generator:model", "generator_optimizer:optimizer"}},
		{"nil CascadedEmbeddings", (*trainers.CascadedEmbeddings)(nil).Components(), nil},
		{"nil DeepAdversarialMetricLearning", (*trainers.DeepAdversarialMetricLearning)(nil).Components(), nil},
		{"nil MetricLossOnly", (*trainers.MetricLossOnly)(nil).Components(), nil},
		{"nil TrainWithClassifier", (*trainers.TrainWithClassifier)(nil).Components(), nil},
		{"nil TwoStreamMetricLoss", (*trainers.TwoStreamMetricLoss)(nil).Components(), nil},
		{"nil Base", (*trainers.Base)(nil).Components(), nil},
		{"zero MetricLossOnly", (&trainers.MetricLossOnly{}).Components(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := roles(tc.cs); !slices.Equal(got, tc.want) {
				t.Errorf("components %q, want %q", got, tc.want)
			}
			dir := t.TempDir()
			for _, c := range tc.cs {
				if (c.Model != nil) != (c.Kind == trainers.ModelComponent) {
					t.Errorf("%s: Model %v for kind %v", c.Role, c.Model, c.Kind)
				}
				p := filepath.Join(dir, c.Role)
				if err := c.Save(p); err != nil {
					t.Fatalf("%s: %v", c.Role, err)
				}
				if err := c.Load(p); err != nil {
					t.Fatalf("%s: %v", c.Role, err)
				}
				again := p + ".again"
				if err := c.Save(again); err != nil {
					t.Fatal(err)
				}
				a, _ := os.ReadFile(p)
				b, _ := os.ReadFile(again)
				if !bytes.Equal(a, b) {
					t.Errorf("%s: saved, loaded and saved again differs", c.Role)
				}
			}
		})
	}
	if s := trainers.ComponentKind(9).String(); s != "ComponentKind(9)" {
		t.Errorf("String() = %q", s)
	}
}

func mustOpt(t testing.TB) *models.Optimizer {
	t.Helper()
	opt, err := models.NewOptimizer("adam", 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}
