package testkit

import (
	"errors"
	"fmt"

	"gonum.org/v1/gonum/stat/distuv"
)

// Counts are observed counts of categories: whole draws or, where a test
// accumulates them so, float64 counts.
type Counts interface{ ~int | ~float64 }

// ChiSquare returns Pearson's statistic Σ (o − e)²/e of the observed
// counts against the probabilities prob (e = prob[i]·Σ observed) over the
// categories of positive probability, and its degrees of freedom: the
// number of those categories minus one. A category of probability 0 must
// be empty: err names every one that is not (the statistic skips them).
func ChiSquare[N Counts](observed []N, prob []float64) (stat float64, df int, err error) {
	var total float64
	for _, o := range observed {
		total += float64(o)
	}
	df = -1
	var errs []error
	for i, p := range prob {
		o := float64(observed[i])
		if p == 0 {
			if o != 0 {
				errs = append(errs, fmt.Errorf("category %d has probability 0 but %v draws", i, o))
			}
			continue
		}
		e := p * total
		d := o - e
		stat += d * d / e
		df++
	}
	return stat, df, errors.Join(errs...)
}

// ChiSquareQuantile returns the p-quantile of the chi-square distribution
// with df degrees of freedom: a statistic above ChiSquareQuantile(df,
// 1 − α) rejects the probabilities at level α.
func ChiSquareQuantile(df int, p float64) float64 {
	return distuv.ChiSquared{K: float64(df)}.Quantile(p)
}
