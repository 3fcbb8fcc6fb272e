package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/runner"
)

// dataFlags registers -dataset and the image flags on fs.
func dataFlags(fs *flag.FlagSet) (*string, *runner.ImageFlags) {
	kind := fs.String("dataset", "", "the data set: one of "+strings.Join(runner.DataKinds(), ", "))
	f := &runner.ImageFlags{}
	f.Register(fs, "the data set's directory, or the feature file of -dataset features (see -h)",
		"the data set's training split; for a folder or a feature file the lower half of the classes",
		"the data set's test split; for a folder or a feature file the upper half of the classes")
	return kind, f
}

// dataHelp prints -data for each -dataset.
func dataHelp(w io.Writer) {
	fmt.Fprintf(w, "-data for each -dataset:\n")
	for _, k := range runner.DataKinds() {
		fmt.Fprintf(w, "  %s: %s\n", k, runner.DataHelp(k))
	}
}

func newFlagSet(name, usageLine, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gometric "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gometric %s %s\n\n%s\n\n", name, usageLine, about)
		if strings.Contains(usageLine, "-dataset") {
			dataHelp(stderr)
			fmt.Fprintln(stderr)
		}
		fmt.Fprintf(stderr, "Flags:\n")
		fs.PrintDefaults()
	}
	return fs
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "-dataset KIND [-data DIR|FILE] [flags] | -config FILE",
		"Trains an embedding on the training split of a data set and evaluates retrieval on its test split\n"+
			"(query = reference) before training and every -val-every epochs: PML's MetricLossOnly (or -trainer)\n"+
			"under utils/logging's HookContainer. -out receives run.csv, iterations.csv, run.png, the last\n"+
			"epoch's checkpoints (epoch-N*.gmw: -resume continues from them) and the best one (checkpoint*.gmw).\n"+
			"The model is trained from scratch: the reference ConvNet for fashionmnist, the ConvNet of -size,\n"+
			"-blocks and -embedding for images, an MLP (-hidden, -embedding) for a feature file; or, for images,\n"+
			"-trunk resnet50 -weights resnet50.pth fine-tunes a pretrained ResNet (with -embedder, -trunk-lr).\n"+
			"-config FILE reads flags from a JSON object ({\"dataset\": \"cub200\", \"epochs\": 20}); the command line wins.", stderr)
	opts := runner.Defaults()
	opts.Register(fs)
	kind, f := dataFlags(fs)
	hidden := fs.String("hidden", "", "-dataset features: the MLP's hidden layer sizes, e.g. 512 (default none: one linear layer)")
	dropout := fs.Float64("dropout", 0, "-dataset features with -hidden: torch's Dropout p after each hidden ReLU, in [0, 1)")
	var tr runner.Trunk
	fs.StringVar(&tr.Kind, "trunk", "", "image data sets: fine-tune this trunk instead of training a ConvNet from scratch: one of "+strings.Join(runner.TrunkNames()[1:], ", ")+" (torchvision's ResNet without fc)")
	fs.StringVar(&tr.Weights, "weights", "", "-trunk: its weights, a torchvision state dict (.pth, .safetensors; e.g. ImageNet's) or a .gmw checkpoint (default: initialised from -seed)")
	fs.IntVar(&tr.Side, "trunk-size", 224, "-trunk: its input side (training: RandomResizedCrop, RandomHorizontalFlip; test: Resize(side·256/224), CenterCrop)")
	fs.BoolVar(&tr.FreezeBN, "freeze-bn", false, "-trunk: BatchNorm in eval mode: running statistics used and not updated, its weight and bias still trained (PML's freeze_trunk_batchnorm)")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	h, err := runner.IntList("-hidden", *hidden)
	if err != nil {
		return err
	}
	if tr.Kind == "" {
		if tr.Weights != "" || tr.FreezeBN {
			return fmt.Errorf("-weights and -freeze-bn are -trunk's: %w", gometric.ErrSetting)
		}
		return runner.TrainData(ctx, *kind, f, h, *dropout, opts, stdout, stderr)
	}
	if runner.ImageName(*kind) == "" || h != nil || *dropout != 0 {
		return fmt.Errorf("-trunk fine-tunes on images (-dataset %s), without -hidden or -dropout: %w", strings.Join(runner.ImageKinds(), ", "), gometric.ErrSetting)
	}
	return runner.TrainTrunk(ctx, *kind, f, tr, opts, stdout, stderr)
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "-dataset KIND [-data DIR|FILE] -weights FILE [flags]",
		"Evaluates a trained model on a split of a data set (query = reference): P@1, R-Precision and MAP@R\n"+
			"with k = max_bin_count, as train evaluates. Writes run.csv and run.png into -out and, with -scatter DIR,\n"+
			"the embeddings' 2-D PCA scatter plot (testers.PNGVisualizer).", stderr)
	opts := runner.Defaults()
	opts.Out = "eval"
	kind, f := dataFlags(fs)
	var mf runner.ModelFlags
	mf.Register(fs)
	split := fs.String("split", runner.SplitTest, "the split: train, test, or for images all")
	scatter := fs.String("scatter", "", "directory for the scatter plot (default none)")
	fs.StringVar(&opts.Out, "out", opts.Out, "output directory: run.csv, run.png")
	fs.IntVar(&opts.EvalBatch, "eval-batch", opts.EvalBatch, "batch size of the evaluation")
	fs.IntVar(&opts.Threads, "threads", opts.Threads, "threads (GOMAXPROCS; 0: all cores)")
	fs.BoolVar(&opts.Quiet, "quiet", opts.Quiet, "no progress bars")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	_, err := runner.EvaluateModel(ctx, *kind, f, &mf, opts, *split, *scatter, stdout, stderr)
	return err
}

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("embed", "-dataset KIND [-data DIR|FILE] -weights FILE -o FILE [flags]",
		"Embeds a split of a data set through a trained model into a feature file (datasets.Features, binary),\n"+
			"in batches on all cores with a progress bar, checkpointed every -chunk samples in FILE.partial: an\n"+
			"interrupted run continues where it stopped, and a complete file that matches is reused.", stderr)
	kind, f := dataFlags(fs)
	var mf runner.ModelFlags
	mf.Register(fs)
	split := fs.String("split", runner.SplitTest, "the split: train, test, or for images all (every image: -dataset features then splits it by class halves, PML's split for cub200 and cars196)")
	out := fs.String("o", "", "the feature file to write")
	var o runner.EmbedOptions
	fs.IntVar(&o.BatchSize, "batch", 0, "samples embedded at once (0: 32, PML's tester batch size)")
	fs.IntVar(&o.ChunkSize, "chunk", 0, "samples per checkpoint of the partial file (0: 1024)")
	fs.BoolVar(&o.Overwrite, "overwrite", false, "extract again over a file or partial file made for other data or another model")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	progress := stderr
	if *quiet {
		progress = nil
	}
	_, err := runner.EmbedData(ctx, *kind, f, &mf, *split, *out, o, stdout, progress)
	return err
}
