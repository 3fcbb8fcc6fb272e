// Command gometric is gometric in one static binary: train an embedding,
// evaluate it, embed a data set, build and search an index, serve it over
// HTTP and print the benchmark table. Every subcommand is flags and I/O on
// top of the library (internal/runner, utils/extract, utils/inference,
// internal/serve, internal/bench); it builds with CGO_ENABLED=0 (FAISS's
// indexes need -tags faiss).
//
//	gometric train -dataset fashionmnist -out fmnist
//	gometric eval -dataset fashionmnist -weights fmnist/checkpoint.gmw -scatter fmnist/plots
//	gometric embed -dataset fashionmnist -weights fmnist/checkpoint.gmw -split train -o train.gmfeats
//	gometric embed -dataset fashionmnist -weights fmnist/checkpoint.gmw -split test -o test.gmfeats
//	gometric index build -features train.gmfeats -calibrate test.gmfeats -o fmnist.gmidx
//	gometric index search -index fmnist.gmidx -query test.gmfeats -k 5
//	gometric serve -index fmnist.gmidx -addr localhost:8080
//	gometric bench                        (PML side by side with -pml DIR or PMLPATH)
//	gometric bench serve                  (a 30 s load test of serve on loopback)
//
// Other data sets: -dataset cub200, cars196, sop, inaturalist2018 or
// folder with -data DIR (a ConvNet from scratch, -size, -blocks,
// -embedding), or -dataset features -data FILE (an MLP head, -hidden).
// A pretrained ResNet's features (the frozen-trunk workflow):
//
//	gometric embed -dataset cub200 -data CUB_200_2011 -trunk resnet50 -weights resnet50.pth -split all -o cub_r50.gmfeats
//	gometric train -dataset features -data cub_r50.gmfeats -embedding 128 -epochs 20 -out cub_head
//
// -config FILE reads any command's flags from a JSON object ({"dataset":
// "cub200", "epochs": 20}); the command line wins. With -tags faiss
// (scripts/install-faiss.sh; cgo), index build -faiss "IVF1024,Flat" also
// trains a FAISS index, saves it in FAISS's format beside the index and
// reports its recall@k against exact search; index search and serve use it.
//
// Run "gometric COMMAND -h" for a command's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/runner"
)

func main() { runner.Main("gometric", run) }

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"train", "train an embedding on a data set (losses, miners, trainers by name; checkpoints, resume)", runTrain},
		{"eval", "evaluate a checkpoint on a split: P@1, R-Precision, MAP@R, optional scatter plot", runEval},
		{"embed", "embed a data set's split through a checkpoint into a feature file (resumable)", runEmbed},
		{"index", "build an inference index from features or a data set, or search one", runIndex},
		{"serve", "serve an index over HTTP JSON: neighbours, matches, health, hot reload", runServe},
		{"bench", "print the README's benchmark table (PML side by side with -pml)", runBench},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: gometric COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun gometric COMMAND -h for a command's flags.\n")
}

// run dispatches args[0] to its command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return fmt.Errorf("no command: want one of %s: %w", strings.Join(names(), ", "), gometric.ErrSetting)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	i := slices.IndexFunc(commands(), func(c command) bool { return c.name == args[0] })
	if i < 0 {
		usage(stderr)
		return fmt.Errorf("unknown command %q: want one of %s: %w", args[0], strings.Join(names(), ", "), gometric.ErrSetting)
	}
	return commands()[i].run(ctx, args[1:], stdout, stderr)
}

func names() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	return out
}
