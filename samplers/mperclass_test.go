package samplers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

func TestMPerClassLen(t *testing.T) {
	tests := []struct {
		name   string
		labels []int
		m, bs  int
		length int
		want   int
	}{
		{"default length, no batch", labelsOf(5, 5, 5), 2, 0, 100000, 99996}, // 100000 − 100000 % 6
		{"batch rounds down", labelsOf(5, 5, 5), 2, 4, 103, 100},
		{"batch equals length", labelsOf(5, 5, 5), 2, 4, 4, 4},
		{"no batch, single pass equals length", labelsOf(3, 3), 2, 0, 4, 4},
		// PML's __len__ says 5 here but its __iter__ yields one round of 6.
		{"no batch, single pass exceeds length", labelsOf(3, 3, 3), 2, 0, 5, 6},
		{"no batch, length 1", labelsOf(3, 3, 3), 2, 0, 1, 6},
		{"zero length is the default", labelsOf(3, 3, 3), 2, 0, 0, 99996},
		{"zero length is the default, batch", labelsOf(3, 3, 3), 2, 4, 0, 100000},
		{"single class", labelsOf(7), 3, 3, 10, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMPerClass(tc.labels, tc.m)
			s.BatchSize, s.LengthBeforeNewIter = tc.bs, tc.length
			if got := s.Len(); got != tc.want {
				t.Fatalf("Len() = %d, want %d", got, tc.want)
			}
			e, err := s.Epoch(newRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			if len(e) != tc.want {
				t.Fatalf("epoch has %d indices, want %d", len(e), tc.want)
			}
		})
	}
}

// mPerClassConfigs covers both PML modes and CoverAll, with classes smaller
// than m, equal to m and larger.
type mConfig struct {
	name     string
	labels   []int
	m, bs, l int
	coverAll bool
}

var mPerClassConfigs = []mConfig{
	{"pml none", labelsOf(6, 2, 9, 4), 3, 0, 1000, false},
	{"pml batch", labelsOf(6, 2, 9, 4, 1), 2, 6, 500, false},
	{"pml batch all classes", labelsOf(3, 3, 3), 3, 9, 90, false},
	{"pml m=1", labelsOf(1, 1, 1, 5), 1, 2, 31, false},
	{"cover ragged", labelsOf(7, 2, 9, 4, 1), 2, 4, 0, true},
	{"cover dominant class", labelsOf(40, 3, 2, 1), 4, 8, 0, true},
	{"cover exact", labelsOf(4, 8, 4, 8), 4, 8, 0, true},
	{"cover exact m=1", labelsOf(3, 3, 2, 2, 2), 1, 4, 0, true},
	{"cover needs fillers", labelsOf(2, 2, 2), 2, 4, 0, true},
	{"cover one batch of all", labelsOf(5, 5, 5), 5, 15, 0, true},
}

func (c *mConfig) sampler() *MPerClass {
	s := NewMPerClass(c.labels, c.m)
	s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = c.bs, c.l, c.coverAll
	return s
}

func TestMPerClassContract(t *testing.T) {
	for i := range mPerClassConfigs {
		c := &mPerClassConfigs[i]
		t.Run(c.name, func(t *testing.T) {
			s := c.sampler()
			for seed := range uint64(20) {
				e, err := s.Epoch(newRNG(seed))
				if err != nil {
					t.Fatal(err)
				}
				if err := verifyMPerClass(s, e); err != nil {
					t.Fatalf("seed %d: %v\nepoch %v", seed, err, e)
				}
			}
		})
	}
}

// TestMPerClassSmallClass: a class with fewer than m samples is drawn with
// replacement, so a single-sample class fills its group with one index.
func TestMPerClassSmallClass(t *testing.T) {
	labels := []int{7, 1, 1, 1, 1, 2, 2, 2, 2}
	s := NewMPerClass(labels, 4)
	s.BatchSize, s.LengthBeforeNewIter = 8, 800
	e, err := s.Epoch(newRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	groups7 := 0
	for g := 0; g < len(e); g += 4 {
		if labels[e[g]] == 7 {
			groups7++
			if !slices.Equal(e[g:g+4], []int{0, 0, 0, 0}) {
				t.Fatalf("group of the single-sample class is %v", e[g:g+4])
			}
		}
	}
	// 100 batches of 2 of the 3 classes: class 7 is in each with
	// probability 2/3.
	if groups7 < 50 || groups7 > 85 {
		t.Fatalf("class 7 in %d of 100 batches, expected about 67", groups7)
	}
}

// TestMPerClassUniform: the classes of a batch are a uniform choice, and
// the samples of a large class are used evenly.
func TestMPerClassUniform(t *testing.T) {
	labels := labelsOf(10, 10, 10, 10, 10)
	s := NewMPerClass(labels, 2)
	s.BatchSize, s.LengthBeforeNewIter = 4, 40000
	e, err := s.Epoch(newRNG(11))
	if err != nil {
		t.Fatal(err)
	}
	count := make([]float64, len(labels))
	for _, v := range e {
		count[v]++
	}
	uniform := make([]float64, len(labels))
	for i := range uniform {
		uniform[i] = 1 / float64(len(labels))
	}
	chi2, _, err := testkit.ChiSquare(count, uniform)
	// 49 degrees of freedom: the 0.999 quantile is about 85.4.
	if err != nil || chi2 > 85.4 {
		t.Fatalf("chi-square %.1f over 49 dof: index counts %v", chi2, count)
	}
}

func TestMPerClassCoverAllExactOnce(t *testing.T) {
	tests := []struct {
		labels []int
		m, bs  int
	}{
		{labelsOf(4, 8, 4, 8), 4, 8},
		{labelsOf(2, 2, 2, 2, 2, 2), 2, 6},
		{labelsOf(3, 6, 3), 3, 6},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.labels, tc.m, tc.bs), func(t *testing.T) {
			s := NewMPerClass(tc.labels, tc.m)
			s.BatchSize, s.CoverAll = tc.bs, true
			if !exactOnce(s) {
				t.Fatal("test setting is not exact-once")
			}
			for seed := range uint64(10) {
				e, err := s.Epoch(newRNG(seed))
				if err != nil {
					t.Fatal(err)
				}
				got := slices.Sorted(slices.Values(e))
				for i, v := range got {
					if v != i {
						t.Fatalf("seed %d: epoch is not a permutation of 0..%d: %v", seed, len(tc.labels)-1, e)
					}
				}
			}
		})
	}
}

func TestMPerClassErrors(t *testing.T) {
	tests := []struct {
		name     string
		labels   []int
		m, bs, l int
		coverAll bool
		sentinel error
		msg      string
	}{
		{"no labels", nil, 2, 0, 100, false, gometric.ErrLabels, "labels is empty"},
		{"m zero", labelsOf(3, 3), 0, 0, 100, false, gometric.ErrSetting, "m = 0"},
		{"negative batch", labelsOf(3, 3), 1, -2, 100, false, gometric.ErrSetting, "batch_size = -2"},
		{"negative length", labelsOf(3, 3), 1, 0, -1, false, gometric.ErrSetting, "length_before_new_iter = -1"},
		{"length below batch", labelsOf(3, 3), 1, 2, 1, false, gometric.ErrSetting, "length_before_new_iter (1) is smaller than batch_size (2)"},
		{"too few classes", labelsOf(3, 3), 2, 6, 100, false, gometric.ErrSetting, "m (2) × number of classes (2) = 4 is smaller than batch_size (6)"},
		{"batch not multiple of m", labelsOf(3, 3, 3), 2, 5, 100, false, gometric.ErrSetting, "batch_size (5) is not a multiple of m (2)"},
		{"too long", labelsOf(3, 3), 1, 1, 1 << 31, false, gometric.ErrSetting, "exceeds the limit"},
		{"huge m", labelsOf(3, 3), 1 << 40, 0, 100, false, gometric.ErrSetting, "exceeds the limit"},
		{"cover without batch", labelsOf(3, 3), 1, 0, 100, true, gometric.ErrSetting, "CoverAll needs a positive batch_size"},
		{"cover too few classes", labelsOf(3, 3), 2, 6, 0, true, gometric.ErrSetting, "is smaller than batch_size (6)"},
		{"cover not multiple", labelsOf(3, 3, 3), 2, 5, 0, true, gometric.ErrSetting, "not a multiple of m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMPerClass(tc.labels, tc.m)
			s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = tc.bs, tc.l, tc.coverAll
			_, err := s.Epoch(newRNG(1))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v does not wrap %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), "samplers.MPerClass: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want it to name samplers.MPerClass and contain %q", err, tc.msg)
			}
			if s.Len() != 0 {
				t.Fatalf("Len() = %d for invalid settings, want 0", s.Len())
			}
		})
	}
}

// TestReproducible: every sampler gives the same epoch for the same seed,
// a different one for another seed, whatever GOMAXPROCS is.
func TestReproducible(t *testing.T) {
	labels := labelsOf(9, 7, 8, 6, 5)
	cover := NewMPerClass(labels, 2)
	cover.BatchSize, cover.CoverAll = 6, true
	batch := NewMPerClass(labels, 2)
	batch.BatchSize, batch.LengthBeforeNewIter = 6, 120
	fixed, err := NewFixedSetOfTriplets(labels, 30, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	h := NewHierarchical(labels, superOf(labels), 8, 2)
	hier := flatBatches{h}
	ttw := NewTuplesToWeights(indexModel, firstTriplets, labels)
	ttw.SubsetSize = 20
	samplers := map[string]Sampler{
		"MPerClass":          NewMPerClass(labels, 3),
		"MPerClass batch":    batch,
		"MPerClass CoverAll": cover,
		"FixedSetOfTriplets": fixed,
		"Hierarchical":       hier,
		"TuplesToWeights":    ttw,
	}
	for name, s := range samplers {
		t.Run(name, func(t *testing.T) {
			prev := runtime.GOMAXPROCS(1)
			a, err := s.Epoch(newRNG(42))
			runtime.GOMAXPROCS(max(4, prev))
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Epoch(newRNG(42))
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a, b) {
				t.Fatalf("same seed, different epochs:\n%v\n%v", a, b)
			}
			c, err := s.Epoch(newRNG(43))
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(a, c) {
				t.Fatalf("seeds 42 and 43 give the same epoch %v", a)
			}
		})
	}
}

// flatBatches adapts a BatchSampler to Sampler for the reproducibility test.
type flatBatches struct{ b BatchSampler }

func (f flatBatches) Len() int { return -1 }
func (f flatBatches) Epoch(rng *rand.Rand) ([]int, error) {
	bs, err := f.b.EpochBatches(rng)
	if err != nil {
		return nil, err
	}
	var out []int
	for i, b := range bs {
		out = append(out, -1-i)
		out = append(out, b...)
	}
	return out, nil
}

// TestMPerClassSuggestions: an impossible (m, batch_size) setting gives
// PML's assertion as an ErrSetting error, followed by the valid pairs for
// the labels at hand.
func TestMPerClassSuggestions(t *testing.T) {
	ten := labelsOf(3, 3, 3, 3, 3, 3, 3, 3, 3, 3)
	tests := []struct {
		name     string
		labels   []int
		m, bs, l int
		coverAll bool
		want     string
	}{
		{"not a multiple", ten, 4, 30, 0, false,
			"batch_size (30) is not a multiple of m (4); valid settings for these 10 classes and length_before_new_iter 100000: " +
				"m = 4 with batch_size 4, 8, 12, …, 40; or batch_size 30 with m = 3, 5, 6, 10, 15, 30"},
		{"too few classes", labelsOf(3, 3), 2, 6, 100, false,
			"m (2) × number of classes (2) = 4 is smaller than batch_size (6); valid settings for these 2 classes and length_before_new_iter 100: " +
				"m = 2 with batch_size 2, 4; or batch_size 6 with m = 3, 6"},
		{"length below batch", labelsOf(3, 3), 1, 2, 1, false,
			"length_before_new_iter (1) is smaller than batch_size (2); valid settings for these 2 classes and length_before_new_iter 1: m = 1 with batch_size 1"},
		{"nothing fits", labelsOf(3, 3), 4, 8, 3, false,
			"length_before_new_iter (3) is smaller than batch_size (8); no batch_size suits m = 4 for these 2 classes and length_before_new_iter 3"},
		{"one class", labelsOf(9), 2, 3, 0, false,
			"m (2) × number of classes (1) = 2 is smaller than batch_size (3); valid settings for these 1 class and length_before_new_iter 100000: " +
				"m = 2 with batch_size 2; or batch_size 3 with m = 3"},
		{"many divisors", labelsOf(slices.Repeat([]int{2}, 20)...), 7, 720, 0, false,
			"m = 7 with batch_size 7, 14, 21, …, 140; or batch_size 720 with m = 36, 40, 45, 48, 60, …, 360, 720"},
		{"cover without batch", labelsOf(3, 3), 1, 0, 0, true,
			"CoverAll needs a positive batch_size; valid settings for these 2 classes: m = 1 with batch_size 1, 2"},
		{"cover not multiple", labelsOf(3, 3, 3), 2, 5, 0, true,
			"batch_size (5) is not a multiple of m (2); valid settings for these 3 classes: m = 2 with batch_size 2, 4, 6; or batch_size 5 with m = 5"},
		{"cover ignores length", labelsOf(3, 3), 2, 6, 1, true,
			"valid settings for these 2 classes: m = 2 with batch_size 2, 4; or batch_size 6 with m = 3, 6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMPerClass(tc.labels, tc.m)
			s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = tc.bs, tc.l, tc.coverAll
			_, err := s.Epoch(newRNG(1))
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "samplers.MPerClass: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant an ErrSetting error containing %q", err, tc.want)
			}
		})
	}
}

// TestMPerClassSuggestionsExact: the suggested pairs are exactly the valid
// ones. For random settings, the batch sizes that work with m are the
// suggested m, 2m, …, k·m, and the m that work with the batch size are
// validMs's.
func TestMPerClassSuggestionsExact(t *testing.T) {
	rng := newRNG(9)
	works := func(labels []int, m, bs, l int, cover bool) bool {
		s := NewMPerClass(labels, m)
		s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = bs, l, cover
		_, err := s.plan()
		return err == nil
	}
	for trial := range 300 {
		nc := 1 + rng.IntN(8)
		sizes := make([]int, nc)
		for i := range sizes {
			sizes[i] = 1 + rng.IntN(4)
		}
		labels := labelsOf(sizes...)
		m, bs, l, cover := 1+rng.IntN(6), 1+rng.IntN(40), 1+rng.IntN(60), rng.IntN(2) == 0
		var gotSizes []int
		for b := 1; b <= 100; b++ {
			if works(labels, m, b, l, cover) {
				gotSizes = append(gotSizes, b)
			}
		}
		var wantSizes []int
		for k := 1; k <= validBatchCount(m, nc, l, cover); k++ {
			wantSizes = append(wantSizes, k*m)
		}
		if !slices.Equal(gotSizes, wantSizes) {
			t.Fatalf("trial %d (%d classes, m %d, l %d, CoverAll %v): valid batch sizes %v, suggested %v", trial, nc, m, l, cover, gotSizes, wantSizes)
		}
		var gotMs []int
		for mm := 1; mm <= bs; mm++ {
			if works(labels, mm, bs, l, cover) {
				gotMs = append(gotMs, mm)
			}
		}
		var wantMs []int
		if cover || bs <= l {
			wantMs = validMs(bs, nc)
		}
		if !slices.Equal(gotMs, wantMs) {
			t.Fatalf("trial %d (%d classes, batch %d, l %d, CoverAll %v): valid m %v, suggested %v", trial, nc, bs, l, cover, gotMs, wantMs)
		}
	}
	if got := validMs(maxDivisorSearch+1, 3); got != nil {
		t.Fatalf("validMs beyond the search bound: %v", got)
	}
}
