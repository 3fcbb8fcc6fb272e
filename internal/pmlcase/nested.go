package pmlcase

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/reducers"
)

// nestedDistance builds the "distance" argument of a, or nil when absent.
func nestedDistance(a Args) (distances.Distance, error) {
	s, err := a.Spec("distance")
	if err != nil || s == nil {
		return nil, err
	}
	return Distance(s)
}

// nestedReducer builds the "reducer" argument of a, or nil when absent.
func nestedReducer(a Args) (reducers.Reducer, error) {
	s, err := a.Spec("reducer")
	if err != nil || s == nil {
		return nil, err
	}
	return Reducer(s)
}

type distanceT = distances.Distance
