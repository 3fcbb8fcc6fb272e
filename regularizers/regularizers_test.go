package regularizers_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

func TestFiniteDifferences(t *testing.T) {
	lpDist := func(p float64) distances.Distance {
		return &distances.Lp{P: p, Power: 1}
	}
	tests := []struct {
		name string
		reg  regularizers.Regularizer
		rows int
	}{
		{"Lp", regularizers.NewLp(), 5},
		{"Lp/p1", &regularizers.Lp{P: 1, Power: 1}, 5},
		{"Lp/p3power2", &regularizers.Lp{P: 3, Power: 2}, 6},
		{"Lp/sum", &regularizers.Lp{P: 2, Power: 1, Reducer: reducers.NewSum()}, 4},
		{"ZeroMean", regularizers.NewZeroMean(), 5},
		{"CenterInvariant", regularizers.NewCenterInvariant(), 6},
		{"CenterInvariant/p3", &regularizers.CenterInvariant{Distance: lpDist(3)}, 6},
		{"RegularFace", regularizers.NewRegularFace(), 6},
		{"RegularFace/dot", &regularizers.RegularFace{Distance: distances.NewDotProductSimilarity()}, 5},
		{"RegularFace/avgnonzero", &regularizers.RegularFace{Reducer: reducers.NewAvgNonZero()}, 6},
		{"SparseCenters", regularizers.NewSparseCenters(3, 2), 6},
		{"SparseCenters/mean", &regularizers.SparseCenters{NumClasses: 2, CentersPerClass: 3, Reducer: reducers.NewMean()}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(tc.name))))
			for trial := 0; trial < 3; trial++ {
				x := testkit.NormalDense(rng, tc.rows, 2+rng.IntN(5))
				_, grad, err := tc.reg.Compute(x)
				if err != nil {
					t.Fatal(err)
				}
				num := fdiff.Gradient(func() float64 {
					v, _, err := tc.reg.Compute(x)
					if err != nil {
						t.Fatal(err)
					}
					return v
				}, x, 1e-6)
				if err := fdiff.Compare(grad, num, 1e-5, 1e-7); err != nil {
					t.Errorf("trial %d: %v", trial, err)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good := mat.NewDense(6, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1, 2, 2, 1, 0, 1, 1})
	nan := mat.DenseCopyOf(good)
	nan.Set(2, 1, math.NaN())
	inf := mat.DenseCopyOf(good)
	inf.Set(0, 0, math.Inf(1))
	tests := []struct {
		name      string
		reg       regularizers.Regularizer
		x         *mat.Dense
		sentinel  error
		component string
	}{
		{"nil", regularizers.NewLp(), nil, gometric.ErrShape, "regularizers.Lp"},
		{"empty", regularizers.NewZeroMean(), &mat.Dense{}, gometric.ErrShape, "regularizers.ZeroMean"},
		{"nan", regularizers.NewRegularFace(), nan, gometric.ErrNonFinite, "regularizers.RegularFace"},
		{"inf", regularizers.NewCenterInvariant(), inf, gometric.ErrNonFinite, "regularizers.CenterInvariant"},
		{"p<1", &regularizers.Lp{P: 0.5, Power: 1}, good, gometric.ErrSetting, "regularizers.Lp"},
		{"power NaN", &regularizers.Lp{P: 2, Power: math.NaN()}, good, gometric.ErrSetting, "regularizers.Lp"},
		{"power Inf", &regularizers.Lp{Power: math.Inf(-1)}, good, gometric.ErrSetting, "regularizers.Lp"},
		{"centerinvariant/nil Lp", &regularizers.CenterInvariant{Distance: (*distances.Lp)(nil)}, good, gometric.ErrSetting, "regularizers.CenterInvariant"},
		{"sparsecenters/overflow", regularizers.NewSparseCenters(1<<62, 4), good, gometric.ErrShape, "regularizers.SparseCenters"},
		{"centerinvariant/normalize", &regularizers.CenterInvariant{Distance: distances.NewLp()}, good, gometric.ErrSetting, "regularizers.CenterInvariant"},
		{"centerinvariant/cosine", &regularizers.CenterInvariant{Distance: distances.NewCosineSimilarity()}, good, gometric.ErrSetting, "regularizers.CenterInvariant"},
		{"regularface/lp", &regularizers.RegularFace{Distance: distances.NewLp()}, good, gometric.ErrSetting, "regularizers.RegularFace"},
		{"sparsecenters/rows", regularizers.NewSparseCenters(4, 2), good, gometric.ErrShape, "regularizers.SparseCenters"},
		{"sparsecenters/k1", regularizers.NewSparseCenters(6, 1), good, gometric.ErrSetting, "regularizers.SparseCenters"},
		{"sparsecenters/dot", &regularizers.SparseCenters{NumClasses: 3, CentersPerClass: 2, Distance: distances.NewDotProductSimilarity()}, good, gometric.ErrSetting, "regularizers.SparseCenters"},
		{"sparsecenters/coincide", regularizers.NewSparseCenters(2, 2), mat.NewDense(4, 2, []float64{1, 0, 2, 0, 0, 1, 1, 1}), gometric.ErrNonFinite, "regularizers.SparseCenters"},
		{"donothing", &regularizers.Lp{P: 2, Power: 1, Reducer: reducers.NewDoNothing()}, good, gometric.ErrUnsupported, "reducers.DoNothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.reg.Compute(tc.x)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), tc.component) {
				t.Errorf("error %q does not start with %q", err, tc.component)
			}
		})
	}
}

// TestRegularFaceClosest checks the choice of the closest other row by hand.
func TestRegularFaceClosest(t *testing.T) {
	x := mat.NewDense(3, 2, []float64{1, 0, 0.8, 0.6, 0, 1})
	v, _, err := regularizers.NewRegularFace().Compute(x)
	if err != nil {
		t.Fatal(err)
	}
	// Row 0's closest is row 1 (0.8), row 1's is row 0 (0.8), row 2's is
	// row 1 (0.6): mean = 2.2/3.
	if want := 2.2 / 3; math.Abs(v-want) > 1e-12 {
		t.Errorf("got %v, want %v", v, want)
	}
}
