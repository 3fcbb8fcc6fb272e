package pmlcase

import (
	"github.com/gometric/gometric/losses"
)

func init() {
	registerLoss("DynamicSoftMarginLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "DynamicSoftMarginLoss", "min_val", "num_bins", "momentum"); err != nil {
			return nil, err
		}
		l := losses.NewDynamicSoftMargin()
		var err error
		if l.MinVal, err = a.Float("min_val", l.MinVal); err != nil {
			return nil, err
		}
		if l.NumBins, err = a.Int("num_bins", l.NumBins); err != nil {
			return nil, err
		}
		if l.Momentum, err = a.Float("momentum", l.Momentum); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("ThresholdConsistentMarginLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "ThresholdConsistentMarginLoss", "lambda_plus", "lambda_minus", "margin_plus", "margin_minus"); err != nil {
			return nil, err
		}
		l := losses.NewThresholdConsistentMargin()
		var err error
		for _, f := range []struct {
			name string
			dst  *float64
		}{
			{"lambda_plus", &l.LambdaPlus}, {"lambda_minus", &l.LambdaMinus},
			{"margin_plus", &l.MarginPlus}, {"margin_minus", &l.MarginMinus},
		} {
			if *f.dst, err = a.Float(f.name, *f.dst); err != nil {
				return nil, err
			}
		}
		return l, setBase(a, &l.Base)
	})
}
