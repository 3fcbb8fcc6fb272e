package models

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
)

// ErrStateFile is wrapped (with a gometric sentinel: ErrShape for a
// malformed or damaged file or one that does not match the Optimizer or
// scheduler it is loaded into, ErrUnsupported for an unknown version or
// kind, ErrNonFinite for a NaN or ±Inf value, ErrSetting for settings
// that the Optimizer or scheduler refuses) by every error about the
// content of an optimizer or scheduler state file.
var ErrStateFile = errors.New("bad optimizer or scheduler state file")

// StateSaver is what a trainer's checkpoint saves besides the models: the
// state of an Optimizer (torch's optimizer.state_dict()) or of a
// learning-rate scheduler (scheduler.state_dict()). Optimizer, StepLR,
// MultiStepLR, ExponentialLR, CosineAnnealingLR and ReduceLROnPlateau
// implement it; each object is saved to its own file, as PML's
// checkpoints keep one file per model, optimizer and scheduler.
// Implementations are not safe for concurrent use.
type StateSaver interface {
	// SaveState writes the state to path atomically.
	SaveState(path string) error
	// LoadState reads a state that SaveState wrote.
	LoadState(path string) error
	// WriteState writes the state to w.
	WriteState(w io.Writer) error
	// ReadState reads a state that WriteState wrote, to the end of r.
	ReadState(r io.Reader) error
}

var (
	_ StateSaver = (*Optimizer)(nil)
	_ StateSaver = (*StepLR)(nil)
	_ StateSaver = (*MultiStepLR)(nil)
	_ StateSaver = (*ExponentialLR)(nil)
	_ StateSaver = (*CosineAnnealingLR)(nil)
	_ StateSaver = (*ReduceLROnPlateau)(nil)
)

// Optimizer state file format (version 1), little-endian, framed by
// internal/binio:
//
//	magic "GMOPTIMS" | version uint32
//	kind uint32 (1 sgd, 2 adam, 3 adamw, 4 rmsprop)
//	LR, Beta1, Beta2, Eps, WeightDecay, Momentum, Dampening, Alpha: float64 bits
//	flags uint32 (1 Nesterov, 2 Centered, 4 AMSGrad)
//	steps uint64 (≤ MaxInt64)
//	parameters uint32 (≤ MaxStateParams)
//	per parameter: precision uint32 (4 or 8), rank uint32 (1..MaxStateRank),
//	  dims uint64 × rank (each ≥ 1, product ≤ MaxStateValues),
//	  slots uint32 (bit i: buffer i present), then each present buffer's
//	  values in the parameter's precision
//	CRC-32 of everything before
const (
	optStateMagic   = "GMOPTIMS"
	optStateVersion = 1
)

// Limits on what a state file may declare, checked before anything is
// allocated for it.
const (
	// MaxStateParams is the most parameters an optimizer state file may
	// hold.
	MaxStateParams = 1 << 20
	// MaxStateRank is the most dimensions a parameter's shape may have.
	MaxStateRank = 8
	// MaxStateValues is the most values one parameter may have.
	MaxStateValues = 1 << 36
	// MaxStateMilestones is the most milestones a MultiStepLR state may
	// hold.
	MaxStateMilestones = 1 << 20
)

var optKinds = []string{"", "sgd", "adam", "adamw", "rmsprop"}

// slotMask is the set of buffers each optimizer keeps.
var slotMask = map[string]uint32{"sgd": 1, "adam": 7, "adamw": 7, "rmsprop": 7}

const (
	flagNesterov = 1 << iota
	flagCentered
	flagAMSGrad
)

// streamName names a reader or writer in errors.
const streamName = "(stream)"

// stateErr builds an error about a state file at a byte offset.
func stateErr(path string, off int64, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: offset %d: %s: %w: %w", path, off, fmt.Sprintf(format, args...), ErrStateFile, sentinel)
}

// stateReader reads one state file as a stream, bounded by the input.
type stateReader struct {
	path string
	size int64 // -1: unknown
	br   *binio.Reader
	err  error
}

func newStateReader(path string, r io.Reader, size int64) *stateReader {
	return &stateReader{path: path, size: size, br: binio.NewReader(r)}
}

// ok reports that no error has been recorded.
func (sr *stateReader) ok() bool { return sr.err == nil }

func (sr *stateReader) short(err error, what string) {
	if sr.err != nil {
		return
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		sr.err = stateErr(sr.path, sr.br.Offset(), gometric.ErrShape, "file ends inside the %s (truncated)", what)
		return
	}
	sr.err = fmt.Errorf("%s: offset %d: reading the %s: %w", sr.path, sr.br.Offset(), what, err)
}

func (sr *stateReader) bad(off int64, sentinel error, format string, args ...any) {
	if sr.err == nil {
		sr.err = stateErr(sr.path, off, sentinel, format, args...)
	}
}

func (sr *stateReader) u32(what string) uint32 {
	if sr.err != nil {
		return 0
	}
	v, err := sr.br.Uint32()
	if err != nil {
		sr.short(err, what)
	}
	return v
}

func (sr *stateReader) u64(what string) uint64 {
	if sr.err != nil {
		return 0
	}
	v, err := sr.br.Uint64()
	if err != nil {
		sr.short(err, what)
	}
	return v
}

// count reads a uint64 that must be at most limit.
func (sr *stateReader) count(what string, limit uint64) int64 {
	off := sr.br.Offset()
	v := sr.u64(what)
	if sr.err == nil && v > limit {
		sr.bad(off, gometric.ErrShape, "%s is %d, the most allowed is %d", what, v, limit)
	}
	return int64(v)
}

// f64 reads a float64; a non-finite one is refused unless inf allows ±Inf.
func (sr *stateReader) f64(what string, inf bool) float64 {
	off := sr.br.Offset()
	v := math.Float64frombits(sr.u64(what))
	if sr.err == nil && (math.IsNaN(v) || (!inf && math.IsInf(v, 0))) {
		sr.bad(off, gometric.ErrNonFinite, "%s is %v", what, v)
	}
	return v
}

// header reads and checks the magic and the version.
func (sr *stateReader) header(magic string, version uint32) {
	m, err := sr.br.Bytes(int64(len(magic)))
	if err != nil {
		sr.short(err, "magic")
		return
	}
	if string(m) != magic {
		sr.bad(0, gometric.ErrShape, "magic is %q, want %q (not this kind of state file)", m, magic)
		return
	}
	if v := sr.u32("format version"); sr.err == nil && v != version {
		sr.bad(int64(len(magic)), gometric.ErrUnsupported, "format version %d, want %d", v, version)
	}
}

// fits checks, for a file of known length, that n more bytes (and the
// checksum) are there before they are read.
func (sr *stateReader) fits(n int64, what string) {
	if sr.err != nil || sr.size < 0 {
		return
	}
	if rest := sr.size - sr.br.Offset() - binio.ChecksumSize; n > rest {
		sr.bad(sr.br.Offset(), gometric.ErrShape, "the %s need %d bytes, the file has %d left (truncated or damaged)", what, n, max(rest, 0))
	}
}

// verify checks the checksum and the end of the input.
func (sr *stateReader) verify() {
	if sr.err != nil {
		return
	}
	at := sr.br.Offset()
	switch err := sr.br.Verify(); {
	case err == nil:
	case errors.Is(err, binio.ErrChecksum):
		sr.bad(at, gometric.ErrShape, "%v (file damaged or truncated)", err)
	case errors.Is(err, binio.ErrTrailing):
		sr.bad(at+binio.ChecksumSize, gometric.ErrShape, "data after the checksum (the state ends at offset %d)", at)
	default:
		sr.short(err, "checksum")
	}
}

// optFile is a decoded optimizer state, with the offsets of its fields for
// errors found after the checksum has been verified.
type optFile struct {
	kind     string
	kindAt   int64
	settings Optimizer // the exported fields only
	setAt    int64
	steps    int64
	nAt      int64
	state    []paramState
	at       []int64 // each parameter's record
}

// kind reads a kind code, one of names[1:] (names[0] is no kind), and
// returns it with its offset.
func (sr *stateReader) kind(what string, names []string) (int, int64) {
	at := sr.br.Offset()
	k := sr.u32(what + " kind")
	if sr.ok() && (k == 0 || int(k) >= len(names)) {
		sr.bad(at, gometric.ErrUnsupported, "%s kind %d, want 1 to %d (%v)", what, k, len(names)-1, names[1:])
	}
	if !sr.ok() {
		return 0, at
	}
	return int(k), at
}

// readOptState decodes and verifies an optimizer state file completely.
func readOptState(path string, r io.Reader, size int64) (*optFile, error) {
	sr := newStateReader(path, r, size)
	sr.header(optStateMagic, optStateVersion)
	f := &optFile{}
	var k int
	k, f.kindAt = sr.kind("optimizer", optKinds)
	if sr.ok() {
		f.kind = optKinds[k]
	}
	f.setAt = sr.br.Offset()
	s := &f.settings
	for _, fld := range []struct {
		name string
		p    *float64
	}{{"LR", &s.LR}, {"Beta1", &s.Beta1}, {"Beta2", &s.Beta2}, {"Eps", &s.Eps}, {"WeightDecay", &s.WeightDecay},
		{"Momentum", &s.Momentum}, {"Dampening", &s.Dampening}, {"Alpha", &s.Alpha}} {
		*fld.p = sr.f64(fld.name, false)
	}
	flagsAt := sr.br.Offset()
	flags := sr.u32("flags")
	if sr.ok() && flags&^7 != 0 {
		sr.bad(flagsAt, gometric.ErrShape, "flags %#x, want a combination of 1 (Nesterov), 2 (Centered), 4 (AMSGrad)", flags)
	}
	s.Nesterov, s.Centered, s.AMSGrad = flags&flagNesterov != 0, flags&flagCentered != 0, flags&flagAMSGrad != 0
	f.steps = sr.count("step count", math.MaxInt64)
	f.nAt = sr.br.Offset()
	np := sr.u32("parameter count")
	if sr.ok() && np > MaxStateParams {
		sr.bad(f.nAt, gometric.ErrShape, "%d parameters, the most allowed is %d", np, MaxStateParams)
	}
	if sr.ok() && np == 0 && f.steps > 0 {
		sr.bad(f.nAt, gometric.ErrShape, "%d steps but no parameters", f.steps)
	}
	for i := 0; sr.ok() && i < int(np); i++ {
		at := sr.br.Offset()
		var ps paramState
		precAt := sr.br.Offset()
		prec := sr.u32("precision")
		if sr.ok() && prec != 4 && prec != 8 {
			sr.bad(precAt, gometric.ErrShape, "parameter %d: precision %d bytes, want 4 or 8", i, prec)
		}
		ps.f64 = prec == 8
		rankAt := sr.br.Offset()
		rank := sr.u32("rank")
		if sr.ok() && (rank == 0 || rank > MaxStateRank) {
			sr.bad(rankAt, gometric.ErrShape, "parameter %d: %d dimensions, want 1 to %d", i, rank, MaxStateRank)
		}
		n := int64(1)
		for d := 0; sr.ok() && d < int(rank); d++ {
			dimAt := sr.br.Offset()
			v := sr.u64("shape")
			if sr.ok() && (v == 0 || v > MaxStateValues/uint64(n)) {
				sr.bad(dimAt, gometric.ErrShape, "parameter %d: dimension %d is %d, want ≥ 1 with at most %d values in all", i, d, v, int64(MaxStateValues))
			}
			n *= int64(v)
			ps.shape = append(ps.shape, int(v))
		}
		ps.n = int(n)
		slotsAt := sr.br.Offset()
		slots := sr.u32("buffer set")
		if sr.ok() && slots&^slotMask[f.kind] != 0 {
			sr.bad(slotsAt, gometric.ErrShape, "parameter %d: buffer set %#x, %s keeps %#x at most", i, slots, f.kind, slotMask[f.kind])
		}
		for slot := range nSlots {
			if !sr.ok() || slots&(1<<slot) == 0 {
				continue
			}
			what := fmt.Sprintf("buffer %d of parameter %d", slot, i)
			sr.fits(n*int64(prec), what)
			if !sr.ok() {
				break
			}
			valAt := sr.br.Offset()
			var bad int64 = -1
			if ps.f64 {
				v, err := sr.br.Float64s(nil, n)
				if err != nil {
					sr.short(err, what)
					break
				}
				for j, x := range v {
					if !finite(x) {
						bad = int64(j)
						break
					}
				}
				ps.f64s[slot] = v
			} else {
				v, err := sr.br.Float32s(nil, n)
				if err != nil {
					sr.short(err, what)
					break
				}
				for j, x := range v {
					if !finite(float64(x)) {
						bad = int64(j)
						break
					}
				}
				ps.f32s[slot] = v
			}
			if bad >= 0 {
				sr.bad(valAt+bad*int64(prec), gometric.ErrNonFinite, "%s is not finite at index %d", what, bad)
			}
		}
		f.state = append(f.state, ps)
		f.at = append(f.at, at)
	}
	sr.verify()
	if sr.err != nil {
		return nil, sr.err
	}
	return f, nil
}

// kindCode is the file's code of an optimizer name.
func kindCode(name string) uint32 {
	return uint32(slices.Index(optKinds, name))
}

// stateUsable refuses what has no state to save or load.
func (o *Optimizer) stateUsable(c string) error {
	if err := o.usable(c); err != nil {
		return err
	}
	if o.custom {
		return fmt.Errorf("%s: the optimizer wraps a Gorgonia solver (%s), whose state cannot be saved: %w", c, o.name, gometric.ErrUnsupported)
	}
	return nil
}

// WriteState writes the Optimizer's complete state to w (torch's
// optimizer.state_dict()): its kind, every setting field, the step count
// and every parameter's buffers (moments, momentum buffers) with their
// shape and precision, in the package's optimizer state format closed by
// a CRC-32. Settings the Optimizer would refuse at its next step, and
// non-finite buffers, are errors (nothing is written). An Optimizer made
// by NewSolverOptimizer has no state to write: the error wraps
// gometric.ErrUnsupported.
func (o *Optimizer) WriteState(w io.Writer) error {
	return o.writeState("models.Optimizer.WriteState", w)
}

func (o *Optimizer) writeState(c string, w io.Writer) error {
	if err := o.stateUsable(c); err != nil {
		return err
	}
	if w == nil {
		return fmt.Errorf("%s: nil writer: %w", c, gometric.ErrSetting)
	}
	if err := o.check(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	for i := range o.state {
		s := &o.state[i]
		for slot := range nSlots {
			if j := nonFiniteAt(s.f32s[slot], s.f64s[slot]); j >= 0 {
				return fmt.Errorf("%s: buffer %d of parameter %d is not finite at index %d: %w", c, slot, i, j, gometric.ErrNonFinite)
			}
		}
	}
	bw := binio.NewWriter(w)
	bw.String(optStateMagic)
	bw.Uint32(optStateVersion)
	bw.Uint32(kindCode(o.name))
	for _, v := range []float64{o.LR, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Momentum, o.Dampening, o.Alpha} {
		bw.Uint64(math.Float64bits(v))
	}
	var flags uint32
	if o.Nesterov {
		flags |= flagNesterov
	}
	if o.Centered {
		flags |= flagCentered
	}
	if o.AMSGrad {
		flags |= flagAMSGrad
	}
	bw.Uint32(flags)
	bw.Uint64(uint64(o.steps))
	bw.Uint32(uint32(len(o.state)))
	for i := range o.state {
		s := &o.state[i]
		if s.f64 {
			bw.Uint32(8)
		} else {
			bw.Uint32(4)
		}
		bw.Uint32(uint32(len(s.shape)))
		for _, d := range s.shape {
			bw.Uint64(uint64(d))
		}
		var slots uint32
		for slot := range nSlots {
			if s.f32s[slot] != nil || s.f64s[slot] != nil {
				slots |= 1 << slot
			}
		}
		bw.Uint32(slots)
		for slot := range nSlots {
			if s.f64 {
				bw.Float64s(s.f64s[slot])
			} else {
				bw.Float32s(s.f32s[slot])
			}
		}
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// saveState writes path atomically with write, whose own errors are
// returned as they are; file-system errors are prefixed with c and path.
func saveState(c, path string, write func(io.Writer) error) error {
	var werr error
	err := atomicfile.Write(path, func(w io.Writer) error {
		werr = write(w)
		return werr
	})
	switch {
	case err == nil:
		return nil
	case werr != nil && err == werr:
		return err
	default:
		return fmt.Errorf("%s: %s: %w", c, path, err)
	}
}

func nonFiniteAt(a []float32, b []float64) int {
	for j, x := range a {
		if !finite(float64(x)) {
			return j
		}
	}
	for j, x := range b {
		if !finite(x) {
			return j
		}
	}
	return -1
}

// SaveState writes the Optimizer's state (see WriteState) to path
// atomically (internal/atomicfile: a temporary file in the same directory,
// synced and renamed over path), so an interrupted save leaves the
// previous file intact.
func (o *Optimizer) SaveState(path string) error {
	const c = "models.Optimizer.SaveState"
	if err := o.stateUsable(c); err != nil {
		return err
	}
	return saveState(c, path, func(w io.Writer) error { return o.writeState(c, w) })
}

// ReadState reads a state that WriteState wrote, to the end of r, and
// makes it the Optimizer's: the settings (every exported field), the step
// count and the buffers. The input is checked completely (framing,
// checksum, limits, finite values, settings) before anything changes; on
// any error the Optimizer is unchanged. The state must be of the
// Optimizer's kind ("adam" into "adam"). An Optimizer that has stepped
// checks that the state has as many parameters, of the same shapes and
// precisions, as it steps; one that has not stepped adopts the state, and
// its first Step (or StepParams) checks the parameters against it. Memory
// grows with the bytes actually read, never with what a header declares.
func (o *Optimizer) ReadState(r io.Reader) error {
	const c = "models.Optimizer.ReadState"
	if err := o.stateUsable(c); err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("%s: nil reader: %w", c, gometric.ErrSetting)
	}
	return o.readState(c, streamName, r, -1)
}

// LoadState reads a state that SaveState wrote (see ReadState). A regular
// file's declared sizes are checked against its length before they are
// read; a FIFO or device is read as a stream.
func (o *Optimizer) LoadState(path string) error {
	const c = "models.Optimizer.LoadState"
	if err := o.stateUsable(c); err != nil {
		return err
	}
	f, size, err := openWeights(path)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	defer f.Close()
	return o.readState(c, path, f, size)
}

func (o *Optimizer) readState(c, path string, r io.Reader, size int64) error {
	f, err := readOptState(path, r, size)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if f.kind != o.name {
		return fmt.Errorf("%s: %w", c, stateErr(path, f.kindAt, gometric.ErrShape, "the file holds the state of a %q optimizer, this one is %q", f.kind, o.name))
	}
	set := f.settings
	set.name = o.name
	if err := set.check(); err != nil {
		return fmt.Errorf("%s: %w", c, stateErr(path, f.setAt, gometric.ErrSetting, "the file's settings: %v", err))
	}
	bound := o.bound()
	if bound {
		if len(f.state) != len(o.state) {
			return fmt.Errorf("%s: %w", c, stateErr(path, f.nAt, gometric.ErrShape, "the file holds the state of %d parameters, this optimizer steps %d", len(f.state), len(o.state)))
		}
		for i := range f.state {
			fs, s := &f.state[i], &o.state[i]
			if fs.f64 != s.f64 || !slices.Equal(fs.shape, s.shape) {
				return fmt.Errorf("%s: %w", c, stateErr(path, f.at[i], gometric.ErrShape, "parameter %d has shape %v (float64 %v) in the file, %v (float64 %v) in this optimizer", i, fs.shape, fs.f64, s.shape, s.f64))
			}
		}
	}
	// Everything is checked: adopt the state.
	o.LR, o.Beta1, o.Beta2, o.Eps = set.LR, set.Beta1, set.Beta2, set.Eps
	o.WeightDecay, o.Momentum, o.Dampening, o.Alpha = set.WeightDecay, set.Momentum, set.Dampening, set.Alpha
	o.Nesterov, o.Centered, o.AMSGrad = set.Nesterov, set.Centered, set.AMSGrad
	o.steps = f.steps
	if bound {
		for i := range f.state {
			o.state[i].f32s, o.state[i].f64s = f.state[i].f32s, f.state[i].f64s
		}
		return nil
	}
	o.state = nil
	if len(f.state) > 0 {
		o.state = f.state
	}
	return nil
}
