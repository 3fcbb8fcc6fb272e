package models

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
)

// Scheduler state file format (version 1), little-endian, framed by
// internal/binio:
//
//	magic "GMLRSCHD" | version uint32
//	kind uint32 (1 StepLR, 2 MultiStepLR, 3 ExponentialLR,
//	  4 CosineAnnealingLR, 5 ReduceLROnPlateau)
//	last_epoch uint64 (≤ MaxInt64) | last rate float64
//	StepLR:            initial rate float64, step size uint64, gamma float64
//	MultiStepLR:       initial rate float64, gamma float64,
//	                   milestones uint32 (≤ MaxStateMilestones), uint64 each
//	ExponentialLR:     initial rate float64, gamma float64
//	CosineAnnealingLR: initial rate float64, T_max uint64, eta_min float64
//	ReduceLROnPlateau: mode uint32 (0 min, 1 max), threshold mode uint32
//	                   (0 rel, 1 abs), Factor, Threshold, MinLR, Eps float64,
//	                   Patience, Cooldown uint64, started uint32, best float64,
//	                   bad epochs uint64, cooldown counter uint64
//	CRC-32 of everything before
const (
	schedStateMagic   = "GMLRSCHD"
	schedStateVersion = 1
)

var schedKinds = []string{"", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"}

const (
	kindStepLR = 1 + iota
	kindMultiStepLR
	kindExponentialLR
	kindCosineAnnealingLR
	kindReduceLROnPlateau
)

// schedFile is a decoded scheduler state (the fields of its kind).
type schedFile struct {
	kind      int
	kindAt    int64
	lastEpoch int64
	lastLR    float64
	setAt     int64 // the kind's settings
	baseLR    float64
	stepSize  int64
	gamma     float64
	miles     []int64
	tMax      int64
	etaMin    float64
	plateau   ReduceLROnPlateau // exported fields and counters
}

func readSchedState(path string, r io.Reader, size int64) (*schedFile, error) {
	sr := newStateReader(path, r, size)
	sr.header(schedStateMagic, schedStateVersion)
	f := &schedFile{}
	f.kind, f.kindAt = sr.kind("scheduler", schedKinds)
	f.lastEpoch = sr.count("last_epoch", math.MaxInt64)
	lrAt := sr.br.Offset()
	f.lastLR = sr.f64("last rate", false)
	if sr.ok() && f.lastLR < 0 {
		sr.bad(lrAt, gometric.ErrShape, "last rate is %v, want ≥ 0", f.lastLR)
	}
	f.setAt = sr.br.Offset()
	nonNeg := func(what string) float64 {
		at := sr.br.Offset()
		v := sr.f64(what, false)
		if sr.ok() && v < 0 {
			sr.bad(at, gometric.ErrShape, "%s is %v, want ≥ 0", what, v)
		}
		return v
	}
	if !sr.ok() {
		return nil, sr.err
	}
	switch f.kind {
	case kindStepLR:
		f.baseLR = nonNeg("initial rate")
		at := sr.br.Offset()
		f.stepSize = sr.count("step size", math.MaxInt64)
		if sr.ok() && f.stepSize < 1 {
			sr.bad(at, gometric.ErrShape, "step size is 0, want ≥ 1")
		}
		f.gamma = nonNeg("gamma")
	case kindMultiStepLR:
		f.baseLR = nonNeg("initial rate")
		f.gamma = nonNeg("gamma")
		at := sr.br.Offset()
		n := sr.u32("milestone count")
		if sr.ok() && n > MaxStateMilestones {
			sr.bad(at, gometric.ErrShape, "%d milestones, the most allowed is %d", n, MaxStateMilestones)
		}
		sr.fits(8*int64(n), "milestones")
		for i := 0; sr.ok() && i < int(n); i++ {
			at := sr.br.Offset()
			m := sr.count("milestone", math.MaxInt64)
			if sr.ok() && (m < 1 || (i > 0 && m < f.miles[i-1])) {
				sr.bad(at, gometric.ErrShape, "milestone %d is %d, want ≥ 1 and not below the one before", i, m)
			}
			f.miles = append(f.miles, m)
		}
	case kindExponentialLR:
		f.baseLR = nonNeg("initial rate")
		f.gamma = nonNeg("gamma")
	case kindCosineAnnealingLR:
		f.baseLR = nonNeg("initial rate")
		at := sr.br.Offset()
		f.tMax = sr.count("T_max", math.MaxInt64/4)
		if sr.ok() && f.tMax < 1 {
			sr.bad(at, gometric.ErrShape, "T_max is 0, want ≥ 1")
		}
		f.etaMin = nonNeg("eta_min")
	case kindReduceLROnPlateau:
		p := &f.plateau
		at := sr.br.Offset()
		mode, tmode := sr.u32("mode"), sr.u32("threshold mode")
		if sr.ok() && (mode > 1 || tmode > 1) {
			sr.bad(at, gometric.ErrShape, "mode %d and threshold mode %d, want 0 or 1 each", mode, tmode)
		}
		p.Mode, p.ThresholdMode = []string{"min", "max"}[mode&1], []string{"rel", "abs"}[tmode&1]
		p.Factor, p.Threshold, p.MinLR, p.Eps = sr.f64("Factor", false), sr.f64("Threshold", false), sr.f64("MinLR", false), sr.f64("Eps", false)
		p.Patience = int(sr.count("Patience", math.MaxInt))
		p.Cooldown = int(sr.count("Cooldown", math.MaxInt))
		at = sr.br.Offset()
		started := sr.u32("started flag")
		if sr.ok() && started > 1 {
			sr.bad(at, gometric.ErrShape, "started flag %d, want 0 or 1", started)
		}
		p.started = started == 1
		p.best = sr.f64("best", true)
		p.numBad = sr.count("bad epochs", math.MaxInt64)
		p.cooldownCounter = sr.count("cooldown counter", math.MaxInt64)
		if sr.ok() {
			if err := p.check("the file's settings"); err != nil {
				sr.bad(f.setAt, gometric.ErrSetting, "%v", err)
			}
		}
	}
	sr.verify()
	if sr.err != nil {
		return nil, sr.err
	}
	return f, nil
}

// writeSched writes a scheduler state of kind: the common fields, then
// body's.
func writeSched(c string, w io.Writer, kind int, lastEpoch int64, lastLR float64, body func(bw *binio.Writer)) error {
	if w == nil {
		return fmt.Errorf("%s: nil writer: %w", c, gometric.ErrSetting)
	}
	bw := binio.NewWriter(w)
	bw.String(schedStateMagic)
	bw.Uint32(schedStateVersion)
	bw.Uint32(uint32(kind))
	bw.Uint64(uint64(lastEpoch))
	bw.Uint64(math.Float64bits(lastLR))
	body(bw)
	if err := bw.Close(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

func putF64s(bw *binio.Writer, vs ...float64) {
	for _, v := range vs {
		bw.Uint64(math.Float64bits(v))
	}
}

// loadSched decodes a scheduler state and checks its kind; path names r.
func loadSched(c, path string, r io.Reader, size int64, kind int) (*schedFile, error) {
	f, err := readSchedState(path, r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if f.kind != kind {
		return nil, fmt.Errorf("%s: %w", c, stateErr(path, f.kindAt, gometric.ErrShape, "the file holds the state of a %s, this scheduler is a %s", schedKinds[f.kind], schedKinds[kind]))
	}
	return f, nil
}

// readStateFile opens path and calls read with its size (-1 for a
// stream).
func readStateFile(c, path string, read func(r io.Reader, size int64) error) error {
	f, size, err := openWeights(path)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	defer f.Close()
	return read(f, size)
}

// usableSched checks a scheduler's receiver and that it was made by its
// constructor.
func usableSched(c, ctor string, isNil bool, opt func() *Optimizer) error {
	if isNil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if opt() == nil {
		return fmt.Errorf("%s: not made by %s (the zero value has no optimizer): %w", c, ctor, gometric.ErrSetting)
	}
	return nil
}

func nilReader(c string, r io.Reader) error {
	if r == nil {
		return fmt.Errorf("%s: nil reader: %w", c, gometric.ErrSetting)
	}
	return nil
}

// settingsMismatch reports a constructor setting that differs from the
// file's.
func settingsMismatch(c, path string, f *schedFile, format string, args ...any) error {
	return fmt.Errorf("%s: %w", c, stateErr(path, f.setAt, gometric.ErrShape, format, args...))
}

// adopt sets the schedule's counters from f.
func (s *schedule) adopt(f *schedFile) {
	s.baseLR, s.lastEpoch, s.lastLR = f.baseLR, f.lastEpoch, f.lastLR
}

// ---- StepLR

// WriteState writes the schedule's state to w (torch's
// scheduler.state_dict()): last_epoch, the last rate, the initial rate,
// the step size and gamma, in the package's scheduler state format closed
// by a CRC-32. The optimizer's rate is in the Optimizer's state: save
// both.
func (s *StepLR) WriteState(w io.Writer) error {
	const c = "models.StepLR.WriteState"
	if err := usableSched(c, "NewStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return s.write(c, w)
}

func (s *StepLR) write(c string, w io.Writer) error {
	return writeSched(c, w, kindStepLR, s.lastEpoch, s.lastLR, func(bw *binio.Writer) {
		putF64s(bw, s.baseLR)
		bw.Uint64(uint64(s.stepSize))
		putF64s(bw, s.gamma)
	})
}

// SaveState writes the state (see WriteState) to path atomically.
func (s *StepLR) SaveState(path string) error {
	const c = "models.StepLR.SaveState"
	if err := usableSched(c, "NewStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return s.write(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r, into
// the schedule: last_epoch, the last rate and the initial rate. The state
// must be a StepLR's with the same step size and gamma as this one (made
// by NewStepLR with the same arguments); it is checked completely first,
// and on any error the schedule is unchanged. It does not change the
// optimizer's rate: load the Optimizer's state too.
func (s *StepLR) ReadState(r io.Reader) error {
	const c = "models.StepLR.ReadState"
	if err := usableSched(c, "NewStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	if err := nilReader(c, r); err != nil {
		return err
	}
	return s.read(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState).
func (s *StepLR) LoadState(path string) error {
	const c = "models.StepLR.LoadState"
	if err := usableSched(c, "NewStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return readStateFile(c, path, func(r io.Reader, size int64) error { return s.read(c, path, r, size) })
}

func (s *StepLR) read(c, path string, r io.Reader, size int64) error {
	f, err := loadSched(c, path, r, size, kindStepLR)
	if err != nil {
		return err
	}
	if f.stepSize != s.stepSize || f.gamma != s.gamma {
		return settingsMismatch(c, path, f, "the file's StepLR has step size %d and gamma %v, this one %d and %v", f.stepSize, f.gamma, s.stepSize, s.gamma)
	}
	s.adopt(f)
	return nil
}

// ---- MultiStepLR

// WriteState writes the schedule's state to w (torch's
// scheduler.state_dict()): last_epoch, the last rate, the initial rate,
// gamma and the milestones (see StepLR.WriteState).
func (s *MultiStepLR) WriteState(w io.Writer) error {
	const c = "models.MultiStepLR.WriteState"
	if err := usableSched(c, "NewMultiStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return s.write(c, w)
}

func (s *MultiStepLR) write(c string, w io.Writer) error {
	if len(s.milestones) > MaxStateMilestones {
		return fmt.Errorf("%s: %d milestones, the most a state file holds is %d: %w", c, len(s.milestones), MaxStateMilestones, gometric.ErrUnsupported)
	}
	return writeSched(c, w, kindMultiStepLR, s.lastEpoch, s.lastLR, func(bw *binio.Writer) {
		putF64s(bw, s.baseLR, s.gamma)
		bw.Uint32(uint32(len(s.milestones)))
		for _, m := range s.milestones {
			bw.Uint64(uint64(m))
		}
	})
}

// SaveState writes the state (see WriteState) to path atomically.
func (s *MultiStepLR) SaveState(path string) error {
	const c = "models.MultiStepLR.SaveState"
	if err := usableSched(c, "NewMultiStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return s.write(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r (see
// StepLR.ReadState); the state must be a MultiStepLR's with the same
// milestones and gamma as this one.
func (s *MultiStepLR) ReadState(r io.Reader) error {
	const c = "models.MultiStepLR.ReadState"
	if err := usableSched(c, "NewMultiStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	if err := nilReader(c, r); err != nil {
		return err
	}
	return s.read(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState).
func (s *MultiStepLR) LoadState(path string) error {
	const c = "models.MultiStepLR.LoadState"
	if err := usableSched(c, "NewMultiStepLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return readStateFile(c, path, func(r io.Reader, size int64) error { return s.read(c, path, r, size) })
}

func (s *MultiStepLR) read(c, path string, r io.Reader, size int64) error {
	f, err := loadSched(c, path, r, size, kindMultiStepLR)
	if err != nil {
		return err
	}
	if f.gamma != s.gamma || !slices.Equal(f.miles, s.milestones) {
		return settingsMismatch(c, path, f, "the file's MultiStepLR has milestones %v and gamma %v, this one %v and %v", f.miles, f.gamma, s.milestones, s.gamma)
	}
	s.adopt(f)
	return nil
}

// ---- ExponentialLR

// WriteState writes the schedule's state to w (torch's
// scheduler.state_dict()): last_epoch, the last rate, the initial rate and
// gamma (see StepLR.WriteState).
func (s *ExponentialLR) WriteState(w io.Writer) error {
	const c = "models.ExponentialLR.WriteState"
	if err := usableSched(c, "NewExponentialLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return s.write(c, w)
}

func (s *ExponentialLR) write(c string, w io.Writer) error {
	return writeSched(c, w, kindExponentialLR, s.lastEpoch, s.lastLR, func(bw *binio.Writer) {
		putF64s(bw, s.baseLR, s.gamma)
	})
}

// SaveState writes the state (see WriteState) to path atomically.
func (s *ExponentialLR) SaveState(path string) error {
	const c = "models.ExponentialLR.SaveState"
	if err := usableSched(c, "NewExponentialLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return s.write(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r (see
// StepLR.ReadState); the state must be an ExponentialLR's with the same
// gamma as this one.
func (s *ExponentialLR) ReadState(r io.Reader) error {
	const c = "models.ExponentialLR.ReadState"
	if err := usableSched(c, "NewExponentialLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	if err := nilReader(c, r); err != nil {
		return err
	}
	return s.read(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState).
func (s *ExponentialLR) LoadState(path string) error {
	const c = "models.ExponentialLR.LoadState"
	if err := usableSched(c, "NewExponentialLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return readStateFile(c, path, func(r io.Reader, size int64) error { return s.read(c, path, r, size) })
}

func (s *ExponentialLR) read(c, path string, r io.Reader, size int64) error {
	f, err := loadSched(c, path, r, size, kindExponentialLR)
	if err != nil {
		return err
	}
	if f.gamma != s.gamma {
		return settingsMismatch(c, path, f, "the file's ExponentialLR has gamma %v, this one %v", f.gamma, s.gamma)
	}
	s.adopt(f)
	return nil
}

// ---- CosineAnnealingLR

// WriteState writes the schedule's state to w (torch's
// scheduler.state_dict()): last_epoch, the last rate, the initial rate,
// T_max and eta_min (see StepLR.WriteState).
func (s *CosineAnnealingLR) WriteState(w io.Writer) error {
	const c = "models.CosineAnnealingLR.WriteState"
	if err := usableSched(c, "NewCosineAnnealingLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return s.write(c, w)
}

func (s *CosineAnnealingLR) write(c string, w io.Writer) error {
	return writeSched(c, w, kindCosineAnnealingLR, s.lastEpoch, s.lastLR, func(bw *binio.Writer) {
		putF64s(bw, s.baseLR)
		bw.Uint64(uint64(s.tMax))
		putF64s(bw, s.etaMin)
	})
}

// SaveState writes the state (see WriteState) to path atomically.
func (s *CosineAnnealingLR) SaveState(path string) error {
	const c = "models.CosineAnnealingLR.SaveState"
	if err := usableSched(c, "NewCosineAnnealingLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return s.write(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r (see
// StepLR.ReadState); the state must be a CosineAnnealingLR's with the same
// T_max and eta_min as this one.
func (s *CosineAnnealingLR) ReadState(r io.Reader) error {
	const c = "models.CosineAnnealingLR.ReadState"
	if err := usableSched(c, "NewCosineAnnealingLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	if err := nilReader(c, r); err != nil {
		return err
	}
	return s.read(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState).
func (s *CosineAnnealingLR) LoadState(path string) error {
	const c = "models.CosineAnnealingLR.LoadState"
	if err := usableSched(c, "NewCosineAnnealingLR", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return readStateFile(c, path, func(r io.Reader, size int64) error { return s.read(c, path, r, size) })
}

func (s *CosineAnnealingLR) read(c, path string, r io.Reader, size int64) error {
	f, err := loadSched(c, path, r, size, kindCosineAnnealingLR)
	if err != nil {
		return err
	}
	if f.tMax != s.tMax || f.etaMin != s.etaMin {
		return settingsMismatch(c, path, f, "the file's CosineAnnealingLR has T_max %d and eta_min %v, this one %d and %v", f.tMax, f.etaMin, s.tMax, s.etaMin)
	}
	s.adopt(f)
	return nil
}

// ---- ReduceLROnPlateau

// WriteState writes the scheduler's state to w (torch's
// scheduler.state_dict()): every exported field, last_epoch, the last
// rate, the best metric, the bad-epoch count and the cooldown counter.
// Fields that Step would refuse are an error (nothing is written).
func (s *ReduceLROnPlateau) WriteState(w io.Writer) error {
	const c = "models.ReduceLROnPlateau.WriteState"
	if err := usableSched(c, "NewReduceLROnPlateau", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return s.write(c, w)
}

func (s *ReduceLROnPlateau) write(c string, w io.Writer) error {
	if err := s.check(c); err != nil {
		return err
	}
	if s.started && math.IsNaN(s.best) {
		return fmt.Errorf("%s: best is NaN: %w", c, gometric.ErrNonFinite)
	}
	return writeSched(c, w, kindReduceLROnPlateau, s.lastEpoch, s.lastLR, func(bw *binio.Writer) {
		var mode, tmode uint32
		if s.Mode == "max" {
			mode = 1
		}
		if s.ThresholdMode == "abs" {
			tmode = 1
		}
		bw.Uint32(mode)
		bw.Uint32(tmode)
		putF64s(bw, s.Factor, s.Threshold, s.MinLR, s.Eps)
		bw.Uint64(uint64(s.Patience))
		bw.Uint64(uint64(s.Cooldown))
		var started uint32
		if s.started {
			started = 1
		}
		bw.Uint32(started)
		putF64s(bw, s.best)
		bw.Uint64(uint64(s.numBad))
		bw.Uint64(uint64(s.cooldownCounter))
	})
}

// SaveState writes the state (see WriteState) to path atomically.
func (s *ReduceLROnPlateau) SaveState(path string) error {
	const c = "models.ReduceLROnPlateau.SaveState"
	if err := usableSched(c, "NewReduceLROnPlateau", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return s.write(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r, and
// makes it the scheduler's: every exported field (as torch's
// load_state_dict) and the counters. It is checked completely first; on
// any error the scheduler is unchanged. It does not change the
// optimizer's rate: load the Optimizer's state too.
func (s *ReduceLROnPlateau) ReadState(r io.Reader) error {
	const c = "models.ReduceLROnPlateau.ReadState"
	if err := usableSched(c, "NewReduceLROnPlateau", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	if err := nilReader(c, r); err != nil {
		return err
	}
	return s.read(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState).
func (s *ReduceLROnPlateau) LoadState(path string) error {
	const c = "models.ReduceLROnPlateau.LoadState"
	if err := usableSched(c, "NewReduceLROnPlateau", s == nil, func() *Optimizer { return s.opt }); err != nil {
		return err
	}
	return readStateFile(c, path, func(r io.Reader, size int64) error { return s.read(c, path, r, size) })
}

func (s *ReduceLROnPlateau) read(c, path string, r io.Reader, size int64) error {
	f, err := loadSched(c, path, r, size, kindReduceLROnPlateau)
	if err != nil {
		return err
	}
	p := f.plateau
	p.opt, p.lastEpoch, p.lastLR = s.opt, f.lastEpoch, f.lastLR
	*s = p
	return nil
}
