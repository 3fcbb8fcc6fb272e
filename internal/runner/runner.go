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
	"slices"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/distributed"
	"github.com/gometric/gometric/utils/logging"
)

// The files a run writes into its output directory.
const (
	CSVFile         = logging.RecordFile
	PNGFile         = logging.PlotFile
	CheckpointFile  = logging.BestCheckpoint + ".gmw"
	InterruptedFile = logging.InterruptedCheckpoint + ".gmw"
	// CheckpointEmbedderFile and InterruptedEmbedderFile hold the
	// embedder (-embedder) beside CheckpointFile and InterruptedFile,
	// which hold the trunk: the embedding is the embedder of the trunk's
	// output.
	CheckpointEmbedderFile  = logging.BestCheckpoint + "-embedder.gmw"
	InterruptedEmbedderFile = logging.InterruptedCheckpoint + "-embedder.gmw"
)

// embedderSeed is mixed into -seed for the embedder's initialisation.
const embedderSeed = 0x656d626564646572 // "embedder"

// classifierSeed is mixed into -seed for the classifier's initialisation.
const classifierSeed = 0x636c617373696679 // "classify"

// generatorSeed is mixed into -seed for the DAML generator's
// initialisation and synth_loss.
const generatorSeed = 0x67656e6572617465 // "generate"

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
	// TrunkLR, when positive, is the trunk's own Adam learning rate (PML's
	// CUB recipe fine-tunes a pretrained trunk at 1e-5 beside an
	// embedder at 1e-4); 0 means LR.
	TrunkLR   float64
	Seed      uint64
	Out       string
	Threads   int
	EvalBatch int
	Quiet     bool
	// Distributed trains data-parallel over the ranks of mpirun (a
	// program built with -tags mpi; see distributed.MPI): Batch samples
	// per rank, rank 0 evaluating and writing the records and
	// checkpoints. Only -trainer metriclossonly, without -resume.
	Distributed bool
	// Resume continues the run recorded in Out (its last epoch's weights
	// and record); Overwrite deletes that run's files and starts again.
	// Without either, a run refuses an Out that holds trained weights.
	Resume, Overwrite bool
	// Embedder, when positive, is the output size of a linear embedder
	// after the trunk (PML's models["embedder"], here Linear(trunk's
	// embedding size, Embedder)) with its own Adam at LR; 0 is PML's
	// default, Identity.
	Embedder int
	// Trainer is the PML trainer: "metriclossonly" (MetricLossOnly),
	// "withclassifier" (TrainWithClassifier: a Linear(embedding size,
	// classes) classifier on the embeddings, trained with CrossEntropy of
	// weight ClassifierLossWeight beside the metric loss of weight 1, with
	// its own Adam at LR), "cascaded" (CascadedEmbeddings: Loss and Miner
	// on each block of Cascade) or "daml" (DeepAdversarialMetricLearning:
	// a generator Linear(3·trunk size, trunk size) with its own Adam at
	// LR, synth_loss a copy of Loss, g_adv_loss TripletMargin with margin
	// DefaultTripletMargin, every loss weight 1). PML's
	// TwoStreamMetricLoss needs anchor/positive pairs, which the examples'
	// data sets are not: use trainers.TwoStreamMetricLoss on a
	// datasets.TwoStream.
	Trainer              string
	ClassifierLossWeight float64
	// Cascade is CascadedEmbeddings' embedding_sizes for -trainer
	// cascaded: the sizes of the blocks of embedding columns, each with
	// its own copy of Loss and Miner, summing to the embedding size; ""
	// cuts the embedding into two halves.
	Cascade string
	// MetricAloneEpochs, GAloneEpochs and GTripletsPerAnchor are
	// DeepAdversarialMetricLearning's settings for -trainer daml (PML's
	// metric_alone_epochs, g_alone_epochs, g_triplets_per_anchor; 0 for
	// GTripletsPerAnchor means the largest count up to 16 that
	// trainers.MaxSynthTriplets allows at Batch).
	MetricAloneEpochs, GAloneEpochs, GTripletsPerAnchor int
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
	fs.Float64Var(&o.LR, "lr", o.LR, "Adam learning rate of the encoder (and of the embedder, classifier and generator)")
	fs.Float64Var(&o.TrunkLR, "trunk-lr", o.TrunkLR, "Adam learning rate of the trunk alone (0: -lr), e.g. 1e-5 for a pretrained trunk beside -lr 1e-4 for the embedder")
	fs.Float64Var(&o.LossLR, "loss-lr", o.LossLR, "Adam learning rate of a loss's learnable parameters, if any")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the initialisation, the sampler and random miners")
	fs.StringVar(&o.Out, "out", o.Out, "output directory: "+CSVFile+", "+PNGFile+", "+CheckpointFile)
	fs.IntVar(&o.Threads, "threads", o.Threads, "threads (GOMAXPROCS; 0: all cores)")
	fs.IntVar(&o.EvalBatch, "eval-batch", o.EvalBatch, "batch size of the evaluation")
	fs.BoolVar(&o.Quiet, "quiet", o.Quiet, "no progress bars")
	fs.BoolVar(&o.Distributed, "distributed", o.Distributed, "data-parallel over the ranks of mpirun (build with -tags mpi): -batch per rank, gradients averaged; rank 0 evaluates and writes -out")
	fs.BoolVar(&o.Resume, "resume", o.Resume, "continue the run in -out from its last epoch (-epochs is the total)")
	fs.BoolVar(&o.Overwrite, "overwrite", o.Overwrite, "delete the run in -out (its checkpoints and record) and start again")
	fs.IntVar(&o.Embedder, "embedder", o.Embedder, "size of a linear embedder after the trunk, with its own Adam at -lr (0: none, PML's Identity)")
	fs.StringVar(&o.LRSchedule, "lr-schedule", o.LRSchedule, "learning-rate schedule of every optimizer, stepped per epoch: "+LRScheduleForms)
	fs.IntVar(&o.Patience, "patience", o.Patience, "stop when the epochs since the best "+shortName(PrimaryMetric)+" exceed N, checked at each evaluation (PML's HookContainer patience; 0: off)")
	fs.IntVar(&o.ValEvery, "val-every", o.ValEvery, "evaluate every N epochs (and after the last)")
	fs.StringVar(&o.Trainer, "trainer", o.Trainer, "PML trainer: metriclossonly; withclassifier (TrainWithClassifier: a Linear classifier on the embeddings, CrossEntropy, its own Adam at -lr); cascaded (CascadedEmbeddings, see -cascade); daml (DeepAdversarialMetricLearning: a Linear generator of synthetic negatives, its own Adam at -lr)")
	fs.Float64Var(&o.ClassifierLossWeight, "classifier-loss-weight", o.ClassifierLossWeight, "-trainer withclassifier: the weight of the classifier's CrossEntropy (the metric loss has weight 1)")
	fs.StringVar(&o.Cascade, "cascade", o.Cascade, "-trainer cascaded: sizes of the embedding's column blocks, e.g. 32,32, each with its own copy of -loss and -miner (default: two halves)")
	fs.IntVar(&o.MetricAloneEpochs, "metric-alone-epochs", o.MetricAloneEpochs, "-trainer daml: epochs that train the metric alone (PML's metric_alone_epochs)")
	fs.IntVar(&o.GAloneEpochs, "g-alone-epochs", o.GAloneEpochs, "-trainer daml: epochs that then train the generator alone (PML's g_alone_epochs)")
	fs.IntVar(&o.GTripletsPerAnchor, "g-triplets-per-anchor", o.GTripletsPerAnchor, "-trainer daml: random triplets per anchor for the generator (PML's g_triplets_per_anchor; 0: the most up to 16 that the batch allows)")
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
	case !(o.TrunkLR >= 0) || math.IsInf(o.TrunkLR, 0):
		return bad("-trunk-lr %v: want a positive learning rate, or 0 for -lr", o.TrunkLR)
	case !(o.LR > 0):
		return bad("-lr %v: want a positive learning rate", o.LR)
	case o.Out == "":
		return bad("-out: empty directory name")
	case o.Threads < 0:
		return bad("-threads %d: want at least 0", o.Threads)
	case o.EvalBatch < 1:
		return bad("-eval-batch %d: want at least 1", o.EvalBatch)
	case o.Trainer == "twostream":
		return bad("-trainer twostream: PML's TwoStreamMetricLoss trains on (anchor, positive) pairs, and this program's data sets are single labelled images; use trainers.TwoStreamMetricLoss on a datasets.TwoStream in your own program")
	case !slices.Contains(TrainerNames, o.Trainer):
		return bad("-trainer %q: want one of %s", o.Trainer, strings.Join(TrainerNames, ", "))
	case o.MetricAloneEpochs < 0 || o.GAloneEpochs < 0:
		return bad("-metric-alone-epochs %d, -g-alone-epochs %d: want at least 0", o.MetricAloneEpochs, o.GAloneEpochs)
	case o.GTripletsPerAnchor < 0 || o.GTripletsPerAnchor > trainers.MaxSynthTriplets:
		return bad("-g-triplets-per-anchor %d: want 0 (automatic) to %d", o.GTripletsPerAnchor, trainers.MaxSynthTriplets)
	case o.Trainer == "daml" && o.Batch > trainers.MaxSynthTriplets:
		return bad("-trainer daml with -batch %d: at most %d samples per batch (trainers.MaxSynthTriplets synthetic triplets per batch)", o.Batch, trainers.MaxSynthTriplets)
	case o.Trainer == "daml" && o.GTripletsPerAnchor > 0 && o.Batch*o.GTripletsPerAnchor > trainers.MaxSynthTriplets:
		return bad("-trainer daml: -batch %d × -g-triplets-per-anchor %d = %d synthetic triplets per batch, more than %d (trainers.MaxSynthTriplets)", o.Batch, o.GTripletsPerAnchor, o.Batch*o.GTripletsPerAnchor, trainers.MaxSynthTriplets)
	case o.Cascade != "" && o.Trainer != "cascaded":
		return bad("-cascade %q is for -trainer cascaded (not %s)", o.Cascade, o.Trainer)
	case !(o.ClassifierLossWeight >= 0) || math.IsInf(o.ClassifierLossWeight, 0):
		return bad("-classifier-loss-weight %v: want a finite weight of at least 0", o.ClassifierLossWeight)
	case o.Distributed && o.Trainer != "metriclossonly":
		return bad("-distributed with -trainer %s: only metriclossonly averages every model's gradients over the ranks", o.Trainer)
	case o.Distributed && strings.HasPrefix(o.LRSchedule, "plateau"):
		return bad("-distributed with -lr-schedule %s: the plateau scheduler follows rank 0's evaluation, which the other ranks do not see; use a schedule by epoch", o.LRSchedule)
	case o.Distributed && o.Resume:
		return bad("-distributed with -resume: not supported yet (the ranks' optimizer states would differ); resume without -distributed")
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
	if o.Cascade != "" {
		if _, err := IntList("-cascade", o.Cascade); err != nil {
			return err
		}
	}
	return nil
}

// TrainerNames are the values of -trainer.
var TrainerNames = []string{"metriclossonly", "withclassifier", "cascaded", "daml"}

// gTripletsPerAnchor is -g-triplets-per-anchor, or when 0 the largest
// count up to 16 that trainers.MaxSynthTriplets allows at -batch.
func (o *Options) gTripletsPerAnchor() int {
	if o.GTripletsPerAnchor > 0 {
		return o.GTripletsPerAnchor
	}
	return max(1, min(16, trainers.MaxSynthTriplets/max(o.Batch, 1)))
}

// cascade is -cascade's block sizes for an embedding of dim columns: two
// halves by default.
func (o *Options) cascade(dim int) ([]int, error) {
	if o.Cascade == "" {
		if dim < 2 {
			return nil, fmt.Errorf("-trainer cascaded: an embedding of %d column(s) cannot be cut in two halves; give -cascade: %w", dim, gometric.ErrSetting)
		}
		return []int{dim / 2, dim - dim/2}, nil
	}
	sizes, err := IntList("-cascade", o.Cascade)
	if err != nil {
		return nil, err
	}
	sum := 0
	for _, n := range sizes {
		if n < 1 || n > dim {
			return nil, fmt.Errorf("-cascade %s: block size %d, want 1 to the embedding size %d: %w", o.Cascade, n, dim, gometric.ErrSetting)
		}
		sum += n
	}
	if sum != dim {
		return nil, fmt.Errorf("-cascade %s: the blocks sum to %d but the embedding has %d columns: %w", o.Cascade, sum, dim, gometric.ErrSetting)
	}
	return sizes, nil
}

// ParseFlags parses args into o with fs (which must have o registered)
// and validates them (ParseArgs: positional arguments are an error, and a
// registered ConfigFlag names a config file).
func (o *Options) ParseFlags(fs *flag.FlagSet, args []string) error {
	if o == nil || fs == nil {
		return fmt.Errorf("runner: nil Options or FlagSet: %w", gometric.ErrSetting)
	}
	if err := ParseArgs(fs, args); err != nil {
		return err
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
	// Comm is the process group of a Distributed run; nil means the MPI
	// world (distributed.MPI).
	Comm distributed.Communicator
	// Scatter, when not "", is a directory where every evaluation writes
	// the scatter plot of the embeddings (testers.PNGVisualizer: PML's
	// visualizer_hook with a 2-D PCA), created if needed.
	Scatter string
}

// Row is one line of the run's record: epoch 0 is before training. It is
// a plain value, safe for concurrent reads.
type Row struct {
	Epoch       int
	Train       *trainers.EpochInfo // nil for epoch 0
	Metrics     accuracy.Results
	EvalSeconds float64

	// warnings are the record's warnings (fromFile: the row came from
	// a record), written back verbatim.
	warnings []string
	fromFile bool
}

// Execute trains and evaluates as the options say on top of
// utils/logging's HookContainer (PML's logging presets), printing a line
// per epoch, and writes into Out the records (CSVFile, one line per
// epoch; logging.IterationsFile, one line per iteration), the plot
// (PNGFile) and the checkpoints: after each epoch N every component of
// the trainer (trunk epoch-N.gmw, embedder, classifier, optimizers,
// schedulers, loss parameters: logging.FileName), keeping only the last
// epoch's, and CheckpointFile (the trunk) with the other components
// beside it at the best epoch by PrimaryMetric, replaced only by a better
// one.
//
// An Out that holds trained weights from an earlier run is refused unless
// Resume (continue from its last recorded epoch up to Epochs in all) or
// Overwrite (delete its files first) is set, so a run never replaces a
// trained checkpoint with an untrained or worse one unasked. At start,
// the temporary files of a killed run are removed. On cancellation it
// saves the current weights to InterruptedFile and returns the context's
// error; the checkpoints stay as they were.
//
// A resumed run continues exactly where the uninterrupted run was: every
// model, the loss's parameters, every optimizer's and scheduler's state
// are restored, and the trainer seeks its sampler to the epoch, so it
// draws the same batches (a miner or loss that draws at random restarts
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
	schedule, err := ParseLRSchedule(r.LRSchedule)
	if err != nil {
		return nil, err
	}
	var progress io.Writer
	if !r.Quiet {
		progress = r.Stderr
	}
	if r.Distributed && r.Comm == nil {
		if r.Comm, err = distributed.MPI(); err != nil {
			return nil, fmt.Errorf("-distributed: %w", err)
		}
	}
	if r.Distributed && r.Comm.Rank() != 0 {
		// The other ranks train; rank 0 evaluates and writes.
		s, err := r.setup(schedule, nil)
		if err != nil || r.Epochs < 1 {
			return nil, err
		}
		_, err = s.trainer.Train(ctx, 1, r.Epochs)
		return nil, err
	}
	s, err := r.setup(schedule, progress)
	if err != nil {
		return nil, err
	}
	if r.Scatter != "" {
		if err := os.MkdirAll(r.Scatter, 0o755); err != nil {
			return nil, err
		}
	}

	tester := r.tester(progress)
	h := logging.NewHookContainer(r.Out, tester, map[string]datasets.Dataset{"test": r.Test})
	h.ValidationSplit, h.PrimaryMetric, h.Labels = "test", PrimaryMetric, shortNames()
	h.Metrics = metricNames()
	h.TestInterval, h.Patience, h.TestAtStart = r.ValEvery, r.Patience, true
	h.Resume, h.Overwrite = r.Resume, r.Overwrite
	h.PlateauSchedulers, h.Log = s.plateaus, r.Stdout
	h.OnRecord = func(rec logging.EpochRecord) error {
		fmt.Fprintln(r.Stdout, rowOf(rec).Line())
		return nil
	}
	if err := h.Attach(ctx, s.trainer); err != nil {
		return nil, err
	}
	start, err := h.LoadLatest()
	if err != nil {
		return nil, r.resumeError(err, schedule)
	}

	fmt.Fprintf(r.Stdout, "loss %s, miner %s, MPerClass m=%d, batch %d, Adam lr %g, seed %d, %d epoch(s) of %d iterations, %d threads, BLAS %s\n",
		r.Loss, r.Miner, r.M, r.Batch, r.LR, r.Seed, r.Epochs, s.ipe, runtime.GOMAXPROCS(0), models.BLASName())
	var extra []string
	if r.TrunkLR > 0 {
		extra = append(extra, fmt.Sprintf("the trunk's Adam at lr %g", r.TrunkLR))
	}
	if r.Distributed {
		extra = append(extra, fmt.Sprintf("data-parallel over %d rank(s): batch %d per rank, %d in all, loss and miner on the gathered batch (distributed.LossWrapper, MinerWrapper)", r.ranks(), r.Batch, r.Batch*r.ranks()))
	}
	if r.Trainer == "withclassifier" {
		extra = append(extra, fmt.Sprintf("TrainWithClassifier: classifier Linear(%d, %d) with its own Adam lr %g, CrossEntropy weight %g", s.dim, s.classes, r.LR, r.ClassifierLossWeight))
	}
	switch r.Trainer {
	case "cascaded":
		extra = append(extra, fmt.Sprintf("CascadedEmbeddings: blocks %v of the %d-column embedding, each with its own %s loss and %s miner", s.cascade, s.dim, r.Loss, r.Miner))
	case "daml":
		d := r.Encoder.EmbeddingSize()
		extra = append(extra, fmt.Sprintf("DeepAdversarialMetricLearning: generator Linear(%d, %d) with its own Adam lr %g, %d triplets per anchor, synth_loss %s, g_adv_loss TripletMargin(%g), %d metric-alone and %d generator-alone epoch(s)",
			3*d, d, r.LR, r.gTripletsPerAnchor(), r.Loss, DefaultTripletMargin, r.MetricAloneEpochs, r.GAloneEpochs))
	}
	if r.Embedder > 0 {
		extra = append(extra, fmt.Sprintf("embedder Linear(%d, %d) with its own Adam lr %g", r.Encoder.EmbeddingSize(), r.Embedder, r.LR))
	}
	if schedule.Kind != "none" {
		extra = append(extra, fmt.Sprintf("lr schedule %s on each of the %d optimizer(s)", schedule, s.optimizers))
	}
	if r.ValEvery > 1 {
		extra = append(extra, fmt.Sprintf("evaluated every %d epochs and after the last", r.ValEvery))
	}
	if r.Patience > 0 {
		extra = append(extra, fmt.Sprintf("patience %d epochs", r.Patience))
	}
	if len(extra) > 0 {
		fmt.Fprintln(r.Stdout, strings.Join(extra, ", "))
	}
	fmt.Fprintf(r.Stdout, "checkpoints: %s (the trunk; the other parts beside it) keeps the best evaluated epoch by %s, %s the last (-resume continues from it); an earlier run is never replaced without -resume or -overwrite\n",
		filepath.Join(r.Out, CheckpointFile), PrimaryMetric, filepath.Join(r.Out, "epoch-N*"))
	if start > 1 {
		_, b := h.Best()
		fmt.Fprintf(r.Stdout, "-resume: continuing after epoch %d (%s, every optimizer's and scheduler's state; best %s %.4f)\n",
			start-1, filepath.Join(r.Out, logging.EpochCheckpoint(start-1)+"*"), PrimaryMetric, b)
	}

	_, err = h.Train(ctx, s.trainer, r.Epochs)
	rows := rowsOf(h.Records())
	if err != nil {
		return rows, err
	}
	wrote := []string{filepath.Join(r.Out, CSVFile), filepath.Join(r.Out, logging.IterationsFile), filepath.Join(r.Out, PNGFile)}
	if n := len(rows); n > 0 && rows[n-1].Epoch >= 1 {
		wrote = append(wrote, filepath.Join(r.Out, logging.EpochCheckpoint(rows[n-1].Epoch)+"*"))
	}
	if e, b := h.Best(); e >= 1 {
		wrote = append(wrote, filepath.Join(r.Out, CheckpointFile)+fmt.Sprintf(" (epoch %d, best %s %.4f)", e, PrimaryMetric, b))
	}
	fmt.Fprintf(r.Stdout, "wrote %s\n", strings.Join(wrote, ", "))
	return rows, nil
}

// tester is the runs' evaluation: the printed Metrics of the test set
// against itself, batches of EvalBatch, progress bars on progress.
func (r *Run) tester(progress io.Writer) *testers.GlobalEmbeddingSpace {
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = r.EvalBatch
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount(), Include: metricNames()}
	tester.Progress = progress
	if r.Scatter != "" {
		tester.Visualize = testers.PNGVisualizer(r.Scatter)
	}
	return tester
}

// Evaluate evaluates emb on Test as Execute evaluates epoch 0 — the same
// tester and metrics — and prints the row, for embeddings that no model
// of the run makes (e.g. a frozen trunk's features, evaluated as they
// are). It writes CSVFile and PNGFile (that one row) into Out, creating
// it, and no checkpoint; Encoder and Train are not used.
func (r *Run) Evaluate(ctx context.Context, emb testers.Embedder) (Row, error) {
	if r == nil {
		return Row{}, fmt.Errorf("runner: nil Run: %w", gometric.ErrSetting)
	}
	if err := r.Validate(); err != nil {
		return Row{}, err
	}
	if check.Nil(emb) || check.Nil(r.Test) {
		return Row{}, fmt.Errorf("runner: embedder or test set missing: %w", gometric.ErrSetting)
	}
	var progress io.Writer
	if !r.Quiet {
		progress = r.Stderr
	}
	if r.Scatter != "" {
		if err := os.MkdirAll(r.Scatter, 0o755); err != nil {
			return Row{}, err
		}
	}
	start := time.Now()
	res, err := r.tester(progress).Test(ctx, emb, map[string]datasets.Dataset{"test": r.Test})
	if err != nil {
		return Row{}, err
	}
	row := Row{Metrics: res["test"], EvalSeconds: time.Since(start).Seconds()}
	fmt.Fprintln(r.Stdout, row.Line())
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return row, err
	}
	if err := WriteCSV(filepath.Join(r.Out, CSVFile), []Row{row}); err != nil {
		return row, err
	}
	if err := WritePNG(filepath.Join(r.Out, PNGFile), []Row{row}); err != nil {
		return row, err
	}
	fmt.Fprintf(r.Stdout, "wrote %s, %s\n", filepath.Join(r.Out, CSVFile), filepath.Join(r.Out, PNGFile))
	return row, nil
}

// setup is what Execute trains: the trainer with its optimizers and
// schedulers.
type setup struct {
	trainer    logging.Trainer
	plateaus   []*models.ReduceLROnPlateau
	optimizers int
	ipe        int
	dim        int
	classes    int
	cascade    []int // -trainer cascaded's block sizes
}

// setup builds the models the flags add, the loss, the miner, an Adam per
// model (and per learnable loss) with its scheduler, and the trainer.
func (r *Run) setup(schedule LRSchedule, progress io.Writer) (setup, error) {
	var s setup
	var err error
	// The embedder (-embedder): Linear(trunk's size, Embedder).
	var emb *models.MLP
	s.dim = r.Encoder.EmbeddingSize()
	if r.Embedder > 0 {
		if emb, err = models.NewMLP(models.MLPConfig{Sizes: []int{s.dim, r.Embedder}, Seed: r.Seed ^ embedderSeed}); err != nil {
			return s, fmt.Errorf("-embedder %d: %w", r.Embedder, err)
		}
		s.dim = r.Embedder
	}
	for _, c := range r.Train.Labels() {
		s.classes = max(s.classes, c+1)
	}
	loss, _, err := NewLoss(r.Loss, s.classes, s.dim, r.Seed)
	if err != nil {
		return s, err
	}
	// The classifier (-trainer withclassifier): Linear(embedding size,
	// classes), PML's models["classifier"].
	var clf *models.MLP
	if r.Trainer == "withclassifier" {
		if clf, err = models.NewMLP(models.MLPConfig{Sizes: []int{s.dim, s.classes}, Seed: r.Seed ^ classifierSeed}); err != nil {
			return s, fmt.Errorf("-trainer withclassifier: %w", err)
		}
	}
	miner, err := NewMiner(r.Miner, r.Seed)
	if err != nil {
		return s, err
	}
	var byEpoch []models.LRScheduler
	adam := func(lr float64) (*models.Optimizer, error) {
		opt, err := models.NewOptimizer("adam", lr)
		if err != nil {
			return nil, err
		}
		sc, err := schedule.build(opt, r.Epochs)
		if err != nil {
			return nil, err
		}
		if sc.byEpoch != nil {
			byEpoch = append(byEpoch, sc.byEpoch)
		}
		if sc.plateau != nil {
			s.plateaus = append(s.plateaus, sc.plateau)
		}
		s.optimizers++
		return opt, nil
	}
	// The optimizers in this order: trunk, embedder, classifier, loss.
	trunkLR := r.LR
	if r.TrunkLR > 0 {
		trunkLR = r.TrunkLR
	}
	trunkOpt, err := adam(trunkLR)
	if err != nil {
		return s, err
	}
	var embOpt, clfOpt, lossOpt *models.Optimizer
	if emb != nil {
		if embOpt, err = adam(r.LR); err != nil {
			return s, err
		}
	}
	if clf != nil {
		if clfOpt, err = adam(r.LR); err != nil {
			return s, err
		}
	}
	if l, ok := loss.(losses.Learnable); ok && len(l.Params()) > 0 && r.Trainer != "cascaded" {
		if lossOpt, err = adam(r.LossLR); err != nil {
			return s, err
		}
	}
	if r.Trainer == "cascaded" {
		return s, r.cascaded(&s, trunkOpt, emb, embOpt, adam, &byEpoch, progress)
	}
	// MetricLossOnly, or the MetricLossOnly inside TrainWithClassifier or
	// DeepAdversarialMetricLearning: the settings below are the same.
	t := trainers.NewMetricLossOnly(r.Encoder, trunkOpt, r.Batch, loss, r.Train)
	s.trainer = t
	switch r.Trainer {
	case "withclassifier":
		tw := trainers.NewTrainWithClassifier(r.Encoder, trunkOpt, r.Batch, loss, clf, clfOpt, r.Train)
		tw.LossWeights = map[string]float64{"metric_loss": 1, "classifier_loss": r.ClassifierLossWeight}
		t, s.trainer = &tw.MetricLossOnly, tw
	case "daml":
		if lossOpt != nil {
			return s, fmt.Errorf("-trainer daml -loss %s: PML's DeepAdversarialMetricLearning never steps a loss's parameters; choose a loss without them: %w", r.Loss, gometric.ErrSetting)
		}
		d, err := r.daml(loss, trunkOpt, adam, s.classes, s.dim)
		if err != nil {
			return s, err
		}
		t, s.trainer = &d.MetricLossOnly, d
		// byEpoch holds the generator's scheduler too: it was made last.
	}
	t.Miner = miner
	t.Sampler = r.sampler()
	t.IterationsPerEpoch = r.Iterations
	t.Seed = r.Seed
	t.Progress = progress
	if emb != nil {
		t.Embedder, t.EmbedderOptimizer = emb, embOpt
	}
	t.LossOptimizer = lossOpt
	t.LRSchedulersByEpoch = byEpoch
	if r.Distributed {
		t.Comm = r.Comm
		t.Loss = distributed.NewLossWrapper(t.Loss, r.Comm)
		if t.Miner != nil {
			t.Miner = distributed.NewMinerWrapper(t.Miner, r.Comm)
		}
	}
	s.ipe = r.iterations(t.Sampler)
	return s, nil
}

// sampler is the runs' MPerClass sampler over the training labels.
func (r *Run) sampler() *samplers.MPerClass {
	return &samplers.MPerClass{Labels: r.Train.Labels(), M: r.M, BatchSize: r.Batch * r.ranks(), LengthBeforeNewIter: r.Train.Len()}
}

// iterations is the iterations of an epoch.
func (r *Run) iterations(smp samplers.Sampler) int {
	if r.Iterations > 0 {
		return r.Iterations
	}
	return smp.Len() / (r.Batch * r.ranks())
}

// ranks is the number of ranks a Distributed run trains on (1 otherwise).
func (r *Run) ranks() int {
	if !r.Distributed || r.Comm == nil {
		return 1
	}
	return r.Comm.Size()
}

// daml is -trainer daml's DeepAdversarialMetricLearning: the generator
// Linear(3·D, D) on the trunk's D outputs with its own Adam, synth_loss a
// copy of -loss, g_adv_loss TripletMargin(DefaultTripletMargin).
func (r *Run) daml(loss losses.Loss, trunkOpt *models.Optimizer, adam func(float64) (*models.Optimizer, error), classes, dim int) (*trainers.DeepAdversarialMetricLearning, error) {
	d := r.Encoder.EmbeddingSize()
	gen, err := models.NewMLP(models.MLPConfig{Sizes: []int{3 * d, d}, Seed: r.Seed ^ generatorSeed})
	if err != nil {
		return nil, fmt.Errorf("-trainer daml: the generator: %w", err)
	}
	genOpt, err := adam(r.LR)
	if err != nil {
		return nil, err
	}
	synth, _, err := NewLoss(r.Loss, classes, dim, r.Seed^generatorSeed)
	if err != nil {
		return nil, fmt.Errorf("-trainer daml: synth_loss: %w", err)
	}
	adv := losses.NewTripletMargin()
	adv.Margin = DefaultTripletMargin
	t := trainers.NewDeepAdversarialMetricLearning(r.Encoder, trunkOpt, r.Batch, loss, synth, adv, gen, genOpt, r.Train)
	t.MetricAloneEpochs, t.GAloneEpochs, t.GTripletsPerAnchor = r.MetricAloneEpochs, r.GAloneEpochs, r.gTripletsPerAnchor()
	return t, nil
}

// cascaded builds -trainer cascaded's CascadedEmbeddings into s: per
// block i of -cascade a -loss for its size (seeded -seed+i; with its own
// Adam at -loss-lr when it has parameters) and a -miner. byEpoch gains
// the loss optimizers' schedulers.
func (r *Run) cascaded(s *setup, trunkOpt *models.Optimizer, emb *models.MLP, embOpt *models.Optimizer,
	adam func(float64) (*models.Optimizer, error), byEpoch *[]models.LRScheduler, progress io.Writer) error {
	sizes, err := r.cascade(s.dim)
	if err != nil {
		return err
	}
	ls := make([]losses.Loss, len(sizes))
	lopts := make([]*models.Optimizer, len(sizes))
	ms := make([]miners.Miner, len(sizes))
	for i, n := range sizes {
		if ls[i], _, err = NewLoss(r.Loss, s.classes, n, r.Seed+uint64(i)); err != nil {
			return fmt.Errorf("-cascade block %d: %w", i, err)
		}
		if p, ok := ls[i].(losses.Learnable); ok && len(p.Params()) > 0 {
			if lopts[i], err = adam(r.LossLR); err != nil {
				return err
			}
		}
		if ms[i], err = NewMiner(r.Miner, r.Seed+uint64(i)); err != nil {
			return err
		}
	}
	t := trainers.NewCascadedEmbeddings(sizes, r.Encoder, trunkOpt, r.Batch, ls, r.Train)
	t.LossOptimizers, t.Miners = lopts, ms
	t.Sampler = r.sampler()
	t.IterationsPerEpoch, t.Seed, t.Progress = r.Iterations, r.Seed, progress
	if emb != nil {
		t.Embedder, t.EmbedderOptimizer = emb, embOpt
	}
	t.LRSchedulersByEpoch = *byEpoch
	s.trainer, s.ipe, s.cascade = t, r.iterations(t.Sampler), sizes
	return nil
}

// resumeError says which flag does not match the run in Out.
func (r *Run) resumeError(err error, schedule LRSchedule) error {
	var ee *logging.EarlierRunError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s holds an earlier run's trained weights (%s): -resume continues that run, -overwrite deletes it and starts again, or choose another -out: %w",
			r.Out, strings.Join(ee.Files, ", "), gometric.ErrSetting)
	}
	var ce *logging.ComponentError
	if !errors.As(err, &ce) {
		return err
	}
	var flag string
	switch role := ce.Role; {
	case strings.HasPrefix(role, "embedder"):
		flag = fmt.Sprintf("-embedder %d (the run's embedder, or none, must match)", r.Embedder)
	case strings.HasPrefix(role, "generator"):
		flag = fmt.Sprintf("-trainer %s (a -trainer daml run has a generator)", r.Trainer)
	case strings.HasPrefix(role, "classifier"):
		flag = fmt.Sprintf("-trainer %s (a -trainer withclassifier run has a classifier)", r.Trainer)
	case strings.HasPrefix(role, "lr_scheduler"):
		flag = fmt.Sprintf("-lr-schedule %s (give the run's -lr-schedule)", schedule)
		if schedule.Kind == "cosine" {
			flag += " (cosine anneals over -epochs: resume with the run's -epochs)"
		}
	case strings.HasPrefix(role, "metric_loss"):
		flag = fmt.Sprintf("-loss %s (give the run's -loss)", r.Loss)
	default:
		flag = "the run's files"
	}
	return fmt.Errorf("-resume: %s: %w", flag, err)
}

// rowOf is a record as a Row.
func rowOf(rec logging.EpochRecord) Row {
	return Row{Epoch: rec.Epoch, Train: rec.Train, Metrics: rec.Metrics, EvalSeconds: rec.EvalSeconds, warnings: rec.Warnings, fromFile: true}
}

func rowsOf(recs []logging.EpochRecord) []Row {
	rows := make([]Row, len(recs))
	for i, rec := range recs {
		rows[i] = rowOf(rec)
	}
	return rows
}

// recordOf is a Row as a record.
func recordOf(row Row) logging.EpochRecord {
	w := row.warnings
	if !row.fromFile {
		w = row.Metrics.Warnings()
	}
	return logging.EpochRecord{Epoch: row.Epoch, Train: row.Train, Metrics: row.Metrics, EvalSeconds: row.EvalSeconds, Warnings: w}
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
