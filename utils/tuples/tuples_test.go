package tuples

import (
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// b turns a 0/1 list into bools, for compact mask expectations.
func b(xs ...int) []bool {
	out := make([]bool, len(xs))
	for i, x := range xs {
		out[i] = x != 0
	}
	return out
}

func ints(xs ...int) []int {
	if xs == nil {
		return []int{}
	}
	return xs
}

// sameInts compares two index slices, treating nil and empty as equal.
func sameInts(a, b []int) bool { return len(a) == len(b) && (len(a) == 0 || slices.Equal(a, b)) }

func samePairs(a, b *Pairs) bool {
	return sameInts(a.A1, b.A1) && sameInts(a.P, b.P) && sameInts(a.A2, b.A2) && sameInts(a.N, b.N)
}

func sameTriplets(a, b *Triplets) bool {
	return sameInts(a.A, b.A) && sameInts(a.P, b.P) && sameInts(a.N, b.N)
}

func TestMasks(t *testing.T) {
	tests := []struct {
		name                string
		labels, ref         []int
		self                bool
		wantMatch, wantDiff []bool
	}{
		{"self", []int{0, 1, 0}, nil, true,
			b(0, 0, 1, 0, 0, 0, 1, 0, 0), b(0, 1, 0, 1, 0, 1, 0, 1, 0)},
		{"self with equal refLabels", []int{0, 1, 0}, []int{0, 1, 0}, true,
			b(0, 0, 1, 0, 0, 0, 1, 0, 0), b(0, 1, 0, 1, 0, 1, 0, 1, 0)},
		{"ref 3x2", []int{0, 1, 0}, []int{1, 0}, false,
			b(0, 1, 1, 0, 0, 1), b(1, 0, 0, 1, 1, 0)},
		{"equal labels but not self keeps diagonal", []int{0, 1, 0}, []int{0, 1, 0}, false,
			b(1, 0, 1, 0, 1, 0, 1, 0, 1), b(0, 1, 0, 1, 0, 1, 0, 1, 0)},
		{"empty", []int{}, nil, true, b(), b()},
		{"empty ref", []int{4, 4}, []int{}, false, b(), b()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, d, err := Masks(tc.labels, tc.ref, tc.self)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m, tc.wantMatch) || !slices.Equal(d, tc.wantDiff) {
				t.Errorf("got matches %v diffs %v, want %v %v", m, d, tc.wantMatch, tc.wantDiff)
			}
		})
	}
}

func TestLabelErrors(t *testing.T) {
	tests := []struct {
		name        string
		labels, ref []int
		self        bool
	}{
		{"self with shorter ref", []int{0, 1, 0}, []int{0, 1}, true},
		{"self with different ref", []int{0, 1, 0}, []int{0, 1, 1}, true},
		{"not self with nil ref", []int{0, 1}, nil, false},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := map[string]error{}
			_, _, calls["Masks"] = Masks(tc.labels, tc.ref, tc.self)
			_, calls["AllPairs"] = AllPairs(tc.labels, tc.ref, tc.self)
			_, calls["AllTriplets"] = AllTriplets(tc.labels, tc.ref, tc.self)
			_, calls["CountAllTriplets"] = CountAllTriplets(tc.labels, tc.ref, tc.self)
			calls["EachAnchor"] = EachAnchor(tc.labels, tc.ref, tc.self, func(int, []int, []int) error { return nil })
			_, calls["ToPairs"] = ToPairs(nil, tc.labels, tc.ref, tc.self)
			_, calls["ToTriplets"] = ToTriplets(nil, tc.labels, tc.ref, tc.self, AllPerAnchor, nil)
			_, calls["RandomTriplets"] = RandomTriplets(tc.labels, tc.ref, tc.self, 1, nil, rng)
			for name, err := range calls {
				if !errors.Is(err, gometric.ErrLabels) {
					t.Errorf("%s: got %v, want ErrLabels", name, err)
				}
			}
		})
	}
}

func TestAllPairs(t *testing.T) {
	tests := []struct {
		name        string
		labels, ref []int
		self        bool
		want        Pairs
	}{
		{"self", []int{0, 1, 0}, nil, true, Pairs{
			A1: ints(0, 2), P: ints(2, 0), A2: ints(0, 1, 1, 2), N: ints(1, 0, 2, 1)}},
		{"ref", []int{0, 1, 0}, []int{1, 0}, false, Pairs{
			A1: ints(0, 1, 2), P: ints(1, 0, 1), A2: ints(0, 1, 2), N: ints(0, 1, 0)}},
		{"equal labels not self keeps (i,i)", []int{0, 1, 0}, []int{0, 1, 0}, false, Pairs{
			A1: ints(0, 0, 1, 2, 2), P: ints(0, 2, 1, 0, 2), A2: ints(0, 1, 1, 2), N: ints(1, 0, 2, 1)}},
		{"one class", []int{5, 5, 5}, nil, true, Pairs{
			A1: ints(0, 0, 1, 1, 2, 2), P: ints(1, 2, 0, 2, 0, 1), A2: ints(), N: ints()}},
		{"all distinct", []int{1, 2, 3}, nil, true, Pairs{
			A1: ints(), P: ints(), A2: ints(0, 0, 1, 1, 2, 2), N: ints(1, 2, 0, 2, 0, 1)}},
		{"empty", nil, nil, true, Pairs{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AllPairs(tc.labels, tc.ref, tc.self)
			if err != nil {
				t.Fatal(err)
			}
			if !samePairs(got, &tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestAllTriplets(t *testing.T) {
	tests := []struct {
		name        string
		labels, ref []int
		self        bool
		want        Triplets
	}{
		{"two pairs", []int{0, 0, 1, 1}, nil, true, Triplets{
			A: ints(0, 0, 1, 1, 2, 2, 3, 3), P: ints(1, 1, 0, 0, 3, 3, 2, 2), N: ints(2, 3, 2, 3, 0, 1, 0, 1)}},
		{"three and one", []int{0, 0, 0, 1}, nil, true, Triplets{
			A: ints(0, 0, 1, 1, 2, 2), P: ints(1, 2, 0, 2, 0, 1), N: ints(3, 3, 3, 3, 3, 3)}},
		{"ref", []int{0, 1}, []int{1, 0, 0, 1, 2}, false, Triplets{
			A: ints(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1),
			P: ints(1, 1, 1, 2, 2, 2, 0, 0, 0, 3, 3, 3),
			N: ints(0, 3, 4, 0, 3, 4, 1, 2, 4, 1, 2, 4)}},
		{"singletons", []int{0, 1}, nil, true, Triplets{}},
		{"no negatives", []int{0, 0}, []int{0, 0}, false, Triplets{}},
		{"equal labels not self (TwoStream)", []int{0, 1}, []int{0, 1}, false, Triplets{
			A: ints(0, 1), P: ints(0, 1), N: ints(1, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AllTriplets(tc.labels, tc.ref, tc.self)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTriplets(got, &tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
			n, err := CountAllTriplets(tc.labels, tc.ref, tc.self)
			if err != nil || n != len(tc.want.A) {
				t.Errorf("CountAllTriplets = %d, %v; want %d", n, err, len(tc.want.A))
			}
			viaTo, err := ToTriplets(nil, tc.labels, tc.ref, tc.self, AllPerAnchor, nil)
			if err != nil || !sameTriplets(viaTo, &tc.want) {
				t.Errorf("ToTriplets(nil, all) = %+v, %v", viaTo, err)
			}
		})
	}
}

func TestEachAnchor(t *testing.T) {
	type call struct {
		a        int
		pos, neg []int
	}
	var got []call
	err := EachAnchor([]int{0, 0, 1, 1, 2}, nil, true, func(a int, pos, neg []int) error {
		got = append(got, call{a, slices.Clone(pos), slices.Clone(neg)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []call{
		{0, ints(1), ints(2, 3, 4)},
		{1, ints(0), ints(2, 3, 4)},
		{2, ints(3), ints(0, 1, 4)},
		{3, ints(2), ints(0, 1, 4)},
		{4, ints(), ints(0, 1, 2, 3)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d calls, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].a != want[i].a || !sameInts(got[i].pos, want[i].pos) || !sameInts(got[i].neg, want[i].neg) {
			t.Errorf("call %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	stop := errors.New("stop")
	n := 0
	err = EachAnchor([]int{0, 0, 1}, nil, true, func(int, []int, []int) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("fn error: got %v after %d calls, want stop after 2", err, n)
	}
	if err := EachAnchor([]int{0}, nil, true, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil fn: got %v, want ErrSetting", err)
	}
}

func TestToPairs(t *testing.T) {
	labels := []int{0, 1, 0, 1}
	in := &Pairs{A1: ints(0), P: ints(2), A2: ints(1), N: ints(0)}
	got, err := ToPairs(in, labels, nil, true)
	if err != nil || got != in {
		t.Errorf("pairs: got %p, %v; want the same pointer %p", got, err, in)
	}
	got, err = ToPairs(nil, labels, nil, true)
	want, _ := AllPairs(labels, nil, true)
	if err != nil || !samePairs(got, want) {
		t.Errorf("nil: got %+v, %v; want %+v", got, err, want)
	}
	trip := &Triplets{A: ints(0, 1), P: ints(2, 2), N: ints(3, 0)}
	got, err = ToPairs(trip, labels, nil, true)
	if err != nil || !samePairs(got, &Pairs{A1: ints(0, 1), P: ints(2, 2), A2: ints(0, 1), N: ints(3, 0)}) {
		t.Errorf("triplets: got %+v, %v", got, err)
	}
	got.A2[0] = 99
	if trip.A[0] != 0 || got.A1[0] != 0 {
		t.Error("converted pairs share memory with the triplets or with each other")
	}

	errTests := []struct {
		name string
		t    Tuples
		ref  []int
		want error
	}{
		{"anchor out of range", &Triplets{A: ints(4), P: ints(0), N: ints(1)}, nil, gometric.ErrIndex},
		{"negative index", &Pairs{A1: ints(0), P: ints(-1), A2: ints(), N: ints()}, nil, gometric.ErrIndex},
		{"positive beyond ref", &Pairs{A1: ints(0), P: ints(2), A2: ints(), N: ints()}, []int{0, 1}, gometric.ErrIndex},
		{"ragged pairs", &Pairs{A1: ints(0, 1), P: ints(2), A2: ints(), N: ints()}, nil, gometric.ErrShape},
		{"ragged triplets", &Triplets{A: ints(0), P: ints(2), N: ints()}, nil, gometric.ErrShape},
		{"nil *Pairs", (*Pairs)(nil), nil, gometric.ErrShape},
		{"nil *Triplets", (*Triplets)(nil), nil, gometric.ErrShape},
		{"foreign type", foreign{&Pairs{}}, nil, gometric.ErrUnsupported},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToPairs(tc.t, labels, tc.ref, tc.ref == nil)
			if !errors.Is(err, tc.want) {
				t.Errorf("ToPairs: got %v, want %v", err, tc.want)
			}
			_, err = ToTriplets(tc.t, labels, tc.ref, tc.ref == nil, AllPerAnchor, nil)
			if !errors.Is(err, tc.want) {
				t.Errorf("ToTriplets: got %v, want %v", err, tc.want)
			}
		})
	}
}

// foreign is a Tuples implementation from outside the package's two types.
type foreign struct{ *Pairs }

func TestToTriplets(t *testing.T) {
	tests := []struct {
		name   string
		labels []int
		ref    []int
		pairs  *Pairs
		want   Triplets
	}{
		{"join in row-major order", make([]int, 3), make([]int, 12),
			&Pairs{A1: ints(0, 1, 0), P: ints(5, 6, 7), A2: ints(1, 0, 0, 2), N: ints(8, 9, 10, 11)},
			Triplets{A: ints(0, 0, 1, 0, 0), P: ints(5, 5, 6, 7, 7), N: ints(9, 10, 8, 9, 10)}},
		{"repeated anchors", make([]int, 2), make([]int, 6),
			&Pairs{A1: ints(1, 1), P: ints(0, 2), A2: ints(1, 0, 1), N: ints(3, 4, 5)},
			Triplets{A: ints(1, 1, 1, 1), P: ints(0, 0, 2, 2), N: ints(3, 5, 3, 5)}},
		{"no shared anchors", make([]int, 2), make([]int, 2),
			&Pairs{A1: ints(0), P: ints(1), A2: ints(1), N: ints(0)}, Triplets{}},
		{"no negatives", make([]int, 2), make([]int, 2),
			&Pairs{A1: ints(0), P: ints(1), A2: ints(), N: ints()}, Triplets{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToTriplets(tc.pairs, tc.labels, tc.ref, false, 5, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTriplets(got, &tc.want) {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
	in := &Triplets{A: ints(0), P: ints(1), N: ints(2)}
	if got, err := ToTriplets(in, []int{0, 0, 1}, nil, true, 3, nil); err != nil || got != in {
		t.Errorf("triplets: got %p, %v; want the same pointer %p", got, err, in)
	}
	if _, err := ToTriplets(nil, []int{0, 0, 1}, nil, true, -2, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("perAnchor -2: got %v, want ErrSetting", err)
	}
	if got, err := ToTriplets(nil, []int{0, 0, 1}, nil, true, 0, nil); err != nil || got.Len() != 4 {
		t.Errorf("random with nil rng (the process-wide generator): got %+v, %v; want 4 triplets", got, err)
	}
	// Random branch: same as RandomTriplets with the same seed.
	labels := []int{0, 1, 0, 1, 2, 2, 0}
	got, err := ToTriplets(nil, labels, nil, true, 3, rand.New(rand.NewPCG(7, 7)))
	want, err2 := RandomTriplets(labels, nil, true, 3, nil, rand.New(rand.NewPCG(7, 7)))
	if err != nil || err2 != nil || !sameTriplets(got, want) {
		t.Errorf("random branch: got %+v (%v), want %+v (%v)", got, err, want, err2)
	}
}

func TestPosPairsWithUniqueLabels(t *testing.T) {
	tests := []struct {
		name         string
		t            Tuples
		labels       []int
		wantA, wantP []int
	}{
		{"pairs", &Pairs{A1: ints(2, 0, 4, 1, 3), P: ints(10, 11, 12, 13, 14), A2: ints(0), N: ints(1)},
			[]int{3, 1, 3, 2, 1}, ints(4, 3, 2), ints(12, 14, 10)},
		{"triplets", &Triplets{A: ints(1, 0, 1), P: ints(7, 8, 9), N: ints(0, 0, 0)},
			[]int{5, 2}, ints(1, 0), ints(7, 8)},
		{"nil means all pairs, ref is query", nil, []int{1, 0, 1, 0}, ints(1, 0), ints(3, 2)},
		{"no pairs", &Pairs{}, []int{1, 0}, ints(), ints()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, p, err := PosPairsWithUniqueLabels(tc.t, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !sameInts(a, tc.wantA) || !sameInts(p, tc.wantP) {
				t.Errorf("got %v %v, want %v %v", a, p, tc.wantA, tc.wantP)
			}
		})
	}
	if _, _, err := PosPairsWithUniqueLabels(&Pairs{A1: ints(2), P: ints(0)}, []int{0, 1}); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("anchor out of range: got %v, want ErrIndex", err)
	}
	if _, _, err := PosPairsWithUniqueLabels(&Triplets{A: ints(0), P: ints(-3), N: ints(0)}, []int{0, 1}); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("negative positive: got %v, want ErrIndex", err)
	}
}

func TestAnchors(t *testing.T) {
	tests := []struct {
		name string
		t    Tuples
		want []int
	}{
		{"triplets", &Triplets{A: ints(3, 1), P: ints(0, 0), N: ints(2, 2)}, ints(3, 1)},
		{"pairs", &Pairs{A1: ints(0, 2), P: ints(1, 1), A2: ints(1), N: ints(0)}, ints(0, 2, 1)},
		{"nil", nil, nil},
		{"nil pointer", (*Pairs)(nil), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Anchors(tc.t)
			if !sameInts(got, tc.want) || (tc.want == nil) != (got == nil) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	trip := &Triplets{A: ints(0, 0, 1), P: ints(2, 3, 2), N: ints(4, 4, 4)}
	pairs := &Pairs{A1: ints(0), P: ints(1), A2: ints(0, 2), N: ints(3, 3)}
	tests := []struct {
		name     string
		t        Tuples
		n        int
		usingRef bool
		want     []float64
	}{
		{"nil", nil, 3, false, []float64{1, 1, 1}},
		{"empty triplets", &Triplets{}, 2, false, []float64{1, 1}},
		{"empty pairs using ref", &Pairs{A1: ints(), P: ints(), A2: ints(), N: ints()}, 2, true, []float64{1, 1}},
		{"triplets", trip, 6, false, []float64{2.0 / 3, 1.0 / 3, 2.0 / 3, 1.0 / 3, 1, 0}},
		{"triplets using ref", trip, 6, true, []float64{1, 0.5, 0, 0, 0, 0}},
		{"pairs", pairs, 4, false, []float64{1, 0.5, 0.5, 1}},
		{"pairs using ref", pairs, 4, true, []float64{1, 0, 0.5, 0}},
		{"positives only", &Pairs{A1: ints(1), P: ints(0)}, 3, false, []float64{1, 1, 0}},
		{"using ref ignores ref range", &Triplets{A: ints(0), P: ints(50), N: ints(60)}, 2, true, []float64{1, 0}},
		{"n = 0", nil, 0, false, []float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Weights(tc.t, tc.n, tc.usingRef)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	errTests := []struct {
		name     string
		t        Tuples
		n        int
		usingRef bool
		want     error
	}{
		{"index beyond n", trip, 4, false, gometric.ErrIndex},
		{"anchor beyond n using ref", trip, 1, true, gometric.ErrIndex},
		{"negative ref index using ref", &Triplets{A: ints(0), P: ints(-1), N: ints(0)}, 2, true, gometric.ErrIndex},
		{"negative n", nil, -1, false, gometric.ErrShape},
		{"ragged", &Triplets{A: ints(0), P: ints(), N: ints()}, 3, false, gometric.ErrShape},
		{"nil pointer", (*Triplets)(nil), 3, false, gometric.ErrShape},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Weights(tc.t, tc.n, tc.usingRef); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	var p *Pairs
	var tr *Triplets
	if err := p.Validate(1, 1); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("nil *Pairs: got %v", err)
	}
	if err := tr.Validate(1, 1); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("nil *Triplets: got %v", err)
	}
	if p.NumPos() != 0 || p.NumNeg() != 0 || tr.Len() != 0 {
		t.Error("nil counts are not 0")
	}
}

func TestSizeLimits(t *testing.T) {
	if _, ok := mulCheck(math.MaxInt, 2); ok {
		t.Error("mulCheck overflow not caught")
	}
	if _, ok := mulCheck(1<<16, 1<<17); ok {
		t.Error("mulCheck above maxTuples not caught")
	}
	if v, ok := mulCheck(1<<16, 1<<16); !ok || v != 1<<32 {
		t.Error("mulCheck at maxTuples rejected")
	}
	if _, ok := addCheck(maxTuples, 1); ok {
		t.Error("addCheck above maxTuples not caught")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := RandomTriplets([]int{0, 0, 1}, nil, true, math.MaxInt, nil, rng); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("huge perAnchor: got %v, want ErrSetting", err)
	}
}

// TestZeroValuesAndNilReceivers covers every exported type: the zero value
// is the empty set, and every method of a nil pointer returns an error or
// a zero value without panicking.
func TestZeroValuesAndNilReceivers(t *testing.T) {
	types := map[string]reflect.Type{
		"Pairs":    reflect.TypeFor[*Pairs](),
		"Triplets": reflect.TypeFor[*Triplets](),
	}
	testkit.CheckListed(t, ".", slices.Collect(maps.Keys(types)))
	testkit.CheckConcurrencyDocs(t, ".")
	for _, z := range []Tuples{&Pairs{}, &Triplets{}} {
		if err := z.Validate(0, 0); err != nil {
			t.Errorf("zero %T: %v; want the empty set, valid", z, err)
		}
	}
	if p := (&Pairs{}); p.NumPos() != 0 || p.NumNeg() != 0 || (&Triplets{}).Len() != 0 {
		t.Error("zero values are not empty")
	}
	for name, ty := range types {
		for method, err := range testkit.NilReceiver(t, ty) {
			if !errors.Is(err, gometric.ErrShape) || !strings.HasPrefix(err.Error(), "tuples."+name+": ") {
				t.Errorf("(*%s)(nil).%s: %v; want an error naming tuples.%s wrapping ErrShape", name, method, err, name)
			}
		}
	}
}
