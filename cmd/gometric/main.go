// Command gometric is gometric in one static binary: train an embedding,
// evaluate it, embed a data set, build and search an index, serve it over
// HTTP and print the benchmark table. Every subcommand is flags and I/O on
// top of the library (internal/runner, utils/extract, utils/inference,
// internal/serve, internal/bench); it builds with CGO_ENABLED=0 (FAISS's
// indexes need -tags faiss).
//
//	gometric train -dataset fashionmnist -epochs 1 -out run1
//	gometric train -dataset cub200 -data /data/CUB_200_2011 -epochs 20 -out cub
//	gometric train -dataset features -data cub_resnet50.gmfeats -embedding 128 -out head
//	gometric train -config run.json              (a JSON object of flag names and values)
//	gometric eval  -dataset fashionmnist -weights run1/checkpoint.gmw -scatter run1/plots
//	gometric embed -dataset fashionmnist -weights run1/checkpoint.gmw -split test -o test.gmfeats
//	gometric index build -features test.gmfeats -o test.gmidx -calibrate
//	gometric index search -index test.gmidx -query test.gmfeats -k 5
//	gometric serve -index test.gmidx -addr :8080
//	gometric bench
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
