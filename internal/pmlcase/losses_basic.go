package pmlcase

import (
	"github.com/gometric/gometric/losses"
)

func init() {
	registerLoss("TripletMarginLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "TripletMarginLoss", "margin", "swap", "smooth_loss", "triplets_per_anchor"); err != nil {
			return nil, err
		}
		l := losses.NewTripletMargin()
		var err error
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		if l.Swap, err = a.Bool("swap", l.Swap); err != nil {
			return nil, err
		}
		if l.SmoothLoss, err = a.Bool("smooth_loss", l.SmoothLoss); err != nil {
			return nil, err
		}
		if a.Has("triplets_per_anchor") {
			if s, err := a.String("triplets_per_anchor", ""); err != nil || s != "all" {
				if l.TripletsPerAnchor, err = a.Int("triplets_per_anchor", 0); err != nil {
					return nil, err
				}
			}
		}
		return l, setBase(a, &l.Base)
	})
	contrastive := func(class string, l *losses.Contrastive) func(a Args) (losses.Loss, error) {
		return func(a Args) (losses.Loss, error) {
			if err := known(a, class, "pos_margin", "neg_margin"); err != nil {
				return nil, err
			}
			var err error
			if l.PosMargin, err = a.Float("pos_margin", l.PosMargin); err != nil {
				return nil, err
			}
			if l.NegMargin, err = a.Float("neg_margin", l.NegMargin); err != nil {
				return nil, err
			}
			return nil, setBase(a, &l.Base)
		}
	}
	registerLoss("ContrastiveLoss", func(a Args) (losses.Loss, error) {
		l := losses.NewContrastive()
		_, err := contrastive("ContrastiveLoss", l)(a)
		return l, err
	})
	registerLoss("SignalToNoiseRatioContrastiveLoss", func(a Args) (losses.Loss, error) {
		l := losses.NewSignalToNoiseRatioContrastive()
		_, err := contrastive("SignalToNoiseRatioContrastiveLoss", &l.Contrastive)(a)
		return l, err
	})
}
