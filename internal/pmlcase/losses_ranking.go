package pmlcase

import (
	"fmt"

	"github.com/gometric/gometric/losses"
)

func init() {
	registerLoss("FastAPLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "FastAPLoss", "num_bins"); err != nil {
			return nil, err
		}
		l := losses.NewFastAP()
		// PML stores int(num_bins).
		nb, err := a.Float("num_bins", float64(l.NumBins))
		if err != nil {
			return nil, err
		}
		l.NumBins = int(nb)
		return l, setBase(a, &l.Base)
	})
	registerLoss("HistogramLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "HistogramLoss", "n_bins", "delta"); err != nil {
			return nil, err
		}
		l := losses.NewHistogram()
		var err error
		if l.NBins, err = a.Int("n_bins", 0); err != nil {
			return nil, err
		}
		if l.Delta, err = a.Float("delta", 0); err != nil {
			return nil, err
		}
		if (a.Has("n_bins") && l.NBins == 0) || (a.Has("delta") && l.Delta == 0) {
			// PML divides by them: a ZeroDivisionError there.
			return nil, fmt.Errorf("HistogramLoss: n_bins = 0 or delta = 0")
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("PNPLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "PNPLoss", "b", "alpha", "anneal", "variant"); err != nil {
			return nil, err
		}
		l := losses.NewPNP()
		var err error
		if l.B, err = a.Float("b", l.B); err != nil {
			return nil, err
		}
		if l.Alpha, err = a.Float("alpha", l.Alpha); err != nil {
			return nil, err
		}
		if l.Anneal, err = a.Float("anneal", l.Anneal); err != nil {
			return nil, err
		}
		v, err := a.String("variant", string(l.Variant))
		if err != nil {
			return nil, err
		}
		l.Variant = losses.PNPVariant(v)
		return l, setBase(a, &l.Base)
	})
	registerLoss("RankedListLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "RankedListLoss", "margin", "Tn", "imbalance", "alpha", "Tp"); err != nil {
			return nil, err
		}
		if !a.Has("margin") || !a.Has("Tn") {
			return nil, fmt.Errorf("RankedListLoss: margin and Tn are required")
		}
		margin, err := a.Float("margin", 0)
		if err != nil {
			return nil, err
		}
		tn, err := a.Float("Tn", 0)
		if err != nil {
			return nil, err
		}
		l := losses.NewRankedList(margin, tn)
		if l.Imbalance, err = a.Float("imbalance", l.Imbalance); err != nil {
			return nil, err
		}
		if l.Alpha, err = a.Float("alpha", l.Alpha); err != nil {
			return nil, err
		}
		if l.Tp, err = a.Float("Tp", l.Tp); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}
