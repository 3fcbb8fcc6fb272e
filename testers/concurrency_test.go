package testers_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	splits := map[string]datasets.Dataset{"a": blobs(t, 1, 30, 5, 3, 0, 0.5), "b": blobs(t, 2, 20, 5, 3, 0, 0.5)}
	enc := linear(5, 4) // an EmbedFunc of a stateless function
	evals := []testers.Eval{{Query: "a", References: []string{"a", "b"}}, {Query: "b", References: []string{"a"}}}
	tester := func(t *testing.T, g *testers.GlobalEmbeddingSpace) {
		want, err := g.Test(context.Background(), enc, splits, evals...)
		if err != nil {
			t.Fatal(err)
		}
		wantE, wantL, err := g.Embeddings(context.Background(), enc, splits["a"])
		if err != nil {
			t.Fatal(err)
		}
		testkit.Concurrently(t, 4, 1, func(int) error {
			got, err := g.Test(context.Background(), enc, splits, evals...)
			if err != nil || !reflect.DeepEqual(got, want) {
				return fmt.Errorf("concurrent Test: %v", err)
			}
			e, l, err := g.Embeddings(context.Background(), enc, splits["a"])
			if err != nil || !reflect.DeepEqual(e, wantE) || !reflect.DeepEqual(l, wantL) {
				return fmt.Errorf("concurrent Embeddings: %v", err)
			}
			return nil
		})
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "GlobalEmbeddingSpace", Run: func(t *testing.T) {
			tester(t, testers.NewGlobalEmbeddingSpace())
			g := testers.NewGlobalEmbeddingSpace()
			g.BatchSize, g.Normalize = 7, false
			g.Calculator = &accuracy.Calculator{K: accuracy.KInt(3), Exclude: []string{accuracy.NameNMI, accuracy.NameAMI}}
			tester(t, g)
		}},
		{Type: "Eval", Run: func(t *testing.T) { tester(t, testers.NewGlobalEmbeddingSpace()) }},
		{Type: "WithSameParentLabel", Run: func(t *testing.T) {
			ms := map[string]datasets.Dataset{"a": twoLevels(t, blobs(t, 1, 30, 5, 4, 0, 0.5))}
			w := testers.NewWithSameParentLabel()
			w.PCA = 3
			want, err := w.Evaluate(context.Background(), enc, ms)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 1, func(int) error {
				got, err := w.Evaluate(context.Background(), enc, ms)
				if err != nil || !reflect.DeepEqual(got, want) {
					return fmt.Errorf("concurrent Evaluate: %v", err)
				}
				return nil
			})
		}},
		{Type: "GlobalTwoStreamEmbeddingSpace", Run: func(t *testing.T) { twoStreamConcurrently(t, enc, splits) }},
		{Type: "TwoStreamSplit", Run: func(t *testing.T) { twoStreamConcurrently(t, enc, splits) }},
		{Type: "TrunkEmbedder", Run: func(t *testing.T) {
			g := testers.NewGlobalEmbeddingSpace()
			g.UseTrunkOutput = true
			te := testers.TrunkEmbedder{Trunk: linear(5, 4), Embedder: linear(4, 3)}
			want, err := g.Test(context.Background(), te, splits, evals...)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 1, func(int) error {
				got, err := g.Test(context.Background(), te, splits, evals...)
				if err != nil || !reflect.DeepEqual(got, want) {
					return fmt.Errorf("concurrent Test: %v", err)
				}
				return nil
			})
		}},
		{Type: "EmbedFunc", Run: func(t *testing.T) {
			x := gometric.Matrix{Rows: 2, Cols: 5, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
			want, err := enc.Embed(x)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				got, err := enc.Embed(x)
				if err != nil || !reflect.DeepEqual(got, want) {
					return fmt.Errorf("Embed: %v", err)
				}
				return nil
			})
		}},
	})
}

func twoStreamConcurrently(t *testing.T, enc testers.Embedder, splits map[string]datasets.Dataset) {
	g := testers.NewGlobalTwoStreamEmbeddingSpace()
	ts := map[string]testers.TwoStreamSplit{"a": {Anchors: splits["a"], Positives: splits["a"]}}
	want, err := g.Evaluate(context.Background(), enc, ts)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 1, func(int) error {
		got, err := g.Evaluate(context.Background(), enc, ts)
		if err != nil || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("concurrent Evaluate: %v", err)
		}
		return nil
	})
}
