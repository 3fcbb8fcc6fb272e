package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
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
	// CheckpointEmbedderFile and InterruptedEmbedderFile hold the
	// embedder (-embedder) beside CheckpointFile and InterruptedFile,
	// which hold the trunk: the embedding is the embedder of the trunk's
	// output.
	CheckpointEmbedderFile  = "checkpoint-embedder.gmw"
	InterruptedEmbedderFile = "interrupted-embedder.gmw"
)

// embedderSeed is mixed into -seed for the embedder's initialisation.
const embedderSeed = 0x656d626564646572 // "embedder"

// classifierSeed is mixed into -seed for the classifier's initialisation.
const classifierSeed = 0x636c617373696679 // "classify"

// MaxEmbedder is the largest -embedder size (models.NewMLP's limit on a
// layer's width).
const MaxEmbedder = 1 << 16

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
	// Embedder, when positive, is the output size of a linear embedder
	// after the trunk (PML's models["embedder"], here Linear(trunk's
	// embedding size, Embedder)) with its own Adam at LR; 0 is PML's
	// default, Identity.
	Embedder int
	// Trainer is the PML trainer: "metriclossonly" (MetricLossOnly) or
	// "withclassifier" (TrainWithClassifier: a Linear(embedding size,
	// classes) classifier on the embeddings, trained with CrossEntropy of
	// weight ClassifierLossWeight beside the metric loss of weight 1, with
	// its own Adam at LR).
	Trainer              string
	ClassifierLossWeight float64
	// LRSchedule is the learning-rate schedule of every optimizer of the
	// run, in ParseLRSchedule's form ("" or "none": constant rates).
	LRSchedule string
	// Patience, when positive, stops training once the epochs since the
	// best PrimaryMetric exceed it, checked at each evaluation (PML's
	// HookContainer patience); 0 never stops early.
	Patience int
	// ValEvery evaluates every ValEvery epochs (PML's test_interval) and
	// always after the last one; at least 1.
	ValEvery int
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
		LRSchedule: "none", ValEvery: 1,
		Trainer: "metriclossonly", ClassifierLossWeight: 1,
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
	fs.IntVar(&o.Embedder, "embedder", o.Embedder, "size of a linear embedder after the trunk, with its own Adam at -lr (0: none, PML's Identity)")
	fs.StringVar(&o.LRSchedule, "lr-schedule", o.LRSchedule, "learning-rate schedule of every optimizer, stepped per epoch: "+LRScheduleForms)
	fs.IntVar(&o.Patience, "patience", o.Patience, "stop when the epochs since the best "+shortName(PrimaryMetric)+" exceed N, checked at each evaluation (PML's HookContainer patience; 0: off)")
	fs.IntVar(&o.ValEvery, "val-every", o.ValEvery, "evaluate every N epochs (and after the last)")
	fs.StringVar(&o.Trainer, "trainer", o.Trainer, "PML trainer: metriclossonly, or withclassifier (TrainWithClassifier: a Linear classifier on the embeddings, CrossEntropy, its own Adam at -lr)")
	fs.Float64Var(&o.ClassifierLossWeight, "classifier-loss-weight", o.ClassifierLossWeight, "-trainer withclassifier: the weight of the classifier's CrossEntropy (the metric loss has weight 1)")
}

// shortName is a metric's printed name.
func shortName(name string) string {
	for _, m := range Metrics {
		if m.Name == name {
			return m.Short
		}
	}
	return name
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
	case o.Trainer != "metriclossonly" && o.Trainer != "withclassifier":
		return bad("-trainer %q: want metriclossonly or withclassifier", o.Trainer)
	case !(o.ClassifierLossWeight >= 0) || math.IsInf(o.ClassifierLossWeight, 0):
		return bad("-classifier-loss-weight %v: want a finite weight of at least 0", o.ClassifierLossWeight)
	case o.Resume && o.Overwrite:
		return bad("-resume and -overwrite: choose one")
	case o.Embedder < 0 || o.Embedder > MaxEmbedder:
		return bad("-embedder %d: want a size in [1, %d], or 0 for none", o.Embedder, MaxEmbedder)
	case o.Patience < 0:
		return bad("-patience %d: want at least 0 (0: off)", o.Patience)
	case o.ValEvery < 1:
		return bad("-val-every %d: want at least 1", o.ValEvery)
	}
	if _, err := ParseLRSchedule(o.LRSchedule); err != nil {
		return err
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

	schedule, err := ParseLRSchedule(r.LRSchedule)
	if err != nil {
		return nil, err
	}
	// The embedder (-embedder): Linear(trunk's size, Embedder).
	var emb *models.MLP
	dim := r.Encoder.EmbeddingSize()
	if r.Embedder > 0 {
		if emb, err = models.NewMLP(models.MLPConfig{Sizes: []int{dim, r.Embedder}, Seed: r.Seed ^ embedderSeed}); err != nil {
			return nil, fmt.Errorf("-embedder %d: %w", r.Embedder, err)
		}
		dim = r.Embedder
	}
	numClasses := 0
	for _, c := range r.Train.Labels() {
		numClasses = max(numClasses, c+1)
	}
	loss, _, err := NewLoss(r.Loss, numClasses, dim, r.Seed)
	if err != nil {
		return nil, err
	}
	// The classifier (-trainer withclassifier): Linear(embedding size,
	// classes), PML's models["classifier"].
	var clf *models.MLP
	if r.Trainer == "withclassifier" {
		if clf, err = models.NewMLP(models.MLPConfig{Sizes: []int{dim, numClasses}, Seed: r.Seed ^ classifierSeed}); err != nil {
			return nil, fmt.Errorf("-trainer withclassifier: %w", err)
		}
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
	// The run's optimizers, each with its state and scheduler files.
	type optimized struct {
		opt                *models.Optimizer
		optFile, schedFile func(int) string
		sched              scheduler
	}
	var parts []*optimized
	newPart := func(lr float64, optFile, schedFile func(int) string) (*optimized, error) {
		opt, err := models.NewOptimizer("adam", lr)
		if err != nil {
			return nil, err
		}
		p := &optimized{opt: opt, optFile: optFile, schedFile: schedFile}
		if p.sched, err = schedule.build(opt, r.Epochs); err != nil {
			return nil, err
		}
		parts = append(parts, p)
		return p, nil
	}
	trunkPart, err := newPart(r.LR, EpochOptimizerFile, EpochSchedulerFile)
	if err != nil {
		return nil, err
	}
	var embPart, lossPart, clfPart *optimized
	if emb != nil {
		if embPart, err = newPart(r.LR, EpochEmbedderOptimizerFile, EpochEmbedderSchedulerFile); err != nil {
			return nil, err
		}
	}
	if clf != nil {
		if clfPart, err = newPart(r.LR, EpochClassifierOptimizerFile, EpochClassifierSchedulerFile); err != nil {
			return nil, err
		}
	}
	if learnable != nil {
		if lossPart, err = newPart(r.LossLR, EpochLossOptimizerFile, EpochLossSchedulerFile); err != nil {
			return nil, err
		}
	}
	at := func(name string) string { return filepath.Join(r.Out, name) }
	if done >= 1 {
		// The last epoch's weights, loss parameters, optimizer and
		// scheduler states; a file the flags do not expect means the
		// earlier run had other flags.
		exists := func(name string) bool { _, err := os.Stat(at(name)); return err == nil }
		switch {
		case emb == nil && exists(EpochEmbedderFile(done)):
			return nil, fmt.Errorf("-resume: the run in %s has an embedder (%s); give its -embedder size: %w", r.Out, EpochEmbedderFile(done), gometric.ErrSetting)
		case clf == nil && exists(EpochClassifierFile(done)):
			return nil, fmt.Errorf("-resume: the run in %s trained with a classifier (%s); give -trainer withclassifier: %w", r.Out, EpochClassifierFile(done), gometric.ErrSetting)
		case schedule.Kind == "none" && exists(EpochSchedulerFile(done)):
			return nil, fmt.Errorf("-resume: the run in %s has a learning-rate schedule (%s); give its -lr-schedule: %w", r.Out, EpochSchedulerFile(done), gometric.ErrSetting)
		}
		if err := r.Encoder.Load(at(EpochFile(done))); err != nil {
			return nil, fmt.Errorf("-resume: %s records epoch %d: %w", CSVFile, done, err)
		}
		if emb != nil {
			if err := emb.Load(at(EpochEmbedderFile(done))); err != nil {
				return nil, fmt.Errorf("-resume -embedder %d: %w", r.Embedder, err)
			}
		}
		if clf != nil {
			if err := clf.Load(at(EpochClassifierFile(done))); err != nil {
				return nil, fmt.Errorf("-resume -trainer withclassifier: %w", err)
			}
		}
		if learnable != nil {
			if err := losses.LoadParams(at(EpochLossFile(done)), learnable); err != nil {
				return nil, fmt.Errorf("-resume: %w", err)
			}
		}
		for _, p := range parts {
			if err := p.opt.LoadState(at(p.optFile(done))); err != nil {
				return nil, fmt.Errorf("-resume: %w", err)
			}
			if p.sched.state != nil {
				if err := p.sched.state.LoadState(at(p.schedFile(done))); err != nil {
					hint := ""
					if schedule.Kind == "cosine" {
						hint = " (cosine anneals over -epochs: resume with the run's -epochs)"
					}
					return nil, fmt.Errorf("-resume -lr-schedule %s%s: %w", schedule, hint, err)
				}
			}
		}
	}
	var progress io.Writer
	if !r.Quiet {
		progress = r.Stderr
	}
	// MetricLossOnly, or the MetricLossOnly inside TrainWithClassifier: the
	// settings below are the same.
	t := trainers.NewMetricLossOnly(r.Encoder, trunkPart.opt, r.Batch, loss, r.Train)
	train := t.Train
	if clf != nil {
		tw := trainers.NewTrainWithClassifier(r.Encoder, trunkPart.opt, r.Batch, loss, clf, clfPart.opt, r.Train)
		tw.LossWeights = map[string]float64{"metric_loss": 1, "classifier_loss": r.ClassifierLossWeight}
		t, train = &tw.MetricLossOnly, tw.Train
	}
	t.Miner = miner
	t.Sampler = &samplers.MPerClass{Labels: r.Train.Labels(), M: r.M, BatchSize: r.Batch, LengthBeforeNewIter: r.Train.Len()}
	t.IterationsPerEpoch = r.Iterations
	t.Seed = r.Seed
	t.Progress = progress
	if emb != nil {
		t.Embedder, t.EmbedderOptimizer = emb, embPart.opt
	}
	if learnable != nil {
		t.LossOptimizer = lossPart.opt
	}
	for _, p := range parts {
		if p.sched.byEpoch != nil {
			t.LRSchedulersByEpoch = append(t.LRSchedulersByEpoch, p.sched.byEpoch)
		}
	}
	ipe := r.Iterations
	if ipe == 0 {
		ipe = t.Sampler.Len() / r.Batch
	}
	fmt.Fprintf(r.Stdout, "loss %s, miner %s, MPerClass m=%d, batch %d, Adam lr %g, seed %d, %d epoch(s) of %d iterations, %d threads, BLAS %s\n",
		r.Loss, r.Miner, r.M, r.Batch, r.LR, r.Seed, r.Epochs, ipe, runtime.GOMAXPROCS(0), models.BLASName())
	if emb != nil || clf != nil || schedule.Kind != "none" || r.Patience > 0 || r.ValEvery > 1 {
		var extra []string
		if clf != nil {
			extra = append(extra, fmt.Sprintf("TrainWithClassifier: classifier Linear(%d, %d) with its own Adam lr %g, CrossEntropy weight %g", dim, numClasses, r.LR, r.ClassifierLossWeight))
		}
		if emb != nil {
			extra = append(extra, fmt.Sprintf("embedder Linear(%d, %d) with its own Adam lr %g", r.Encoder.EmbeddingSize(), r.Embedder, r.LR))
		}
		if schedule.Kind != "none" {
			extra = append(extra, fmt.Sprintf("lr schedule %s on each of the %d optimizer(s)", schedule, len(parts)))
		}
		if r.ValEvery > 1 {
			extra = append(extra, fmt.Sprintf("evaluated every %d epochs and after the last", r.ValEvery))
		}
		if r.Patience > 0 {
			extra = append(extra, fmt.Sprintf("patience %d epochs", r.Patience))
		}
		fmt.Fprintln(r.Stdout, strings.Join(extra, ", "))
	}
	ckpt := filepath.Join(r.Out, CheckpointFile)
	ckptNames := ckpt
	if emb != nil {
		ckptNames += " (trunk) and " + filepath.Join(r.Out, CheckpointEmbedderFile) + " (embedder)"
	}
	fmt.Fprintf(r.Stdout, "checkpoints: %s keep(s) the best evaluated epoch by %s, %s the last (-resume continues from it); an earlier run is never replaced without -resume or -overwrite\n",
		ckptNames, PrimaryMetric, filepath.Join(r.Out, "epoch-N.gmw"))
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
	// The tester embeds through the trunk and then the embedder.
	var model testers.Embedder = r.Encoder
	if emb != nil {
		model = testers.TrunkEmbedder{Trunk: r.Encoder, Embedder: emb}
	}
	evaluate := func() (accuracy.Results, float64, error) {
		start := time.Now()
		res, err := tester.Test(ctx, model, map[string]datasets.Dataset{"test": r.Test})
		if err != nil {
			return nil, 0, err
		}
		return res["test"], time.Since(start).Seconds(), nil
	}
	// saveModels writes the trunk to trunkPath and the embedder (if any)
	// to embPath.
	saveModels := func(trunkPath, embPath string) error {
		if emb != nil {
			if err := emb.Save(embPath); err != nil {
				return err
			}
		}
		return r.Encoder.Save(trunkPath)
	}

	record := func() error {
		if err := WriteCSV(filepath.Join(r.Out, CSVFile), rows); err != nil {
			return err
		}
		return WritePNG(filepath.Join(r.Out, PNGFile), rows)
	}
	interrupted := func(err error, epoch int, done int) ([]Row, error) {
		path := filepath.Join(r.Out, InterruptedFile)
		if serr := saveModels(path, at(InterruptedEmbedderFile)); serr != nil {
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
	// A resumed run that had already stopped early stays stopped.
	stopped := false
	for i := len(rows) - 1; i >= 1 && len(rows) <= r.Epochs; i-- {
		if rows[i].Metrics == nil {
			continue
		}
		if stop, b := plateaued(rows, i, r.Patience); stop {
			fmt.Fprintf(r.Stdout, "%s records that %s stopped improving at epoch %d (-patience %d, evaluated at epoch %d): nothing to train\n",
				filepath.Join(r.Out, CSVFile), shortName(PrimaryMetric), b, r.Patience, i)
			stopped = true
		}
		break
	}

	for epoch := len(rows); epoch <= r.Epochs && !stopped; epoch++ {
		eps, err := train(ctx, epoch, epoch)
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
		row := Row{Epoch: epoch, Train: &info}
		if epoch%r.ValEvery == 0 || epoch == r.Epochs {
			if row.Metrics, row.EvalSeconds, err = evaluate(); err != nil {
				if ctx.Err() != nil {
					return interrupted(ctx.Err(), epoch, info.Iterations)
				}
				return rows, err
			}
			// ReduceLROnPlateau takes the evaluation (PML's
			// step_lr_plateau_schedulers after testing).
			if v, ok := row.primary(); ok {
				for _, p := range parts {
					if p.sched.plateau != nil {
						if err := p.sched.plateau.Step(v); err != nil {
							return rows, err
						}
					}
				}
			}
		}
		// The order keeps the files consistent wherever the process dies:
		// the epoch's files, then the best checkpoint, then the record,
		// and only then the previous epoch's files are deleted.
		if err := saveModels(at(EpochFile(epoch)), at(EpochEmbedderFile(epoch))); err != nil {
			return rows, err
		}
		if learnable != nil {
			if err := losses.SaveParams(at(EpochLossFile(epoch)), learnable); err != nil {
				return rows, err
			}
		}
		if clf != nil {
			if err := clf.Save(at(EpochClassifierFile(epoch))); err != nil {
				return rows, err
			}
		}
		for _, p := range parts {
			if err := p.opt.SaveState(at(p.optFile(epoch))); err != nil {
				return rows, err
			}
			if p.sched.state != nil {
				if err := p.sched.state.SaveState(at(p.schedFile(epoch))); err != nil {
					return rows, err
				}
			}
		}
		if v, ok := row.primary(); ok && v > bestSoFar {
			if err := saveModels(ckpt, at(CheckpointEmbedderFile)); err != nil {
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
			if err := os.Remove(at(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return rows, err
			}
		}
		if row.Metrics != nil {
			if stop, b := plateaued(rows, epoch, r.Patience); stop {
				fmt.Fprintf(r.Stdout, "stopping early: %s has not improved since epoch %d (best %.4f), %d epochs ago (-patience %d, as PML's HookContainer)\n",
					shortName(PrimaryMetric), b, bestSoFar, epoch-b, r.Patience)
				break
			}
		}
	}
	wrote := []string{filepath.Join(r.Out, CSVFile), filepath.Join(r.Out, PNGFile)}
	if last := len(rows) - 1; last >= 1 {
		wrote = append(wrote, at(EpochFile(last)))
		if emb != nil {
			wrote = append(wrote, at(EpochEmbedderFile(last)))
		}
	}
	if _, err := os.Stat(ckpt); err == nil {
		if emb != nil {
			wrote = append(wrote, at(CheckpointEmbedderFile))
		}
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
	if row.Metrics == nil && row.Train != nil {
		fmt.Fprintf(&b, "  (train %.1f s; not evaluated, -val-every)", row.Train.Duration.Seconds())
		return b.String()
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
