package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/utils/distributed"
)

// Main is the main function of an example program called name: it runs
// run with the command-line arguments, stdout and stderr under a context
// that Ctrl-C (or SIGTERM) cancels, and exits with status 130 when run
// returns the cancellation ("name: interrupted"), 1 on another error
// ("name: error"), 0 otherwise (-h included).
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if ferr := distributed.Finalize(); err == nil { // MPI, when -distributed started it
		err = ferr
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		fmt.Fprintln(os.Stderr, name+": interrupted")
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, name+":", err)
	os.Exit(1)
}

// PrintSplits writes the line an example prints once its data are
// loaded: the data set's name, the sizes and class counts of the training
// and test sets, and the seconds since start, e.g.
//
//	CUB-200-2011: 5864 training samples (100 classes), 5924 test samples (100 classes), loaded in 12.3 s
func PrintSplits(w io.Writer, name string, train, test datasets.Dataset, start time.Time) {
	fmt.Fprintf(w, "%s: %d training samples (%d classes), %d test samples (%d classes), loaded in %.1f s\n",
		name, train.Len(), len(distinctLabels(train.Labels())), test.Len(), len(distinctLabels(test.Labels())), time.Since(start).Seconds())
}
