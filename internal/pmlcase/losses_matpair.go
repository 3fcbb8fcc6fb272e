package pmlcase

import (
	"github.com/gometric/gometric/losses"
)

// matpairFloat names a float argument and the field it sets.
type matpairFloat struct {
	name string
	p    *float64
}

// matpairFloats reads the named float arguments of a into their fields, in
// order (each keeps its value when the argument is absent).
func matpairFloats(a Args, fields ...matpairFloat) error {
	for _, f := range fields {
		v, err := a.Float(f.name, *f.p)
		if err != nil {
			return err
		}
		*f.p = v
	}
	return nil
}

func init() {
	registerLoss("CircleLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "CircleLoss", "m", "gamma"); err != nil {
			return nil, err
		}
		l := losses.NewCircle()
		if err := matpairFloats(a, matpairFloat{"m", &l.M}, matpairFloat{"gamma", &l.Gamma}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("GeneralizedLiftedStructureLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "GeneralizedLiftedStructureLoss", "neg_margin", "pos_margin"); err != nil {
			return nil, err
		}
		l := losses.NewGeneralizedLiftedStructure()
		if err := matpairFloats(a, matpairFloat{"neg_margin", &l.NegMargin}, matpairFloat{"pos_margin", &l.PosMargin}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("MultiSimilarityLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "MultiSimilarityLoss", "alpha", "beta", "base"); err != nil {
			return nil, err
		}
		l := losses.NewMultiSimilarity()
		if err := matpairFloats(a, matpairFloat{"alpha", &l.Alpha}, matpairFloat{"beta", &l.Beta}, matpairFloat{"base", &l.Shift}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("SupConLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "SupConLoss", "temperature"); err != nil {
			return nil, err
		}
		l := losses.NewSupCon()
		if err := matpairFloats(a, matpairFloat{"temperature", &l.Temperature}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}
