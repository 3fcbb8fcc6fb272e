package trainers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/distributed"
	"gonum.org/v1/gonum/mat"
)

// mpiWorld is this process's MPI communicator when the tests run with the
// mpi tag (main_mpi_test.go), else nil.
var mpiWorld distributed.Communicator

// dpTrainer is a MetricLossOnly of the data-parallel test: an MLP, the
// contrastive loss with the multi-similarity miner (wrapped over comm when
// it is not nil), SGD, batch bs, 50 iterations.
func dpTrainer(t *testing.T, ds *datasets.Features, bs int, comm distributed.Communicator, optName string) *trainers.MetricLossOnly {
	return dpTrainerLoss(t, ds, bs, comm, optName, false)
}

// dpTrainerLoss is dpTrainer, with ProxyAnchor (learnable proxies, their
// own SGD optimizer, no miner) when learnable is set.
func dpTrainerLoss(t *testing.T, ds *datasets.Features, bs int, comm distributed.Communicator, optName string, learnable bool) *trainers.MetricLossOnly {
	t.Helper()
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{ds.Dim(), 24, 8}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if comm != nil && comm.Rank() != 0 {
		// Other ranks start elsewhere: Train broadcasts rank 0's weights.
		other, _ := models.NewMLP(models.MLPConfig{Sizes: []int{ds.Dim(), 24, 8}, Seed: 99})
		enc = other
	}
	opt, err := models.NewOptimizer(optName, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	var loss losses.Loss = losses.NewContrastive()
	var miner miners.Miner = miners.NewMultiSimilarity()
	if learnable {
		seed := uint64(4)
		if comm != nil && comm.Rank() != 0 {
			seed = 5 // broadcast from rank 0 at the start
		}
		pa, err := losses.NewProxyAnchor(8, 8, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		loss, miner = pa, nil
	}
	if comm != nil {
		loss = distributed.NewLossWrapper(loss, comm)
		if miner != nil {
			miner = distributed.NewMinerWrapper(miner, comm)
		}
	}
	tr := trainers.NewMetricLossOnly(enc, opt, bs, loss, ds)
	tr.Miner = miner
	if learnable {
		if tr.LossOptimizer, err = models.NewOptimizer("sgd", 0.1); err != nil {
			t.Fatal(err)
		}
	}
	tr.IterationsPerEpoch = 50
	tr.Seed = 11
	tr.Comm = comm
	return tr
}

// TestDataParallelEqualsSingleProcess is the check of data-parallel
// training: 2 ranks, 50 iterations of 32 samples per rank, end with the
// weights (to 1e-5) of one process training 50 iterations of batch 64 on
// the same samples (in-process ranks, and the MPI world under mpirun).
func TestDataParallelEqualsSingleProcess(t *testing.T) {
	ds := blobs(t, 5, 64*20, 10, 8, 0.6)
	for _, optName := range []string{"sgd", "adam"} {
		single := dpTrainer(t, ds, 64, nil, optName)
		start := weights(single.Encoder)
		if _, err := single.Train(context.Background(), 1, 1); err != nil {
			t.Fatal(err)
		}
		want := weights(single.Encoder)
		moved := 0.0
		for i := range want {
			for j := range want[i] {
				moved = math.Max(moved, math.Abs(float64(want[i][j]-start[i][j])))
			}
		}
		if moved < 1e-2 {
			t.Fatalf("%s: training moved the weights by only %.3g: the comparison would prove nothing", optName, moved)
		}

		check := func(t *testing.T, tr *trainers.MetricLossOnly) error {
			got := weights(tr.Encoder)
			worst := 0.0
			for i := range want {
				for j := range want[i] {
					worst = math.Max(worst, math.Abs(float64(got[i][j]-want[i][j])))
				}
			}
			if worst > 1e-5 {
				return fmt.Errorf("rank %d: weights differ from the single process by %.3g", tr.Comm.Rank(), worst)
			}
			if worst == 0 && optName == "sgd" {
				t.Logf("rank %d: weights equal the single process's bit for bit", tr.Comm.Rank())
			} else {
				t.Logf("rank %d: largest weight difference %.3g", tr.Comm.Rank(), worst)
			}
			return nil
		}
		t.Run("local2/"+optName, func(t *testing.T) {
			group, err := distributed.NewLocalGroup(2)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			trs := make([]*trainers.MetricLossOnly, 2)
			for r, c := range group {
				trs[r] = dpTrainer(t, ds, 32, c, optName)
			}
			for r, c := range group {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, errs[r] = trs[r].Train(context.Background(), 1, 1); errs[r] != nil {
						c.Close()
						return
					}
					errs[r] = check(t, trs[r])
				}()
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Errorf("rank %d: %v", r, err)
				}
			}
		})
		if mpiWorld != nil && mpiWorld.Size() == 2 {
			t.Run("mpi2/"+optName, func(t *testing.T) {
				tr := dpTrainer(t, ds, 32, mpiWorld, optName)
				if _, err := tr.Train(context.Background(), 1, 1); err != nil {
					t.Fatal(err)
				}
				if err := check(t, tr); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestDataParallelHooksAgree checks that a stop asked by one rank's hook
// stops every rank at the same iteration, and that a failing hook fails
// every rank.
func TestDataParallelHooksAgree(t *testing.T) {
	ds := blobs(t, 5, 64*20, 10, 8, 0.6)
	for _, tc := range []struct {
		name    string
		hookErr error
		wantErr bool
	}{{"stop", trainers.ErrStopTraining, false}, {"fail", fmt.Errorf("disk full"), true}} {
		group, _ := distributed.NewLocalGroup(2)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		iters := make([]int, 2)
		for r, c := range group {
			tr := dpTrainer(t, ds, 32, c, "sgd")
			tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
				iters[r] = it.Iteration
				if r == 1 && it.Iteration == 4 {
					return tc.hookErr
				}
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[r] = tr.Train(context.Background(), 1, 1)
			}()
		}
		wg.Wait()
		for r := range 2 {
			if (errs[r] != nil) != tc.wantErr || iters[r] != 4 {
				t.Errorf("%s: rank %d stopped after iteration %d with %v", tc.name, r, iters[r], errs[r])
			}
		}
	}
}

// TestDataParallelLearnableLoss is TestDataParallelEqualsSingleProcess with
// a learnable loss (ProxyAnchor): the encoder's weights and the proxies of
// every rank end equal (1e-5) to the single process's.
func TestDataParallelLearnableLoss(t *testing.T) {
	ds := blobs(t, 6, 64*20, 10, 8, 0.6)
	single := dpTrainerLoss(t, ds, 64, nil, "sgd", true)
	if _, err := single.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	want := weights(single.Encoder)
	wantP := single.Loss.(losses.Learnable).Params()[0].Value
	if fresh := dpTrainerLoss(t, ds, 64, nil, "sgd", true).Loss.(losses.Learnable).Params()[0].Value; mat.EqualApprox(fresh, wantP, 1e-3) {
		t.Fatal("training did not move the proxies: the comparison would prove nothing")
	}
	group, _ := distributed.NewLocalGroup(2)
	var wg sync.WaitGroup
	for r, c := range group {
		tr := dpTrainerLoss(t, ds, 32, c, "sgd", true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tr.Train(context.Background(), 1, 1); err != nil {
				t.Errorf("rank %d: %v", r, err)
				c.Close()
				return
			}
			got := weights(tr.Encoder)
			for i := range want {
				for j := range want[i] {
					if d := math.Abs(float64(got[i][j] - want[i][j])); d > 1e-5 {
						t.Errorf("rank %d: weight %d,%d differs by %.3g", r, i, j, d)
						return
					}
				}
			}
			gotP := tr.Loss.(losses.Learnable).Params()[0].Value
			if !mat.EqualApprox(gotP, wantP, 1e-5) {
				t.Errorf("rank %d: proxies differ from the single process's", r)
			}
		}()
	}
	wg.Wait()
}

// TestDataParallelOtherTrainers checks that the trainers whose other models
// the loop would not average refuse a Comm of several ranks.
func TestDataParallelOtherTrainers(t *testing.T) {
	group, _ := distributed.NewLocalGroup(2)
	twc := &trainers.TrainWithClassifier{}
	twc.Comm = group[0]
	ts := &trainers.TwoStreamMetricLoss{}
	ts.Comm = group[0]
	daml := &trainers.DeepAdversarialMetricLearning{}
	daml.Comm = group[0]
	for _, tr := range []interface {
		Train(context.Context, int, int) ([]trainers.EpochInfo, error)
	}{twc, ts, daml} {
		if _, err := tr.Train(context.Background(), 1, 1); !errors.Is(err, gometric.ErrUnsupported) {
			t.Errorf("%T with a Comm of 2 ranks: %v, want ErrUnsupported", tr, err)
		}
	}
}
