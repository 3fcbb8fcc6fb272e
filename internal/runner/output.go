package runner

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/logging"
)

// PrimaryMetric decides which epoch CheckpointFile keeps: the best by this
// metric (PML's default primary_metric in its logging presets).
const PrimaryMetric = accuracy.NameMeanAveragePrecisionAtR

// CSVHeader is the first line of the run's CSV (logging.EpochHeader of
// the printed metrics).
var CSVHeader = logging.EpochHeader(metricNames())

func metricNames() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Name
	}
	return out
}

func shortNames() map[string]string {
	out := map[string]string{}
	for _, m := range Metrics {
		out[m.Name] = m.Short
	}
	return out
}

// WriteCSV writes the rows to path atomically (logging.WriteEpochs with
// the printed metrics): one line per epoch (epoch 0 is before training,
// its training columns empty; an epoch that was not evaluated, under
// -val-every, has its metric and eval_seconds columns empty). The last
// column holds the metrics' warnings (accuracy.Results.Warnings: what PML
// would log, and why a value is NaN), joined by "; ".
func WriteCSV(path string, rows []Row) error {
	recs := make([]logging.EpochRecord, len(rows))
	for i, r := range rows {
		recs[i] = recordOf(r)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return logging.WriteEpochs(w, metricNames(), recs) })
}

// ReadCSV reads a run's record written by WriteCSV (or by a run): the
// rows, with their training columns and the printed metrics; the warnings
// are kept verbatim (WriteCSV writes them back unchanged).
func ReadCSV(path string) ([]Row, error) {
	metrics, recs, err := logging.ReadEpochs(path)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(metrics, metricNames()) {
		return nil, fmt.Errorf("%s: not a run record (the header is not %q): %w", path, strings.Join(CSVHeader, ","), gometric.ErrShape)
	}
	return rowsOf(recs), nil
}

// WritePNG draws the rows — the mean training loss per epoch on the left,
// the retrieval metrics per epoch on the right, non-finite values left out
// — and writes it to path atomically (logging.WritePlot; a run's PNGFile
// has the loss of every iteration instead).
func WritePNG(path string, rows []Row) error {
	recs := make([]logging.EpochRecord, len(rows))
	for i, r := range rows {
		recs[i] = recordOf(r)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return logging.WritePlot(w, recs, nil, metricNames(), shortNames()) })
}
