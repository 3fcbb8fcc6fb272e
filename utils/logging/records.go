package logging

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// EpochRecord is one line of the per-epoch record (PML's record keeper's
// accuracies and loss tables, one row per epoch): epoch 0 is the untrained
// model (HookContainer.TestAtStart). It is a plain value, safe for
// concurrent reads.
type EpochRecord struct {
	Epoch int
	// Train is the trainer's summary of the epoch; nil for epoch 0.
	Train *trainers.EpochInfo
	// Metrics are the validation split's results; nil when the epoch was
	// not evaluated (TestInterval). A record read back from a file holds
	// the recorded metrics' Scalars only.
	Metrics accuracy.Results
	// EvalSeconds is the wall time of the evaluation.
	EvalSeconds float64
	// Warnings are the metrics' warnings (accuracy.Results.Warnings).
	Warnings []string
}

// Primary returns the record's value of metric and whether it is a finite
// number (false for an epoch that was not evaluated).
func (r EpochRecord) Primary(metric string) (float64, bool) {
	if r.Metrics == nil {
		return 0, false
	}
	v, ok := r.Metrics[metric]
	return v.Scalar, ok && !math.IsNaN(v.Scalar) && !math.IsInf(v.Scalar, 0)
}

// Epoch CSV columns around the metrics.
var (
	epochHead = []string{
		"epoch", "iterations", "loss_mean", "loss_last", "zero_loss_iterations",
		"mean_pos_pairs", "mean_neg_pairs", "mean_triplets",
	}
	epochTail = []string{"train_seconds", "eval_seconds", "warnings"}
)

// EpochHeader returns the header of the per-epoch CSV recording metrics.
func EpochHeader(metrics []string) []string {
	return slices.Concat(epochHead, metrics, epochTail)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }

// WriteEpochs writes the per-epoch CSV of records to w, with a column
// per metric: one line per epoch (epoch 0's training columns empty; an
// epoch that was not evaluated has empty metric and eval_seconds
// columns); the last column holds the warnings joined by "; ". The
// HookContainer writes its RecordFile with it, atomically.
func WriteEpochs(w io.Writer, metrics []string, records []EpochRecord) error {
	if check.Nil(w) {
		return fmt.Errorf("logging.WriteEpochs: nil writer: %w", gometric.ErrSetting)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(EpochHeader(metrics)); err != nil {
		return err
	}
	for _, r := range records {
		rec := []string{strconv.Itoa(r.Epoch)}
		if t := r.Train; t != nil {
			rec = append(rec, strconv.Itoa(t.Iterations), formatFloat(t.LossMean), formatFloat(t.LossLast), strconv.Itoa(t.ZeroLossIterations),
				formatFloat(t.MeanPosPairs), formatFloat(t.MeanNegPairs), formatFloat(t.MeanTriplets))
		} else {
			rec = append(rec, "0", "", "", "", "", "", "")
		}
		for _, m := range metrics {
			if r.Metrics == nil {
				rec = append(rec, "")
				continue
			}
			v, ok := r.Metrics[m]
			if !ok {
				v.Scalar = math.NaN()
			}
			rec = append(rec, formatFloat(v.Scalar))
		}
		train, eval := "", ""
		if r.Train != nil {
			train = strconv.FormatFloat(r.Train.Duration.Seconds(), 'f', 3, 64)
		}
		if r.Metrics != nil {
			eval = strconv.FormatFloat(r.EvalSeconds, 'f', 3, 64)
		}
		rec = append(rec, train, eval, strings.Join(r.Warnings, "; "))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// maxRecordBytes bounds a record file read back (a record of a million
// epochs is far below it).
const maxRecordBytes = 1 << 30

// readLimited reads a whole regular file of at most maxRecordBytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", path, gometric.ErrShape)
	}
	if st.Size() > maxRecordBytes {
		return nil, fmt.Errorf("%s: %d bytes, larger than %d: %w", path, st.Size(), maxRecordBytes, gometric.ErrShape)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRecordBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", path, maxRecordBytes, gometric.ErrShape)
	}
	return b, nil
}

// ReadEpochs reads a per-epoch CSV written by WriteEpochs: the metric
// columns of its header and the records, of consecutive epochs (0, 1,
// 2, ..., or from 1 when epoch 0 was not recorded). A damaged file is an
// error wrapping gometric.ErrShape naming the path, line and column.
func ReadEpochs(path string) (metrics []string, records []EpochRecord, err error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, nil, err
	}
	metrics, records, err = decodeEpochs(bytes.NewReader(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return metrics, records, nil
}

// decodeEpochs is ReadEpochs on a reader (errors do not name a path).
func decodeEpochs(r io.Reader) (metrics []string, records []EpochRecord, err error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("empty, not an epoch record: %w", gometric.ErrShape)
		}
		return nil, nil, fmt.Errorf("%w: %w", err, gometric.ErrShape)
	}
	nh, nt := len(epochHead), len(epochTail)
	if len(header) < nh+nt || !slices.Equal(header[:nh], epochHead) || !slices.Equal(header[len(header)-nt:], epochTail) {
		return nil, nil, fmt.Errorf("not an epoch record (the header is not %q, metrics, %q): %w", strings.Join(epochHead, ","), strings.Join(epochTail, ","), gometric.ErrShape)
	}
	metrics = slices.Clone(header[nh : len(header)-nt])
	for i, m := range metrics {
		if m == "" || slices.Contains(metrics[:i], m) || slices.Contains(epochHead, m) || slices.Contains(epochTail, m) {
			return nil, nil, fmt.Errorf("line 1: metric column %d %q is empty or repeated: %w", nh+i+1, m, gometric.ErrShape)
		}
	}
	cr.FieldsPerRecord = len(header)
	evalCol, trainCol := len(header)-2, len(header)-3
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", err, gometric.ErrShape)
		}
		bad := func(col int, err error) error {
			return fmt.Errorf("line %d, column %s %q: %v: %w", line, header[col], rec[col], err, gometric.ErrShape)
		}
		num := func(col int) (float64, error) {
			if rec[col] == "" {
				return math.NaN(), nil
			}
			v, err := strconv.ParseFloat(rec[col], 64)
			if err != nil {
				return 0, bad(col, errors.New("not a number"))
			}
			return v, nil
		}
		count := func(col int) (int, error) {
			v, err := strconv.Atoi(rec[col])
			if err != nil || v < 0 {
				return 0, bad(col, errors.New("not a count"))
			}
			return v, nil
		}
		epoch, err := strconv.Atoi(rec[0])
		switch {
		case len(records) == 0 && (err != nil || epoch < 0):
			return nil, nil, bad(0, errors.New("want an epoch of at least 0"))
		case len(records) > 0 && (err != nil || epoch != records[len(records)-1].Epoch+1):
			return nil, nil, bad(0, fmt.Errorf("want epoch %d (the epochs follow each other)", records[len(records)-1].Epoch+1))
		}
		row := EpochRecord{Epoch: epoch}
		if w := rec[len(rec)-1]; w != "" {
			row.Warnings = strings.Split(w, "; ")
		}
		if epoch > 0 {
			ti := trainers.EpochInfo{Epoch: epoch}
			if ti.Iterations, err = count(1); err != nil {
				return nil, nil, err
			}
			if ti.ZeroLossIterations, err = count(4); err != nil {
				return nil, nil, err
			}
			for k, dst := range map[int]*float64{2: &ti.LossMean, 3: &ti.LossLast, 5: &ti.MeanPosPairs, 6: &ti.MeanNegPairs, 7: &ti.MeanTriplets} {
				if *dst, err = num(k); err != nil {
					return nil, nil, err
				}
			}
			ti.IterationsPerEpoch = ti.Iterations
			sec, err := num(trainCol)
			if err != nil {
				return nil, nil, err
			}
			if !(sec >= 0 && sec < 1e9) {
				return nil, nil, bad(trainCol, errors.New("want seconds in [0, 1e9)"))
			}
			ti.Duration = time.Duration(sec * float64(time.Second))
			row.Train = &ti
		}
		evaluated := rec[evalCol] != ""
		for k, m := range metrics {
			col := len(epochHead) + k
			if !evaluated {
				if rec[col] != "" {
					return nil, nil, bad(col, errors.New("a metric of an epoch without eval_seconds"))
				}
				continue
			}
			v, err := num(col)
			if err != nil {
				return nil, nil, err
			}
			if row.Metrics == nil {
				row.Metrics = accuracy.Results{}
			}
			row.Metrics[m] = accuracy.Value{Scalar: v}
		}
		if evaluated {
			if row.Metrics == nil {
				row.Metrics = accuracy.Results{}
			}
			if row.EvalSeconds, err = num(evalCol); err != nil {
				return nil, nil, err
			}
		}
		records = append(records, row)
	}
	return metrics, records, nil
}

// iterationHeader is the per-iteration CSV's header.
var iterationHeader = []string{
	"global_iteration", "epoch", "iteration", "loss", "pos_pairs", "neg_pairs", "triplets", "batch_size", "seconds", "parts",
}

// encodeIteration appends it's CSV line to dst.
func encodeIteration(dst []byte, it trainers.IterationInfo) []byte {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(it.Parts)) {
		parts = append(parts, k+"="+formatFloat(it.Parts[k]))
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{
		strconv.Itoa(it.GlobalIteration), strconv.Itoa(it.Epoch), strconv.Itoa(it.Iteration), formatFloat(it.Loss),
		strconv.Itoa(it.Mined.PosPairs), strconv.Itoa(it.Mined.NegPairs), strconv.Itoa(it.Mined.Triplets),
		strconv.Itoa(it.BatchSize), strconv.FormatFloat(it.Duration.Seconds(), 'f', 4, 64), strings.Join(parts, ";"),
	})
	w.Flush()
	return append(dst, b.Bytes()...)
}

// IterationRecord is one line of the per-iteration CSV (PML's
// loss_histories table). It is a plain value, safe for concurrent reads.
type IterationRecord struct {
	GlobalIteration, Epoch, Iteration int
	Loss                              float64
	// Parts are the sub-losses (IterationInfo.Parts).
	Parts                        map[string]float64
	PosPairs, NegPairs, Triplets int
	BatchSize                    int
	Seconds                      float64
}

// ReadIterations reads a per-iteration CSV that a HookContainer wrote.
// A damaged file is an error wrapping gometric.ErrShape naming the path and
// line.
func ReadIterations(path string) ([]IterationRecord, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	recs, _, err := decodeIterations(b, math.MaxInt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// decodeIterations parses the per-iteration CSV in b, keeping the rows of
// epochs up to last; it returns them and the bytes of the file that hold
// the header and those rows.
func decodeIterations(b []byte, last int) ([]IterationRecord, int, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = len(iterationHeader)
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("empty, not an iteration record: %w", gometric.ErrShape)
		}
		return nil, 0, fmt.Errorf("%w: %w", err, gometric.ErrShape)
	}
	if !slices.Equal(header, iterationHeader) {
		return nil, 0, fmt.Errorf("not an iteration record (the header is not %q): %w", strings.Join(iterationHeader, ","), gometric.ErrShape)
	}
	var out []IterationRecord
	keep := int(cr.InputOffset())
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %w", err, gometric.ErrShape)
		}
		bad := func(col int, what string) error {
			return fmt.Errorf("line %d, column %s %q: %s: %w", line, iterationHeader[col], rec[col], what, gometric.ErrShape)
		}
		var ints [8]int
		for _, col := range []int{0, 1, 2, 4, 5, 6, 7} {
			v, err := strconv.Atoi(rec[col])
			if err != nil || v < 0 {
				return nil, 0, bad(col, "not a count")
			}
			ints[col] = v
		}
		r := IterationRecord{GlobalIteration: ints[0], Epoch: ints[1], Iteration: ints[2],
			PosPairs: ints[4], NegPairs: ints[5], Triplets: ints[6], BatchSize: ints[7]}
		if len(out) > 0 && (r.GlobalIteration <= out[len(out)-1].GlobalIteration || r.Epoch < out[len(out)-1].Epoch) {
			return nil, 0, bad(0, "not after the previous line")
		}
		if r.Loss, err = strconv.ParseFloat(rec[3], 64); err != nil {
			return nil, 0, bad(3, "not a number")
		}
		if r.Seconds, err = strconv.ParseFloat(rec[8], 64); err != nil {
			return nil, 0, bad(8, "not a number")
		}
		if rec[9] != "" {
			r.Parts = map[string]float64{}
			for _, kv := range strings.Split(rec[9], ";") {
				k, v, ok := strings.Cut(kv, "=")
				f, err := strconv.ParseFloat(v, 64)
				if !ok || k == "" || err != nil {
					return nil, 0, bad(9, "want name=value;...")
				}
				r.Parts[k] = f
			}
		}
		if r.Epoch > last {
			break
		}
		out = append(out, r)
		keep = int(cr.InputOffset())
	}
	return out, keep, nil
}
