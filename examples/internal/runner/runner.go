package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// The files a run writes into its output directory.
const (
	CSVFile         = "run.csv"
	PNGFile         = "run.png"
	CheckpointFile  = "checkpoint.gmw"
	InterruptedFile = "interrupted.gmw"
)

// Metrics are the metrics the examples print, in order, with their short
// names.
var Metrics = []struct{ Name, Short string }{
	{accuracy.NamePrecisionAt1, "P@1"},
	{accuracy.NameRPrecision, "R-Precision"},
	{accuracy.NameMeanAveragePrecisionAtR, "MAP@R"},
}

// Options are the settings every example takes as flags. The zero value
// is not valid (Validate says why); start from Defaults. Options is a
// plain value, safe for concurrent reads.
type Options struct {
	Loss, Miner string
	Epochs      int
	Batch, M    int
	Iterations  int
	LR, LossLR  float64
	Seed        uint64
	Out         string
	Threads     int
	EvalBatch   int
	Quiet       bool
	// Resume continues the run recorded in Out (its last epoch's weights
	// and record); Overwrite deletes that run's files and starts again.
	// Without either, a run refuses an Out that holds trained weights.
	Resume, Overwrite bool
}

// Defaults are the benchmark protocol's settings (../shared/bench/
// pml-fashionmnist.json): TripletMargin(0.1) + MultiSimilarity miner,
// MPerClass m = 8, batch 64, Adam lr 1e-3 (1e-2 for loss parameters), seed
// 0, one epoch of len(train)/64 iterations.
func Defaults() Options {
	return Options{
		Loss: "triplet", Miner: "multisimilarity",
		Epochs: 1, Batch: 64, M: 8,
		LR: 1e-3, LossLR: 1e-2,
		Out: "out", EvalBatch: 256,
	}
}

// Register defines the flags of o on fs, with o's current values as
// defaults.
func (o *Options) Register(fs *flag.FlagSet) {
	if o == nil || fs == nil {
		return
	}
	fs.StringVar(&o.Loss, "loss", o.Loss, "loss, by its lower-case Go name: "+strings.Join(LossNames(), ", ")+
		fmt.Sprintf(" (triplet is TripletMargin with margin %g; every other name, tripletmargin included, has PML's defaults)", DefaultTripletMargin))
	fs.StringVar(&o.Miner, "miner", o.Miner, "miner: "+strings.Join(MinerNames(), ", "))
	fs.IntVar(&o.Epochs, "epochs", o.Epochs, "number of training epochs (0: evaluate only)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "batch size")
	fs.IntVar(&o.M, "m", o.M, "samples per class in a batch (MPerClass sampler); divides -batch")
	fs.IntVar(&o.Iterations, "iters", o.Iterations, "iterations per epoch (0: one pass, training-set size / batch)")
	fs.Float64Var(&o.LR, "lr", o.LR, "Adam learning rate of the encoder")
	fs.Float64Var(&o.LossLR, "loss-lr", o.LossLR, "Adam learning rate of a loss's learnable parameters, if any")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the initialisation, the sampler and random miners")
	fs.StringVar(&o.Out, "out", o.Out, "output directory: "+CSVFile+", "+PNGFile+", "+CheckpointFile)
	fs.IntVar(&o.Threads, "threads", o.Threads, "threads (GOMAXPROCS; 0: all cores)")
	fs.IntVar(&o.EvalBatch, "eval-batch", o.EvalBatch, "batch size of the evaluation")
	fs.BoolVar(&o.Quiet, "quiet", o.Quiet, "no progress bars")
	fs.BoolVar(&o.Resume, "resume", o.Resume, "continue the run in -out from its last epoch (-epochs is the total)")
	fs.BoolVar(&o.Overwrite, "overwrite", o.Overwrite, "delete the run in -out (its checkpoints and record) and start again")
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o == nil {
		return fmt.Errorf("runner: nil Options: %w", gometric.ErrSetting)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf(format+": %w", append(a, gometric.ErrSetting)...)
	}
	tuples, learnable, err := LossInfo(o.Loss)
	if err != nil {
		return fmt.Errorf("-loss: %w", err)
	}
	m, err := NewMiner(o.Miner, o.Seed)
	if err != nil {
		return fmt.Errorf("-miner: %w", err)
	}
	if m != nil && !tuples {
		return bad("-loss %s does not take mined tuples (as in PML); use -miner none", o.Loss)
	}
	if learnable && !(o.LossLR > 0) {
		return bad("-loss-lr %v: want a positive learning rate", o.LossLR)
	}
	switch {
	case o.Epochs < 0:
		return bad("-epochs %d: want at least 0", o.Epochs)
	case o.Batch < 1:
		return bad("-batch %d: want at least 1", o.Batch)
	case o.M < 1:
		return bad("-m %d: want at least 1", o.M)
	case o.Batch%o.M != 0:
		return bad("-batch %d is not a multiple of -m %d (MPerClass needs whole groups of m samples)", o.Batch, o.M)
	case o.Iterations < 0:
		return bad("-iters %d: want at least 0", o.Iterations)
	case !(o.LR > 0):
		return bad("-lr %v: want a positive learning rate", o.LR)
	case o.Out == "":
		return bad("-out: empty directory name")
	case o.Threads < 0:
		return bad("-threads %d: want at least 0", o.Threads)
	case o.EvalBatch < 1:
		return bad("-eval-batch %d: want at least 1", o.EvalBatch)
	case o.Resume && o.Overwrite:
		return bad("-resume and -overwrite: choose one")
	}
	return nil
}

// ParseFlags parses args into o with fs (which must have o registered)
// and validates them; positional arguments are an error.
func (o *Options) ParseFlags(fs *flag.FlagSet, args []string) error {
	if o == nil || fs == nil {
		return fmt.Errorf("runner: nil Options or FlagSet: %w", gometric.ErrSetting)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see -h): %w", fs.Arg(0), gometric.ErrSetting)
	}
	if o.Threads > 0 {
		runtime.GOMAXPROCS(o.Threads)
	}
	return o.Validate()
}

// Run is one training run of an example. Its fields are all required:
// Execute refuses a Run without an encoder or data sets with an error
// wrapping gometric.ErrSetting. A Run is not safe for concurrent use (it
// trains its Encoder).
type Run struct {
	Options
	// Encoder is the model to train.
	Encoder models.Encoder
	// Train and Test are the training set and the retrieval test set
	// (query = reference).
	Train, Test datasets.Dataset
	// Stdout receives the results; Stderr the progress bars.
	Stdout, Stderr io.Writer
}

// Row is one line of the run's record: epoch 0 is before training. It is
// a plain value, safe for concurrent reads.
type Row struct {
	Epoch       int
	Train       *trainers.EpochInfo // nil for epoch 0
	Metrics     accuracy.Results
	EvalSeconds float64

	// warnings is the CSV's warnings column of a row read by ReadCSV
	// (fromFile), written back verbatim.
	warnings string
	fromFile bool
}

// Execute trains and evaluates as the options say, printing a line per
// evaluation, and writes the CSV, the PNG and the checkpoints into Out:
// EpochFile(n) and EpochOptimizerFile(n) (and EpochLossFile(n) and
// EpochLossOptimizerFile(n) for a learnable loss) after each epoch n,
// keeping only the last, and CheckpointFile, the encoder of the
// best epoch by PrimaryMetric, replaced only by a better one.
//
// An Out that holds trained weights from an earlier run is refused unless
// Resume (continue from its last recorded epoch up to Epochs in all) or
// Overwrite (delete its files first) is set, so a run never replaces a
// trained checkpoint with an untrained or worse one unasked. At start,
// the temporary files of a killed run are removed. On cancellation it
// saves the current weights to InterruptedFile and returns the context's
// error; the checkpoints stay as they were.
//
// A resumed run continues exactly where the uninterrupted run was: the
// weights, the loss's parameters and both optimizers' states (Adam's
// moments) are restored, and the trainer seeks its sampler to the epoch, so
// it draws the same batches (a miner or loss that draws at random restarts
// its generator from the seed).
func (r *Run) Execute(ctx context.Context) ([]Row, error) {
	if r == nil {
		return nil, fmt.Errorf("runner: nil Run: %w", gometric.ErrSetting)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Encoder == nil || r.Train == nil || r.Test == nil {
		return nil, fmt.Errorf("runner: encoder or data set missing: %w", gometric.ErrSetting)
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	removed, err := cleanTemps(r.Out)
	if err != nil {
		return nil, err
	}
	if len(removed) > 0 {
		fmt.Fprintf(r.Stdout, "removed %d unfinished temporary file(s) of an interrupted run from %s\n", len(removed), r.Out)
	}
	pr, err := findPrior(r.Out)
	if err != nil {
		return nil, err
	}
	switch {
	case pr.trained() && !r.Resume && !r.Overwrite:
		return nil, fmt.Errorf("%s holds an earlier run's trained weights (%s): -resume continues that run, -overwrite deletes it and starts again, or choose another -out: %w",
			r.Out, pr.describe(), gometric.ErrSetting)
	case r.Overwrite && (pr.trained() || pr.csv):
		if err := removeRun(r.Out, pr); err != nil {
			return nil, err
		}
		fmt.Fprintf(r.Stdout, "-overwrite: deleted the earlier run in %s (%s)\n", r.Out, pr.describe())
		pr = prior{}
	}

	numClasses := 0
	for _, c := range r.Train.Labels() {
		numClasses = max(numClasses, c+1)
	}
	loss, _, err := NewLoss(r.Loss, numClasses, r.Encoder.EmbeddingSize(), r.Seed)
	if err != nil {
		return nil, err
	}
	learnable, _ := loss.(losses.Learnable)

	// What an earlier run recorded, when resuming.
	var rows []Row
	if r.Resume && pr.csv {
		if rows, err = ReadCSV(filepath.Join(r.Out, CSVFile)); err != nil {
			return nil, fmt.Errorf("-resume: %w", err)
		}
	}
	done := len(rows) - 1 // the last recorded epoch (-1: none)
	if r.Resume && pr.trained() && done < 1 {
		return nil, fmt.Errorf("-resume: %s records no trained epoch but %s holds trained weights (%s); -overwrite starts again: %w",
			CSVFile, r.Out, pr.describe(), gometric.ErrSetting)
	}
	// Epoch files beyond the record are from an epoch that did not
	// finish (killed before its record was written): it is trained again.
	for e, fs := range pr.epochs {
		if e > max(done, 0) {
			for _, f := range fs {
				if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
		}
	}

	miner, err := NewMiner(r.Miner, r.Seed)
	if err != nil {
		return nil, err
	}
	opt, err := models.NewOptimizer("adam", r.LR)
	if err != nil {
		return nil, err
	}
	var lossOpt *models.Optimizer
	if learnable != nil {
		if lossOpt, err = models.NewOptimizer("adam", r.LossLR); err != nil {
			return nil, err
		}
	}
	if done >= 1 {
		// The last epoch's weights, loss parameters and optimizer states.
		at := func(name string) string { return filepath.Join(r.Out, name) }
		if err := r.Encoder.Load(at(EpochFile(done))); err != nil {
			return nil, fmt.Errorf("-resume: %s records epoch %d: %w", CSVFile, done, err)
		}
		if err := opt.LoadState(at(EpochOptimizerFile(done))); err != nil {
			return nil, fmt.Errorf("-resume: %w", err)
		}
		if learnable != nil {
			if err := losses.LoadParams(at(EpochLossFile(done)), learnable); err != nil {
				return nil, fmt.Errorf("-resume: %w", err)
			}
			if err := lossOpt.LoadState(at(EpochLossOptimizerFile(done))); err != nil {
				return nil, fmt.Errorf("-resume: %w", err)
			}
		}
	}
	var progress io.Writer
	if !r.Quiet {
		progress = r.Stderr
	}
	t := trainers.NewMetricLossOnly(r.Encoder, opt, r.Batch, loss, r.Train)
	t.Miner = miner
	t.Sampler = &samplers.MPerClass{Labels: r.Train.Labels(), M: r.M, BatchSize: r.Batch, LengthBeforeNewIter: r.Train.Len()}
	t.IterationsPerEpoch = r.Iterations
	t.Seed = r.Seed
	t.Progress = progress
	if learnable != nil {
		t.LossOptimizer = lossOpt
	}
	ipe := r.Iterations
	if ipe == 0 {
		ipe = t.Sampler.Len() / r.Batch
	}
	fmt.Fprintf(r.Stdout, "loss %s, miner %s, MPerClass m=%d, batch %d, Adam lr %g, seed %d, %d epoch(s) of %d iterations, %d threads, BLAS %s\n",
		r.Loss, r.Miner, r.M, r.Batch, r.LR, r.Seed, r.Epochs, ipe, runtime.GOMAXPROCS(0), models.BLASName())
	ckpt := filepath.Join(r.Out, CheckpointFile)
	fmt.Fprintf(r.Stdout, "checkpoints: %s keeps the best epoch by %s, %s the last (-resume continues from it); an earlier run is never replaced without -resume or -overwrite\n",
		ckpt, PrimaryMetric, filepath.Join(r.Out, "epoch-N.gmw"))
	if done >= 1 {
		fmt.Fprintf(r.Stdout, "-resume: continuing after epoch %d (%s and the optimizer's state; best %s %.4f)\n",
			done, filepath.Join(r.Out, EpochFile(done)), PrimaryMetric, best(rows))
	}

	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = r.EvalBatch
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount()}
	for _, m := range Metrics {
		tester.Calculator.Include = append(tester.Calculator.Include, m.Name)
	}
	tester.Progress = progress
	evaluate := func() (accuracy.Results, float64, error) {
		start := time.Now()
		res, err := tester.Test(ctx, r.Encoder, map[string]datasets.Dataset{"test": r.Test})
		if err != nil {
			return nil, 0, err
		}
		return res["test"], time.Since(start).Seconds(), nil
	}

	record := func() error {
		if err := WriteCSV(filepath.Join(r.Out, CSVFile), rows); err != nil {
			return err
		}
		return WritePNG(filepath.Join(r.Out, PNGFile), rows)
	}
	interrupted := func(err error, epoch int, done int) ([]Row, error) {
		path := filepath.Join(r.Out, InterruptedFile)
		if serr := r.Encoder.Save(path); serr != nil {
			return rows, errors.Join(err, serr)
		}
		fmt.Fprintf(r.Stdout, "interrupted in epoch %d after %d iterations: weights saved to %s; the checkpoints are as they were\n", epoch, done, path)
		return rows, err
	}

	if len(rows) == 0 {
		// Epoch 0: the untrained encoder, evaluated and recorded (no
		// weights are written for it).
		res, evalSec, err := evaluate()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx.Err(), 0, 0)
			}
			return nil, err
		}
		rows = append(rows, Row{Epoch: 0, Metrics: res, EvalSeconds: evalSec})
		fmt.Fprintln(r.Stdout, rows[0].Line())
		if err := record(); err != nil {
			return rows, err
		}
	}
	bestSoFar := best(rows)
	if len(rows) > r.Epochs+1 {
		fmt.Fprintf(r.Stdout, "%s already records %d epochs (-epochs %d): nothing to train\n", filepath.Join(r.Out, CSVFile), len(rows)-1, r.Epochs)
	}

	for epoch := len(rows); epoch <= r.Epochs; epoch++ {
		eps, err := t.Train(ctx, epoch, epoch)
		if err != nil {
			done := 0
			if len(eps) > 0 {
				done = eps[0].Iterations
			}
			if ctx.Err() != nil {
				return interrupted(err, epoch, done)
			}
			return rows, err
		}
		info := eps[0]
		// The order keeps the files consistent wherever the process dies:
		// the epoch's weights, then the best checkpoint, then the record,
		// and only then the previous epoch's weights are deleted.
		if err := r.Encoder.Save(filepath.Join(r.Out, EpochFile(epoch))); err != nil {
			return rows, err
		}
		if err := opt.SaveState(filepath.Join(r.Out, EpochOptimizerFile(epoch))); err != nil {
			return rows, err
		}
		if learnable != nil {
			if err := losses.SaveParams(filepath.Join(r.Out, EpochLossFile(epoch)), learnable); err != nil {
				return rows, err
			}
			if err := lossOpt.SaveState(filepath.Join(r.Out, EpochLossOptimizerFile(epoch))); err != nil {
				return rows, err
			}
		}
		res, evalSec, err := evaluate()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx.Err(), epoch, info.Iterations)
			}
			return rows, err
		}
		row := Row{Epoch: epoch, Train: &info, Metrics: res, EvalSeconds: evalSec}
		if v, ok := row.primary(); ok && v > bestSoFar {
			if err := r.Encoder.Save(ckpt); err != nil {
				return rows, err
			}
			bestSoFar = v
		}
		rows = append(rows, row)
		fmt.Fprintln(r.Stdout, row.Line())
		if err := record(); err != nil {
			return rows, err
		}
		for _, name := range epochNames(epoch - 1) {
			if err := os.Remove(filepath.Join(r.Out, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return rows, err
			}
		}
	}
	wrote := []string{filepath.Join(r.Out, CSVFile), filepath.Join(r.Out, PNGFile)}
	if last := len(rows) - 1; last >= 1 {
		wrote = append(wrote, filepath.Join(r.Out, EpochFile(last)))
	}
	if _, err := os.Stat(ckpt); err == nil {
		wrote = append(wrote, ckpt+fmt.Sprintf(" (best %s %.4f)", PrimaryMetric, bestSoFar))
	}
	fmt.Fprintf(r.Stdout, "wrote %s\n", strings.Join(wrote, ", "))
	return rows, nil
}

// Line is the printed form of a row:
//
//	epoch 0  P@1 0.7932  R-Precision 0.4334  MAP@R 0.2989  (eval 8.1 s)
//	epoch 1  loss 0.1032  P@1 0.8601  R-Precision 0.7570  MAP@R 0.6792  (train 18.2 s, eval 10.2 s)
func (row Row) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d", row.Epoch)
	if row.Train != nil {
		fmt.Fprintf(&b, "  loss %.4f", row.Train.LossMean)
	}
	for _, m := range Metrics {
		fmt.Fprintf(&b, "  %s %.4f", m.Short, row.Metrics[m.Name].Scalar)
	}
	if row.Train != nil {
		fmt.Fprintf(&b, "  (train %.1f s, eval %.1f s)", row.Train.Duration.Seconds(), row.EvalSeconds)
	} else {
		fmt.Fprintf(&b, "  (eval %.1f s)", row.EvalSeconds)
	}
	for _, w := range row.Metrics.Warnings() {
		fmt.Fprintf(&b, "\n  warning: %s", w)
	}
	return b.String()
}
