package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
)

// optSetup is an optimizer configuration of the tests.
type optSetup struct {
	name string
	kind string
	set  func(o *Optimizer)
}

var optSetups = []optSetup{
	{"sgd", "sgd", func(o *Optimizer) {}},
	{"sgd-momentum-nesterov-wd", "sgd", func(o *Optimizer) { o.Momentum, o.Nesterov, o.WeightDecay = 0.9, true, 1e-3 }},
	{"sgd-momentum-dampening", "sgd", func(o *Optimizer) { o.Momentum, o.Dampening = 0.5, 0.25 }},
	{"adam", "adam", func(o *Optimizer) {}},
	{"adam-amsgrad-wd", "adam", func(o *Optimizer) { o.AMSGrad, o.WeightDecay = true, 0.01 }},
	{"adamw", "adamw", func(o *Optimizer) {}},
	{"adamw-amsgrad", "adamw", func(o *Optimizer) { o.AMSGrad = true }},
	{"rmsprop", "rmsprop", func(o *Optimizer) {}},
	{"rmsprop-centered-momentum", "rmsprop", func(o *Optimizer) { o.Centered, o.Momentum, o.Alpha = true, 0.9, 0.9 }},
}

func newOpt(t testing.TB, s optSetup, lr float64) *Optimizer {
	t.Helper()
	o, err := NewOptimizer(s.kind, lr)
	if err != nil {
		t.Fatal(err)
	}
	s.set(o)
	return o
}

func newStateMLP(t testing.TB) *MLP {
	t.Helper()
	m, err := NewMLP(MLPConfig{Sizes: []int{5, 7, 3}, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// batchAt is the deterministic batch of step i.
func batchAt(i int) gometric.Matrix {
	r := rand.New(rand.NewPCG(uint64(i), 99))
	x := gometric.Matrix{Rows: 6, Cols: 5, Data: make([]float32, 30)}
	for j := range x.Data {
		x.Data[j] = float32(r.NormFloat64())
	}
	return x
}

// schedStep steps any scheduler (ReduceLROnPlateau with the loss).
func schedStep(t testing.TB, s StateSaver, loss float32) {
	t.Helper()
	var err error
	switch s := s.(type) {
	case *ReduceLROnPlateau:
		err = s.Step(float64(loss))
	case LRScheduler:
		err = s.Step()
	case nil:
	}
	if err != nil {
		t.Fatal(err)
	}
}

// trainSteps runs steps [from, to) of the test's training run.
func trainSteps(t testing.TB, m *MLP, o *Optimizer, s StateSaver, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		l, err := m.TrainStep(batchAt(i), sumSquares)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Step(o); err != nil {
			t.Fatal(err)
		}
		schedStep(t, s, l)
	}
}

// lossGrads is a deterministic gradient of step i for loss parameters.
func lossGrads(ps []*losses.Param, i int) []*mat.Dense {
	gs := make([]*mat.Dense, len(ps))
	for k, p := range ps {
		r, c := p.Value.Dims()
		g := mat.NewDense(r, c, nil)
		for a := range r {
			for b := range c {
				g.Set(a, b, p.Value.At(a, b)-math.Sin(float64(i+a+2*b+k)))
			}
		}
		gs[k] = g
	}
	return gs
}

func newLossParams() []*losses.Param {
	return []*losses.Param{
		{Name: "W", Value: mat.NewDense(2, 3, []float64{0.1, -0.2, 0.3, 0.4, -0.5, 0.6})},
		{Name: "b", Value: mat.NewDense(1, 2, []float64{0.05, -0.05})},
	}
}

func stateBytes(t testing.TB, s StateSaver) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteState(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// schedMakers make each scheduler kind on an optimizer.
var schedMakers = []struct {
	name string
	make func(o *Optimizer) (StateSaver, error)
}{
	{"StepLR", func(o *Optimizer) (StateSaver, error) { return NewStepLR(o, 2, 0.5) }},
	{"MultiStepLR", func(o *Optimizer) (StateSaver, error) { return NewMultiStepLR(o, []int{4, 2, 4}, 0.3) }},
	{"ExponentialLR", func(o *Optimizer) (StateSaver, error) { return NewExponentialLR(o, 0.8) }},
	{"CosineAnnealingLR", func(o *Optimizer) (StateSaver, error) { return NewCosineAnnealingLR(o, 3, 1e-4) }},
	{"ReduceLROnPlateau", func(o *Optimizer) (StateSaver, error) {
		s, err := NewReduceLROnPlateau(o)
		if err == nil {
			s.Patience, s.Cooldown, s.Mode = 0, 1, "max" // the loss falls: reduce often
		}
		return s, err
	}},
}

func mustSched(t testing.TB, i int, o *Optimizer) StateSaver {
	t.Helper()
	s, err := schedMakers[i].make(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOptimizerStateResume: N steps uninterrupted, and K steps, save of the
// weights, the optimizer and the scheduler, fresh objects loaded from the
// files, N−K more steps, give bit-identical weights, for every optimizer
// configuration with a StepLR (whose rate changes within the run) and for
// Adam with every scheduler.
func TestOptimizerStateResume(t *testing.T) {
	const n, k = 7, 3
	type run struct {
		name  string
		setup optSetup
		sched int
	}
	var runs []run
	for _, s := range optSetups {
		runs = append(runs, run{s.name + "/StepLR", s, 0})
	}
	for i, sm := range schedMakers[1:] {
		runs = append(runs, run{"adam/" + sm.name, optSetups[3], i + 1})
	}
	for _, tc := range runs {
		t.Run(tc.name, func(t *testing.T) {
			m := newStateMLP(t)
			o := newOpt(t, tc.setup, 0.05)
			s := mustSched(t, tc.sched, o)
			trainSteps(t, m, o, s, 0, n)

			dir := t.TempDir()
			m1 := newStateMLP(t)
			o1 := newOpt(t, tc.setup, 0.05)
			s1 := mustSched(t, tc.sched, o1)
			trainSteps(t, m1, o1, s1, 0, k)
			wp, op, sp := filepath.Join(dir, "w"), filepath.Join(dir, "opt"), filepath.Join(dir, "sched")
			if err := m1.Save(wp); err != nil {
				t.Fatal(err)
			}
			if err := o1.SaveState(op); err != nil {
				t.Fatal(err)
			}
			if err := s1.SaveState(sp); err != nil {
				t.Fatal(err)
			}

			m2, err := NewMLP(MLPConfig{Sizes: []int{5, 7, 3}, Seed: 12345}) // other initial weights
			if err != nil {
				t.Fatal(err)
			}
			o2 := newOpt(t, tc.setup, 0.05)
			s2 := mustSched(t, tc.sched, o2)
			if err := m2.Load(wp); err != nil {
				t.Fatal(err)
			}
			if err := o2.LoadState(op); err != nil {
				t.Fatal(err)
			}
			if err := s2.LoadState(sp); err != nil {
				t.Fatal(err)
			}
			trainSteps(t, m2, o2, s2, k, n)
			if !bitEqualParams(m.Params(), m2.Params()) {
				t.Error("the resumed run's weights differ from the uninterrupted run's")
			}
			if o.LR != o2.LR || o.Steps() != o2.Steps() {
				t.Errorf("LR %v, steps %d; resumed %v, %d", o.LR, o.Steps(), o2.LR, o2.Steps())
			}
			if !bytes.Equal(stateBytes(t, o), stateBytes(t, o2)) || !bytes.Equal(stateBytes(t, s), stateBytes(t, s2)) {
				t.Error("the resumed optimizer or scheduler state differs")
			}
		})
	}
	if n == k {
		t.Fatal("unreachable")
	}
}

// TestOptimizerStateResumeLossParams: the same for a loss's parameters
// stepped through StepParams (float64 state).
func TestOptimizerStateResumeLossParams(t *testing.T) {
	const n, k = 6, 2
	for _, setup := range optSetups {
		t.Run(setup.name, func(t *testing.T) {
			run := func(ps []*losses.Param, o *Optimizer, s StateSaver, from, to int) {
				for i := from; i < to; i++ {
					if err := o.StepParams(ps, lossGrads(ps, i)); err != nil {
						t.Fatal(err)
					}
					schedStep(t, s, 0)
				}
			}
			ps := newLossParams()
			o := newOpt(t, setup, 0.1)
			s := mustSched(t, 0, o)
			run(ps, o, s, 0, n)

			ps1 := newLossParams()
			o1 := newOpt(t, setup, 0.1)
			s1 := mustSched(t, 0, o1)
			run(ps1, o1, s1, 0, k)
			ob, sb := stateBytes(t, o1), stateBytes(t, s1)
			ps2 := newLossParams()
			for i := range ps2 {
				ps2[i].Value.Copy(ps1[i].Value)
			}
			o2 := newOpt(t, setup, 0.1)
			s2 := mustSched(t, 0, o2)
			if err := o2.ReadState(bytes.NewReader(ob)); err != nil {
				t.Fatal(err)
			}
			if err := s2.ReadState(bytes.NewReader(sb)); err != nil {
				t.Fatal(err)
			}
			run(ps2, o2, s2, k, n)
			for i := range ps {
				if !slices.Equal(ps[i].Value.RawMatrix().Data, ps2[i].Value.RawMatrix().Data) {
					t.Errorf("parameter %s: %v, resumed %v", ps[i].Name, ps[i].Value.RawMatrix().Data, ps2[i].Value.RawMatrix().Data)
				}
			}
		})
	}
}

func bitEqualParams(a, b []*Param) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := a[i].Float32s()
		y, _ := b[i].Float32s()
		if len(x) != len(y) {
			return false
		}
		for j := range x {
			if math.Float32bits(x[j]) != math.Float32bits(y[j]) {
				return false
			}
		}
	}
	return true
}

// validStates returns a valid state file of every optimizer configuration
// (encoder and loss parameters, stepped and not) and every scheduler, each
// with a function making a fresh object of the same kind to read it into.
func validStates(t testing.TB) map[string]struct {
	data  []byte
	fresh func() StateSaver
} {
	out := map[string]struct {
		data  []byte
		fresh func() StateSaver
	}{}
	for _, setup := range optSetups {
		fresh := func() StateSaver { return newOpt(t, setup, 0.05) }
		m := newStateMLP(t)
		o := newOpt(t, setup, 0.05)
		out[setup.name+"/unstepped"] = struct {
			data  []byte
			fresh func() StateSaver
		}{stateBytes(t, o), fresh}
		s := mustSched(t, 0, o)
		trainSteps(t, m, o, s, 0, 2)
		out[setup.name+"/mlp"] = struct {
			data  []byte
			fresh func() StateSaver
		}{stateBytes(t, o), fresh}
		lo := newOpt(t, setup, 0.05)
		ps := newLossParams()
		if err := lo.StepParams(ps, lossGrads(ps, 0)); err != nil {
			t.Fatal(err)
		}
		out[setup.name+"/loss"] = struct {
			data  []byte
			fresh func() StateSaver
		}{stateBytes(t, lo), fresh}
	}
	for i, sm := range schedMakers {
		fresh := func() StateSaver { return mustSched(t, i, newOpt(t, optSetups[3], 0.05)) }
		m := newStateMLP(t)
		o := newOpt(t, optSetups[3], 0.05)
		s := mustSched(t, i, o)
		trainSteps(t, m, o, s, 0, 4)
		out[sm.name] = struct {
			data  []byte
			fresh func() StateSaver
		}{stateBytes(t, s), fresh}
	}
	return out
}

// TestOptimizerStateRoundTrip: every state read into a fresh object of its
// kind writes back byte for byte, through files and streams.
func TestOptimizerStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, v := range validStates(t) {
		t.Run(name, func(t *testing.T) {
			s := v.fresh()
			if err := s.ReadState(bytes.NewReader(v.data)); err != nil {
				t.Fatal(err)
			}
			if got := stateBytes(t, s); !bytes.Equal(got, v.data) {
				t.Fatal("ReadState then WriteState changed the bytes")
			}
			path := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
			if err := s.SaveState(path); err != nil {
				t.Fatal(err)
			}
			s2 := v.fresh()
			if err := s2.LoadState(path); err != nil {
				t.Fatal(err)
			}
			if got := stateBytes(t, s2); !bytes.Equal(got, v.data) {
				t.Fatal("SaveState then LoadState changed the state")
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("file mode: %v %v", st, err)
			}
		})
	}
}

// TestOptimizerStateByteFlips: every byte of every valid state file,
// changed, gives an error (ErrStateFile), and leaves the object it is
// read into unchanged; so do truncations and an appended byte.
func TestOptimizerStateByteFlips(t *testing.T) {
	for name, v := range validStates(t) {
		t.Run(name, func(t *testing.T) {
			s := v.fresh()
			before := stateBytes(t, s)
			try := func(what string, data []byte) {
				err := s.ReadState(bytes.NewReader(data))
				if !errors.Is(err, ErrStateFile) {
					t.Fatalf("%s: err = %v, want ErrStateFile", what, err)
				}
				if !strings.Contains(err.Error(), "offset ") {
					t.Fatalf("%s: error names no offset: %v", what, err)
				}
			}
			data := slices.Clone(v.data)
			for i := range data {
				for _, x := range []byte{0x01, 0x80, 0xff} {
					data[i] ^= x
					try("flip", data)
					data[i] ^= x
				}
			}
			for n := range len(data) {
				try("truncated", data[:n])
			}
			try("appended", append(slices.Clone(data), 0))
			if !bytes.Equal(stateBytes(t, s), before) {
				t.Error("a failed ReadState changed the state")
			}
		})
	}
}

// sealed returns body with a valid checksum.
func sealed(body []byte) []byte { return binio.Seal(slices.Clone(body)) }

func optHeader(kind uint32, steps uint64, nparams uint32) []byte {
	b := []byte(optStateMagic)
	b = binary.LittleEndian.AppendUint32(b, optStateVersion)
	b = binary.LittleEndian.AppendUint32(b, kind)
	for _, v := range []float64{0.01, 0.9, 0.999, 1e-8, 0, 0, 0, 0.99} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, steps)
	return binary.LittleEndian.AppendUint32(b, nparams)
}

func paramRecord(prec uint32, shape []uint64, slots uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, prec)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(shape)))
	for _, d := range shape {
		b = binary.LittleEndian.AppendUint64(b, d)
	}
	return binary.LittleEndian.AppendUint32(b, slots)
}

// TestOptimizerStateMemoryBound: 4 KB inputs declaring gigabytes fail,
// allocating less than 64 MB, as files and as streams; endless input
// after a valid state is refused.
func TestOptimizerStateMemoryBound(t *testing.T) {
	const limit = 64 << 20
	pad := func(b []byte) []byte { return append(b, make([]byte, 4096-len(b))...) }
	huge := pad(append(optHeader(2, 1, 1), paramRecord(4, []uint64{1 << 17, 1 << 17}, 3)...)) // 2 × 64 GB
	huge64 := pad(append(optHeader(2, 1, 1), paramRecord(8, []uint64{1 << 36}, 1)...))
	manyParams := pad(optHeader(2, 1, MaxStateParams))
	miles := []byte(schedStateMagic)
	miles = binary.LittleEndian.AppendUint32(miles, schedStateVersion)
	miles = binary.LittleEndian.AppendUint32(miles, kindMultiStepLR)
	miles = binary.LittleEndian.AppendUint64(miles, 0)
	for range 3 {
		miles = binary.LittleEndian.AppendUint64(miles, math.Float64bits(0.1))
	}
	miles = pad(binary.LittleEndian.AppendUint32(miles, MaxStateMilestones))
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		data  []byte
		fresh func() StateSaver
	}{
		{"float32-64GB", huge, func() StateSaver { return newOpt(t, optSetups[3], 0.01) }},
		{"float64-512GB", huge64, func() StateSaver { return newOpt(t, optSetups[3], 0.01) }},
		{"million-params", manyParams, func() StateSaver { return newOpt(t, optSetups[3], 0.01) }},
		{"million-milestones", miles, func() StateSaver { return mustSched(t, 1, newOpt(t, optSetups[3], 0.01)) }},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		readers := map[string]func(s StateSaver) error{
			"LoadState": func(s StateSaver) error { return s.LoadState(path) },
			"ReadState": func(s StateSaver) error { return s.ReadState(bytes.NewReader(tc.data)) },
		}
		for rn, read := range readers {
			t.Run(tc.name+"/"+rn, func(t *testing.T) {
				s := tc.fresh()
				var err error
				grew := testkit.Allocated(func() { err = read(s) })
				if !errors.Is(err, ErrStateFile) {
					t.Errorf("err = %v, want ErrStateFile", err)
				}
				if grew > limit {
					t.Errorf("allocated %d MB reading a 4 KB input", grew>>20)
				}
			})
		}
	}
	// An endless stream after a valid state: refused at its checksum's end.
	for name, v := range validStates(t) {
		if !strings.HasSuffix(name, "/mlp") && !strings.HasSuffix(name, "LR") && !strings.HasSuffix(name, "Plateau") {
			continue
		}
		t.Run("endless-after-"+name, func(t *testing.T) {
			var err error
			grew := testkit.Allocated(func() { err = v.fresh().ReadState(&endless{prefix: v.data}) })
			if !errors.Is(err, ErrStateFile) || !strings.Contains(err.Error(), "after the checksum") || grew > limit {
				t.Errorf("err = %v, allocated %d bytes", err, grew)
			}
		})
	}
	t.Run("dev-zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		o := newOpt(t, optSetups[3], 0.01)
		var err error
		grew := testkit.Allocated(func() { err = o.LoadState("/dev/zero") })
		if !errors.Is(err, ErrStateFile) || grew > limit {
			t.Errorf("err = %v, allocated %d bytes", err, grew)
		}
	})
}

// TestOptimizerStateErrors: malformed and mismatched states, bad
// receivers and arguments, each with its sentinel and the path.
func TestOptimizerStateErrors(t *testing.T) {
	dir := t.TempDir()
	m := newStateMLP(t)
	adam := newOpt(t, optSetups[3], 0.01)
	trainSteps(t, m, adam, nil, 0, 2)
	adamState := stateBytes(t, adam)
	sgd := newOpt(t, optSetups[0], 0.01)
	trainSteps(t, newStateMLP(t), sgd, nil, 0, 1)
	otherShape, err := NewMLP(MLPConfig{Sizes: []int{5, 6, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	adamOther := newOpt(t, optSetups[3], 0.01)
	trainSteps(t, otherShape, adamOther, nil, 0, 1)
	deeper, err := NewMLP(MLPConfig{Sizes: []int{5, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	adamFewer := newOpt(t, optSetups[3], 0.01)
	trainSteps(t, deeper, adamFewer, nil, 0, 1)
	lossOpt := newOpt(t, optSetups[3], 0.01)
	ps := newLossParams()
	if err := lossOpt.StepParams(ps, lossGrads(ps, 0)); err != nil {
		t.Fatal(err)
	}
	solver, err := NewSolverOptimizer(G.NewVanillaSolver())
	if err != nil {
		t.Fatal(err)
	}
	stepLR := mustSched(t, 0, newOpt(t, optSetups[3], 0.01))
	otherStepLR, _ := NewStepLR(newOpt(t, optSetups[3], 0.01), 3, 0.5)
	multi := mustSched(t, 1, newOpt(t, optSetups[3], 0.01))
	otherMulti, _ := NewMultiStepLR(newOpt(t, optSetups[3], 0.01), []int{2, 4}, 0.3)
	cos := mustSched(t, 3, newOpt(t, optSetups[3], 0.01))
	otherCos, _ := NewCosineAnnealingLR(newOpt(t, optSetups[3], 0.01), 3, 0)
	expo := mustSched(t, 2, newOpt(t, optSetups[3], 0.01))
	otherExpo, _ := NewExponentialLR(newOpt(t, optSetups[3], 0.01), 0.9)
	nanLR := optHeader(2, 0, 0)
	binary.LittleEndian.PutUint64(nanLR[16:], math.Float64bits(math.NaN()))
	badBeta := optHeader(2, 0, 0)
	binary.LittleEndian.PutUint64(badBeta[24:], math.Float64bits(1.5))
	nanMoment := append(optHeader(2, 1, 1), paramRecord(4, []uint64{2}, 1)...)
	nanMoment = binary.LittleEndian.AppendUint32(nanMoment, math.Float32bits(0))
	nanMoment = binary.LittleEndian.AppendUint32(nanMoment, math.Float32bits(float32(math.Inf(1))))
	bad := func(p string, data []byte) string {
		path := filepath.Join(dir, p)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	type tc struct {
		name   string
		target StateSaver
		path   string
		want   error
		text   string
	}
	cases := []tc{
		{"kind", sgd, bad("kind", adamState), gometric.ErrShape, `state of a "adam" optimizer, this one is "sgd"`},
		{"shape", adamOther, bad("shape", adamState), gometric.ErrShape, "parameter 0 has shape"},
		{"count", adamFewer, bad("count", adamState), gometric.ErrShape, "holds the state of 4 parameters, this optimizer steps 2"},
		{"precision", lossOpt, bad("precision", stateBytes(t, newOptStepped(t, 2))), gometric.ErrShape, "float64"},
		{"empty-file", newOpt(t, optSetups[3], 0.01), bad("empty", nil), gometric.ErrShape, "truncated"},
		{"magic", newOpt(t, optSetups[3], 0.01), bad("magic", []byte("GMWEIGHT\x01\x00\x00\x00")), gometric.ErrShape, "magic"},
		{"version", newOpt(t, optSetups[3], 0.01), bad("version", sealed(append([]byte(optStateMagic), 2, 0, 0, 0))), gometric.ErrUnsupported, "format version 2"},
		{"unknown-kind", newOpt(t, optSetups[3], 0.01), bad("unknown-kind", sealed(optHeader(9, 0, 0))), gometric.ErrUnsupported, "optimizer kind 9"},
		{"nan-lr", newOpt(t, optSetups[3], 0.01), bad("nan-lr", sealed(nanLR)), gometric.ErrNonFinite, "LR is NaN"},
		{"bad-beta", newOpt(t, optSetups[3], 0.01), bad("bad-beta", sealed(badBeta)), gometric.ErrSetting, "betas"},
		{"steps-no-params", newOpt(t, optSetups[3], 0.01), bad("steps", sealed(optHeader(2, 3, 0))), gometric.ErrShape, "no parameters"},
		{"huge-steps", newOpt(t, optSetups[3], 0.01), bad("huge-steps", sealed(optHeader(2, math.MaxUint64, 0))), gometric.ErrShape, "step count"},
		{"rank-0", newOpt(t, optSetups[3], 0.01), bad("rank0", sealed(append(optHeader(2, 1, 1), paramRecord(4, nil, 0)...))), gometric.ErrShape, "0 dimensions"},
		{"dim-0", newOpt(t, optSetups[3], 0.01), bad("dim0", sealed(append(optHeader(2, 1, 1), paramRecord(4, []uint64{3, 0}, 0)...))), gometric.ErrShape, "dimension 1 is 0"},
		{"dims-overflow", newOpt(t, optSetups[3], 0.01), bad("dimov", sealed(append(optHeader(2, 1, 1), paramRecord(4, []uint64{1 << 32, 1 << 32}, 0)...))), gometric.ErrShape, "dimension 1"},
		{"precision-2", newOpt(t, optSetups[3], 0.01), bad("prec2", sealed(append(optHeader(2, 1, 1), paramRecord(2, []uint64{3}, 0)...))), gometric.ErrShape, "precision 2"},
		{"sgd-slots", newOpt(t, optSetups[0], 0.01), bad("sgdslots", sealed(append(optHeader(1, 1, 1), paramRecord(4, []uint64{3}, 2)...))), gometric.ErrShape, "buffer set"},
		{"nan-moment", newOpt(t, optSetups[3], 0.01), bad("nanmoment", sealed(nanMoment)), gometric.ErrNonFinite, "index 1"},
		{"declared-beyond-file", newOpt(t, optSetups[3], 0.01), bad("beyond", sealed(append(optHeader(2, 1, 1), paramRecord(4, []uint64{1000}, 1)...))), gometric.ErrShape, "need 4000 bytes"},
		{"missing", newOpt(t, optSetups[3], 0.01), filepath.Join(dir, "missing"), os.ErrNotExist, ""},
		{"solver", solver, bad("solver", adamState), gometric.ErrUnsupported, "Gorgonia solver"},
		{"zero-optimizer", &Optimizer{}, bad("zero", adamState), gometric.ErrSetting, "NewOptimizer"},
		{"nil-optimizer", (*Optimizer)(nil), bad("nil", adamState), gometric.ErrSetting, "nil receiver"},
		{"sched-kind", stepLR, bad("sched-kind", stateBytes(t, multi)), gometric.ErrShape, "state of a MultiStepLR, this scheduler is a StepLR"},
		{"opt-into-sched", stepLR, bad("opt-sched", adamState), gometric.ErrShape, "magic"},
		{"sched-into-opt", newOpt(t, optSetups[3], 0.01), bad("sched-opt", stateBytes(t, stepLR)), gometric.ErrShape, "magic"},
		{"steplr-settings", otherStepLR, bad("steplr", stateBytes(t, stepLR)), gometric.ErrShape, "step size 2 and gamma 0.5, this one 3"},
		{"multisteplr-settings", otherMulti, bad("multi", stateBytes(t, multi)), gometric.ErrShape, "milestones [2 4 4]"},
		{"cosine-settings", otherCos, bad("cos", stateBytes(t, cos)), gometric.ErrShape, "T_max 3 and eta_min 0.0001"},
		{"exponential-settings", otherExpo, bad("expo", stateBytes(t, expo)), gometric.ErrShape, "gamma 0.8, this one 0.9"},
		{"zero-StepLR", &StepLR{}, bad("zs", stateBytes(t, stepLR)), gometric.ErrSetting, "NewStepLR"},
		{"zero-MultiStepLR", &MultiStepLR{}, bad("zm", stateBytes(t, multi)), gometric.ErrSetting, "NewMultiStepLR"},
		{"zero-ExponentialLR", &ExponentialLR{}, bad("ze", stateBytes(t, expo)), gometric.ErrSetting, "NewExponentialLR"},
		{"zero-CosineAnnealingLR", &CosineAnnealingLR{}, bad("zc", stateBytes(t, cos)), gometric.ErrSetting, "NewCosineAnnealingLR"},
		{"zero-ReduceLROnPlateau", &ReduceLROnPlateau{}, bad("zr", stateBytes(t, stepLR)), gometric.ErrSetting, "NewReduceLROnPlateau"},
		{"nil-StepLR", (*StepLR)(nil), bad("ns", nil), gometric.ErrSetting, "nil receiver"},
		{"nil-MultiStepLR", (*MultiStepLR)(nil), bad("nm", nil), gometric.ErrSetting, "nil receiver"},
		{"nil-ExponentialLR", (*ExponentialLR)(nil), bad("ne", nil), gometric.ErrSetting, "nil receiver"},
		{"nil-CosineAnnealingLR", (*CosineAnnealingLR)(nil), bad("nc", nil), gometric.ErrSetting, "nil receiver"},
		{"nil-ReduceLROnPlateau", (*ReduceLROnPlateau)(nil), bad("nr", nil), gometric.ErrSetting, "nil receiver"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before []byte
			if o, ok := c.target.(*Optimizer); ok && o != nil && o.name != "" && !o.custom {
				before = stateBytes(t, o)
			}
			err := c.target.LoadState(c.path)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("LoadState: err = %v, want %v containing %q", err, c.want, c.text)
			}
			if errors.Is(err, ErrStateFile) && !strings.Contains(err.Error(), c.path+": offset ") {
				t.Errorf("error names no path and offset: %v", err)
			}
			data, _ := os.ReadFile(c.path)
			if err := c.target.ReadState(bytes.NewReader(data)); !errors.Is(err, c.want) && !errors.Is(c.want, os.ErrNotExist) {
				t.Errorf("ReadState: err = %v, want %v", err, c.want)
			}
			if before != nil && !bytes.Equal(before, stateBytes(t, c.target)) {
				t.Error("a failed load changed the optimizer")
			}
			switch c.name {
			case "solver", "zero-optimizer", "nil-optimizer", "nil-StepLR", "nil-MultiStepLR", "nil-ExponentialLR", "nil-CosineAnnealingLR", "nil-ReduceLROnPlateau",
				"zero-StepLR", "zero-MultiStepLR", "zero-ExponentialLR", "zero-CosineAnnealingLR", "zero-ReduceLROnPlateau":
				if err := c.target.WriteState(io.Discard); !errors.Is(err, c.want) {
					t.Errorf("WriteState: %v, want %v", err, c.want)
				}
				if err := c.target.SaveState(filepath.Join(dir, "out-"+c.name)); !errors.Is(err, c.want) {
					t.Errorf("SaveState: %v, want %v", err, c.want)
				}
			}
		})
	}
	// Nil readers and writers.
	for _, s := range []StateSaver{adam, stepLR, multi, expo, cos, mustSched(t, 4, newOpt(t, optSetups[3], 0.01))} {
		if err := s.ReadState(nil); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%T.ReadState(nil): %v", s, err)
		}
		if err := s.WriteState(nil); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%T.WriteState(nil): %v", s, err)
		}
		if err := s.SaveState(filepath.Join(dir, "no-such-dir", "x")); err == nil {
			t.Errorf("%T.SaveState into a missing directory: no error", s)
		}
	}
	// Settings the optimizer refuses are not written.
	o := newOpt(t, optSetups[3], 0.01)
	o.LR = -1
	if err := o.WriteState(io.Discard); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("WriteState with LR -1: %v", err)
	}
	p := mustSched(t, 4, newOpt(t, optSetups[3], 0.01)).(*ReduceLROnPlateau)
	p.Mode = "up"
	if err := p.WriteState(io.Discard); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ReduceLROnPlateau.WriteState with Mode up: %v", err)
	}
}

// newOptStepped returns an Adam optimizer that has stepped an encoder
// with as many parameters as newLossParams (float32 state).
func newOptStepped(t testing.TB, n int) *Optimizer {
	o := newOpt(t, optSetups[3], 0.01)
	var params []*Param
	for i, shape := range [][]int{{2, 3}, {1, 2}}[:n] {
		p := newParam[float32]("p", shape, shape...)
		_, g := p.Float32s()
		g[0] = float32(i + 1)
		params = append(params, p)
	}
	if err := o.Step(params); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOptimizerStateAdoptThenCheck: an optimizer that has not stepped
// adopts a state; its first step checks the parameters against it.
func TestOptimizerStateAdoptThenCheck(t *testing.T) {
	m := newStateMLP(t)
	o := newOpt(t, optSetups[3], 0.01)
	trainSteps(t, m, o, nil, 0, 2)
	data := stateBytes(t, o)
	o2 := newOpt(t, optSetups[3], 0.5)
	if err := o2.ReadState(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if o2.LR != 0.01 || o2.Steps() != 2 {
		t.Errorf("adopted LR %v, steps %d; want 0.01, 2", o2.LR, o2.Steps())
	}
	other, err := NewMLP(MLPConfig{Sizes: []int{5, 4, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.TrainStep(batchAt(0), sumSquares); err != nil {
		t.Fatal(err)
	}
	if err := other.Step(o2); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("Step with other shapes after a loaded state: %v, want ErrShape", err)
	}
	// Loaded into a fresh one, a loss optimizer's (float64) state refuses
	// encoder (float32) parameters at the first step.
	lo := newOpt(t, optSetups[3], 0.01)
	ps := newLossParams()
	if err := lo.StepParams(ps, lossGrads(ps, 0)); err != nil {
		t.Fatal(err)
	}
	o3 := newOpt(t, optSetups[3], 0.01)
	if err := o3.ReadState(bytes.NewReader(stateBytes(t, lo))); err != nil {
		t.Fatal(err)
	}
	st := newOptStepped(t, 2).state
	if err := o3.Step([]*Param{st[0].p, st[1].p}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("Step of float32 parameters after a float64 state: %v, want ErrShape", err)
	}
	// A stepped optimizer refuses the state of an unstepped one.
	if err := o.ReadState(bytes.NewReader(stateBytes(t, newOpt(t, optSetups[3], 0.01)))); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("unstepped state into a stepped optimizer: %v", err)
	}
}
