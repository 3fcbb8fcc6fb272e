package trainers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/trainers"
)

// twoLevels is a data set with labels at two levels (as SOP's class and
// super class): level 1 is 100 + class/2. It records the indices of every
// Batch call, in order.
type twoLevels struct {
	*datasets.Features
	coarse  []int
	mu      sync.Mutex
	batches [][]int
}

func newTwoLevels(f *datasets.Features) *twoLevels {
	d := &twoLevels{Features: f}
	for _, l := range f.Labels() {
		d.coarse = append(d.coarse, 100+l/2)
	}
	return d
}

func (d *twoLevels) LabelLevels() int { return 2 }

func (d *twoLevels) LabelsAt(level int) ([]int, error) {
	switch level {
	case 0:
		return d.Labels(), nil
	case 1:
		return d.coarse, nil
	}
	return nil, fmt.Errorf("level %d: %w", level, gometric.ErrIndex)
}

func (d *twoLevels) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	d.mu.Lock()
	d.batches = append(d.batches, slices.Clone(idx))
	d.mu.Unlock()
	return d.Features.Batch(idx, dst)
}

// badLevels returns labels of the wrong length at level 1, or an error at
// level 2.
type badLevels struct{ *datasets.Features }

func (badLevels) LabelLevels() int { return 3 }
func (b badLevels) LabelsAt(level int) ([]int, error) {
	if level == 1 {
		return b.Labels()[1:], nil
	}
	return nil, fmt.Errorf("level %d is broken: %w", level, gometric.ErrLabels)
}

// TestLabelHierarchyLevel: at level 1 the losses see the batch's samples'
// level-1 labels, relabelled on that level by SetMinLabelToZero; the
// classifier's classes are checked at that level; two-stream data sets use
// the anchors' levels; levels a data set lacks are refused.
func TestLabelHierarchyLevel(t *testing.T) {
	ctx := context.Background()
	ds := newTwoLevels(blobs(t, 1, 64, 6, 4, 0.3))
	t.Run("MetricLossOnly relabelled", func(t *testing.T) {
		ds.batches = nil
		tr := mlpTrainer(t, ds.Features, 1)
		tr.Dataset = ds
		rec := &recordingLoss{l: tr.Loss}
		tr.Loss = rec
		tr.LabelHierarchyLevel = 1
		tr.SetMinLabelToZero = true
		tr.IterationsPerEpoch = 4
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if m := tr.LabelMapping(); !slices.Equal(m, []int{100, 101}) {
			t.Errorf("LabelMapping = %v, want the level-1 labels [100 101]", m)
		}
		if len(rec.labels) != 4 || len(ds.batches) != 4 {
			t.Fatalf("%d loss calls, %d batches", len(rec.labels), len(ds.batches))
		}
		for k, idx := range ds.batches {
			for j, i := range idx {
				if want := ds.coarse[i] - 100; rec.labels[k][j] != want {
					t.Fatalf("batch %d, row %d (sample %d): label %d, want %d", k, j, i, rec.labels[k][j], want)
				}
			}
		}
	})
	t.Run("TrainWithClassifier", func(t *testing.T) {
		shifted := newTwoLevels(ds.Features)
		for i := range shifted.coarse {
			shifted.coarse[i] -= 100 // classes 0 and 1
		}
		tr, _ := classifierTrainer(t, ds.Features, 2, 2)
		tr.Dataset = shifted
		if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrLabels) {
			t.Fatalf("level 0 (4 classes) with 2 outputs: %v, want ErrLabels", err)
		}
		tr.LabelHierarchyLevel = 1
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatalf("level 1 (2 classes) with 2 outputs: %v", err)
		}
	})
	t.Run("TwoStreamMetricLoss", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		ts := twoStreamBlobs(t, rng, testkit.NormalCentres(rng, 4, 6, 1), 64, 0.3)
		tr, _ := twoStreamTrainer(t, ts, 6, 1)
		anchors := newTwoLevels(ts.Anchors.(*datasets.Features))
		tr.Dataset.Anchors = anchors
		rec := &recordingLoss{l: tr.Loss}
		tr.Loss = rec
		tr.IterationsPerEpoch = 2
		tr.LabelHierarchyLevel = 1
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		for k, idx := range anchors.batches {
			n := len(idx)
			for j, i := range idx {
				if rec.labels[k][j] != anchors.coarse[i] || rec.labels[k][n+j] != anchors.coarse[i] {
					t.Fatalf("batch %d, pair %d: labels %d and %d, want %d", k, j, rec.labels[k][j], rec.labels[k][n+j], anchors.coarse[i])
				}
			}
		}
		tr.LabelHierarchyLevel = 2
		if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("level 2: %v, want ErrSetting", err)
		}
	})

	features := ds.Features
	var nilFeatures *datasets.Features
	cases := []struct {
		name  string
		ds    datasets.Dataset
		level int
		want  error
		says  string
	}{
		{"nil", nil, 0, gometric.ErrSetting, "nil"},
		{"typed nil", nilFeatures, 1, gometric.ErrSetting, "nil"},
		{"negative", ds, -1, gometric.ErrSetting, "LabelHierarchyLevel = -1"},
		{"MinInt", ds, math.MinInt, gometric.ErrSetting, "LabelHierarchyLevel = -9223372036854775808"},
		{"one level", features, 1, gometric.ErrSetting, "level 0 only"},
		{"beyond", ds, 2, gometric.ErrSetting, "LabelHierarchyLevel = 2 but the data set *trainers_test.twoLevels has 2 label levels"},
		{"MaxInt", ds, math.MaxInt, gometric.ErrSetting, "LabelHierarchyLevel = 9223372036854775807"},
		{"short labels", badLevels{features}, 1, gometric.ErrLabels, "63 labels at level 1"},
		{"LabelsAt fails", badLevels{features}, 2, gometric.ErrLabels, "label level 2: level 2 is broken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trainers.LabelsAtLevel(tc.ds, tc.level)
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.LabelsAtLevel: ", tc.says) {
				t.Fatalf("LabelsAtLevel: %v, want %v saying %q", err, tc.want, tc.says)
			}
			if tc.ds == nil || tc.ds == datasets.Dataset(nilFeatures) {
				return
			}
			tr := mlpTrainer(t, features, 1)
			tr.Dataset, tr.LabelHierarchyLevel = tc.ds, tc.level
			if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.MetricLossOnly: ", tc.says) {
				t.Fatalf("Train: %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
	for level, want := range [][]int{ds.Labels(), ds.coarse} {
		if got, err := trainers.LabelsAtLevel(ds, level); err != nil || !slices.Equal(got, want) {
			t.Errorf("LabelsAtLevel(%d) = %v, %v", level, got, err)
		}
	}
}

// TestSubsetBatchMiner: the miner sees the batch embedded without
// training (through the embedder when there is one) and its labels; the
// step trains on the rows it chose, in its order; bad indices are errors.
func TestSubsetBatchMiner(t *testing.T) {
	ctx := context.Background()
	ds := blobs(t, 5, 64, 6, 4, 0.3)
	pick := func(labels []int) []int { // the even classes, last row first
		var idx []int
		for i := len(labels) - 1; i >= 0; i-- {
			if labels[i]%2 == 0 {
				idx = append(idx, i)
			}
		}
		return idx
	}
	t.Run("Base trains on the chosen rows", func(t *testing.T) {
		m := mlpTrainer(t, ds, 1)
		obj := losses.Objective{Loss: m.Loss}
		var minerEmb, lossEmb []gometric.Matrix
		var minerLabels, lossLabels, chosen [][]int
		calc := func(emb gometric.Matrix, labels []int) (trainers.BatchLoss, error) {
			lossEmb = append(lossEmb, gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: slices.Clone(emb.Data)})
			lossLabels = append(lossLabels, slices.Clone(labels))
			l, g, err := obj.Compute(emb, labels)
			return trainers.BatchLoss{Loss: float64(l), Grad: g}, err
		}
		b := trainers.NewBase(m.Encoder, m.Optimizer, 16, ds, calc)
		b.Sampler, b.IterationsPerEpoch = m.Sampler, 3
		b.SubsetBatchMiner = func(emb gometric.Matrix, labels []int) ([]int, error) {
			minerEmb = append(minerEmb, gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: slices.Clone(emb.Data)})
			minerLabels = append(minerLabels, slices.Clone(labels))
			idx := pick(labels)
			chosen = append(chosen, idx)
			return idx, nil
		}
		var sizes []int
		b.EndOfIterationHook = func(_ *trainers.Base, it trainers.IterationInfo) error {
			sizes = append(sizes, it.BatchSize)
			return nil
		}
		if _, err := b.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if len(lossEmb) != 3 || len(minerEmb) != 3 {
			t.Fatalf("%d loss calls, %d miner calls", len(lossEmb), len(minerEmb))
		}
		for k, idx := range chosen {
			me, le := minerEmb[k], lossEmb[k]
			if me.Rows != 16 || me.Cols != 8 || le.Rows != len(idx) || sizes[k] != len(idx) || len(idx) == 0 {
				t.Fatalf("iteration %d: the miner saw %d×%d, the loss %d rows, BatchSize %d, %d chosen", k, me.Rows, me.Cols, le.Rows, sizes[k], len(idx))
			}
			for j, i := range idx {
				if lossLabels[k][j] != minerLabels[k][i] {
					t.Fatalf("iteration %d, row %d: label %d, want row %d's %d", k, j, lossLabels[k][j], i, minerLabels[k][i])
				}
				for c := range 8 {
					if d := math.Abs(float64(le.Data[j*8+c] - me.Data[i*8+c])); d > 1e-5 {
						t.Fatalf("iteration %d, row %d: embedding %v, the miner's row %d %v", k, j, le.Data[j*8:j*8+8], i, me.Data[i*8:i*8+8])
					}
				}
			}
		}
	})
	t.Run("through the embedder, at a label level", func(t *testing.T) {
		tr := mlpTrainer(t, ds, 2)
		withEmbedder(t, tr, 3)
		lv := newTwoLevels(ds)
		tr.Dataset, tr.LabelHierarchyLevel = lv, 1
		rec := &recordingLoss{l: tr.Loss}
		tr.Loss = rec
		var cols []int
		tr.SubsetBatchMiner = func(emb gometric.Matrix, labels []int) ([]int, error) {
			cols = append(cols, emb.Cols)
			for _, l := range labels {
				if l < 100 {
					return nil, fmt.Errorf("label %d is not of level 1", l)
				}
			}
			return []int{0, 1, 2, 3, 4, 5, 6, 7}, nil
		}
		tr.IterationsPerEpoch = 2
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cols, []int{3, 3}) || len(rec.labels) != 2 || len(rec.labels[0]) != 8 {
			t.Fatalf("miner saw %v columns; the loss got %d batches", cols, len(rec.labels))
		}
		for k, idx := range lv.batches {
			for j := range 8 {
				if rec.labels[k][j] != lv.coarse[idx[j]] {
					t.Fatalf("batch %d, row %d: label %d, want %d", k, j, rec.labels[k][j], lv.coarse[idx[j]])
				}
			}
		}
	})
	errMiner := errors.New("miner failed")
	cases := []struct {
		name string
		idx  []int
		err  error
		want error
		says string
	}{
		{"nil", nil, nil, gometric.ErrIndex, "0 indices for a batch of 16 rows"},
		{"empty", []int{}, nil, gometric.ErrIndex, "0 indices"},
		{"negative", []int{0, -1}, nil, gometric.ErrIndex, "index -1 (position 1) outside [0, 16)"},
		{"N", []int{16}, nil, gometric.ErrIndex, "index 16 (position 0)"},
		{"MaxInt", []int{3, math.MaxInt}, nil, gometric.ErrIndex, "index 9223372036854775807"},
		{"MinInt", []int{math.MinInt}, nil, gometric.ErrIndex, "index -9223372036854775808"},
		{"too many", make([]int, 17), nil, gometric.ErrIndex, "17 indices for a batch of 16 rows, want 1 to 16"},
		{"miner error", []int{0}, errMiner, errMiner, "miner failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 3)
			w0 := weights(tr.Encoder)
			tr.SubsetBatchMiner = func(gometric.Matrix, []int) ([]int, error) { return tc.idx, tc.err }
			_, err := tr.Train(ctx, 1, 1)
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.MetricLossOnly: epoch 1, iteration 0: subset batch miner: ", tc.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.says)
			}
			if changed(w0, weights(tr.Encoder)) {
				t.Error("the trunk changed on a failed iteration")
			}
		})
	}
	t.Run("TwoStreamMetricLoss refuses it", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		ts := twoStreamBlobs(t, rng, testkit.NormalCentres(rng, 4, 6, 1), 64, 0.3)
		tr, _ := twoStreamTrainer(t, ts, 6, 1)
		tr.SubsetBatchMiner = func(gometric.Matrix, []int) ([]int, error) { return []int{0}, nil }
		if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrUnsupported) {
			t.Errorf("err = %v, want ErrUnsupported", err)
		}
	})
	t.Run("CascadedEmbeddings", func(t *testing.T) {
		tr := cascadedTrainer(t, ds, 4)
		tr.SubsetBatchMiner = func(emb gometric.Matrix, labels []int) ([]int, error) { return pick(labels), nil }
		var sizes []int
		tr.EndOfIterationHook = func(_ *trainers.CascadedEmbeddings, it trainers.IterationInfo) error {
			sizes = append(sizes, it.BatchSize)
			return nil
		}
		tr.IterationsPerEpoch = 2
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, []int{8, 8}) {
			t.Errorf("batch sizes %v, want the 8 rows of the two even classes", sizes)
		}
	})
}
