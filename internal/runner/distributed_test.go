package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/distributed"
)

// TestExecuteDistributed runs -distributed on two in-process ranks: both
// train, rank 0 alone writes the record and checkpoints, and its weights
// end equal to rank 1's.
func TestExecuteDistributed(t *testing.T) {
	train, test := blobs(t, 1, 64, 8, 4), blobs(t, 2, 40, 8, 4)
	group, err := distributed.NewLocalGroup(2)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{t.TempDir(), t.TempDir()}
	encs := make([]*models.MLP, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for r, c := range group {
		enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 16, 8}, Seed: uint64(1 + r)})
		if err != nil {
			t.Fatal(err)
		}
		encs[r] = enc
		o := Defaults()
		o.Batch, o.M, o.Epochs, o.Out, o.Quiet, o.Distributed = 8, 4, 2, outs[r], true, true
		var stdout bytes.Buffer
		run := &Run{Options: o, Encoder: enc, Train: train, Test: test, Stdout: &stdout, Stderr: &stdout, Comm: c}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, errs[r] = run.Execute(context.Background()); errs[r] != nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outs[0], CSVFile)); err != nil {
		t.Errorf("rank 0 wrote no record: %v", err)
	}
	if ents, _ := os.ReadDir(outs[1]); len(ents) != 0 {
		t.Errorf("rank 1 wrote %d files", len(ents))
	}
	for i := range encs[0].Params() {
		a, _ := encs[0].Params()[i].Float32s()
		b, _ := encs[1].Params()[i].Float32s()
		if !slices.Equal(a, b) {
			t.Fatalf("parameter %d differs between the ranks", i)
		}
	}
}

// TestDistributedOptions checks what -distributed refuses.
func TestDistributedOptions(t *testing.T) {
	for _, mod := range []func(o *Options){
		func(o *Options) { o.Trainer = "cascaded" },
		func(o *Options) { o.Trainer = "withclassifier" },
		func(o *Options) { o.Resume = true },
		func(o *Options) { o.LRSchedule = "plateau:2" },
	} {
		o := Defaults()
		o.Distributed = true
		mod(&o)
		if err := o.Validate(); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%+v: %v, want ErrSetting", o, err)
		}
	}
	if distributed.Available {
		return
	}
	// Without the mpi tag, -distributed says how to build.
	o := Defaults()
	o.Distributed, o.Out = true, t.TempDir()
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 8}, Seed: 1})
	r := &Run{Options: o, Encoder: enc, Train: blobs(t, 1, 64, 8, 4), Test: blobs(t, 2, 40, 8, 4), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	if _, err := r.Execute(context.Background()); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("-distributed without the mpi tag: %v, want ErrUnsupported", err)
	}
}
