package pmlcase

import (
	"fmt"

	"github.com/gometric/gometric/regularizers"
)

// Regularizer builds the gometric regularizer for a PML regularizer spec
// (nil spec: nil, nil). An unknown class or argument is an error.
func Regularizer(s *Spec) (regularizers.Regularizer, error) {
	if s == nil {
		return nil, nil
	}
	a := s.Args
	dist, err := nestedDistance(a)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Class, err)
	}
	red, err := nestedReducer(a)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Class, err)
	}
	switch s.Class {
	case "LpRegularizer":
		if err := a.Known(s.Class, "p", "power", "reducer"); err != nil {
			return nil, err
		}
		r := regularizers.NewLp()
		if r.P, err = a.Float("p", r.P); err != nil {
			return nil, err
		}
		if r.Power, err = a.Float("power", r.Power); err != nil {
			return nil, err
		}
		r.Reducer = red
		return r, nil
	case "ZeroMeanRegularizer":
		if err := a.Known(s.Class, "reducer"); err != nil {
			return nil, err
		}
		return &regularizers.ZeroMean{Reducer: red}, nil
	case "CenterInvariantRegularizer":
		if err := a.Known(s.Class, "distance", "reducer"); err != nil {
			return nil, err
		}
		return &regularizers.CenterInvariant{Distance: dist, Reducer: red}, nil
	case "RegularFaceRegularizer":
		if err := a.Known(s.Class, "distance", "reducer"); err != nil {
			return nil, err
		}
		return &regularizers.RegularFace{Distance: dist, Reducer: red}, nil
	case "SparseCentersRegularizer":
		if err := a.Known(s.Class, "num_classes", "centers_per_class", "distance", "reducer"); err != nil {
			return nil, err
		}
		nc, err := a.Int("num_classes", 0)
		if err != nil {
			return nil, err
		}
		k, err := a.Int("centers_per_class", 0)
		if err != nil {
			return nil, err
		}
		return &regularizers.SparseCenters{NumClasses: nc, CentersPerClass: k, Distance: dist, Reducer: red}, nil
	}
	return nil, fmt.Errorf("pmlcase: regularizer class %q is not implemented", s.Class)
}
