package reducers_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

var kinds = []reducers.Kind{reducers.Element, reducers.PosPair, reducers.NegPair, reducers.Triplet, reducers.AlreadyReduced}

// named pairs a reducer with a label for subtest names.
type named struct {
	name string
	r    reducers.Reducer
}

// allReducers returns one of each reducer (DoNothing excluded), with
// settings that make every one of them do something non-trivial.
func allReducers() []named {
	return []named{
		{"Mean", reducers.NewMean()},
		{"Sum", reducers.NewSum()},
		{"AvgNonZero", reducers.NewAvgNonZero()},
		{"Threshold/both", reducers.NewThreshold(0.3, 1.5)},
		{"Threshold/low", reducers.NewThreshold(0.3, math.Inf(1))},
		{"Threshold/high", reducers.NewThreshold(math.Inf(-1), 1.0)},
		{"Divisor", reducers.NewDivisor()},
		{"ClassWeighted", reducers.NewClassWeighted([]float64{0.5, 1, 2, 3})},
		{"PerAnchor/Mean", reducers.NewPerAnchor()},
		{"PerAnchor/Sum", &reducers.PerAnchor{Reducer: reducers.NewSum()}},
		{"PerAnchor/AvgNonZero", &reducers.PerAnchor{Reducer: reducers.NewAvgNonZero()}},
		{"PerAnchor/ClassWeighted", &reducers.PerAnchor{Reducer: reducers.NewClassWeighted([]float64{2, 0.5, 1, 3})}},
		{"Multiple", &reducers.Multiple{
			Reducers: map[string]reducers.Reducer{"a": reducers.NewSum(), "b": reducers.NewThreshold(0.3, 1.5)},
			Default:  reducers.NewAvgNonZero(),
		}},
	}
}

// randomLoss builds a sub-loss of kind k with p values drawn by draw over
// a batch of n elements. Pair indices are distinct (anchor, other) pairs.
func randomLoss(rng *rand.Rand, name string, k reducers.Kind, n, p int, draw func() float64) reducers.SubLoss {
	if k == reducers.AlreadyReduced {
		p = 1
	}
	l := reducers.SubLoss{Name: name, Kind: k, Values: make([]float64, p), Divisor: 3.5, HasDivisor: true}
	for i := range l.Values {
		l.Values[i] = draw()
	}
	switch k {
	case reducers.Element:
		l.Indices = [][]int{make([]int, p)}
		for i := range l.Indices[0] {
			l.Indices[0][i] = rng.IntN(n)
		}
	case reducers.PosPair, reducers.NegPair:
		cells := rng.Perm(n * n)[:p]
		a, o := make([]int, p), make([]int, p)
		for i, c := range cells {
			a[i], o[i] = c/n, c%n
		}
		l.Indices = [][]int{a, o}
	case reducers.Triplet:
		l.Indices = [][]int{make([]int, p), make([]int, p), make([]int, p)}
		for j := range l.Indices {
			for i := range l.Indices[j] {
				l.Indices[j][i] = rng.IntN(n)
			}
		}
	}
	return l
}

// awayFromKinks draws values in [lo, hi] at least 0.02 away from the
// thresholds used by allReducers.
func awayFromKinks(rng *rand.Rand, lo, hi float64) func() float64 {
	return func() float64 {
		for {
			v := lo + (hi-lo)*rng.Float64()
			near := false
			for _, k := range []float64{0, 0.3, 1, 1.5} {
				if math.Abs(v-k) < 0.02 {
					near = true
				}
			}
			if !near {
				return v
			}
		}
	}
}

// TestFiniteDifferences checks every reducer's gradient against central
// differences on random values, for every kind it supports.
func TestFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, p = 7, 12
	labels := []int{0, 1, 2, 3, 0, 1, 2}
	for _, nr := range allReducers() {
		for _, k := range kinds {
			if k == reducers.Triplet && strings.HasPrefix(nr.name, "PerAnchor") {
				continue
			}
			for _, name := range []string{"a", "b", "c"} {
				t.Run(fmt.Sprintf("%s/%s/%s", nr.name, k, name), func(t *testing.T) {
					draw := awayFromKinks(rng, -1, 2)
					if strings.HasPrefix(nr.name, "PerAnchor") {
						// Positive values keep the per-anchor means away
						// from AvgNonZero's kink at 0.
						draw = func() float64 { return 0.05 + 2*rng.Float64() }
					}
					l := randomLoss(rng, name, k, n, p, draw)
					b := reducers.Batch{N: n, Labels: labels}
					_, grad, err := nr.r.ReduceOne(l, b)
					if err != nil {
						t.Fatal(err)
					}
					x := mat.NewDense(1, len(l.Values), l.Values) // shares l.Values
					num := fdiff.Gradient(func() float64 {
						v, _, err := nr.r.ReduceOne(l, b)
						if err != nil {
							t.Fatal(err)
						}
						return v
					}, x, 1e-6)
					if err := fdiff.CompareSlices(grad, num.RawRowView(0), 1e-6, 1e-8); err != nil {
						t.Error(err)
					}
				})
			}
		}
	}
}

// TestBadInput checks that each bad input gives an error that wraps the
// right sentinel and starts with the component's name.
func TestBadInput(t *testing.T) {
	elem := func(vals ...float64) reducers.SubLoss {
		idx := make([]int, len(vals))
		for i := range idx {
			idx[i] = i % 3
		}
		return reducers.SubLoss{Name: "loss", Values: vals, Indices: [][]int{idx}, Kind: reducers.Element}
	}
	pair := reducers.SubLoss{Name: "pos", Values: []float64{1, 2}, Indices: [][]int{{0, 1}, {1, 2}}, Kind: reducers.PosPair}
	withDiv := func(l reducers.SubLoss, d float64) reducers.SubLoss {
		l.Divisor, l.HasDivisor = d, true
		return l
	}
	batch := reducers.Batch{N: 3, Labels: []int{0, 1, 2}}
	tests := []struct {
		name      string
		r         reducers.Reducer
		l         reducers.SubLoss
		b         reducers.Batch
		sentinel  error
		component string
	}{
		{"divisor/negative", reducers.NewDivisor(), withDiv(elem(1, 2), -2), batch, gometric.ErrSetting, "reducers.Divisor"},
		{"divisor/missing", reducers.NewDivisor(), elem(1, 2), batch, gometric.ErrSetting, "reducers.Divisor"},
		{"divisor/missing/zero-loss", reducers.NewDivisor(), reducers.SubLoss{Kind: reducers.PosPair}, batch, gometric.ErrSetting, "reducers.Divisor"},
		{"divisor/nan", reducers.NewDivisor(), withDiv(elem(1, 2), math.NaN()), batch, gometric.ErrNonFinite, "reducers.Divisor"},
		{"divisor/overflow", reducers.NewDivisor(), withDiv(elem(1, 2), 1e-320), batch, gometric.ErrNonFinite, "reducers.Divisor"},
		{"threshold/neither", reducers.NewThreshold(math.Inf(-1), math.Inf(1)), elem(1, 2), batch, gometric.ErrSetting, "reducers.Threshold"},
		{"threshold/nan-low", reducers.NewThreshold(math.NaN(), 1), elem(1, 2), batch, gometric.ErrSetting, "reducers.Threshold"},
		{"threshold/nan-high", reducers.NewThreshold(0, math.NaN()), elem(1, 2), batch, gometric.ErrSetting, "reducers.Threshold"},
		{"threshold/nil", (*reducers.Threshold)(nil), elem(1, 2), batch, gometric.ErrSetting, "reducers.Threshold"},
		{"mean/nan", reducers.NewMean(), elem(1, math.NaN()), batch, gometric.ErrNonFinite, "reducers.Mean"},
		{"sum/inf", reducers.NewSum(), elem(math.Inf(1), 1), batch, gometric.ErrNonFinite, "reducers.Sum"},
		{"sum/overflow", reducers.NewSum(), elem(math.MaxFloat64, math.MaxFloat64), batch, gometric.ErrNonFinite, "reducers.Sum"},
		{"avgnonzero/nan", reducers.NewAvgNonZero(), elem(math.NaN()), batch, gometric.ErrNonFinite, "reducers.AvgNonZero"},
		{"mean/index-count", reducers.NewMean(), reducers.SubLoss{Values: []float64{1}, Indices: [][]int{{0}}, Kind: reducers.PosPair}, batch, gometric.ErrShape, "reducers.Mean"},
		{"mean/index-length", reducers.NewMean(), reducers.SubLoss{Values: []float64{1, 2}, Indices: [][]int{{0, 1}, {1}}, Kind: reducers.NegPair}, batch, gometric.ErrShape, "reducers.Mean"},
		{"sum/triplet-count", reducers.NewSum(), reducers.SubLoss{Values: []float64{1}, Indices: [][]int{{0}, {1}}, Kind: reducers.Triplet}, batch, gometric.ErrShape, "reducers.Sum"},
		{"mean/already-reduced-2", reducers.NewMean(), reducers.SubLoss{Values: []float64{1, 2}, Kind: reducers.AlreadyReduced}, batch, gometric.ErrShape, "reducers.Mean"},
		{"mean/bad-kind", reducers.NewMean(), reducers.SubLoss{Values: []float64{1}, Kind: reducers.Kind(9)}, batch, gometric.ErrSetting, "reducers.Mean"},
		{"classweighted/label-outside", reducers.NewClassWeighted([]float64{1, 2}), elem(1, 2, 3), batch, gometric.ErrIndex, "reducers.ClassWeighted"},
		{"classweighted/negative-label", reducers.NewClassWeighted([]float64{1, 2, 3}), elem(1), reducers.Batch{N: 3, Labels: []int{-1, 0, 0}}, gometric.ErrIndex, "reducers.ClassWeighted"},
		{"classweighted/index-outside", reducers.NewClassWeighted([]float64{1, 2, 3}), pair, reducers.Batch{N: 1, Labels: []int{0}}, gometric.ErrIndex, "reducers.ClassWeighted"},
		{"classweighted/no-labels", reducers.NewClassWeighted([]float64{1, 2, 3}), elem(1), reducers.Batch{N: 3}, gometric.ErrLabels, "reducers.ClassWeighted"},
		{"classweighted/label-count", reducers.NewClassWeighted([]float64{1, 2, 3}), elem(1), reducers.Batch{N: 3, Labels: []int{0, 1}}, gometric.ErrLabels, "reducers.ClassWeighted"},
		{"classweighted/nil-indices", reducers.NewClassWeighted([]float64{1, 2, 3}), reducers.SubLoss{Values: []float64{1}, Kind: reducers.Element}, batch, gometric.ErrShape, "reducers.ClassWeighted"},
		{"classweighted/no-weights", reducers.NewClassWeighted(nil), elem(1), batch, gometric.ErrSetting, "reducers.ClassWeighted"},
		{"classweighted/nan-weight", reducers.NewClassWeighted([]float64{1, math.NaN()}), elem(1), batch, gometric.ErrSetting, "reducers.ClassWeighted"},
		{"peranchor/triplet", reducers.NewPerAnchor(), reducers.SubLoss{Values: []float64{1}, Indices: [][]int{{0}, {1}, {2}}, Kind: reducers.Triplet}, batch, gometric.ErrUnsupported, "reducers.PerAnchor"},
		{"peranchor/index-outside", reducers.NewPerAnchor(), pair, reducers.Batch{N: 2}, gometric.ErrIndex, "reducers.PerAnchor"},
		{"peranchor/negative-index", reducers.NewPerAnchor(), reducers.SubLoss{Values: []float64{1}, Indices: [][]int{{-1}, {0}}, Kind: reducers.NegPair}, batch, gometric.ErrIndex, "reducers.PerAnchor"},
		{"peranchor/nil-indices", reducers.NewPerAnchor(), reducers.SubLoss{Values: []float64{1}, Kind: reducers.PosPair}, batch, gometric.ErrShape, "reducers.PerAnchor"},
		{"peranchor/negative-n", reducers.NewPerAnchor(), pair, reducers.Batch{N: -1}, gometric.ErrShape, "reducers.PerAnchor"},
		{"peranchor/inner-divisor", &reducers.PerAnchor{Reducer: reducers.NewDivisor()}, withDiv(pair, 2), batch, gometric.ErrSetting, "reducers.PerAnchor"},
		{"peranchor/inner-donothing", &reducers.PerAnchor{Reducer: reducers.NewDoNothing()}, elem(1), batch, gometric.ErrUnsupported, "reducers.PerAnchor"},
		{"peranchor/inner-short-grad", &reducers.PerAnchor{Reducer: shortGrad{}}, pair, batch, gometric.ErrShape, "reducers.PerAnchor"},
		{"multiple/nil-entry", reducers.NewMultiple(map[string]reducers.Reducer{"loss": nil}), elem(1), batch, gometric.ErrSetting, "reducers.Multiple"},
		{"multiple/sub-error", reducers.NewMultiple(map[string]reducers.Reducer{"loss": reducers.NewDivisor()}), elem(1), batch, gometric.ErrSetting, "reducers.Multiple"},
		{"multiple/default-donothing", &reducers.Multiple{Default: reducers.NewDoNothing()}, elem(1), batch, gometric.ErrUnsupported, "reducers.Multiple"},
		{"donothing", reducers.NewDoNothing(), elem(1), batch, gometric.ErrUnsupported, "reducers.DoNothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, g, err := tc.r.ReduceOne(tc.l, tc.b)
			if err == nil {
				t.Fatalf("no error (value %v, grad %v)", v, g)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), tc.component+": ") {
				t.Errorf("error %q does not start with %q", err, tc.component)
			}
			if _, err := reducers.Reduce(tc.r, []reducers.SubLoss{tc.l}, tc.b); !errors.Is(err, tc.sentinel) {
				t.Errorf("Reduce: error %v does not wrap %v", err, tc.sentinel)
			}
		})
	}
}

// shortGrad is a broken user-defined reducer: its gradient is too short.
type shortGrad struct{}

func (shortGrad) ReduceOne(l reducers.SubLoss, _ reducers.Batch) (float64, []float64, error) {
	return 1, []float64{1}, nil
}

func TestReduceErrors(t *testing.T) {
	l := reducers.SubLoss{Name: "x", Values: []float64{1, 2}, Kind: reducers.Element}
	tests := []struct {
		name     string
		r        reducers.Reducer
		losses   []reducers.SubLoss
		sentinel error
	}{
		{"nil", nil, []reducers.SubLoss{l}, gometric.ErrSetting},
		{"short-grad", shortGrad{}, []reducers.SubLoss{l}, gometric.ErrShape},
		{"overflow", reducers.NewSum(), []reducers.SubLoss{
			{Name: "a", Values: []float64{math.MaxFloat64}, Kind: reducers.AlreadyReduced},
			{Name: "b", Values: []float64{math.MaxFloat64}, Kind: reducers.AlreadyReduced},
		}, gometric.ErrNonFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := reducers.Reduce(tc.r, tc.losses, reducers.Batch{N: 3})
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(fmt.Sprint(err), "reducers.Reduce: ") {
				t.Errorf("error %v, want reducers.Reduce: ... wrapping %v", err, tc.sentinel)
			}
		})
	}
}

// TestZeroLoss: nil or empty values are PML's literal zero loss for every
// reducer and kind: 0, an empty gradient, and no labels or indices needed.
// Divisor still needs a divisor for the kinds other than AlreadyReduced,
// as PML reads it first.
func TestZeroLoss(t *testing.T) {
	for _, nr := range allReducers() {
		for _, k := range kinds {
			for _, vals := range [][]float64{nil, {}} {
				l := reducers.SubLoss{Name: "a", Values: vals, Kind: k, HasDivisor: true}
				v, g, err := nr.r.ReduceOne(l, reducers.Batch{})
				if err != nil || v != 0 || g == nil || len(g) != 0 {
					t.Errorf("%s/%s/%v: got %v, %v, %v; want 0, [], nil", nr.name, k, vals, v, g, err)
				}
			}
		}
	}
}

// TestAlreadyReduced: every reducer passes an already-reduced value
// through with gradient 1, without reading divisor, labels, indices or its
// inner reducer (BaseReducer.already_reduced_reduction).
func TestAlreadyReduced(t *testing.T) {
	rs := append(allReducers(),
		named{"PerAnchor/DoNothing", &reducers.PerAnchor{Reducer: reducers.NewDoNothing()}},
		named{"Threshold/excluding", reducers.NewThreshold(5, 6)})
	for _, nr := range rs {
		l := reducers.SubLoss{Name: "c", Values: []float64{-0.75}, Kind: reducers.AlreadyReduced, Indices: [][]int{{99}}}
		v, g, err := nr.r.ReduceOne(l, reducers.Batch{})
		if err != nil || v != -0.75 || len(g) != 1 || g[0] != 1 {
			t.Errorf("%s: got %v, %v, %v; want -0.75, [1], nil", nr.name, v, g, err)
		}
	}
}

// TestNilIndices: reducers that never read indices accept records without
// them (and give the same result as with them); ClassWeighted and
// PerAnchor's pair reduction require them.
func TestNilIndices(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := reducers.Batch{N: 5, Labels: []int{0, 1, 2, 0, 1}}
	for _, nr := range allReducers() {
		for _, k := range kinds[:4] {
			l := randomLoss(rng, "a", k, 5, 6, func() float64 { return rng.Float64() * 2 })
			bare := l
			bare.Indices = nil
			wantV, wantG, wantErr := nr.r.ReduceOne(l, b)
			v, g, err := nr.r.ReduceOne(bare, b)
			needs := strings.HasPrefix(nr.name, "ClassWeighted") || strings.HasSuffix(nr.name, "ClassWeighted") ||
				(strings.HasPrefix(nr.name, "PerAnchor") && (k == reducers.PosPair || k == reducers.NegPair))
			switch {
			case wantErr != nil:
				// PerAnchor triplets: unsupported either way.
				if err == nil {
					t.Errorf("%s/%s: no error without indices, %v with them", nr.name, k, wantErr)
				}
			case needs:
				if !errors.Is(err, gometric.ErrShape) {
					t.Errorf("%s/%s: error %v without indices, want ErrShape", nr.name, k, err)
				}
			default:
				if err != nil || v != wantV || !slices.Equal(g, wantG) {
					t.Errorf("%s/%s: without indices %v, %v, %v; with %v, %v", nr.name, k, v, g, err, wantV, wantG)
				}
			}
		}
	}
}

// perAnchorTable is PML's PerAnchorReducer.tuple_reduction_helper written
// literally with an N×N table, and the gradient torch's autograd gives for
// it (index_put backward gathers each cell's gradient for every write;
// masked cells get none).
func perAnchorTable(inner reducers.Reducer, l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	n := b.N
	table := make([][]float64, n)
	for i := range table {
		table[i] = make([]float64, n)
		for j := range table[i] {
			table[i][j] = math.MaxFloat64
		}
	}
	a, o := l.Indices[0], l.Indices[1]
	for k, v := range l.Values {
		table[a[k]][o[k]] = v
	}
	masked := make([][]bool, n)
	out := make([]float64, n)
	count := make([]int, n)
	for i := range table {
		masked[i] = make([]bool, n)
		s := 0.0
		for j, v := range table[i] {
			if v == math.MaxFloat64 {
				masked[i][j] = true
				continue
			}
			s += v
			count[i]++
		}
		if count[i] > 0 {
			out[i] = s / float64(count[i])
		}
	}
	arange := make([]int, n)
	for i := range arange {
		arange[i] = i
	}
	v, gOut, err := inner.ReduceOne(reducers.SubLoss{Name: "loss", Values: out, Indices: [][]int{arange}, Kind: reducers.Element}, b)
	if err != nil {
		return 0, nil, err
	}
	cellGrad := func(i, j int) float64 {
		if masked[i][j] || count[i] == 0 {
			return 0
		}
		return gOut[i] / float64(count[i])
	}
	g := make([]float64, len(l.Values))
	for k := range g {
		g[k] = cellGrad(a[k], o[k])
	}
	return v, g, nil
}

// TestPerAnchorTable compares PerAnchor with the literal N×N version of
// PML's algorithm on records with duplicated pairs and pos_inf sentinels.
func TestPerAnchorTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inners := []named{
		{"Mean", reducers.NewMean()},
		{"Sum", reducers.NewSum()},
		{"AvgNonZero", reducers.NewAvgNonZero()},
		{"ClassWeighted", reducers.NewClassWeighted([]float64{1, 2, 0.5})},
		{"Threshold", reducers.NewThreshold(0.2, 1.2)},
	}
	for trial := range 40 {
		n := 1 + rng.IntN(6)
		p := 1 + rng.IntN(3*n)
		l := reducers.SubLoss{Name: "neg", Kind: reducers.NegPair, Values: make([]float64, p), Indices: [][]int{make([]int, p), make([]int, p)}}
		for k := range l.Values {
			// Few distinct cells, so duplicates are common.
			l.Indices[0][k], l.Indices[1][k] = rng.IntN(n), rng.IntN(min(n, 2))
			switch rng.IntN(6) {
			case 0:
				l.Values[k] = math.MaxFloat64
			case 1:
				l.Values[k] = 0
			default:
				l.Values[k] = 2 * rng.Float64()
			}
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(3)
		}
		b := reducers.Batch{N: n, Labels: labels}
		for _, in := range inners {
			want, wantG, err := perAnchorTable(in.r, l, b)
			if err != nil {
				t.Fatal(err)
			}
			got, g, err := (&reducers.PerAnchor{Reducer: in.r}).ReduceOne(l, b)
			if err != nil {
				t.Fatalf("trial %d %s: %v", trial, in.name, err)
			}
			if err := fdiff.CompareSlices([]float64{got}, []float64{want}, 1e-12, 1e-12); err != nil {
				t.Errorf("trial %d %s: value: %v", trial, in.name, err)
			}
			if err := fdiff.CompareSlices(g, wantG, 1e-12, 1e-12); err != nil {
				t.Errorf("trial %d %s: gradient: %v", trial, in.name, err)
			}
		}
	}
}

// TestPerAnchorWorked is a hand-computed PerAnchor case: a duplicated pair
// (only the last value counts, both get the cell's gradient), a pos_inf
// sentinel (absent, no gradient) and anchors without pairs (0).
func TestPerAnchorWorked(t *testing.T) {
	l := reducers.SubLoss{
		Name:    "pos_loss",
		Values:  []float64{2, 4, 6, math.MaxFloat64},
		Indices: [][]int{{0, 0, 0, 1}, {1, 2, 1, 0}},
		Kind:    reducers.PosPair,
	}
	v, g, err := reducers.NewPerAnchor().ReduceOne(l, reducers.Batch{N: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Anchor 0: cells (0,1) = 6 (the 2 was overwritten), (0,2) = 4: mean 5.
	// Anchors 1 and 2: no pairs left: 0. Mean over 3 anchors: 5/3.
	if math.Abs(v-5.0/3) > 1e-15 {
		t.Errorf("value %v, want 5/3", v)
	}
	want := []float64{1.0 / 6, 1.0 / 6, 1.0 / 6, 0}
	if err := fdiff.CompareSlices(g, want, 1e-15, 1e-15); err != nil {
		t.Errorf("gradient: %v", err)
	}
}

// TestThresholdSemantics: strict bounds, and nothing past the filter gives
// 0 with a zero gradient (also with low >= high).
func TestThresholdSemantics(t *testing.T) {
	l := reducers.SubLoss{Name: "x", Values: []float64{0, 0.5, 1, 1.5}, Kind: reducers.Element}
	tests := []struct {
		r     reducers.Reducer
		value float64
		grad  []float64
	}{
		{reducers.NewThreshold(0.5, 1.5), 1, []float64{0, 0, 1, 0}},
		{reducers.NewThreshold(0, math.Inf(1)), 1, []float64{0, 1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{reducers.NewAvgNonZero(), 1, []float64{0, 1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{reducers.NewThreshold(math.Inf(-1), 1), 0.25, []float64{0.5, 0.5, 0, 0}},
		{reducers.NewThreshold(2, math.Inf(1)), 0, []float64{0, 0, 0, 0}},
		{reducers.NewThreshold(1, 1), 0, []float64{0, 0, 0, 0}},
	}
	for i, tc := range tests {
		v, g, err := tc.r.ReduceOne(l, reducers.Batch{})
		if err != nil || v != tc.value || !slices.Equal(g, tc.grad) {
			t.Errorf("%d (%+v): got %v, %v, %v; want %v, %v", i, tc.r, v, g, err, tc.value, tc.grad)
		}
	}
}

// TestDivisorZero: a zero divisor gives 0 with a zero gradient, as PML.
func TestDivisorZero(t *testing.T) {
	l := reducers.SubLoss{Name: "x", Values: []float64{1, 2}, Kind: reducers.Triplet, HasDivisor: true}
	v, g, err := reducers.NewDivisor().ReduceOne(l, reducers.Batch{})
	if err != nil || v != 0 || !slices.Equal(g, []float64{0, 0}) {
		t.Errorf("got %v, %v, %v; want 0, [0 0], nil", v, g, err)
	}
}

// TestMultipleRouting: each sub-loss goes to the reducer of its name, the
// others to Default (Mean when nil), and Reduce sums them.
func TestMultipleRouting(t *testing.T) {
	losses := []reducers.SubLoss{
		{Name: "a", Values: []float64{1, 3}, Kind: reducers.Element},
		{Name: "b", Values: []float64{0, 4}, Kind: reducers.PosPair},
		{Name: "c", Values: []float64{2}, Kind: reducers.AlreadyReduced},
	}
	m := &reducers.Multiple{Reducers: map[string]reducers.Reducer{"a": reducers.NewSum()}}
	out, err := reducers.Reduce(m, losses, reducers.Batch{N: 2})
	if err != nil {
		t.Fatal(err)
	}
	// a: Sum = 4; b: Mean = 2; c: 2.
	if out.Loss != 8 || !slices.Equal(out.Parts, []float64{4, 2, 2}) ||
		!slices.Equal(out.Grads[0], []float64{1, 1}) || !slices.Equal(out.Grads[1], []float64{0.5, 0.5}) || !slices.Equal(out.Grads[2], []float64{1}) {
		t.Errorf("got %+v", out)
	}
	m.Default = reducers.NewAvgNonZero()
	out, err = reducers.Reduce(m, losses, reducers.Batch{N: 2})
	if err != nil || out.Parts[1] != 4 {
		t.Errorf("Default AvgNonZero: got %+v, %v; want part b = 4", out, err)
	}
}

// TestPassthrough: only DoNothing is a pass-through reducer.
func TestPassthrough(t *testing.T) {
	if !reducers.Passthrough(reducers.NewDoNothing()) {
		t.Error("DoNothing: Passthrough false")
	}
	for _, nr := range allReducers() {
		if reducers.Passthrough(nr.r) {
			t.Errorf("%s: Passthrough true", nr.name)
		}
	}
	if reducers.Passthrough(nil) {
		t.Error("nil: Passthrough true")
	}
	if reducers.Passthrough(&reducers.PerAnchor{Reducer: reducers.NewDoNothing()}) {
		t.Error("PerAnchor(DoNothing): Passthrough true")
	}
}

func TestKindStrings(t *testing.T) {
	for _, k := range kinds {
		got, err := reducers.ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := reducers.ParseKind("quadruplet"); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ParseKind(quadruplet): %v", err)
	}
}
