package inference

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
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

// TestValuesConcurrentUse backs the concurrency claims of the package's
// plain values and of MatchFinder's methods other than Calibrate: an
// IndexFile written (WriteIndex, WriteIndexFile to distinct paths) from
// several goroutines at once, a Threshold converted and an IndexBound
// applied concurrently, one MatchFinder shared by Mask, Matches, IsMatch
// and IndexThreshold. Run with -race.
func TestValuesConcurrentUse(t *testing.T) {
	f := testIndex(true, IndexVersion)
	want := validFile(t, true)
	dir := t.TempDir()
	th := Threshold{Measure: MeasureCosine, Value: 0.8}
	mf := NewMatchFinder(nil, 0.5)
	x := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	wantMatches, err := mf.Matches(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 6, 4, func(g int) error {
		var buf bytes.Buffer
		if err := WriteIndex(&buf, f); err != nil || !bytes.Equal(buf.Bytes(), want) {
			return fmt.Errorf("WriteIndex: %v", err)
		}
		path := filepath.Join(dir, fmt.Sprintf("idx-%d", g))
		if err := WriteIndexFile(path, f); err != nil {
			return err
		}
		if got, err := ReadIndexFile(path); err != nil || !reflect.DeepEqual(got, f) {
			return fmt.Errorf("ReadIndexFile: %v", err)
		}
		b, err := th.Bound(knn.L2, true)
		if err != nil || !b.Match(0.1) || b.Match(1) {
			return fmt.Errorf("Bound: %+v, %v", b, err)
		}
		if _, err := mf.Mask(x, nil); err != nil {
			return err
		}
		if got, err := mf.Matches(x, nil); err != nil || !slices.Equal(got, wantMatches) {
			return fmt.Errorf("Matches: %v", err)
		}
		if _, err := mf.IsMatch(x, x); err != nil {
			return err
		}
		_, err = mf.IndexThreshold()
		return err
	})
}
