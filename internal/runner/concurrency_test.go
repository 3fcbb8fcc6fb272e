package runner

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// A Run is documented unsafe (it trains its encoder).
func TestConcurrencyClaims(t *testing.T) {
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Options", Run: func(t *testing.T) {
			o := Defaults()
			testkit.Concurrently(t, 4, 20, func(int) error {
				if err := o.Validate(); err != nil || o.Batch != 64 {
					return fmt.Errorf("options %+v: %v", o, err)
				}
				return nil
			})
		}},
		{Type: "LRSchedule", Run: func(t *testing.T) {
			ls, err := ParseLRSchedule("multistep:2,5:0.5")
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if got := ls.String(); got != "multistep:2,5:0.5" {
					return fmt.Errorf("String() = %q", got)
				}
				return nil
			})
		}},
		{Type: "Trunk", Run: func(t *testing.T) {
			tr := Trunk{Kind: "vgg"}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if _, err := tr.Build(nil, 0); err == nil {
					return fmt.Errorf("built %+v", tr)
				}
				return nil
			})
		}},
		{Type: "EmbedOptions", Run: func(t *testing.T) {
			o := EmbedOptions{BatchSize: 3}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if o.BatchSize != 3 || o.Overwrite {
					return fmt.Errorf("%+v", o)
				}
				return nil
			})
		}},
		{Type: "Model", Run: func(t *testing.T) {
			enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{4, 3}, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{3, 2}, Seed: 2})
			if err != nil {
				t.Fatal(err)
			}
			m := &Model{Trunk: enc, Embedder: emb}
			x := gometric.Matrix{Rows: 2, Cols: 4, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}}
			want, err := m.Embed(x)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				got, err := m.Embed(x)
				if err != nil || !slices.Equal(got.Data, want.Data) || m.Dim() != 2 {
					return fmt.Errorf("%v %v", got.Data, err)
				}
				return nil
			})
		}},
		{Type: "Row", Run: func(t *testing.T) {
			r := Row{Epoch: 1, Train: &trainers.EpochInfo{Epoch: 1}, Metrics: accuracy.Results{accuracy.NamePrecisionAt1: {Scalar: 0.5}}}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if r.Train.Epoch != r.Epoch || r.Metrics[accuracy.NamePrecisionAt1].Scalar != 0.5 || len(r.Metrics.Warnings()) != 0 {
					return fmt.Errorf("row %+v", r)
				}
				return nil
			})
		}},
	})
}
