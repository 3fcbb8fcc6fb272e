package pmlcase

import (
	"github.com/gometric/gometric/losses"
)

// miscFloats reads each named number argument into its destination, keeping
// the destination's value when the argument is absent.
func miscFloats(a Args, dst map[string]*float64) error {
	for name, p := range dst {
		v, err := a.Float(name, *p)
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}

func init() {
	registerLoss("AngularLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "AngularLoss", "alpha"); err != nil {
			return nil, err
		}
		l := losses.NewAngular()
		if err := miscFloats(a, map[string]*float64{"alpha": &l.Alpha}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("NPairsLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "NPairsLoss"); err != nil {
			return nil, err
		}
		l := losses.NewNPairs()
		return l, setBase(a, &l.Base)
	})
	registerLoss("NCALoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "NCALoss", "softmax_scale"); err != nil {
			return nil, err
		}
		l := losses.NewNCA()
		if err := miscFloats(a, map[string]*float64{"softmax_scale": &l.SoftmaxScale}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("InstanceLoss", func(a Args) (losses.Loss, error) {
		if err := known(a, "InstanceLoss", "gamma"); err != nil {
			return nil, err
		}
		l := losses.NewInstance()
		if err := miscFloats(a, map[string]*float64{"gamma": &l.Gamma}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
	registerLoss("VICRegLoss", func(a Args) (losses.Loss, error) {
		// PML's constructor rejects "distance" and "embedding_regularizer"
		// (even as None), so they are not known arguments here.
		if err := a.Known("VICRegLoss", "invariance_lambda", "variance_mu", "covariance_v", "eps",
			"reducer", "embedding_reg_weight", "collect_stats"); err != nil {
			return nil, err
		}
		l := losses.NewVICReg()
		if err := miscFloats(a, map[string]*float64{
			"invariance_lambda": &l.InvarianceLambda, "variance_mu": &l.VarianceMu,
			"covariance_v": &l.CovarianceV, "eps": &l.Eps,
		}); err != nil {
			return nil, err
		}
		return l, setBase(a, &l.Base)
	})
}
