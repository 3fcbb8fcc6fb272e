// Package runner is the training loop shared by the example programs
// (examples/fashionmnist, examples/cub200): losses and miners chosen by
// name, MetricLossOnly training with an MPerClass sampler, retrieval
// evaluation with GlobalEmbeddingSpace before training and after every
// epoch, and the run's outputs (printed lines, a CSV, a PNG plot and
// checkpoints).
package runner

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
)

// lossEntry describes a loss the examples can train with.
type lossEntry struct {
	make func() losses.Loss
	// tuples reports that the loss accepts mined tuples (a miner).
	tuples bool
}

// DefaultTripletMargin is the margin of the "triplet" loss: the
// benchmark's TripletMarginLoss(margin=0.1) ("tripletmargin" has PML's
// default, 0.05).
const DefaultTripletMargin = 0.1

// lossTable holds every loss of package losses that trains on labels
// alone and has no learnable parameter, by its lower-case Go name. Left
// out: RankedList (its margin and Tn have no defaults in PML) and VICReg
// (it takes two views, not labels).
var lossTable = map[string]lossEntry{
	"angular":                       {func() losses.Loss { return losses.NewAngular() }, true},
	"circle":                        {func() losses.Loss { return losses.NewCircle() }, true},
	"contrastive":                   {func() losses.Loss { return losses.NewContrastive() }, true},
	"dynamicsoftmargin":             {func() losses.Loss { return losses.NewDynamicSoftMargin() }, true},
	"fastap":                        {func() losses.Loss { return losses.NewFastAP() }, true},
	"generalizedliftedstructure":    {func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, true},
	"histogram":                     {func() losses.Loss { return losses.NewHistogram() }, true},
	"instance":                      {func() losses.Loss { return losses.NewInstance() }, false},
	"intrapairvariance":             {func() losses.Loss { return losses.NewIntraPairVariance() }, true},
	"liftedstructure":               {func() losses.Loss { return losses.NewLiftedStructure() }, true},
	"multisimilarity":               {func() losses.Loss { return losses.NewMultiSimilarity() }, true},
	"nca":                           {func() losses.Loss { return losses.NewNCA() }, true},
	"npairs":                        {func() losses.Loss { return losses.NewNPairs() }, true},
	"ntxent":                        {func() losses.Loss { return losses.NewNTXent() }, true},
	"pnp":                           {func() losses.Loss { return losses.NewPNP() }, false},
	"signaltonoiseratiocontrastive": {func() losses.Loss { return losses.NewSignalToNoiseRatioContrastive() }, true},
	"supcon":                        {func() losses.Loss { return losses.NewSupCon() }, true},
	"thresholdconsistentmargin":     {func() losses.Loss { return losses.NewThresholdConsistentMargin() }, true},
	"triplet":                       {newTriplet, true},
	"tripletmargin":                 {newTriplet, true},
	"tupletmargin":                  {func() losses.Loss { return losses.NewTupletMargin() }, true},
}

func newTriplet() losses.Loss {
	l := losses.NewTripletMargin()
	l.Margin = DefaultTripletMargin
	return l
}

// LossNames returns the names NewLoss accepts, sorted.
func LossNames() []string { return sortedKeys(lossTable) }

// NewLoss returns the loss of the given lower-case Go name, and whether it
// accepts mined tuples. "triplet" is TripletMargin with the benchmark's
// margin 0.1; every other name, "tripletmargin" included, gives the loss
// with PML's defaults.
func NewLoss(name string) (losses.Loss, bool, error) {
	e, ok := lossTable[strings.ToLower(name)]
	if !ok {
		return nil, false, fmt.Errorf("unknown loss %q; valid names: %s: %w", name, strings.Join(LossNames(), ", "), gometric.ErrSetting)
	}
	return e.make(), e.tuples, nil
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
func MinerNames() []string { return sortedKeys(minerTable) }

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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
