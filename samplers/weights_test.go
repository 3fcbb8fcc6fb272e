package samplers

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// indexModel embeds index i as (i+1, 2).
func indexModel(idx []int) (*mat.Dense, error) {
	m := mat.NewDense(len(idx), 2, nil)
	for r, i := range idx {
		m.Set(r, 0, float64(i+1))
		m.Set(r, 1, 2)
	}
	return m, nil
}

// firstTriplets returns up to 3 triplets built from the first rows whose
// labels allow it (anchor, positive of the first label, negative of
// another), deterministic in the labels.
func firstTriplets(_ *mat.Dense, labels []int) (tuples.Tuples, error) {
	t := &tuples.Triplets{}
	for a := range labels {
		for p := range labels {
			for n := range labels {
				if a != p && labels[a] == labels[p] && labels[n] != labels[a] && t.Len() < 3 {
					t.A, t.P, t.N = append(t.A, a), append(t.P, p), append(t.N, n)
				}
			}
		}
	}
	return t, nil
}

// TestTuplesToWeightsFrequencies: draws follow convert_to_weights.
func TestTuplesToWeightsFrequencies(t *testing.T) {
	labels := []int{0, 0, 0, 1, 1}
	// counts 0:2 1:2 2:2 3:3 4:0 → weights 2/3 2/3 2/3 1 0.
	miner := func(_ *mat.Dense, _ []int) (tuples.Tuples, error) {
		return &tuples.Triplets{A: []int{0, 0, 1}, P: []int{1, 2, 2}, N: []int{3, 3, 3}}, nil
	}
	s := NewTuplesToWeights(indexModel, miner, labels)
	rng := newRNG(17)
	count := make([]float64, len(labels))
	const epochs = 4000
	for range epochs {
		idx, w, err := s.EpochWithWeights(rng)
		if err != nil {
			t.Fatal(err)
		}
		if len(idx) != s.Len() || s.Len() != 5 {
			t.Fatalf("epoch of %d, Len() = %d", len(idx), s.Len())
		}
		if want := []float64{2.0 / 3, 2.0 / 3, 2.0 / 3, 1, 0}; !testkit.CloseSlices(w, want, 0, 1e-12) {
			t.Fatalf("weights %v, want %v", w, want)
		}
		for _, i := range idx {
			count[i]++
		}
	}
	if count[4] != 0 {
		t.Fatalf("zero-weight index drawn %v times", count[4])
	}
	probs := []float64{2.0 / 9, 2.0 / 9, 2.0 / 9, 1.0 / 3}
	chi2, _, err := testkit.ChiSquare(count[:len(probs)], probs)
	if err != nil || chi2 > 16.27 { // 3 dof, 0.999 quantile
		t.Fatalf("chi-square %.2f: counts %v", chi2, count)
	}
}

// TestTuplesToWeightsSubset: only the subset is embedded, mined and drawn.
func TestTuplesToWeightsSubset(t *testing.T) {
	labels := labelsOf(5, 5)
	tests := []struct {
		name       string
		subset     int
		distinct   bool
		normalized bool
	}{
		{"subset without replacement", 4, true, true},
		{"subset with replacement", 15, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen []int
			model := func(idx []int) (*mat.Dense, error) {
				seen = slices.Clone(idx)
				return indexModel(idx)
			}
			miner := func(emb *mat.Dense, sub []int) (tuples.Tuples, error) {
				r, _ := emb.Dims()
				if r != len(seen) || len(sub) != r {
					t.Fatalf("miner got %d rows and %d labels for %d indices", r, len(sub), len(seen))
				}
				for i, j := range seen {
					if sub[i] != labels[j] {
						t.Fatalf("label %d of the subset is %d, want %d", i, sub[i], labels[j])
					}
					norm := math.Hypot(emb.At(i, 0), emb.At(i, 1))
					if tc.normalized != (math.Abs(norm-1) < 1e-12) {
						t.Fatalf("row %d has norm %v, normalised = %v", i, norm, tc.normalized)
					}
				}
				return nil, nil // nil tuples: all ones
			}
			s := NewTuplesToWeights(model, miner, labels)
			s.SubsetSize, s.NormalizeEmbeddings = tc.subset, tc.normalized
			if s.Len() != tc.subset {
				t.Fatalf("Len() = %d, want %d", s.Len(), tc.subset)
			}
			idx, w, err := s.EpochWithWeights(newRNG(4))
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != tc.subset {
				t.Fatalf("model saw %d indices", len(seen))
			}
			if distinct := len(slices.Compact(slices.Sorted(slices.Values(seen)))) == len(seen); distinct != tc.distinct {
				t.Fatalf("subset %v: distinct = %v", seen, distinct)
			}
			for i, v := range w {
				if want := 0.0; slices.Contains(seen, i) {
					if v != 1 {
						t.Fatalf("weight %d = %v, want 1", i, v)
					}
				} else if v != want {
					t.Fatalf("weight %d = %v outside the subset", i, v)
				}
			}
			for _, i := range idx {
				if !slices.Contains(seen, i) {
					t.Fatalf("drew %d outside the subset %v", i, seen)
				}
			}
		})
	}
}

func TestTuplesToWeightsErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		edit     func(s *TuplesToWeights)
		sentinel error
		msg      string
	}{
		{"no labels", func(s *TuplesToWeights) { s.Labels = nil }, gometric.ErrLabels, "labels is empty"},
		{"nil model", func(s *TuplesToWeights) { s.Model = nil }, gometric.ErrSetting, "model is nil"},
		{"nil miner", func(s *TuplesToWeights) { s.Miner = nil }, gometric.ErrSetting, "miner is nil"},
		{"negative subset", func(s *TuplesToWeights) { s.SubsetSize = -1 }, gometric.ErrSetting, "subset_size = -1"},
		{"huge subset", func(s *TuplesToWeights) { s.SubsetSize = 1 << 31 }, gometric.ErrSetting, "exceeds the limit"},
		{"model error", func(s *TuplesToWeights) {
			s.Model = func([]int) (*mat.Dense, error) { return nil, boom }
		}, boom, "model: boom"},
		{"model rows", func(s *TuplesToWeights) {
			s.Model = func(idx []int) (*mat.Dense, error) { return indexModel(idx[1:]) }
		}, gometric.ErrShape, "model returned 4 rows for 5 indices"},
		{"model NaN", func(s *TuplesToWeights) {
			s.Model = func(idx []int) (*mat.Dense, error) {
				m, _ := indexModel(idx)
				m.Set(2, 1, math.NaN())
				return m, nil
			}
		}, gometric.ErrNonFinite, "model output has NaN"},
		{"model nil", func(s *TuplesToWeights) {
			s.Model = func([]int) (*mat.Dense, error) { return nil, nil }
		}, gometric.ErrShape, "model output is empty"},
		{"miner error", func(s *TuplesToWeights) {
			s.Miner = func(*mat.Dense, []int) (tuples.Tuples, error) { return nil, boom }
		}, boom, "miner: boom"},
		{"miner index", func(s *TuplesToWeights) {
			s.Miner = func(*mat.Dense, []int) (tuples.Tuples, error) {
				return &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{5}}, nil
			}
		}, gometric.ErrIndex, "mined tuples"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewTuplesToWeights(indexModel, firstTriplets, []int{0, 0, 1, 1, 2})
			tc.edit(s)
			_, err := s.Epoch(newRNG(1))
			if err == nil || !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "samplers.TuplesToWeights: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %v containing %q", err, tc.sentinel, tc.msg)
			}
		})
	}
}
