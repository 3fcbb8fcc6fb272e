package inference

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestModelConcurrentQueries backs the concurrency claim of Model and
// MatchFinder: queries (NearestNeighbors, MatchingNeighbors, IsMatch,
// Mask) may run concurrently on a trained Model with knn.Exact. Run with
// -race.
func TestModelConcurrentQueries(t *testing.T) {
	data := newBlobs(14, 3, 10, 5)
	m := NewModel(data.embedNoCount)
	if err := m.Train(context.Background(), ids(0, 24), data.labels[:24]); err != nil {
		t.Fatal(err)
	}
	want, err := m.MatchingNeighbors(ids(24, 30), 24)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 1, func(int) error {
		got, err := m.MatchingNeighbors(ids(24, 30), 24)
		if err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("MatchingNeighbors: %v", err)
		}
		if _, err := m.NearestNeighbors(ids(24, 30), 3); err != nil {
			return err
		}
		if _, err := m.IsMatch(ids(0, 5), ids(5, 10)); err != nil {
			return err
		}
		_, err = m.Mask(ids(0, 5), nil)
		return err
	})
}
