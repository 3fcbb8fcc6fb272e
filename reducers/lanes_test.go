package reducers_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/reducers"
)

// TestStreamRunsBitIdentical checks that a stream reduced in runs of any
// length gives the bits of ReduceOne on the whole sub-loss, value and
// gradients, for the reducers whose sums are taken in lanes, and that
// their banded plans (PlanStream, ReduceBand) agree with them.
func TestStreamRunsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 9
	b := reducers.Batch{N: n}
	for _, r := range []reducers.Reducer{
		reducers.NewMean(), reducers.NewSum(), reducers.NewAvgNonZero(),
		reducers.NewThreshold(0.1, 0.8), reducers.NewThreshold(math.Inf(-1), 0.5),
		reducers.NewThreshold(-0.5, math.Inf(1)), reducers.NewDivisor(),
		reducers.NewMultiple(map[string]reducers.Reducer{"loss": reducers.NewAvgNonZero()}),
	} {
		for _, size := range []int{1, 3, 4, 5, 17, 250} {
			vals := make([]float64, size)
			anchors := make([]int, size)
			for i := range vals {
				if rng.IntN(3) > 0 {
					vals[i] = 2*rng.Float64() - 0.5
				}
				anchors[i] = rng.IntN(n)
			}
			sl := reducers.SubLoss{Name: "loss", Values: vals, Kind: reducers.Element, Indices: [][]int{anchors}, Divisor: 3, HasDivisor: true}
			want, err := reducers.Reduce(r, []reducers.SubLoss{sl}, b)
			if err != nil {
				t.Fatal(err)
			}
			// Runs of random lengths.
			var cuts []int
			for i := 0; i < size; i += 1 + rng.IntN(6) {
				cuts = append(cuts, i)
			}
			cuts = append(cuts, size)
			s := reducers.Stream{Name: "loss", Kind: reducers.Element, Len: size, Divisor: 3, HasDivisor: true,
				Each: func(yield func([]float64, int) error) error {
					for k := 0; k+1 < len(cuts); k++ {
						if err := yield(vals[cuts[k]:cuts[k+1]], 0); err != nil {
							return err
						}
					}
					return nil
				}}
			v, grad, ok, err := reducers.ReduceStream(r, s, b)
			if !ok || err != nil {
				t.Fatalf("%T: ReduceStream %v, %v", r, ok, err)
			}
			if v != want.Loss {
				t.Errorf("%T size %d: streamed %v, ReduceOne %v", r, size, v, want.Loss)
			}
			for i, x := range vals {
				if g := grad(x, anchors[i]); g != want.Grads[0][i] {
					t.Fatalf("%T size %d: gradient %d is %v, want %v", r, size, i, g, want.Grads[0][i])
				}
			}
			p, ok, err := reducers.PlanStream(r, s, b)
			if !ok || err != nil || p.Finish == nil {
				t.Fatalf("%T: no banded plan (%v, %v)", r, ok, err)
			}
			bv, band, err := p.ReduceBand(s)
			if err != nil || bv != v {
				t.Errorf("%T: ReduceBand %v, %v, want %v", r, bv, err, v)
			}
			var acc [4]float64
			cnt := 0
			for i, x := range vals {
				if x > p.Low && x < p.High {
					acc[i%4] += x
					cnt++
				}
			}
			pv, pband := p.Finish(cnt, (acc[0]+acc[1])+(acc[2]+acc[3]))
			if pv != v || pband != band {
				t.Errorf("%T: plan gives %v %v, want %v %v", r, pv, pband, v, band)
			}
			for i, x := range vals {
				if band.At(x) != want.Grads[0][i] {
					t.Fatalf("%T: band gradient %d is %v, want %v", r, i, band.At(x), want.Grads[0][i])
				}
			}
		}
	}
}

// TestPlanRejects checks that PlanStream offers no banded plan where the
// reducer reports an error, cannot stream, or weighs values by anchor.
func TestPlanRejects(t *testing.T) {
	s := reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 1, Each: func(yield func([]float64, int) error) error {
		return yield([]float64{1}, 0)
	}}
	noDiv := s
	bad := s
	bad.Kind = reducers.AlreadyReduced
	for _, tc := range []struct {
		r reducers.Reducer
		s reducers.Stream
	}{
		{reducers.NewThreshold(math.NaN(), 1), s},
		{reducers.NewThreshold(math.Inf(-1), math.Inf(1)), s},
		{(*reducers.Threshold)(nil), s},
		{reducers.NewDivisor(), noDiv},
		{reducers.NewMean(), bad},
		{reducers.NewClassWeighted([]float64{1}), s},
		{reducers.NewPerAnchor(), s},
	} {
		if p, ok, err := reducers.PlanStream(tc.r, tc.s, reducers.Batch{N: 1, Labels: []int{0}}); ok && err == nil && p.Finish != nil {
			t.Errorf("%T: a banded plan for %+v", tc.r, tc.s.Kind)
		}
	}
}
