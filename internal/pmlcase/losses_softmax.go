package pmlcase

import (
	"fmt"

	"github.com/gometric/gometric/losses"
)

// intMargin reads LargeMarginSoftmaxLoss's margin, which PML passes
// through int() (truncation toward zero).
func intMargin(a Args, def int) (int, error) {
	v, err := a.Float("margin", float64(def))
	if err != nil {
		return 0, err
	}
	return int(v), nil
}

func init() {
	registerLoss("LargeMarginSoftmaxLoss", func(a Args) (losses.Loss, error) {
		const class = "LargeMarginSoftmaxLoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "margin", "scale"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewLargeMarginSoftmax(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		if l.Margin, err = intMargin(a, l.Margin); err != nil {
			return nil, err
		}
		if l.Scale, err = a.Float("scale", l.Scale); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("SphereFaceLoss", func(a Args) (losses.Loss, error) {
		const class = "SphereFaceLoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "margin", "scale"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewSphereFace(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		if l.Margin, err = intMargin(a, l.Margin); err != nil {
			return nil, err
		}
		if l.Scale, err = a.Float("scale", l.Scale); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("ArcFaceLoss", marginScaleBuilder("ArcFaceLoss", func(c, d int) (losses.Loss, marginScaleFields, error) {
		l, err := losses.NewArcFace(c, d, initRand())
		if err != nil {
			return nil, marginScaleFields{}, err
		}
		return l, marginScaleFields{&l.Margin, &l.Scale, &l.WeightReg, &l.Base}, nil
	}))
	registerLoss("CosFaceLoss", marginScaleBuilder("CosFaceLoss", func(c, d int) (losses.Loss, marginScaleFields, error) {
		l, err := losses.NewCosFace(c, d, initRand())
		if err != nil {
			return nil, marginScaleFields{}, err
		}
		return l, marginScaleFields{&l.Margin, &l.Scale, &l.WeightReg, &l.Base}, nil
	}))
	registerLoss("NormalizedSoftmaxLoss", func(a Args) (losses.Loss, error) {
		const class = "NormalizedSoftmaxLoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "temperature"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewNormalizedSoftmax(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		if l.Temperature, err = a.Float("temperature", l.Temperature); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}

func init() {
	registerLoss("SubCenterArcFaceLoss", func(a Args) (losses.Loss, error) {
		const class = "SubCenterArcFaceLoss"
		// PML's constructor passes only these to ArcFaceLoss; any other
		// argument would be silently ignored there, so it is rejected.
		if err := a.Known(class, "num_classes", "embedding_size", "margin", "scale", "sub_centers"); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		sub, err := a.Int("sub_centers", 3)
		if err != nil {
			return nil, err
		}
		l, err := losses.NewSubCenterArcFace(s[0], s[1], sub, initRand())
		if err != nil {
			return nil, fmt.Errorf("%s: %v", class, err)
		}
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		if l.Scale, err = a.Float("scale", l.Scale); err != nil {
			return nil, err
		}
		return l, nil
	})
}

// marginScaleFields points at the settings a case may change in a loss
// with float Margin and Scale fields: ArcFace and CosFace.
type marginScaleFields struct {
	margin, scale *float64
	wr            *losses.WeightReg
	base          *losses.Base
}

// marginScaleBuilder builds ArcFaceLoss / CosFaceLoss from num_classes,
// embedding_size, margin, scale and the regularizer arguments.
func marginScaleBuilder(class string, newLoss func(c, d int) (losses.Loss, marginScaleFields, error)) func(Args) (losses.Loss, error) {
	return func(a Args) (losses.Loss, error) {
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "margin", "scale"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, f, err := newLoss(s[0], s[1])
		if err != nil {
			return nil, err
		}
		if *f.margin, err = a.Float("margin", *f.margin); err != nil {
			return nil, err
		}
		if *f.scale, err = a.Float("scale", *f.scale); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, f.wr); err != nil {
			return nil, err
		}
		return l, setBase(a, f.base)
	}
}
