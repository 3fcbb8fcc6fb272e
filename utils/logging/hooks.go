package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

const hcName = "logging.HookContainer"

// Tester is what a HookContainer evaluates with: testers.GlobalEmbeddingSpace
// (and WithSameParentLabel) implement it. Test embeds the splits with enc
// and returns each query split's metrics (PML's tester.test).
// Implementations need not be safe for concurrent use: a HookContainer
// calls Test from one goroutine at a time.
type Tester interface {
	Test(ctx context.Context, enc testers.Embedder, splits map[string]datasets.Dataset, evals ...testers.Eval) (map[string]accuracy.Results, error)
}

// Trainer is what a HookContainer attaches to: every trainer of package
// trainers (MetricLossOnly, TrainWithClassifier, TwoStreamMetricLoss, Base;
// Attach knows their hooks). Implementations need not be safe for
// concurrent use: a HookContainer calls them from one goroutine.
type Trainer interface {
	Train(ctx context.Context, startEpoch, numEpochs int) ([]trainers.EpochInfo, error)
	Components() []trainers.Component
}

// maxMetrics bounds the recorded metric columns.
const maxMetrics = 256

// HookContainer mirrors PML's utils.logging_presets.HookContainer: the
// end-of-iteration and end-of-epoch hooks that record a run, evaluate it
// every TestInterval epochs, keep its latest and best checkpoints in Dir
// (PML's model_folder), step the plateau schedulers with the validation
// metric and stop training when the validation metric stops improving
// (patience); and LoadLatest, PML's load_latest_saved_models.
//
// A checkpoint holds every component of the trainer (trainers.Component:
// each model, the learnable loss's parameters, every optimizer's and
// scheduler's state), PlateauSchedulers and Extra, one file each named by
// FileName: EpochCheckpoint(N) after epoch N (only the last epoch's is
// kept; a resumed run continues from it), BestCheckpoint at the best
// evaluated epoch by PrimaryMetric on ValidationSplit, replaced only by a
// strictly better one (PML's rule; epoch 0, the untrained model, is never
// the best). The record keeper writes RecordFile (one line per epoch),
// IterationsFile (one line per iteration) and PlotFile (the loss of every
// iteration with a smoothed curve, the metrics per epoch).
//
// What the files guarantee, wherever the process dies (kill -9
// included): every file is written atomically (internal/atomicfile), so
// each is whole; the epoch's checkpoint is written before the records,
// the best checkpoint is a copy of the epoch's files made after the
// records, and the previous epoch's files are deleted last, so the record
// always names an epoch whose checkpoint exists and LoadLatest resumes
// from it (deleting the files of an epoch the record does not name,
// dropping iteration lines beyond it, and repairing a best checkpoint
// whose copy was cut short). A Dir holding an earlier run's trained
// weights is refused (EarlierRunError) unless Resume or Overwrite is set.
// A resumed run gives the numbers of the uninterrupted one: every
// component's state is restored and the trainers seek their sampler to
// the epoch. (A random miner's or loss's own generator is not part of a
// checkpoint: it restarts from its seed.)
//
// Make it with NewHookContainer; the zero value has no Dir, Tester or
// data sets and is refused, as a nil *HookContainer, with an error
// wrapping gometric.ErrSetting that names NewHookContainer. The other
// fields' zero values are PML's defaults, documented per field. A
// HookContainer is not safe for concurrent use: it is the state of one
// training run.
type HookContainer struct {
	// Dir is the directory of the checkpoints and records (PML's
	// model_folder); it is created if missing.
	Dir string
	// Tester evaluates the models (PML's tester) on Datasets (PML's
	// dataset_dict).
	Tester   Tester
	Datasets map[string]datasets.Dataset
	// SplitsToEval are the evaluations of each test (PML's
	// splits_to_eval); nil evaluates every split against itself.
	SplitsToEval []testers.Eval
	// ValidationSplit is the split whose PrimaryMetric picks the best
	// epoch. If ValidationSplit is "", "val" is used (PML's default).
	ValidationSplit string
	// PrimaryMetric decides the best epoch. If PrimaryMetric is "",
	// "mean_average_precision_at_r" is used (PML's default); the tester
	// must compute it.
	PrimaryMetric string
	// Metrics are the validation split's metrics recorded as RecordFile's
	// columns and plotted. If Metrics is nil, every metric of the first
	// evaluation is, in name order; a resumed run keeps its record's.
	Metrics []string
	// Labels are short names of metrics for the plot and the log (e.g.
	// "MAP@R"); a metric without one is shown by its name.
	Labels map[string]string
	// TestInterval tests every TestInterval epochs (PML's test_interval)
	// and after the last epoch of Train. If TestInterval is 0, 1 is used.
	TestInterval int
	// Patience stops training once the epoch minus the best epoch
	// exceeds it, checked after each test (PML's patience). If Patience is
	// 0, training is never stopped early (PML's None).
	Patience int
	// TestAtStart tests the untrained models before the first epoch of a
	// new run and records them as epoch 0 (never the best).
	TestAtStart bool
	// Resume continues the run recorded in Dir; Overwrite deletes its
	// files and starts again. With neither, a Dir holding trained weights
	// is refused. Setting both is an error.
	Resume, Overwrite bool
	// PlateauSchedulers are stepped with the validation PrimaryMetric
	// after each test (PML's trainer.step_lr_plateau_schedulers, its
	// "_scheduler_by_plateau" schedulers; set their Mode to "max" for an
	// accuracy) and checkpointed as "lr_scheduler_by_plateau_<i>".
	PlateauSchedulers []*models.ReduceLROnPlateau
	// Extra are components checkpointed beside the trainer's (a
	// trainers.Base's own models and optimizers). Roles are of lower-case
	// letters, digits and "_", unique among all components.
	Extra []trainers.Component
	// Log, when not nil, receives a line per event: files removed or
	// deleted, a new best, an early stop, an interruption.
	Log io.Writer
	// OnRecord, when not nil, is called with each epoch's record after it
	// is written (a program prints it); its error stops training.
	OnRecord func(rec EpochRecord) error

	made bool

	// The run's state.
	ctx       context.Context
	trainer   Trainer
	comps     []trainers.Component
	model     testers.Embedder
	numEpochs int
	loaded    bool
	records   []EpochRecord
	metrics   []string
	iterData  []byte    // the per-iteration CSV through the last record
	pending   []byte    // the current epoch's lines
	iterLoss  []float64 // the recorded iterations' losses
	pendLoss  []float64
	best      float64
	bestEpoch int
	kept      int // the epoch whose checkpoint is kept (-1: none)
	stopped   bool
}

// NewHookContainer returns a HookContainer writing into dir, testing with
// tester on splits (PML's HookContainer with end_of_epoch_hook(tester,
// dataset_dict, model_folder)), with PML's defaults otherwise: validation
// split "val", primary metric mean_average_precision_at_r, a test every
// epoch, no patience.
func NewHookContainer(dir string, tester Tester, splits map[string]datasets.Dataset) *HookContainer {
	return &HookContainer{Dir: dir, Tester: tester, Datasets: splits, made: true}
}

func (h *HookContainer) validation() string {
	if h.ValidationSplit == "" {
		return "val"
	}
	return h.ValidationSplit
}

func (h *HookContainer) primary() string {
	if h.PrimaryMetric == "" {
		return accuracy.NameMeanAveragePrecisionAtR
	}
	return h.PrimaryMetric
}

func (h *HookContainer) interval() int { return max(h.TestInterval, 1) }

func (h *HookContainer) label(metric string) string {
	if s := h.Labels[metric]; s != "" {
		return s
	}
	return metric
}

// logf writes a line to Log.
func (h *HookContainer) logf(format string, args ...any) {
	if h.Log != nil {
		fmt.Fprintf(h.Log, format+"\n", args...)
	}
}

// validate checks the settings.
func (h *HookContainer) validate() error {
	if h == nil {
		return fmt.Errorf("%s: nil receiver: %w", hcName, gometric.ErrSetting)
	}
	if !h.made && h.Dir == "" && check.Nil(h.Tester) && h.Datasets == nil {
		return fmt.Errorf("%s: not made by NewHookContainer (the zero value has no Dir, Tester or data sets); use NewHookContainer(dir, tester, splits): %w", hcName, gometric.ErrSetting)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: "+format+": %w", append(append([]any{hcName}, args...), gometric.ErrSetting)...)
	}
	switch {
	case h.Dir == "":
		return bad("Dir is empty")
	case check.Nil(h.Tester):
		return bad("Tester is nil")
	case h.TestInterval < 0:
		return bad("TestInterval = %d, want at least 0 (0: every epoch)", h.TestInterval)
	case h.Patience < 0:
		return bad("Patience = %d, want at least 0 (0: none)", h.Patience)
	case h.Resume && h.Overwrite:
		return bad("both Resume and Overwrite are set; choose one")
	case len(h.Metrics) > maxMetrics:
		return bad("Metrics holds %d names, want at most %d", len(h.Metrics), maxMetrics)
	}
	if _, ok := h.Datasets[h.validation()]; !ok {
		return bad("Datasets has no validation split %q (ValidationSplit; splits: %q)", h.validation(), slices.Sorted(maps.Keys(h.Datasets)))
	}
	for name, ds := range h.Datasets {
		if check.Nil(ds) {
			return bad("Datasets[%q] is nil", name)
		}
	}
	if h.SplitsToEval != nil && !slices.ContainsFunc(h.SplitsToEval, func(e testers.Eval) bool { return e.Query == h.validation() }) {
		return bad("SplitsToEval does not evaluate the validation split %q", h.validation())
	}
	for i, m := range h.Metrics {
		if m == "" || strings.ContainsAny(m, ",\"\n\r") || slices.Contains(h.Metrics[:i], m) || slices.Contains(epochHead, m) || slices.Contains(epochTail, m) {
			return bad("Metrics[%d] = %q: want distinct metric names", i, m)
		}
	}
	if h.Metrics != nil && !slices.Contains(h.Metrics, h.primary()) {
		return bad("Metrics %q do not hold PrimaryMetric %q", h.Metrics, h.primary())
	}
	for i, s := range h.PlateauSchedulers {
		if s == nil {
			return bad("PlateauSchedulers[%d] is nil", i)
		}
	}
	return nil
}

// Attach validates the settings, makes h the hooks of t (replacing its
// EndOfIterationHook and EndOfEpochHook: every trainer of package
// trainers has these two fields, of type func(*T, trainers.IterationInfo)
// error and func(*T, trainers.EpochInfo) error for its own type *T, and
// Attach sets any trainer that has them) and takes its components
// (t.Components(), PlateauSchedulers and Extra, as they are now). ctx is
// the context of the tests the hooks run; use the one given to Train.
func (h *HookContainer) Attach(ctx context.Context, t Trainer) error {
	if err := h.validate(); err != nil {
		return err
	}
	if ctx == nil {
		return fmt.Errorf("%s: nil context: %w", hcName, gometric.ErrSetting)
	}
	if check.Nil(t) {
		return fmt.Errorf("%s: nil trainer: %w", hcName, gometric.ErrSetting)
	}
	setHooks, err := h.hooksOf(t)
	if err != nil {
		return err
	}
	comps := slices.Clone(t.Components())
	for i, s := range h.PlateauSchedulers {
		comps = append(comps, trainers.Component{Role: "lr_scheduler_by_plateau_" + strconv.Itoa(i), Kind: trainers.SchedulerComponent, Save: s.SaveState, Load: s.LoadState})
	}
	comps = append(comps, h.Extra...)
	var trunk, embedder models.Encoder
	for i, c := range comps {
		switch {
		case !roleRE.MatchString(c.Role):
			return fmt.Errorf("%s: component %d's role %q: want lower-case letters, digits and _: %w", hcName, i, c.Role, gometric.ErrSetting)
		case slices.ContainsFunc(comps[:i], func(o trainers.Component) bool { return o.Role == c.Role }):
			return fmt.Errorf("%s: two components have the role %q: %w", hcName, c.Role, gometric.ErrSetting)
		case c.Save == nil || c.Load == nil:
			return fmt.Errorf("%s: component %q has no Save or Load: %w", hcName, c.Role, gometric.ErrSetting)
		case c.Kind < trainers.ModelComponent || c.Kind > trainers.LossComponent:
			return fmt.Errorf("%s: component %q has kind %v: %w", hcName, c.Role, c.Kind, gometric.ErrSetting)
		case c.Kind == trainers.ModelComponent && check.Nil(c.Model):
			return fmt.Errorf("%s: model component %q has no Model: %w", hcName, c.Role, gometric.ErrSetting)
		}
		if c.Kind == trainers.ModelComponent {
			switch c.Role {
			case roleTrunk:
				trunk = c.Model
			case "embedder":
				embedder = c.Model
			}
		}
	}
	if trunk == nil {
		return fmt.Errorf("%s: the trainer has no trunk component: %w", hcName, gometric.ErrSetting)
	}
	var model testers.Embedder = trunk
	if embedder != nil {
		model = testers.TrunkEmbedder{Trunk: trunk, Embedder: embedder}
	}
	setHooks()
	if h.trainer != t {
		h.loaded = false
	}
	h.ctx, h.trainer, h.comps, h.model = ctx, t, comps, model
	return nil
}

// reset empties the run's state.
func (h *HookContainer) reset() {
	h.records, h.metrics, h.pending, h.pendLoss, h.iterLoss = nil, slices.Clone(h.Metrics), nil, nil, nil
	h.iterData = encodeHeader()
	h.best, h.bestEpoch, h.kept, h.stopped = math.Inf(-1), -1, -1, false
}

func encodeHeader() []byte {
	return []byte(strings.Join(iterationHeader, ",") + "\n")
}

func (h *HookContainer) path(name string) string { return filepath.Join(h.Dir, name) }

// LoadLatest prepares Dir for the attached trainer and returns the epoch
// to train from (PML's load_latest_saved_models): 1 for a new run, the
// epoch after the last recorded one when resuming. It creates Dir,
// removes the temporary files of a killed run, refuses a Dir holding an
// earlier run's trained weights unless Resume or Overwrite is set
// (EarlierRunError), deletes that run's files under Overwrite, and under
// Resume reads the records back and loads every component from the last
// recorded epoch's checkpoint (a ComponentError names a file the trainer
// has no component for, a component with no file, or a file that does
// not load).
func (h *HookContainer) LoadLatest() (int, error) {
	if err := h.validate(); err != nil {
		return 0, err
	}
	if h.trainer == nil {
		return 0, fmt.Errorf("%s: LoadLatest before Attach: %w", hcName, gometric.ErrSetting)
	}
	h.reset()
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return 0, err
	}
	removed, err := cleanTemps(h.Dir)
	if err != nil {
		return 0, err
	}
	if len(removed) > 0 {
		h.logf("removed %d unfinished temporary file(s) of an interrupted run from %s", len(removed), h.Dir)
	}
	pr, err := findPrior(h.Dir)
	if err != nil {
		return 0, err
	}
	switch {
	case pr.trained() && !h.Resume && !h.Overwrite:
		return 0, &EarlierRunError{Dir: h.Dir, Files: pr.describe()}
	case h.Overwrite && (pr.trained() || pr.records):
		all := append(pr.describe(), pr.other...)
		if err := removeAll(h.Dir, all); err != nil {
			return 0, err
		}
		h.logf("deleted the earlier run in %s (%s)", h.Dir, strings.Join(pr.describe(), ", "))
		pr = prior{}
	}
	h.loaded = false
	if !h.Resume {
		h.loaded = true
		return 1, nil
	}
	var metrics []string
	var records []EpochRecord
	if pr.records {
		if metrics, records, err = ReadEpochs(h.path(RecordFile)); err != nil {
			return 0, err
		}
	}
	if len(metrics) == 0 {
		metrics = slices.Clone(h.Metrics) // no test recorded yet
	}
	if h.Metrics != nil && !slices.Equal(h.Metrics, metrics) {
		return 0, fmt.Errorf("%s: %s records the metrics %q; Metrics is %q: %w", hcName, h.path(RecordFile), metrics, h.Metrics, gometric.ErrSetting)
	}
	if metrics != nil && !slices.Contains(metrics, h.primary()) {
		return 0, fmt.Errorf("%s: %s does not record PrimaryMetric %q (its metrics: %q): %w", hcName, h.path(RecordFile), h.primary(), metrics, gometric.ErrSetting)
	}
	done := 0
	if len(records) > 0 {
		done = records[len(records)-1].Epoch
	}
	if len(pr.best) > 0 && done < 1 {
		return 0, fmt.Errorf("%s: %s records no trained epoch but %s holds trained weights (%s); set Overwrite to start again: %w",
			hcName, h.path(RecordFile), h.Dir, strings.Join(pr.best, ", "), gometric.ErrSetting)
	}
	// The checkpoints of other epochs are an unfinished epoch's (killed
	// before its record) or a finished run's leftovers.
	for e, names := range pr.epochs {
		if e != done {
			if err := removeAll(h.Dir, names); err != nil {
				return 0, err
			}
		}
	}
	iterRecs, iterData, err := h.readIterations(done)
	if err != nil {
		return 0, err
	}
	if done >= 1 {
		if err := h.load(done, pr.epochs[done]); err != nil {
			return 0, err
		}
		h.kept = done
	}
	h.records, h.metrics, h.iterData = records, metrics, iterData
	for _, r := range iterRecs {
		h.iterLoss = append(h.iterLoss, r.Loss)
	}
	h.best, h.bestEpoch = bestOf(records, h.primary())
	if done >= 1 && h.bestEpoch == done {
		// Repair a best checkpoint whose copy a kill cut short.
		if err := h.copyBest(done); err != nil {
			return 0, err
		}
	}
	h.loaded = true
	return done + 1, nil
}

// readIterations reads IterationsFile's lines up to epoch done (none if
// the file is missing).
func (h *HookContainer) readIterations(done int) ([]IterationRecord, []byte, error) {
	b, err := readLimited(h.path(IterationsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, encodeHeader(), nil
	}
	if err != nil {
		return nil, nil, err
	}
	recs, keep, err := decodeIterations(b, done)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", h.path(IterationsFile), err)
	}
	return recs, b[:keep:keep], nil
}

// load reads every component from epoch's checkpoint, whose files are
// names.
func (h *HookContainer) load(epoch int, names []string) error {
	ck := EpochCheckpoint(epoch)
	slices.Sort(names)
	for _, n := range names {
		pn, _ := parseName(n)
		if !slices.ContainsFunc(h.comps, func(c trainers.Component) bool { return c.Role == pn.role && FileName(ck, c.Role, c.Kind) == n }) {
			return &ComponentError{Role: pn.role, Path: h.path(n), Err: fmt.Errorf("the run has a %q the trainer has not (its components: %s): %w", pn.role, roles(h.comps), gometric.ErrSetting)}
		}
	}
	for _, c := range h.comps {
		if n := FileName(ck, c.Role, c.Kind); !slices.Contains(names, n) {
			return &ComponentError{Role: c.Role, Path: h.path(n), Err: fmt.Errorf("the run has no %q %v (no %s): %w", c.Role, c.Kind, n, gometric.ErrSetting)}
		}
	}
	for _, c := range h.comps {
		p := h.path(FileName(ck, c.Role, c.Kind))
		if err := c.Load(p); err != nil {
			return &ComponentError{Role: c.Role, Path: p, Err: err}
		}
	}
	return nil
}

func roles(cs []trainers.Component) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Role
	}
	return strings.Join(out, ", ")
}

// bestOf returns the best finite metric of the trained epochs and the
// first epoch that scored it (-Inf and -1 if none): a later epoch counts
// only if strictly better, as PML's is_new_best_accuracy.
func bestOf(records []EpochRecord, metric string) (float64, int) {
	b, e := math.Inf(-1), -1
	for _, r := range records {
		if v, ok := r.Primary(metric); ok && r.Epoch > 0 && v > b {
			b, e = v, r.Epoch
		}
	}
	return b, e
}

// copyBest copies epoch's checkpoint to BestCheckpoint, the trunk last.
func (h *HookContainer) copyBest(epoch int) error {
	ck := EpochCheckpoint(epoch)
	for i := len(h.comps) - 1; i >= 0; i-- {
		c := h.comps[i]
		if err := copyFile(h.path(FileName(ck, c.Role, c.Kind)), h.path(FileName(BestCheckpoint, c.Role, c.Kind))); err != nil {
			return err
		}
	}
	return nil
}

// test evaluates the models on the validation split.
func (h *HookContainer) test() (EpochRecord, error) {
	var rec EpochRecord
	start := time.Now()
	res, err := h.Tester.Test(h.ctx, h.model, h.Datasets, h.SplitsToEval...)
	if err != nil {
		return rec, err
	}
	val, ok := res[h.validation()]
	if !ok {
		return rec, fmt.Errorf("%s: the tester returned no results for the validation split %q: %w", hcName, h.validation(), gometric.ErrSetting)
	}
	if _, ok := val[h.primary()]; !ok {
		return rec, fmt.Errorf("%s: PrimaryMetric %q must be one of the tester's metrics %q (PML's HookContainer raises the same): %w", hcName, h.primary(), val.Names(), gometric.ErrSetting)
	}
	if h.metrics == nil {
		h.metrics = val.Names()
		if len(h.metrics) > maxMetrics {
			h.metrics = []string{h.primary()}
		}
	}
	rec.Metrics, rec.EvalSeconds, rec.Warnings = val, time.Since(start).Seconds(), val.Warnings()
	return rec, nil
}

// write writes the records and the plot.
func (h *HookContainer) write() error {
	if err := copyBytes(h.path(IterationsFile), h.iterData); err != nil {
		return err
	}
	if err := atomicfile.Write(h.path(RecordFile), func(w io.Writer) error { return WriteEpochs(w, h.metrics, h.records) }); err != nil {
		return err
	}
	return atomicfile.Write(h.path(PlotFile), func(w io.Writer) error { return WritePlot(w, h.records, h.iterLoss, h.metrics, h.Labels) })
}

// record appends rec, writes the records and calls OnRecord.
func (h *HookContainer) record(rec EpochRecord) error {
	h.records = append(h.records, rec)
	h.iterData = append(h.iterData, h.pending...)
	h.iterLoss = append(h.iterLoss, h.pendLoss...)
	h.pending, h.pendLoss = h.pending[:0], h.pendLoss[:0]
	return h.write()
}

// EndOfIterationHook records one iteration (PML's end_of_iteration_hook):
// the lines are kept in memory and written with the epoch's record.
func (h *HookContainer) EndOfIterationHook(it trainers.IterationInfo) error {
	if h == nil {
		return fmt.Errorf("%s.EndOfIterationHook: nil receiver: %w", hcName, gometric.ErrSetting)
	}
	if !h.loaded {
		return fmt.Errorf("%s.EndOfIterationHook: call Attach and LoadLatest first: %w", hcName, gometric.ErrSetting)
	}
	h.pending = encodeIteration(h.pending, it)
	h.pendLoss = append(h.pendLoss, it.Loss)
	return nil
}

// EndOfEpochHook is PML's end_of_epoch_hook after a complete epoch: it
// tests every TestInterval epochs and after Train's last epoch, steps
// PlateauSchedulers with the validation PrimaryMetric, saves the epoch's
// checkpoint, writes the records, copies the checkpoint to the best one
// when the epoch is strictly better than every earlier one, deletes the
// previous epoch's checkpoint, calls OnRecord, and returns
// trainers.ErrStopTraining when the epochs since the best exceed
// Patience.
func (h *HookContainer) EndOfEpochHook(ep trainers.EpochInfo) error {
	if h == nil {
		return fmt.Errorf("%s.EndOfEpochHook: nil receiver: %w", hcName, gometric.ErrSetting)
	}
	if !h.loaded {
		return fmt.Errorf("%s.EndOfEpochHook: call Attach and LoadLatest first: %w", hcName, gometric.ErrSetting)
	}
	if ep.Epoch < 1 {
		return fmt.Errorf("%s.EndOfEpochHook: epoch %d, want at least 1: %w", hcName, ep.Epoch, gometric.ErrSetting)
	}
	if n := len(h.records); n > 0 && ep.Epoch != h.records[n-1].Epoch+1 {
		return fmt.Errorf("%s.EndOfEpochHook: epoch %d after epoch %d: the epochs must follow each other (train from LoadLatest's start epoch): %w", hcName, ep.Epoch, h.records[n-1].Epoch, gometric.ErrSetting)
	}
	rec := EpochRecord{Epoch: ep.Epoch}
	if ep.Epoch%h.interval() == 0 || ep.Epoch == h.numEpochs {
		var err error
		if rec, err = h.test(); err != nil {
			return err
		}
		rec.Epoch = ep.Epoch
		if v, ok := rec.Primary(h.primary()); ok {
			for i, s := range h.PlateauSchedulers {
				if err := s.Step(v); err != nil {
					return fmt.Errorf("%s: PlateauSchedulers[%d]: %w", hcName, i, err)
				}
			}
		}
	}
	info := ep
	rec.Train = &info
	ck := EpochCheckpoint(ep.Epoch)
	for _, c := range h.comps {
		if err := c.Save(h.path(FileName(ck, c.Role, c.Kind))); err != nil {
			return fmt.Errorf("%s: saving %q: %w", hcName, c.Role, err)
		}
	}
	if err := h.record(rec); err != nil {
		return err
	}
	if v, ok := rec.Primary(h.primary()); ok && v > h.best {
		if err := h.copyBest(ep.Epoch); err != nil {
			return err
		}
		h.best, h.bestEpoch = v, ep.Epoch
	}
	if h.kept >= 0 && h.kept != ep.Epoch {
		var names []string
		for _, c := range h.comps {
			names = append(names, FileName(EpochCheckpoint(h.kept), c.Role, c.Kind))
		}
		if err := removeAll(h.Dir, names); err != nil {
			return err
		}
	}
	h.kept = ep.Epoch
	if h.OnRecord != nil {
		if err := h.OnRecord(rec); err != nil {
			return err
		}
	}
	if rec.Metrics != nil && h.plateaued(ep.Epoch) {
		h.stopped = true
		h.logf("stopping early: %s has not improved since epoch %d (best %.4f), %d epochs ago (patience %d, as PML's HookContainer)",
			h.label(h.primary()), h.bestEpoch, h.best, ep.Epoch-h.bestEpoch, h.Patience)
		return trainers.ErrStopTraining
	}
	return nil
}

// plateaued reports whether Patience stops training after the test of
// epoch (PML's patience_remaining).
func (h *HookContainer) plateaued(epoch int) bool {
	return h.Patience > 0 && h.bestEpoch > 0 && epoch-h.bestEpoch > h.Patience
}

// Train runs the whole of a logged run on t: Attach and LoadLatest
// (unless already done for t), a test of the untrained models as epoch 0
// when TestAtStart is set and nothing is recorded, then t.Train from the
// start epoch to numEpochs. A run whose record already reaches numEpochs,
// or that Patience had stopped, trains nothing. When ctx is cancelled it
// saves the models to InterruptedCheckpoint (the other checkpoints stay
// as they were) and returns the trainer's error, which wraps ctx.Err().
func (h *HookContainer) Train(ctx context.Context, t Trainer, numEpochs int) ([]trainers.EpochInfo, error) {
	if err := h.validate(); err != nil {
		return nil, err
	}
	if err := h.Attach(ctx, t); err != nil {
		return nil, err
	}
	if !h.loaded {
		if _, err := h.LoadLatest(); err != nil {
			return nil, err
		}
	}
	h.numEpochs = numEpochs
	if h.TestAtStart && len(h.records) == 0 {
		rec, err := h.test()
		if err != nil {
			if ctx.Err() != nil {
				return nil, h.interrupted(err, 0, 0)
			}
			return nil, err
		}
		if err := h.record(rec); err != nil {
			return nil, err
		}
		if h.OnRecord != nil {
			if err := h.OnRecord(rec); err != nil {
				return nil, err
			}
		}
	}
	if n := len(h.records); n > 0 {
		last := h.records[n-1]
		if last.Metrics != nil && h.plateaued(last.Epoch) {
			h.stopped = true
			h.logf("%s records that %s stopped improving at epoch %d (patience %d, tested at epoch %d): nothing to train",
				h.path(RecordFile), h.label(h.primary()), h.bestEpoch, h.Patience, last.Epoch)
			return nil, nil
		}
		if last.Epoch >= numEpochs && last.Epoch > 0 {
			h.logf("%s already records %d epochs (of %d): nothing to train", h.path(RecordFile), last.Epoch, numEpochs)
			return nil, nil
		}
	}
	start := 1
	if n := len(h.records); n > 0 {
		start = h.records[n-1].Epoch + 1
	}
	if start > numEpochs {
		return nil, nil
	}
	eps, err := t.Train(ctx, start, numEpochs)
	if err != nil && ctx.Err() != nil {
		epoch, its := start, 0
		if n := len(eps); n > 0 {
			epoch, its = eps[n-1].Epoch, eps[n-1].Iterations
		}
		return eps, h.interrupted(err, epoch, its)
	}
	return eps, err
}

// interrupted saves the models to InterruptedCheckpoint and returns err.
func (h *HookContainer) interrupted(err error, epoch, its int) error {
	var saved []string
	for _, c := range h.comps {
		if c.Kind != trainers.ModelComponent {
			continue
		}
		p := h.path(FileName(InterruptedCheckpoint, c.Role, c.Kind))
		if serr := c.Model.Save(p); serr != nil {
			return errors.Join(err, serr)
		}
		saved = append(saved, p)
	}
	h.logf("interrupted in epoch %d after %d iterations: weights saved to %s; the checkpoints are as they were", epoch, its, strings.Join(saved, ", "))
	return err
}

// Records returns the per-epoch records of the run so far (those read
// back when resuming included). A nil receiver returns nil.
func (h *HookContainer) Records() []EpochRecord {
	if h == nil {
		return nil
	}
	return slices.Clone(h.records)
}

// Best returns the best epoch by the validation PrimaryMetric and its
// value (-1 and -Inf before any test). A nil receiver returns -1, -Inf.
func (h *HookContainer) Best() (int, float64) {
	if h == nil || !h.loaded {
		return -1, math.Inf(-1)
	}
	return h.bestEpoch, h.best
}

// Stopped reports whether Patience stopped the run (during Train, or as
// recorded when resuming). False for a nil receiver.
func (h *HookContainer) Stopped() bool { return h != nil && h.stopped }

// hooksOf returns the function that sets t's EndOfIterationHook and
// EndOfEpochHook fields (of types func(T, trainers.IterationInfo) error
// and func(T, trainers.EpochInfo) error, T being t's own pointer type) to
// h's hooks.
func (h *HookContainer) hooksOf(t Trainer) (func(), error) {
	v := reflect.ValueOf(t)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s: cannot attach to a %T: not a pointer to a trainer struct: %w", hcName, t, gometric.ErrUnsupported)
	}
	errType := reflect.TypeFor[error]()
	fields := []struct {
		name string
		info reflect.Type
		call func(arg reflect.Value) error
	}{
		{"EndOfIterationHook", reflect.TypeFor[trainers.IterationInfo](), func(a reflect.Value) error {
			return h.EndOfIterationHook(a.Interface().(trainers.IterationInfo))
		}},
		{"EndOfEpochHook", reflect.TypeFor[trainers.EpochInfo](), func(a reflect.Value) error {
			return h.EndOfEpochHook(a.Interface().(trainers.EpochInfo))
		}},
	}
	var set []func()
	for _, f := range fields {
		fv := v.Elem().FieldByName(f.name)
		if !fv.IsValid() || !fv.CanSet() || fv.Kind() != reflect.Func || fv.Type().NumIn() != 2 || fv.Type().NumOut() != 1 ||
			fv.Type().In(0) != v.Type() || fv.Type().In(1) != f.info || fv.Type().Out(0) != errType {
			return nil, fmt.Errorf("%s: cannot attach to a %T: it has no field %s func(%T, %v) error: %w", hcName, t, f.name, t, f.info, gometric.ErrUnsupported)
		}
		call := f.call
		hook := reflect.MakeFunc(fv.Type(), func(args []reflect.Value) []reflect.Value {
			err := call(args[1])
			out := reflect.New(errType).Elem()
			if err != nil {
				out.Set(reflect.ValueOf(err))
			}
			return []reflect.Value{out}
		})
		set = append(set, func() { fv.Set(hook) })
	}
	return func() {
		for _, s := range set {
			s()
		}
	}, nil
}
