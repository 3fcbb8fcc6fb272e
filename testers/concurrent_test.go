package testers_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
)

// TestConcurrentTest backs the tester's concurrency claim: one
// GlobalEmbeddingSpace (with a default Calculator and a stateless
// embedder) used from several goroutines. Run with -race.
func TestConcurrentTest(t *testing.T) {
	splits := map[string]datasets.Dataset{"a": blobs(t, 1, 30, 5, 3, 0, 0.5)}
	enc := linear(5, 4)
	tester := testers.NewGlobalEmbeddingSpace()
	want, err := tester.Test(context.Background(), enc, splits)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 1, func(int) error {
		got, err := tester.Test(context.Background(), enc, splits)
		if err != nil || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("concurrent Test: %v", err)
		}
		return nil
	})
}
