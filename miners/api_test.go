package miners_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
)

// zeroCase is one exported miner type: its zero value, the value its
// constructor returns, and whether the zero value stands for PML's
// defaults (otherwise it must be refused with an error naming the
// constructor).
type zeroCase struct {
	name     string
	zero     miners.Miner
	made     func() miners.Miner
	defaults bool
}

func minerZeroCases() []zeroCase {
	return []zeroCase{
		{"Angular", &miners.Angular{}, func() miners.Miner { return miners.NewAngular() }, false},
		{"BatchEasyHard", &miners.BatchEasyHard{}, func() miners.Miner { return miners.NewBatchEasyHard() }, true},
		{"BatchHard", &miners.BatchHard{}, func() miners.Miner { return miners.NewBatchHard() }, true},
		{"DistanceWeighted", &miners.DistanceWeighted{}, func() miners.Miner { return miners.NewDistanceWeighted() }, false},
		{"EmbeddingsAlreadyPackagedAsTriplets", &miners.EmbeddingsAlreadyPackagedAsTriplets{}, func() miners.Miner { return miners.NewEmbeddingsAlreadyPackagedAsTriplets() }, true},
		{"HDC", &miners.HDC{}, func() miners.Miner { return miners.NewHDC() }, false},
		{"MultiSimilarity", &miners.MultiSimilarity{}, func() miners.Miner { return miners.NewMultiSimilarity() }, false},
		{"PairMargin", &miners.PairMargin{}, func() miners.Miner { return miners.NewPairMargin() }, false},
		{"TripletMargin", &miners.TripletMargin{}, func() miners.Miner { return miners.NewTripletMargin() }, false},
		{"UniformHistogram", &miners.UniformHistogram{}, func() miners.Miner { return miners.NewUniformHistogram() }, true},
	}
}

// dataTypes are the exported struct types that are not miners, with what
// their zero value means (checked below).
var dataTypes = []string{"Counts", "Input", "Range"}

// withRand sets the Rand field of a random miner to a generator seeded
// with seed; other miners are left as they are.
func withRand(m miners.Miner, seed uint64) miners.Miner {
	f := reflect.ValueOf(m).Elem().FieldByName("Rand")
	if f.IsValid() {
		f.Set(reflect.ValueOf(rand.New(rand.NewPCG(seed, 7))))
	}
	return m
}

// TestZeroValues checks every exported type of the package (the list is
// read from the source, so a new type cannot be forgotten): a miner's
// zero value mines exactly what New<Name>() mines, or is refused with an
// error wrapping ErrSetting that names the constructor; every method of a
// nil pointer returns an error without panicking.
func TestZeroValues(t *testing.T) {
	cases := minerZeroCases()
	var names []string
	for _, tc := range cases {
		names = append(names, tc.name)
		if got := reflect.TypeOf(tc.zero).Elem().Name(); got != tc.name {
			t.Errorf("case %s holds a %s", tc.name, got)
		}
		if reflect.TypeOf(tc.made()) != reflect.TypeOf(tc.zero) {
			t.Errorf("case %s: constructor returns %T", tc.name, tc.made())
		}
	}
	testkit.CheckListed(t, ".", append(names, dataTypes...))
	testkit.CheckConcurrencyDocs(t, ".")

	var inputs []miners.Input
	inputs = append(inputs, lineInput(), refInput(), exampleBatch())
	for _, rb := range randomBatches(5, 20) {
		inputs = append(inputs, rb.in)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, in := range inputs {
				if tc.name == "EmbeddingsAlreadyPackagedAsTriplets" {
					in.Ref, in.RefLabels = nil, nil
				}
				want, wantErr := withRand(tc.made(), uint64(k)).Mine(in)
				zero := reflect.New(reflect.TypeOf(tc.zero).Elem()).Interface().(miners.Miner)
				got, err := withRand(zero, uint64(k)).Mine(in)
				if !tc.defaults {
					if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "New"+tc.name+"()") || got != nil {
						t.Fatalf("zero value: got %v, %v; want an ErrSetting error naming New%s()", got, err, tc.name)
					}
					continue
				}
				if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
					t.Fatalf("input %d: zero value error %v, New%s() error %v", k, err, tc.name, wantErr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("input %d: zero value mined %+v, New%s() %+v", k, got, tc.name, want)
				}
			}
		})
		if !tc.defaults {
			// Every method that can fail refuses the zero value.
			for method, err := range testkit.ZeroValue(t, reflect.TypeOf(tc.zero)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "not made by New"+tc.name) {
					t.Errorf("zero value %s.%s: %v; want an ErrSetting error naming New%s()", tc.name, method, err, tc.name)
				}
			}
		}
		t.Run(tc.name+"/nil", func(t *testing.T) {
			for method, err := range testkit.NilReceiver(t, reflect.TypeOf(tc.zero)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "miners."+tc.name+": ") {
					t.Errorf("nil receiver %s: %v; want an ErrSetting error naming miners.%s", method, err, tc.name)
				}
			}
		})
	}

	// The data types: the zero Input is an empty batch, refused; the zero
	// Counts counts nothing; the zero Range is [0, 0], which admits 0.
	if _, err := miners.NewBatchHard().Mine(miners.Input{}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("zero Input: %v, want ErrShape", err)
	}
	if c := miners.CountOf(nil); c != (miners.Counts{}) {
		t.Errorf("CountOf(nil) = %+v, want the zero Counts", c)
	}
	// Two coinciding rows of one class: their distance 0 is in [0, 0].
	in := miners.Input{Embeddings: line(1, 1, 2), Labels: []int{0, 0, 1}}
	bh := miners.NewBatchHard()
	bh.Distance = rawLp()
	bh.AllowedPosRange = &miners.Range{}
	got, err := bh.Mine(in)
	if err != nil || got.(*tuples.Triplets).Len() != 2 {
		t.Errorf("zero Range: got %+v, %v; want the two anchors whose positive is at distance 0", got, err)
	}
}

// TestConcurrentMine backs the documented claim: every miner but HDC, the
// random ones with a nil Rand, may be used by several goroutines at once
// (run with -race); the deterministic ones give the sequential result.
func TestConcurrentMine(t *testing.T) {
	in := miners.Input{Embeddings: circle(0, 30, 60, 90, 20, 50, 200, 250, 300), Labels: []int{0, 0, 0, 1, 1, 1, 2, 2, 0}}
	n, _ := in.Embeddings.Dims()
	for _, tc := range minerZeroCases() {
		if tc.name == "HDC" {
			continue
		}
		m := tc.made()
		random := reflect.ValueOf(m).Elem().FieldByName("Rand").IsValid()
		want, err := m.Mine(in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		testkit.Concurrently(t, 4, 3, func(int) error {
			got, err := m.Mine(in)
			if err != nil {
				return fmt.Errorf("%s: %v", tc.name, err)
			}
			if random {
				if err := got.Validate(n, n); err != nil {
					return fmt.Errorf("%s: %v", tc.name, err)
				}
			} else if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("%s: concurrent result %+v, sequential %+v", tc.name, got, want)
			}
			return nil
		})
	}
}

// TestNilRand checks the nil *rand.Rand rule for the random miners: nil
// (the default) draws from the process-wide generator, afresh at every
// call; a seeded Rand repeats its draws.
func TestNilRand(t *testing.T) {
	in := miners.Input{Embeddings: circle(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110), Labels: []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}}
	for _, m := range []miners.Miner{miners.NewDistanceWeighted(), miners.NewUniformHistogram()} {
		first, err := m.Mine(in)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		differs := false
		for range 5 {
			again, err := m.Mine(in)
			if err != nil {
				t.Fatalf("%T: %v", m, err)
			}
			differs = differs || !reflect.DeepEqual(first, again)
		}
		if !differs {
			t.Errorf("%T with a nil Rand drew the same tuples six times; want fresh draws", m)
		}
		a, _ := withRand(m, 3).Mine(in)
		b, _ := withRand(m, 3).Mine(in)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%T: the same seed gave different tuples", m)
		}
	}
}
