package testkit

import (
	"errors"
	"fmt"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Counts are observed counts of categories: whole draws or, where a test
// accumulates them so, float64 counts. A type constraint, it holds no
// value, so concurrent use does not arise.
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

// CheckChiSquare fails the test (without stopping it) when a category of
// probability 0 was observed, or when the observed counts are implausible
// under prob: their ChiSquare statistic exceeds the (1 − alpha)-quantile of
// its distribution, so that a correct draw fails with probability alpha.
// With fewer than two categories of positive probability there is nothing
// to test but the empty ones.
func CheckChiSquare[N Counts](t testing.TB, what string, observed []N, prob []float64, alpha float64) {
	t.Helper()
	stat, df, err := ChiSquare(observed, prob)
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
	if df < 1 {
		return
	}
	if limit := ChiSquareQuantile(df, 1-alpha); stat > limit {
		t.Errorf("%s: chi-square %.2f with %d df exceeds %.2f (counts %v, probs %v)", what, stat, df, limit, observed, prob)
	}
}
