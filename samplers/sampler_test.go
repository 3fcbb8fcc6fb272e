package samplers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
)

// seqSampler yields 0..n−1.
type seqSampler int

func (s seqSampler) Len() int { return int(s) }
func (s seqSampler) Epoch(*rand.Rand) ([]int, error) {
	out := make([]int, s)
	for i := range out {
		out[i] = i
	}
	return out, nil
}

func TestBatches(t *testing.T) {
	tests := []struct {
		n, bs int
		want  string
	}{
		{7, 3, "[[0 1 2] [3 4 5] [6]]"},
		{6, 3, "[[0 1 2] [3 4 5]]"},
		{2, 5, "[[0 1]]"},
		{0, 2, "[]"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.n, "/", tc.bs), func(t *testing.T) {
			b, err := Batches(seqSampler(tc.n), newRNG(1), tc.bs)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(b); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if len(b) > 1 {
				// Appending to a batch must not overwrite the next one.
				next := b[1][0]
				_ = append(b[0], -1)
				if b[1][0] != next {
					t.Fatal("batches share capacity")
				}
			}
		})
	}
	for _, tc := range []struct {
		s  Sampler
		bs int
	}{{nil, 2}, {seqSampler(3), 0}, {seqSampler(3), -1}} {
		if _, err := Batches(tc.s, newRNG(1), tc.bs); !errors.Is(err, gometric.ErrSetting) {
			t.Fatalf("Batches(%v, %d): %v", tc.s, tc.bs, err)
		}
	}
	// Errors of the sampler pass through.
	if _, err := Batches(NewMPerClass(nil, 2), newRNG(1), 2); !errors.Is(err, gometric.ErrLabels) {
		t.Fatalf("sampler error: %v", err)
	}
}

// TestBatchesMPerClass: batches of an MPerClass epoch cut at its own
// BatchSize each hold BatchSize/M classes × M samples.
func TestBatchesMPerClass(t *testing.T) {
	labels := labelsOf(5, 6, 7, 3, 8)
	for _, cover := range []bool{false, true} {
		s := NewMPerClass(labels, 2)
		s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = 6, 60, cover
		b, err := Batches(s, newRNG(8), s.BatchSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(b)*6 != s.Len() {
			t.Fatalf("CoverAll %v: %d batches for Len() %d", cover, len(b), s.Len())
		}
		for i, batch := range b {
			perClass := make(map[int]int)
			for _, v := range batch {
				perClass[labels[v]]++
			}
			counts := slices.Collect(func(yield func(int) bool) {
				for _, n := range perClass {
					if !yield(n) {
						return
					}
				}
			})
			if len(batch) != 6 || len(perClass) != 3 || slices.Max(counts) != 2 || slices.Min(counts) != 2 {
				t.Fatalf("CoverAll %v: batch %d = %v has class counts %v", cover, i, batch, perClass)
			}
		}
	}
}
