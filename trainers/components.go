package trainers

import (
	"strconv"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
)

// ComponentKind says what a Component is: a model, an optimizer, a
// learning-rate scheduler or a loss's learnable parameters. Its zero value
// is no kind. It is an int: reading it raises no concurrent-use concern.
type ComponentKind int

// The kinds of a Component.
const (
	// ModelComponent is a model (PML's models dict): Save and Load are
	// models.Encoder's; Model is set.
	ModelComponent ComponentKind = iota + 1
	// OptimizerComponent is an optimizer's state (PML's optimizers
	// dict): models.Optimizer.SaveState and LoadState.
	OptimizerComponent
	// SchedulerComponent is a learning-rate scheduler's state (PML's
	// lr_schedulers dict): models.StateSaver's SaveState and LoadState.
	SchedulerComponent
	// LossComponent is a learnable loss's parameters (PML's loss_funcs
	// dict): losses.SaveParams and losses.LoadParams.
	LossComponent
)

// String is the kind's name: "model", "optimizer", "scheduler", "loss".
func (k ComponentKind) String() string {
	switch k {
	case ModelComponent:
		return "model"
	case OptimizerComponent:
		return "optimizer"
	case SchedulerComponent:
		return "scheduler"
	case LossComponent:
		return "loss"
	}
	return "ComponentKind(" + strconv.Itoa(int(k)) + ")"
}

// Component is one part of a trainer that a checkpoint saves, by PML's
// key: the models ("trunk", "embedder", "classifier"), their optimizers
// ("trunk_optimizer", ...), the learnable metric loss ("metric_loss") and
// its optimizer ("metric_loss_optimizer"), and the schedulers
// ("lr_scheduler_by_iteration_0", "lr_scheduler_by_epoch_0", ... in the
// order of the trainer's slices: PML's lr_schedulers are keyed by the
// user, the trainers' are a slice). Save writes it to a file atomically
// and Load reads it back into the same object. It is what PML's
// HookContainer saves (its saveable_trainer_objects) and what
// utils/logging checkpoints. The zero value has no role, kind, Save or
// Load: utils/logging refuses it with an error wrapping
// gometric.ErrSetting (the trainers' Components methods make them). Its
// Save and Load are not safe for concurrent use with training or with
// each other.
type Component struct {
	// Role is PML's key of the object.
	Role string
	// Kind is what the object is.
	Kind ComponentKind
	// Model is the model of a ModelComponent (nil otherwise).
	Model models.Encoder
	// Save writes the object to path; Load reads it from path.
	Save, Load func(path string) error
}

// Roles of the schedulers, followed by their index.
const (
	roleSchedByIteration = "lr_scheduler_by_iteration_"
	roleSchedByEpoch     = "lr_scheduler_by_epoch_"
)

// modelComponent is a model's component (none for a nil model).
func modelComponent(role string, m models.Encoder) []Component {
	if check.Nil(m) {
		return nil
	}
	return []Component{{Role: role, Kind: ModelComponent, Model: m, Save: m.Save, Load: m.Load}}
}

// stateComponent is an optimizer's or scheduler's component (none for a
// nil one).
func stateComponent(role string, kind ComponentKind, s models.StateSaver) []Component {
	if check.Nil(s) {
		return nil
	}
	return []Component{{Role: role, Kind: kind, Save: s.SaveState, Load: s.LoadState}}
}

// schedulerComponents are the components of the schedulers that save
// their state (models' schedulers all do).
func schedulerComponents(byIteration, byEpoch []models.LRScheduler) []Component {
	var out []Component
	for _, ss := range []struct {
		role string
		s    []models.LRScheduler
	}{{roleSchedByIteration, byIteration}, {roleSchedByEpoch, byEpoch}} {
		for i, s := range ss.s {
			if st, ok := s.(models.StateSaver); ok {
				out = append(out, stateComponent(ss.role+strconv.Itoa(i), SchedulerComponent, st)...)
			}
		}
	}
	return out
}

// optimizerComponent is an optimizer's component (none for nil).
func optimizerComponent(role string, opt *models.Optimizer) []Component {
	if opt == nil {
		return nil
	}
	return stateComponent(role, OptimizerComponent, opt)
}

// Components returns what a checkpoint of b holds: the trunk and its
// optimizer, the embedder and its optimizer (when set), and the
// schedulers that save their state. What CalculateLoss trains (a
// classifier, a loss's parameters) is not among them: give those to the
// checkpointing code yourself (utils/logging's HookContainer.Extra). A nil
// receiver returns nil.
func (b *Base) Components() []Component {
	if b == nil {
		return nil
	}
	return baseComponents(b.Encoder, b.Optimizer, b.Embedder, b.EmbedderOptimizer, b.LRSchedulersByIteration, b.LRSchedulersByEpoch, nil)
}

// baseComponents lists the models, then the optimizers, then the
// schedulers; extra (a trainer's own models and optimizers) go after the
// embedder's and before the schedulers.
func baseComponents(enc models.Encoder, opt *models.Optimizer, emb models.InputGradStepper, embOpt *models.Optimizer, byIteration, byEpoch []models.LRScheduler, extra []Component) []Component {
	var out []Component
	out = append(out, modelComponent(roleTrunk, enc)...)
	out = append(out, optimizerComponent(roleTrunk+"_optimizer", opt)...)
	if !check.Nil(emb) {
		out = append(out, modelComponent(roleEmbedder, emb)...)
		out = append(out, optimizerComponent(roleEmbedder+"_optimizer", embOpt)...)
	}
	out = append(out, extra...)
	return append(out, schedulerComponents(byIteration, byEpoch)...)
}

// lossComponents are the learnable metric loss's parameters and their
// optimizer (none for a loss without parameters).
func (t *MetricLossOnly) lossComponents() []Component {
	return learnableComponents(lossMetric, t.Loss, t.LossOptimizer)
}

// learnableComponents are a learnable loss's parameters, as role, and
// their optimizer, as role_optimizer (none for a loss without
// parameters).
func learnableComponents(role string, loss losses.Loss, opt *models.Optimizer) []Component {
	l, ok := loss.(losses.Learnable)
	if !ok || check.Nil(l) || len(l.Params()) == 0 {
		return nil
	}
	out := []Component{{
		Role: role, Kind: LossComponent,
		Save: func(path string) error { return losses.SaveParams(path, l) },
		Load: func(path string) error { return losses.LoadParams(path, l) },
	}}
	return append(out, optimizerComponent(role+"_optimizer", opt)...)
}

// Components returns what a checkpoint of t holds (PML's models,
// optimizers, lr_schedulers and loss_funcs): "trunk", "trunk_optimizer",
// "embedder" and "embedder_optimizer" when set, "metric_loss" and
// "metric_loss_optimizer" for a loss with learnable parameters, and the
// schedulers that save their state. A nil receiver returns nil.
func (t *MetricLossOnly) Components() []Component {
	if t == nil {
		return nil
	}
	return baseComponents(t.Encoder, t.Optimizer, t.Embedder, t.EmbedderOptimizer, t.LRSchedulersByIteration, t.LRSchedulersByEpoch, t.lossComponents())
}

// Components returns MetricLossOnly's components with "classifier" and
// "classifier_optimizer" after the embedder's. A nil receiver returns nil.
func (t *TrainWithClassifier) Components() []Component {
	if t == nil {
		return nil
	}
	extra := modelComponent(roleClassifier, t.Classifier)
	extra = append(extra, optimizerComponent(roleClassifier+"_optimizer", t.ClassifierOptimizer)...)
	extra = append(extra, t.lossComponents()...)
	return baseComponents(t.Encoder, t.Optimizer, t.Embedder, t.EmbedderOptimizer, t.LRSchedulersByIteration, t.LRSchedulersByEpoch, extra)
}

// Components returns MetricLossOnly's components. A nil receiver returns
// nil.
func (t *TwoStreamMetricLoss) Components() []Component {
	if t == nil {
		return nil
	}
	return t.MetricLossOnly.Components()
}

// Components returns what a checkpoint of t holds: the trunk's and the
// embedder's components as MetricLossOnly's, then each block's
// "classifier_i" and "classifier_i_optimizer", each learnable block loss's
// "metric_loss_i" and "metric_loss_i_optimizer" (PML's keys), and the
// schedulers that save their state. A nil receiver returns nil.
func (t *CascadedEmbeddings) Components() []Component {
	if t == nil {
		return nil
	}
	var extra []Component
	for i, c := range t.Classifiers {
		role := roleClassifier + "_" + strconv.Itoa(i)
		extra = append(extra, modelComponent(role, c)...)
		if !check.Nil(c) {
			extra = append(extra, optimizerComponent(role+"_optimizer", at(t.ClassifierOptimizers, i))...)
		}
	}
	for i, l := range t.Losses {
		extra = append(extra, learnableComponents(lossMetric+"_"+strconv.Itoa(i), l, at(t.LossOptimizers, i))...)
	}
	return baseComponents(t.Encoder, t.Optimizer, t.Embedder, t.EmbedderOptimizer, t.LRSchedulersByIteration, t.LRSchedulersByEpoch, extra)
}

// Components returns TrainWithClassifier's components with "generator"
// and "generator_optimizer" after the classifier's (PML's keys). A nil
// receiver returns nil.
func (t *DeepAdversarialMetricLearning) Components() []Component {
	if t == nil {
		return nil
	}
	extra := modelComponent(roleClassifier, t.Classifier)
	extra = append(extra, optimizerComponent(roleClassifier+"_optimizer", t.ClassifierOptimizer)...)
	extra = append(extra, modelComponent(roleGenerator, t.Generator)...)
	extra = append(extra, optimizerComponent(roleGenerator+"_optimizer", t.GeneratorOptimizer)...)
	return baseComponents(t.Encoder, t.Optimizer, t.Embedder, t.EmbedderOptimizer, t.LRSchedulersByIteration, t.LRSchedulersByEpoch, extra)
}
