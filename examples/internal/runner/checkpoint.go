package runner

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// PrimaryMetric decides which epoch CheckpointFile keeps: the best by this
// metric (PML's default primary_metric in its logging presets).
const PrimaryMetric = accuracy.NameMeanAveragePrecisionAtR

// EpochFile and EpochLossFile name the encoder and the loss parameters
// after an epoch. A run keeps only the last epoch's pair (what -resume
// continues from); CheckpointFile keeps the best.
func EpochFile(epoch int) string { return fmt.Sprintf("epoch-%d.gmw", epoch) }

// EpochLossFile names the learnable loss's parameters after an epoch
// (losses.SaveParams's format).
func EpochLossFile(epoch int) string { return fmt.Sprintf("epoch-%d-loss.gmp", epoch) }

// EpochOptimizerFile and EpochLossOptimizerFile name the state of the
// encoder's optimizer and of the loss's after an epoch
// (models.Optimizer.SaveState's format), so that -resume continues
// Adam's moments where they were.
func EpochOptimizerFile(epoch int) string { return fmt.Sprintf("epoch-%d-opt.gms", epoch) }

// EpochLossOptimizerFile: see EpochOptimizerFile.
func EpochLossOptimizerFile(epoch int) string { return fmt.Sprintf("epoch-%d-lossopt.gms", epoch) }

// EpochEmbedderFile and EpochEmbedderOptimizerFile name the embedder
// (-embedder; models.LoadEncoder reads it) and its optimizer's state after
// an epoch.
func EpochEmbedderFile(epoch int) string { return fmt.Sprintf("epoch-%d-embedder.gmw", epoch) }

// EpochEmbedderOptimizerFile: see EpochEmbedderFile.
func EpochEmbedderOptimizerFile(epoch int) string {
	return fmt.Sprintf("epoch-%d-embedderopt.gms", epoch)
}

// EpochSchedulerFile, EpochEmbedderSchedulerFile and
// EpochLossSchedulerFile name the state of the learning-rate scheduler
// (-lr-schedule) of the trunk's, the embedder's and the loss's optimizer
// after an epoch (the models scheduler state format).
func EpochSchedulerFile(epoch int) string { return fmt.Sprintf("epoch-%d-sched.gms", epoch) }

// EpochEmbedderSchedulerFile: see EpochSchedulerFile.
func EpochEmbedderSchedulerFile(epoch int) string {
	return fmt.Sprintf("epoch-%d-embeddersched.gms", epoch)
}

// EpochLossSchedulerFile: see EpochSchedulerFile.
func EpochLossSchedulerFile(epoch int) string { return fmt.Sprintf("epoch-%d-losssched.gms", epoch) }

// EpochClassifierFile, EpochClassifierOptimizerFile and
// EpochClassifierSchedulerFile name the classifier of -trainer
// withclassifier, its optimizer's and its scheduler's state after an epoch.
func EpochClassifierFile(epoch int) string { return fmt.Sprintf("epoch-%d-classifier.gmw", epoch) }

// EpochClassifierOptimizerFile: see EpochClassifierFile.
func EpochClassifierOptimizerFile(epoch int) string {
	return fmt.Sprintf("epoch-%d-classifieropt.gms", epoch)
}

// EpochClassifierSchedulerFile: see EpochClassifierFile.
func EpochClassifierSchedulerFile(epoch int) string {
	return fmt.Sprintf("epoch-%d-classifiersched.gms", epoch)
}

// epochNames are the files of an epoch.
func epochNames(epoch int) []string {
	return []string{
		EpochFile(epoch), EpochLossFile(epoch), EpochOptimizerFile(epoch), EpochLossOptimizerFile(epoch),
		EpochEmbedderFile(epoch), EpochEmbedderOptimizerFile(epoch),
		EpochSchedulerFile(epoch), EpochEmbedderSchedulerFile(epoch), EpochLossSchedulerFile(epoch),
		EpochClassifierFile(epoch), EpochClassifierOptimizerFile(epoch), EpochClassifierSchedulerFile(epoch),
	}
}

var epochFileRE = regexp.MustCompile(`^epoch-(\d+)(-loss\.gmp|\.gmw|-opt\.gms|-lossopt\.gms|-embedder\.gmw|-embedderopt\.gms|-sched\.gms|-embeddersched\.gms|-losssched\.gms|-classifier\.gmw|-classifieropt\.gms|-classifiersched\.gms)$`)

// epochFiles returns the epoch files in dir by epoch.
func epochFiles(dir string) (map[int][]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[int][]string{}
	for _, e := range entries {
		m := epochFileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		out[n] = append(out[n], filepath.Join(dir, e.Name()))
	}
	return out, nil
}

// ours reports whether name is a file a run writes into its directory.
func ours(name string) bool {
	switch name {
	case CSVFile, PNGFile, CheckpointFile, InterruptedFile, CheckpointEmbedderFile, InterruptedEmbedderFile:
		return true
	}
	return epochFileRE.MatchString(name)
}

// cleanTemps removes the temporary files that a killed run left behind
// (atomicfile's, for the run's own files only) and returns their names.
func cleanTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		i := strings.LastIndex(name, ".tmp-")
		if e.IsDir() || !strings.HasPrefix(name, ".") || i < 0 {
			continue
		}
		target := name[1:i]
		if !ours(target) || seen[target] {
			continue
		}
		seen[target] = true
		r, err := atomicfile.CleanTemps(filepath.Join(dir, target))
		removed = append(removed, r...)
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// prior describes what an earlier run left in the output directory.
type prior struct {
	checkpoint bool             // CheckpointFile or CheckpointEmbedderFile exists
	epochs     map[int][]string // epoch files by epoch
	csv        bool
}

func (p prior) trained() bool { return p.checkpoint || len(p.epochs) > 0 }

func (p prior) describe() string {
	var parts []string
	if p.checkpoint {
		parts = append(parts, CheckpointFile)
	}
	var es []int
	for e := range p.epochs {
		es = append(es, e)
	}
	slices.Sort(es)
	for _, e := range es {
		parts = append(parts, EpochFile(e))
	}
	return strings.Join(parts, ", ")
}

func findPrior(dir string) (prior, error) {
	var p prior
	var err error
	if p.epochs, err = epochFiles(dir); err != nil {
		return p, err
	}
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	p.checkpoint, p.csv = exists(CheckpointFile) || exists(CheckpointEmbedderFile), exists(CSVFile)
	return p, nil
}

// removeRun deletes the files of an earlier run (-overwrite).
func removeRun(dir string, p prior) error {
	paths := []string{CSVFile, PNGFile, CheckpointFile, InterruptedFile, CheckpointEmbedderFile, InterruptedEmbedderFile}
	for i := range paths {
		paths[i] = filepath.Join(dir, paths[i])
	}
	for _, fs := range p.epochs {
		paths = append(paths, fs...)
	}
	for _, path := range paths {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// ReadCSV reads a run's record written by WriteCSV: the rows, with their
// training columns and the printed metrics. The warnings column is kept
// verbatim (WriteCSV writes it back unchanged).
func ReadCSV(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(CSVHeader)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, err, gometric.ErrShape)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], CSVHeader) {
		return nil, fmt.Errorf("%s: not a run record (the header is not %q): %w", path, strings.Join(CSVHeader, ","), gometric.ErrShape)
	}
	rows := make([]Row, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		bad := func(col int, err error) error {
			return fmt.Errorf("%s: line %d, column %s %q: %v: %w", path, i+2, CSVHeader[col], rec[col], err, gometric.ErrShape)
		}
		num := func(col int) (float64, error) {
			if rec[col] == "" {
				return math.NaN(), nil
			}
			v, err := strconv.ParseFloat(rec[col], 64)
			if err != nil {
				return 0, bad(col, err)
			}
			return v, nil
		}
		epoch, err := strconv.Atoi(rec[0])
		if err != nil || epoch != i {
			return nil, bad(0, fmt.Errorf("want epoch %d", i))
		}
		row := Row{Epoch: epoch, Metrics: accuracy.Results{}, warnings: rec[len(rec)-1], fromFile: true}
		if epoch > 0 {
			var ti trainers.EpochInfo
			ti.Epoch = epoch
			ints := []*int{&ti.Iterations, nil, nil, &ti.ZeroLossIterations}
			floats := []*float64{nil, &ti.LossMean, &ti.LossLast, nil, &ti.MeanPosPairs, &ti.MeanNegPairs, &ti.MeanTriplets}
			for k := 1; k <= 7; k++ {
				if k-1 < len(ints) && ints[k-1] != nil {
					v, err := strconv.Atoi(rec[k])
					if err != nil {
						return nil, bad(k, err)
					}
					*ints[k-1] = v
					continue
				}
				v, err := num(k)
				if err != nil {
					return nil, err
				}
				*floats[k-1] = v
			}
			ti.IterationsPerEpoch = ti.Iterations
			sec, err := num(8 + len(Metrics))
			if err != nil {
				return nil, err
			}
			ti.Duration = time.Duration(sec * float64(time.Second))
			row.Train = &ti
		}
		evaluated := epoch == 0 || rec[9+len(Metrics)] != ""
		for k, m := range Metrics {
			if !evaluated {
				if rec[8+k] != "" {
					return nil, bad(8+k, errors.New("a metric of an epoch without eval_seconds"))
				}
				continue
			}
			v, err := num(8 + k)
			if err != nil {
				return nil, err
			}
			row.Metrics[m.Name] = accuracy.Value{Scalar: v}
		}
		if !evaluated {
			row.Metrics = nil
		} else if row.EvalSeconds, err = num(9 + len(Metrics)); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// primary returns a row's PrimaryMetric and whether it is a number (false
// for an epoch that was not evaluated).
func (row Row) primary() (float64, bool) {
	if row.Metrics == nil {
		return 0, false
	}
	v := row.Metrics[PrimaryMetric].Scalar
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

// best returns the best PrimaryMetric of the trained rows (-Inf if none).
func best(rows []Row) float64 {
	b, _ := bestEpoch(rows)
	return b
}

// bestEpoch returns the best PrimaryMetric of the trained, evaluated rows
// and the first epoch that scored it (-Inf and -1 if none): PML's
// HookContainer's best epoch, a later epoch counting only if strictly
// better.
func bestEpoch(rows []Row) (float64, int) {
	b, e := math.Inf(-1), -1
	for _, r := range rows {
		if v, ok := r.primary(); ok && r.Epoch > 0 && v > b {
			b, e = v, r.Epoch
		}
	}
	return b, e
}

// plateaued reports whether -patience stops the run after the evaluation
// of epoch: as PML's HookContainer.patience_remaining, when the epochs
// since the best one exceed patience (0: never).
func plateaued(rows []Row, epoch, patience int) (bool, int) {
	_, b := bestEpoch(rows)
	return patience > 0 && b > 0 && epoch-b > patience, b
}
