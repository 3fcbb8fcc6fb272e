// Package runner is the training loop shared by the example programs
// (examples/fashionmnist, examples/cub200): flag parsing and printing on
// top of the library. Losses and miners are chosen by name; the trainer
// (trainers.MetricLossOnly or TrainWithClassifier, an MPerClass sampler,
// an Adam per model with the -lr-schedule scheduler) is attached to
// utils/logging's HookContainer (PML's logging presets), which tests with
// GlobalEmbeddingSpace before training and every -val-every epochs, keeps
// the latest and the best checkpoints of every component, records the
// run (CSV per epoch and per iteration, a PNG) and resumes it exactly.
//
// The flags beyond the loss and the data follow PML's trainer and
// HookContainer: -embedder SIZE adds a linear embedder after the trunk
// (PML's models["embedder"]) with its own Adam at -lr, evaluated as
// testers.TrunkEmbedder; -lr-schedule attaches a torch scheduler to every
// optimizer (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR stepped
// per epoch, or ReduceLROnPlateau stepped with the test MAP@R after each
// evaluation); -val-every N is PML's test_interval; -patience N is PML's
// patience (stop once the epoch minus the best epoch exceeds N).
//
// The files in -out (logging.FileName): epoch-N.gmw is the trunk after
// the last epoch N, with epoch-N-<role> beside it for every other
// component (embedder, classifier, trunk_optimizer, embedder_optimizer,
// metric_loss, metric_loss_optimizer, lr_scheduler_by_epoch_<i>,
// lr_scheduler_by_plateau_<i>); checkpoint.gmw and checkpoint-<role> are
// the same set at the best evaluated epoch by MAP@R; run.csv,
// iterations.csv and run.png are the records.
package runner

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
)

// lossEntry describes a loss the examples can train with.
type lossEntry struct {
	make func() losses.Loss
	// learnable builds a loss with parameters for numClasses classes and
	// embeddings of size dim, drawing its initial parameters from rng.
	learnable func(numClasses, dim int, rng *rand.Rand) (losses.Loss, error)
	// tuples reports that the loss accepts mined tuples (a miner).
	tuples bool
}

// DefaultTripletMargin is the margin of the "triplet" loss: the
// benchmark's TripletMarginLoss(margin=0.1) ("tripletmargin" has PML's
// default, 0.05).
const DefaultTripletMargin = 0.1

// lossTable holds every loss of package losses that trains on labels
// alone, by its lower-case Go name; the losses with learnable parameters
// are built for the data set's classes and the encoder's embedding size.
// Left out: RankedList (its margin and Tn have no defaults in PML), VICReg
// (it takes two views, not labels), Manifold (it takes meta-classes) and
// the wrappers.
var lossTable = map[string]lossEntry{
	"angular":                       {make: func() losses.Loss { return losses.NewAngular() }, tuples: true},
	"circle":                        {make: func() losses.Loss { return losses.NewCircle() }, tuples: true},
	"contrastive":                   {make: func() losses.Loss { return losses.NewContrastive() }, tuples: true},
	"dynamicsoftmargin":             {make: func() losses.Loss { return losses.NewDynamicSoftMargin() }, tuples: true},
	"fastap":                        {make: func() losses.Loss { return losses.NewFastAP() }, tuples: true},
	"generalizedliftedstructure":    {make: func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, tuples: true},
	"histogram":                     {make: func() losses.Loss { return losses.NewHistogram() }, tuples: true},
	"instance":                      {make: func() losses.Loss { return losses.NewInstance() }, tuples: false},
	"intrapairvariance":             {make: func() losses.Loss { return losses.NewIntraPairVariance() }, tuples: true},
	"liftedstructure":               {make: func() losses.Loss { return losses.NewLiftedStructure() }, tuples: true},
	"multisimilarity":               {make: func() losses.Loss { return losses.NewMultiSimilarity() }, tuples: true},
	"nca":                           {make: func() losses.Loss { return losses.NewNCA() }, tuples: true},
	"npairs":                        {make: func() losses.Loss { return losses.NewNPairs() }, tuples: true},
	"ntxent":                        {make: func() losses.Loss { return losses.NewNTXent() }, tuples: true},
	"pnp":                           {make: func() losses.Loss { return losses.NewPNP() }, tuples: false},
	"signaltonoiseratiocontrastive": {make: func() losses.Loss { return losses.NewSignalToNoiseRatioContrastive() }, tuples: true},
	"supcon":                        {make: func() losses.Loss { return losses.NewSupCon() }, tuples: true},
	"thresholdconsistentmargin":     {make: func() losses.Loss { return losses.NewThresholdConsistentMargin() }, tuples: true},
	"arcface":                       {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewArcFace(c, d, rng) }, tuples: true},
	"cosface":                       {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewCosFace(c, d, rng) }, tuples: true},
	"largemarginsoftmax":            {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewLargeMarginSoftmax(c, d, rng) }, tuples: true},
	"normalizedsoftmax":             {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewNormalizedSoftmax(c, d, rng) }, tuples: true},
	"proxyanchor":                   {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewProxyAnchor(c, d, rng) }, tuples: true},
	"proxynca":                      {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewProxyNCA(c, d, rng) }, tuples: true},
	"sphereface":                    {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewSphereFace(c, d, rng) }, tuples: true},
	"softtriple":                    {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewSoftTriple(c, d, 10, rng) }, tuples: true},
	"subcenterarcface":              {learnable: func(c, d int, rng *rand.Rand) (losses.Loss, error) { return losses.NewSubCenterArcFace(c, d, 3, rng) }, tuples: true},
	"triplet":                       {make: newTriplet, tuples: true},
	"tripletmargin":                 {make: func() losses.Loss { return losses.NewTripletMargin() }, tuples: true},
	"tupletmargin":                  {make: func() losses.Loss { return losses.NewTupletMargin() }, tuples: true},
}

func newTriplet() losses.Loss {
	l := losses.NewTripletMargin()
	l.Margin = DefaultTripletMargin
	return l
}

// LossNames returns the names NewLoss accepts, sorted.
func LossNames() []string { return slices.Sorted(maps.Keys(lossTable)) }

// NewLoss returns the loss of the given lower-case Go name, and whether it
// accepts mined tuples. "triplet" is TripletMargin with the benchmark's
// margin 0.1; every other name, "tripletmargin" included, gives the loss
// with PML's defaults. A loss with learnable parameters (arcface,
// proxyanchor, ...) is built for numClasses classes and embeddings of size
// dim, its parameters drawn from a generator seeded with seed.
func NewLoss(name string, numClasses, dim int, seed uint64) (losses.Loss, bool, error) {
	e, ok := lossTable[strings.ToLower(name)]
	if !ok {
		return nil, false, fmt.Errorf("unknown loss %q; valid names: %s: %w", name, strings.Join(LossNames(), ", "), gometric.ErrSetting)
	}
	if e.learnable != nil {
		l, err := e.learnable(numClasses, dim, rand.New(rand.NewPCG(seed, 0x6c6f7373)))
		return l, e.tuples, err
	}
	return e.make(), e.tuples, nil
}

// LossInfo reports whether the named loss accepts mined tuples and whether
// it has learnable parameters.
func LossInfo(name string) (tuples, learnable bool, err error) {
	e, ok := lossTable[strings.ToLower(name)]
	if !ok {
		return false, false, fmt.Errorf("unknown loss %q; valid names: %s: %w", name, strings.Join(LossNames(), ", "), gometric.ErrSetting)
	}
	return e.tuples, e.learnable != nil, nil
}

// minerTable holds every miner of package miners that mines from labels,
// by its lower-case Go name; the random ones draw from rng.
var minerTable = map[string]func(rng *rand.Rand) miners.Miner{
	"none":            func(*rand.Rand) miners.Miner { return nil },
	"angular":         func(*rand.Rand) miners.Miner { return miners.NewAngular() },
	"batcheasyhard":   func(*rand.Rand) miners.Miner { return miners.NewBatchEasyHard() },
	"batchhard":       func(*rand.Rand) miners.Miner { return miners.NewBatchHard() },
	"hdc":             func(*rand.Rand) miners.Miner { return miners.NewHDC() },
	"multisimilarity": func(*rand.Rand) miners.Miner { return miners.NewMultiSimilarity() },
	"pairmargin":      func(*rand.Rand) miners.Miner { return miners.NewPairMargin() },
	"tripletmargin":   func(*rand.Rand) miners.Miner { return miners.NewTripletMargin() },
	"distanceweighted": func(rng *rand.Rand) miners.Miner {
		m := miners.NewDistanceWeighted()
		m.Rand = rng
		return m
	},
	"uniformhistogram": func(rng *rand.Rand) miners.Miner {
		m := miners.NewUniformHistogram()
		m.Rand = rng
		return m
	},
}

// MinerNames returns the names NewMiner accepts, sorted.
func MinerNames() []string { return slices.Sorted(maps.Keys(minerTable)) }

// NewMiner returns the miner of the given lower-case Go name with PML's
// defaults (nil for "none"); a random miner draws from a generator seeded
// with seed.
func NewMiner(name string, seed uint64) (miners.Miner, error) {
	f, ok := minerTable[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("unknown miner %q; valid names: %s: %w", name, strings.Join(MinerNames(), ", "), gometric.ErrSetting)
	}
	return f(rand.New(rand.NewPCG(seed, 0x6d696e6572))), nil
}
