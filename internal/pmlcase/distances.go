package pmlcase

import (
	"fmt"

	"github.com/gometric/gometric/distances"
)

// Distance builds the gometric distance for a PML distance spec
// (LpDistance, CosineSimilarity, DotProductSimilarity, SNRDistance,
// BatchedDistance) from its keyword arguments normalize_embeddings, p and
// power (BatchedDistance: distance and batch_size). A nil spec gives
// (nil, nil); an unknown class or argument is an error. collect_stats is
// accepted and ignored: it only switches PML's statistics recording.
func Distance(s *Spec) (distances.Distance, error) {
	if s == nil {
		return nil, nil
	}
	a := s.Args
	// settings reads p and power (and normalize_embeddings when norm is
	// not nil) into the given fields.
	settings := func(norm *bool, p, power *float64) error {
		var err error
		if norm != nil {
			if *norm, err = a.Bool("normalize_embeddings", *norm); err != nil {
				return fmt.Errorf("%s: %v", s.Class, err)
			}
		}
		if *p, err = a.Float("p", *p); err != nil {
			return fmt.Errorf("%s: %v", s.Class, err)
		}
		if *power, err = a.Float("power", *power); err != nil {
			return fmt.Errorf("%s: %v", s.Class, err)
		}
		return nil
	}
	switch s.Class {
	case "LpDistance":
		if err := a.Known(s.Class, "normalize_embeddings", "p", "power", "collect_stats"); err != nil {
			return nil, err
		}
		d := distances.NewLp()
		if err := settings(&d.NormalizeEmbeddings, &d.P, &d.Power); err != nil {
			return nil, err
		}
		return d, nil
	case "CosineSimilarity":
		// PML passes normalize_embeddings=True itself; a second value is a
		// TypeError there.
		if err := a.Known(s.Class, "p", "power", "collect_stats"); err != nil {
			return nil, err
		}
		d := distances.NewCosineSimilarity()
		if err := settings(nil, &d.P, &d.Power); err != nil {
			return nil, err
		}
		return d, nil
	case "DotProductSimilarity":
		if err := a.Known(s.Class, "normalize_embeddings", "p", "power", "collect_stats"); err != nil {
			return nil, err
		}
		d := distances.NewDotProductSimilarity()
		if err := settings(&d.NormalizeEmbeddings, &d.P, &d.Power); err != nil {
			return nil, err
		}
		return d, nil
	case "SNRDistance":
		if err := a.Known(s.Class, "normalize_embeddings", "p", "power", "collect_stats"); err != nil {
			return nil, err
		}
		d := distances.NewSNR()
		if err := settings(&d.NormalizeEmbeddings, &d.P, &d.Power); err != nil {
			return nil, err
		}
		return d, nil
	case "BatchedDistance":
		if err := a.Known(s.Class, "distance", "batch_size"); err != nil {
			return nil, err
		}
		inner, err := nestedDistance(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		if inner == nil {
			return nil, fmt.Errorf("%s: argument \"distance\" is required", s.Class)
		}
		bs, err := a.Int("batch_size", distances.DefaultBatchSize)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		return distances.NewBatched(inner, bs), nil
	}
	return nil, fmt.Errorf("pmlcase: unknown distance class %q", s.Class)
}
