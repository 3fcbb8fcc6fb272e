// Command fashionmnist is gometric's quick-start: it trains the reference
// ConvNet on Fashion-MNIST's 60,000 training images with PML's
// MetricLossOnly loop and evaluates retrieval on the 10,000 test images
// (query = reference), printing P@1, R-Precision and MAP@R before training
// and after every epoch.
//
//	go run ./examples/fashionmnist
//
// The defaults are the benchmark protocol PML was measured with
// (../shared/bench/pml-fashionmnist.json): TripletMarginLoss(margin 0.1) +
// MultiSimilarityMiner(epsilon 0.1), MPerClassSampler m = 8, batch 64, Adam
// lr 1e-3, conv3×3(16)–ReLU–pool–conv3×3(32)–ReLU–pool–dense(64), inputs
// scaled to [0, 1] and normalised with mean 0.2860, std 0.3530, seed 0, one
// epoch of 937 iterations; k = max_bin_count for the metrics.
//
// The data are read from -data (default /usr/share/datasets/fashion-mnist,
// Debian's dataset-fashion-mnist package); where they are absent the
// program says how to install them and runs on a small sample embedded in
// the library (2,000 training and 1,000 test images).
//
// -train-classes and -test-classes (e.g. 0-4 and 5-9) restrict the
// training and test sets to some classes, for a class-disjoint run.
//
// The run is written to -out (default ./out) by utils/logging's
// HookContainer (PML's logging presets): run.csv (one line per epoch),
// iterations.csv (one line per iteration: loss, sub-losses, mined
// tuples), run.png (the per-iteration loss with its moving average, and
// the metrics per epoch), epoch-N.gmw (the encoder after the last epoch N,
// with the run's other parts beside it as epoch-N-<role> files: optimizer
// and scheduler states, embedder, classifier, generator, loss parameters)
// and checkpoint.gmw (the encoder of the best epoch by MAP@R, with its
// checkpoint-<role> files, replaced only by a better one;
// models.LoadEncoder reads both). A directory that holds an earlier run's weights is refused
// unless -resume (continue it up to -epochs in all) or -overwrite (delete
// it and start again) is given. Ctrl-C stops training between two
// iterations, saves the current weights to interrupted.gmw and leaves the
// checkpoints as they were; a killed run leaves loadable files, and the
// next start removes its temporary files.
//
// PML's trainer and logging options:
//
//	-trainer withclassifier PML's TrainWithClassifier: a Linear(64, 10) classifier on the
//	                        embeddings, trained with CrossEntropy (weight
//	                        -classifier-loss-weight, default 1) beside the metric loss, with
//	                        its own Adam at -lr; its weights are epoch-N-classifier.gmw
//	-trainer cascaded       PML's CascadedEmbeddings: the embedding cut into blocks (-cascade
//	                        32,32; default two halves), each with its own -loss and -miner
//	-trainer daml           PML's DeepAdversarialMetricLearning: a Linear(192, 64) generator
//	                        of synthetic hard negatives from random triplets of trunk
//	                        outputs, its own Adam at -lr (-metric-alone-epochs,
//	                        -g-alone-epochs, -g-triplets-per-anchor)
//	-embedder 32            a linear embedder after the trunk, Linear(64, 32), with its own
//	                        Adam at -lr (PML's MetricLossOnly with models["embedder"]); the
//	                        embedding is the embedder of the trunk's output. Its weights are
//	                        epoch-N-embedder.gmw and checkpoint-embedder.gmw beside the
//	                        trunk's epoch-N.gmw and checkpoint.gmw, from the same epoch
//	-lr-schedule step:N:G   StepLR every N epochs; also multistep:E1,E2:G, exp:G, cosine
//	                        (CosineAnnealingLR over -epochs) and plateau[:P]
//	                        (ReduceLROnPlateau on the test MAP@R, mode max), on every
//	                        optimizer of the run
//	-val-every N            evaluate every N epochs and after the last (PML's test_interval);
//	                        checkpoint.gmw is the best evaluated epoch
//	-patience N             stop when the epochs since the best MAP@R exceed N, checked at
//	                        each evaluation (PML's HookContainer patience)
//
// -distributed trains data-parallel over the ranks of mpirun (PML's
// DistributedLossWrapper and DistributedMinerWrapper with torch's DDP), in
// a binary built with the mpi tag and Debian's libopenmpi-dev:
//
//	go build -tags mpi ./examples/fashionmnist
//	mpirun -np 2 ./fashionmnist -distributed -batch 32          # 64 per step in all
//	mpirun --hostfile hosts -np 8 ./fashionmnist -distributed -batch 8
//
// -batch is then per rank; the loss and miner see the gathered batch and
// the gradients are averaged, so the run follows a one-process run with
// the global batch. Rank 0 evaluates and writes -out. (As root Open MPI
// needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; more
// ranks than cores need --oversubscribe, best with --mca
// mpi_yield_when_idle 1 so that the ranks waiting for rank 0's evaluation
// do not spin on its core.)
//
// -resume restores every optimizer's and scheduler's state too, so a
// resumed run gives the uninterrupted run's numbers; it refuses flags that
// do not match the run it continues (an embedder, a classifier or a
// schedule it did not have, or lacks).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
)

func main() { runner.Main("fashionmnist", run) }

// run is the program: flags in args, results on stdout, progress bars and
// usage on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fashionmnist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := runner.Defaults()
	opts.Register(fs)
	dir := fs.String("data", datasets.DefaultFashionMNISTDir, "directory of the Fashion-MNIST IDX files (gzipped or not)")
	trainClasses := fs.String("train-classes", "", "train on these classes only, e.g. 0-4 (default all)")
	testClasses := fs.String("test-classes", "", "evaluate on these classes only, e.g. 5-9 (default all)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: fashionmnist [flags]\n\nTrains the reference ConvNet on Fashion-MNIST and evaluates retrieval on the test images.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	var trainC, testC []int
	var err error
	if *trainClasses != "" {
		if trainC, err = datasets.ParseClassList(*trainClasses); err != nil {
			return fmt.Errorf("-train-classes: %w", err)
		}
	}
	if *testClasses != "" {
		if testC, err = datasets.ParseClassList(*testClasses); err != nil {
			return fmt.Errorf("-test-classes: %w", err)
		}
	}

	start := time.Now()
	train, test, usedSample, err := datasets.LoadFashionMNISTOrSample(*dir)
	if err != nil {
		return err
	}
	if usedSample {
		fmt.Fprintln(stdout, datasets.FashionMNISTSampleNotice(*dir))
	}
	for _, c := range append(append([]int(nil), trainC...), testC...) {
		if c < 0 || c >= len(datasets.FashionMNISTClasses()) {
			return fmt.Errorf("class %d: Fashion-MNIST has classes 0-%d", c, len(datasets.FashionMNISTClasses())-1)
		}
	}
	if trainC != nil {
		if train, err = train.FilterClasses(trainC); err != nil {
			return fmt.Errorf("-train-classes: %w", err)
		}
	}
	if testC != nil {
		if test, err = test.FilterClasses(testC); err != nil {
			return fmt.Errorf("-test-classes: %w", err)
		}
	}
	fmt.Fprintf(stdout, "Fashion-MNIST: %d training images (%s), %d test images (%s), loaded in %.1f s\n",
		train.Len(), classesOf(train, trainC), test.Len(), classesOf(test, testC), time.Since(start).Seconds())

	enc, err := models.NewConvNet(models.ReferenceConvNetConfig(opts.Seed))
	if err != nil {
		return err
	}
	r := &runner.Run{Options: opts, Encoder: enc, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}

// classesOf describes the classes of a split.
func classesOf(m *datasets.Images, classes []int) string {
	if classes == nil {
		n := 0
		for _, c := range m.ClassCounts() {
			if c > 0 {
				n++
			}
		}
		return fmt.Sprintf("%d classes", n)
	}
	return fmt.Sprintf("classes %v", classes)
}
