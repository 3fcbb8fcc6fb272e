package pmlcase

import (
	"github.com/gometric/gometric/losses"
)

// pairbasedFloats reads the named float arguments into the matching targets,
// keeping each target's value when its argument is absent.
func pairbasedFloats(a Args, names []string, dst ...*float64) error {
	for i, n := range names {
		v, err := a.Float(n, *dst[i])
		if err != nil {
			return err
		}
		*dst[i] = v
	}
	return nil
}

func init() {
	registerLoss("LiftedStructureLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "LiftedStructureLoss", "neg_margin", "pos_margin"); err != nil {
			return nil, err
		}
		l := losses.NewLiftedStructure()
		if err := pairbasedFloats(a, []string{"neg_margin", "pos_margin"}, &l.NegMargin, &l.PosMargin); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("NTXentLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "NTXentLoss", "temperature"); err != nil {
			return nil, err
		}
		l := losses.NewNTXent()
		if err := pairbasedFloats(a, []string{"temperature"}, &l.Temperature); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("IntraPairVarianceLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "IntraPairVarianceLoss", "pos_eps", "neg_eps"); err != nil {
			return nil, err
		}
		l := losses.NewIntraPairVariance()
		if err := pairbasedFloats(a, []string{"pos_eps", "neg_eps"}, &l.PosEps, &l.NegEps); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("TupletMarginLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "TupletMarginLoss", "margin", "scale"); err != nil {
			return nil, err
		}
		l := losses.NewTupletMargin()
		if err := pairbasedFloats(a, []string{"margin", "scale"}, &l.Margin, &l.Scale); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}
