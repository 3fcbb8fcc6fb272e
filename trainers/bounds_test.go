package trainers_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/trainers"
)

// TestRunawaySettings: settings that would size an allocation or overflow
// a count (a batch size beyond the data set, epochs whose global
// iteration overflows, epochs past math.MaxInt) are refused with an error
// naming the trainer and the value, or train exactly what they ask,
// never panic or loop for ever.
func TestRunawaySettings(t *testing.T) {
	ds := blobs(t, 1, 48, 4, 4, 0.1)
	cases := []struct {
		name       string
		set        func(*trainers.MetricLossOnly)
		start, end int
		want       error
		text       string
		epochs     int // epochs reported when no error
	}{
		{"BatchSize 1e18", func(tr *trainers.MetricLossOnly) { tr.BatchSize, tr.Sampler = 1e18, nil }, 1, 1, gometric.ErrSetting, "1000000000000000000", 0},
		{"BatchSize MaxInt", func(tr *trainers.MetricLossOnly) { tr.BatchSize, tr.Sampler = math.MaxInt, nil }, 1, 1, gometric.ErrSetting, "9223372036854775807", 0},
		{"BatchSize MaxInt with a sampler", func(tr *trainers.MetricLossOnly) { tr.BatchSize = math.MaxInt }, 1, 1, gometric.ErrSetting, "9223372036854775807", 0},
		{"epochs MaxInt of 3 iterations", func(tr *trainers.MetricLossOnly) { tr.IterationsPerEpoch = 3 }, 1, math.MaxInt, gometric.ErrSetting, "9223372036854775807", 0},
		{"IterationsPerEpoch MaxInt, 2 epochs", func(tr *trainers.MetricLossOnly) { tr.IterationsPerEpoch = math.MaxInt }, 1, 2, gometric.ErrSetting, "9223372036854775807", 0},
		{"the last epoch is MaxInt", func(tr *trainers.MetricLossOnly) { tr.IterationsPerEpoch = 1 }, math.MaxInt, math.MaxInt, nil, "", 1},
		{"start MinInt", func(*trainers.MetricLossOnly) {}, math.MinInt, 1, gometric.ErrSetting, "-9223372036854775808", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			tc.set(tr)
			infos, err := tr.Train(context.Background(), tc.start, tc.end)
			if tc.want == nil {
				if err != nil || len(infos) != tc.epochs {
					t.Fatalf("Train: %d epochs, %v; want %d epochs", len(infos), err, tc.epochs)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "trainers.MetricLossOnly") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an error wrapping %v naming the trainer and %s", err, tc.want, tc.text)
			}
		})
	}
}
