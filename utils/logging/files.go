package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/trainers"
)

// The files a HookContainer writes into its Dir besides the checkpoints.
const (
	// RecordFile is the per-epoch CSV (ReadEpochs reads it).
	RecordFile = "run.csv"
	// IterationsFile is the per-iteration CSV (ReadIterations reads it).
	IterationsFile = "iterations.csv"
	// PlotFile is the PNG of the run (WritePlot).
	PlotFile = "run.png"
)

// The checkpoints' names: a component's file is the checkpoint's name,
// then "-" and its role unless the role is "trunk", then its kind's
// extension (FileName).
const (
	// BestCheckpoint holds every component at the best epoch by the
	// primary metric (PML's "best" suffix): checkpoint.gmw is the trunk.
	BestCheckpoint = "checkpoint"
	// InterruptedCheckpoint holds the models when training was
	// cancelled (interrupted.gmw is the trunk).
	InterruptedCheckpoint = "interrupted"
)

// EpochCheckpoint is the name of the checkpoint after epoch (PML's
// latest models, suffixed by the epoch): "epoch-3", so epoch-3.gmw is the
// trunk.
func EpochCheckpoint(epoch int) string { return "epoch-" + strconv.Itoa(epoch) }

// FileName is the file of the component of role and kind in checkpoint:
// checkpoint + "-" + role (nothing for "trunk") + ".gmw" for a model
// (models.LoadEncoder reads it), ".gms" for an optimizer's or scheduler's
// state, ".gmp" for a loss's parameters (losses.LoadParams).
func FileName(checkpoint, role string, kind trainers.ComponentKind) string {
	name := checkpoint
	if role != roleTrunk {
		name += "-" + role
	}
	switch kind {
	case trainers.ModelComponent:
		return name + ".gmw"
	case trainers.LossComponent:
		return name + ".gmp"
	}
	return name + ".gms"
}

const roleTrunk = "trunk"

// roleRE is the form of a component's role.
var roleRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// fileRE matches a checkpoint file: its checkpoint, epoch, role.
var fileRE = regexp.MustCompile(`^(epoch-(\d{1,18})|checkpoint|interrupted)(?:-([a-z0-9_]{1,64}))?\.(gmw|gms|gmp)$`)

// parsed is a checkpoint file's name, parsed.
type parsed struct {
	checkpoint string
	epoch      int // -1 unless an epoch checkpoint
	role       string
}

func parseName(name string) (parsed, bool) {
	m := fileRE.FindStringSubmatch(name)
	if m == nil {
		return parsed{}, false
	}
	p := parsed{checkpoint: m[1], epoch: -1, role: m[3]}
	if p.role == "" {
		p.role = roleTrunk
	}
	if m[2] != "" {
		e, err := strconv.Atoi(m[2])
		if err != nil {
			return parsed{}, false
		}
		p.epoch = e
	}
	return p, true
}

// ours reports whether name is a file a HookContainer writes.
func ours(name string) bool {
	switch name {
	case RecordFile, IterationsFile, PlotFile:
		return true
	}
	_, ok := parseName(name)
	return ok
}

// cleanTemps removes the temporary files a killed run left behind
// (atomicfile's, for the container's own files only).
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

// prior is what an earlier run left in the directory.
type prior struct {
	best    []string         // best checkpoint files
	epochs  map[int][]string // epoch checkpoint files by epoch (names)
	other   []string         // the records, plot and interrupted files
	records bool             // RecordFile exists
}

func (p prior) trained() bool { return len(p.best) > 0 || len(p.epochs) > 0 }

// describe lists the trained weights' files: the best trunk first.
func (p prior) describe() []string {
	var out []string
	if slices.Contains(p.best, BestCheckpoint+".gmw") {
		out = append(out, BestCheckpoint+".gmw")
	}
	for _, f := range p.best {
		if f != BestCheckpoint+".gmw" {
			out = append(out, f)
		}
	}
	es := make([]int, 0, len(p.epochs))
	for e := range p.epochs {
		es = append(es, e)
	}
	slices.Sort(es)
	for _, e := range es {
		out = append(out, p.epochs[e]...)
	}
	return out
}

func findPrior(dir string) (prior, error) {
	p := prior{epochs: map[int][]string{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return p, err
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !ours(name) {
			continue
		}
		pn, ok := parseName(name)
		switch {
		case !ok || pn.checkpoint == InterruptedCheckpoint:
			p.other = append(p.other, name)
			p.records = p.records || name == RecordFile
		case pn.epoch >= 0:
			p.epochs[pn.epoch] = append(p.epochs[pn.epoch], name)
		default:
			p.best = append(p.best, name)
		}
	}
	return p, nil
}

// removeAll deletes the named files of dir (a missing one is no error).
func removeAll(dir string, names []string) error {
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// EarlierRunError is LoadLatest's refusal of a Dir that holds an earlier
// run's trained weights when neither Resume nor Overwrite is set, so that
// a run never replaces a trained checkpoint unasked. It wraps
// gometric.ErrSetting. It is a plain value, safe for concurrent reads.
type EarlierRunError struct {
	Dir string
	// Files are the earlier run's weight files (the best trunk first).
	Files []string
}

func (e *EarlierRunError) Error() string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s: %s holds an earlier run's trained weights (%s): set Resume to continue it, Overwrite to delete it and start again, or choose another Dir: %v",
		hcName, e.Dir, strings.Join(e.Files, ", "), gometric.ErrSetting)
}

// Unwrap returns gometric.ErrSetting.
func (e *EarlierRunError) Unwrap() error { return gometric.ErrSetting }

// ComponentError is LoadLatest's error about one component of the
// checkpoint it resumes from: a file the trainer has no component for
// (the run had a model, optimizer or scheduler that this trainer lacks),
// a component with no file (the trainer has one the run lacked), or a
// file that does not load into the component (another architecture or
// schedule). It is a plain value, safe for concurrent reads.
type ComponentError struct {
	// Role is the component's role and Path its file.
	Role, Path string
	// Err says what is wrong; it wraps a root sentinel.
	Err error
}

func (e *ComponentError) Error() string {
	if e == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s: resuming %q from %s: %v", hcName, e.Role, e.Path, e.Err)
}

// Unwrap returns Err.
func (e *ComponentError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// copyFile copies src to dst atomically.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, b)
}

// copyBytes writes data to path atomically.
func copyBytes(path string, data []byte) error { return atomicfile.WriteFile(path, data) }
