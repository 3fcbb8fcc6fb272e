package pmlcase

import (
	"fmt"

	"github.com/gometric/gometric/losses"
)

// weightRegArgs are WeightRegularizerMixin's keyword arguments.
var weightRegArgs = []string{"weight_regularizer", "weight_reg_weight", "weight_init_func"}

// setWeightReg fills w from weight_regularizer and weight_reg_weight. A
// weight_init_func is rejected: the case's params replace the weights.
func setWeightReg(a Args, class string, w *losses.WeightReg) error {
	if a.Has("weight_init_func") {
		return fmt.Errorf("%s: weight_init_func is not supported (the case's params set the weights)", class)
	}
	if s, err := a.Spec("weight_regularizer"); err != nil {
		return err
	} else if s != nil {
		if w.WeightRegularizer, err = Regularizer(s); err != nil {
			return err
		}
	}
	var err error
	w.WeightRegWeight, err = a.Float("weight_reg_weight", w.WeightRegWeight)
	return err
}

// sizes reads required positive int arguments.
func sizes(a Args, class string, names ...string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		if !a.Has(n) {
			return nil, fmt.Errorf("%s: required argument %q is missing", class, n)
		}
		v, err := a.Int(n, 0)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func init() {
	registerLoss("ProxyAnchorLoss", func(a Args) (losses.Loss, error) {
		const class = "ProxyAnchorLoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "margin", "alpha"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewProxyAnchor(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		if l.Alpha, err = a.Float("alpha", l.Alpha); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("ProxyNCALoss", func(a Args) (losses.Loss, error) {
		const class = "ProxyNCALoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "softmax_scale"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewProxyNCA(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		if l.SoftmaxScale, err = a.Float("softmax_scale", l.SoftmaxScale); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}

func init() {
	registerLoss("MarginLoss", func(a Args) (losses.Loss, error) {
		const class = "MarginLoss"
		if err := known(a, class, "margin", "nu", "beta", "triplets_per_anchor", "learn_beta", "num_classes"); err != nil {
			return nil, err
		}
		beta, err := a.Float("beta", 1.2)
		if err != nil {
			return nil, err
		}
		l := losses.NewMargin()
		l.Beta.Set(0, 0, beta)
		if a.Has("num_classes") {
			nc, err := a.Int("num_classes", 0)
			if err != nil {
				return nil, err
			}
			if nc != 0 { // PML: "if num_classes:"
				if l, err = losses.NewMarginPerClass(nc, beta); err != nil {
					return nil, err
				}
			}
		}
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		if l.Nu, err = a.Float("nu", l.Nu); err != nil {
			return nil, err
		}
		if l.LearnBeta, err = a.Bool("learn_beta", l.LearnBeta); err != nil {
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
}

func init() {
	registerLoss("SoftTripleLoss", func(a Args) (losses.Loss, error) {
		const class = "SoftTripleLoss"
		if err := known(a, class, append([]string{"num_classes", "embedding_size", "centers_per_class", "la", "gamma", "margin"}, weightRegArgs...)...); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "num_classes", "embedding_size")
		if err != nil {
			return nil, err
		}
		k, err := a.Int("centers_per_class", 10)
		if err != nil {
			return nil, err
		}
		l, err := losses.NewSoftTriple(s[0], s[1], k, initRand())
		if err != nil {
			return nil, err
		}
		if l.La, err = a.Float("la", l.La); err != nil {
			return nil, err
		}
		if l.Gamma, err = a.Float("gamma", l.Gamma); err != nil {
			return nil, err
		}
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		if err := setWeightReg(a, class, &l.WeightReg); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}

func init() {
	registerLoss("P2SGradLoss", func(a Args) (losses.Loss, error) {
		const class = "P2SGradLoss"
		if err := known(a, class, "descriptors_dim", "num_classes"); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "descriptors_dim", "num_classes")
		if err != nil {
			return nil, err
		}
		l, err := losses.NewP2SGrad(s[0], s[1], initRand())
		if err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}

func init() {
	registerLoss("ManifoldLoss", func(a Args) (losses.Loss, error) {
		const class = "ManifoldLoss"
		if err := known(a, class, "l", "K", "lambdaC", "alpha", "margin"); err != nil {
			return nil, err
		}
		s, err := sizes(a, class, "l")
		if err != nil {
			return nil, err
		}
		k, err := a.Int("K", 50)
		if err != nil {
			return nil, err
		}
		l, err := losses.NewManifold(s[0], k, initRand())
		if err != nil {
			return nil, err
		}
		if l.LambdaC, err = a.Float("lambdaC", l.LambdaC); err != nil {
			return nil, err
		}
		if l.Alpha, err = a.Float("alpha", l.Alpha); err != nil {
			return nil, err
		}
		if l.Margin, err = a.Float("margin", l.Margin); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}
