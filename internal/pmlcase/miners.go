package pmlcase

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric/miners"
	"gonum.org/v1/gonum/mat"
)

// MinerSeed seeds the *rand.Rand that Miner gives the random miners
// (DistanceWeightedMiner, UniformHistogramMiner), so that a case always
// draws the same indices.
const MinerSeed = 20250101

// Miner builds the gometric miner for a PML miner spec (AngularMiner,
// BatchEasyHardMiner, BatchHardMiner, DistanceWeightedMiner,
// EmbeddingsAlreadyPackagedAsTriplets, HDCMiner, MultiSimilarityMiner,
// PairMarginMiner, TripletMarginMiner, UniformHistogramMiner) from its
// keyword arguments, the nested "distance" included. A nil spec gives
// (nil, nil); an unknown class or argument is an error. collect_stats is
// accepted and ignored. Random miners get a Rand seeded with MinerSeed.
func Miner(s *Spec) (miners.Miner, error) {
	if s == nil {
		return nil, nil
	}
	m, err := buildMiner(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Class, err)
	}
	return m, nil
}

func buildMiner(s *Spec) (miners.Miner, error) {
	a := s.Args
	known := func(names ...string) error {
		return a.Known(s.Class, append(names, "distance", "collect_stats")...)
	}
	dist, err := nestedDistance(a)
	if err != nil {
		return nil, err
	}
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(MinerSeed, 1)) }
	switch s.Class {
	case "AngularMiner":
		if err := known("angle"); err != nil {
			return nil, err
		}
		m := miners.NewAngular()
		m.Distance = dist
		m.Angle, err = a.Float("angle", m.Angle)
		return m, err
	case "BatchEasyHardMiner":
		if err := known("pos_strategy", "neg_strategy", "allowed_pos_range", "allowed_neg_range"); err != nil {
			return nil, err
		}
		m := miners.NewBatchEasyHard()
		m.Distance = dist
		ps, err := a.String("pos_strategy", string(m.PosStrategy))
		if err != nil {
			return nil, err
		}
		ns, err := a.String("neg_strategy", string(m.NegStrategy))
		if err != nil {
			return nil, err
		}
		m.PosStrategy, m.NegStrategy = miners.Strategy(ps), miners.Strategy(ns)
		if m.AllowedPosRange, err = rangeArg(a, "allowed_pos_range"); err != nil {
			return nil, err
		}
		if m.AllowedNegRange, err = rangeArg(a, "allowed_neg_range"); err != nil {
			return nil, err
		}
		return m, nil
	case "BatchHardMiner":
		if err := known("allowed_pos_range", "allowed_neg_range"); err != nil {
			return nil, err
		}
		m := miners.NewBatchHard()
		m.Distance = dist
		if m.AllowedPosRange, err = rangeArg(a, "allowed_pos_range"); err != nil {
			return nil, err
		}
		if m.AllowedNegRange, err = rangeArg(a, "allowed_neg_range"); err != nil {
			return nil, err
		}
		return m, nil
	case "DistanceWeightedMiner":
		if err := known("cutoff", "nonzero_loss_cutoff"); err != nil {
			return nil, err
		}
		m := miners.NewDistanceWeighted()
		m.Distance = dist
		m.Rand = rng()
		if m.Cutoff, err = a.Float("cutoff", m.Cutoff); err != nil {
			return nil, err
		}
		m.NonzeroLossCutoff, err = a.Float("nonzero_loss_cutoff", m.NonzeroLossCutoff)
		return m, err
	case "EmbeddingsAlreadyPackagedAsTriplets":
		if err := known(); err != nil {
			return nil, err
		}
		// PML accepts a distance here and never uses it.
		return miners.NewEmbeddingsAlreadyPackagedAsTriplets(), nil
	case "HDCMiner":
		if err := known("filter_percentage"); err != nil {
			return nil, err
		}
		m := miners.NewHDC()
		m.Distance = dist
		m.FilterPercentage, err = a.Float("filter_percentage", m.FilterPercentage)
		return m, err
	case "MultiSimilarityMiner":
		if err := known("epsilon"); err != nil {
			return nil, err
		}
		m := miners.NewMultiSimilarity()
		m.Distance = dist
		m.Epsilon, err = a.Float("epsilon", m.Epsilon)
		return m, err
	case "PairMarginMiner":
		if err := known("pos_margin", "neg_margin"); err != nil {
			return nil, err
		}
		m := miners.NewPairMargin()
		m.Distance = dist
		if m.PosMargin, err = a.Float("pos_margin", m.PosMargin); err != nil {
			return nil, err
		}
		m.NegMargin, err = a.Float("neg_margin", m.NegMargin)
		return m, err
	case "TripletMarginMiner":
		if err := known("margin", "type_of_triplets"); err != nil {
			return nil, err
		}
		m := miners.NewTripletMargin()
		m.Distance = dist
		if m.Margin, err = a.Float("margin", m.Margin); err != nil {
			return nil, err
		}
		t, err := a.String("type_of_triplets", string(m.TypeOfTriplets))
		m.TypeOfTriplets = miners.Strategy(t)
		return m, err
	case "UniformHistogramMiner":
		if err := known("num_bins", "pos_per_bin", "neg_per_bin"); err != nil {
			return nil, err
		}
		m := miners.NewUniformHistogram()
		m.Distance = dist
		m.Rand = rng()
		if m.NumBins, err = a.Int("num_bins", m.NumBins); err != nil {
			return nil, err
		}
		if m.PosPerBin, err = a.Int("pos_per_bin", m.PosPerBin); err != nil {
			return nil, err
		}
		m.NegPerBin, err = a.Int("neg_per_bin", m.NegPerBin)
		return m, err
	}
	return nil, fmt.Errorf("pmlcase: unknown miner class %q", s.Class)
}

// rangeArg decodes a [low, high] argument (nil when absent).
func rangeArg(a Args, name string) (*miners.Range, error) {
	if !a.Has(name) {
		return nil, nil
	}
	var v []float64
	if err := json.Unmarshal(a[name], &v); err != nil {
		return nil, fmt.Errorf("argument %q: %v", name, err)
	}
	if len(v) != 2 {
		return nil, fmt.Errorf("argument %q has %d values, want [low, high]", name, len(v))
	}
	return &miners.Range{Low: v[0], High: v[1]}, nil
}

// MinerInput builds the miner input of a case: embeddings, labels, ref_emb
// and ref_labels.
func (c *Case) MinerInput() (miners.Input, error) {
	var in miners.Input
	var err error
	if in.Embeddings, err = c.Matrix("embeddings"); err != nil {
		return in, err
	}
	if in.Labels, err = c.Ints("labels"); err != nil {
		return in, err
	}
	var ref *mat.Dense
	if ref, err = c.Matrix("ref_emb"); err != nil {
		return in, err
	}
	in.Ref = ref
	if in.RefLabels, err = c.Ints("ref_labels"); err != nil {
		return in, err
	}
	return in, nil
}
