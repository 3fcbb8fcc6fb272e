package models_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// sumSq is a toy loss: half the sum of squares of the embeddings.
func sumSq(e gometric.Matrix) (float32, gometric.Matrix, error) {
	g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
	var l float32
	for i, v := range e.Data {
		l += v * v / 2
		g.Data[i] = v
	}
	return l, g, nil
}

// train runs steps of a toy training loop: TrainStep, the optimizer's
// step, the scheduler's step.
func train(enc *models.MLP, opt *models.Optimizer, sched *models.StepLR, steps int) {
	x := gometric.Matrix{Rows: 2, Cols: 3, Data: []float32{1, -2, 0.5, 0.25, 1, -1}}
	for range steps {
		if _, err := enc.TrainStep(x, sumSq); err != nil {
			panic(err)
		}
		if err := enc.Step(opt); err != nil {
			panic(err)
		}
		if err := sched.Step(); err != nil {
			panic(err)
		}
	}
}

// A checkpoint holds the weights, the optimizer's state and the
// scheduler's state, one file each; a run resumed from it continues
// exactly as the uninterrupted run.
func ExampleOptimizer_SaveState() {
	dir, err := os.MkdirTemp("", "checkpoint")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	setup := func() (*models.MLP, *models.Optimizer, *models.StepLR) {
		enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{3, 2}, Seed: 1})
		if err != nil {
			panic(err)
		}
		opt, err := models.NewOptimizer("adam", 0.1)
		if err != nil {
			panic(err)
		}
		sched, err := models.NewStepLR(opt, 2, 0.5)
		if err != nil {
			panic(err)
		}
		return enc, opt, sched
	}
	// Three steps, then a checkpoint.
	enc, opt, sched := setup()
	train(enc, opt, sched, 3)
	w, o, s := filepath.Join(dir, "trunk.gmw"), filepath.Join(dir, "trunk_optimizer.gms"), filepath.Join(dir, "trunk_scheduler.gms")
	if err := enc.Save(w); err != nil {
		panic(err)
	}
	if err := opt.SaveState(o); err != nil {
		panic(err)
	}
	if err := sched.SaveState(s); err != nil {
		panic(err)
	}
	train(enc, opt, sched, 2)

	// A new process: the same setup, then the checkpoint.
	enc2, opt2, sched2 := setup()
	if err := enc2.Load(w); err != nil {
		panic(err)
	}
	if err := opt2.LoadState(o); err != nil {
		panic(err)
	}
	if err := sched2.LoadState(s); err != nil {
		panic(err)
	}
	train(enc2, opt2, sched2, 2)
	a, _ := enc.Params()[0].Float32s()
	b, _ := enc2.Params()[0].Float32s()
	fmt.Println(opt2.Steps(), opt2.LR, fmt.Sprint(a) == fmt.Sprint(b))
	// Output: 5 0.025 true
}

// WriteState and ReadState keep a state in memory (or any stream).
func ExampleOptimizer_WriteState() {
	opt, _ := models.NewOptimizer("sgd", 0.1)
	opt.Momentum = 0.9
	var buf bytes.Buffer
	if err := opt.WriteState(&buf); err != nil {
		panic(err)
	}
	other, _ := models.NewOptimizer("sgd", 0.5)
	if err := other.ReadState(bytes.NewReader(buf.Bytes())); err != nil {
		panic(err)
	}
	fmt.Println(other.LR, other.Momentum)
	// A state is loaded only into an optimizer of its kind.
	adam, _ := models.NewOptimizer("adam", 0.1)
	err := adam.ReadState(bytes.NewReader(buf.Bytes()))
	fmt.Println(errors.Is(err, models.ErrStateFile), errors.Is(err, gometric.ErrShape))
	// Output:
	// 0.1 0.9
	// true true
}

// LoadState reads what SaveState wrote (see Optimizer.SaveState for a
// whole checkpoint).
func ExampleOptimizer_LoadState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "opt.gms")
	opt, _ := models.NewOptimizer("adamw", 1e-3)
	opt.WeightDecay = 0.05
	if err := opt.SaveState(path); err != nil {
		panic(err)
	}
	fresh, _ := models.NewOptimizer("adamw", 1e-3)
	if err := fresh.LoadState(path); err != nil {
		panic(err)
	}
	fmt.Println(fresh.WeightDecay)
	// Output: 0.05
}

// ReadState reads one state to the end of its reader.
func ExampleOptimizer_ReadState() {
	opt, _ := models.NewOptimizer("rmsprop", 0.01)
	var buf bytes.Buffer
	_ = opt.WriteState(&buf)
	err := opt.ReadState(bytes.NewReader(append(buf.Bytes(), 0)))
	fmt.Println(errors.Is(err, models.ErrStateFile))
	// Output: true
}

// Every optimizer and scheduler is a StateSaver: a trainer saves them
// alike.
func ExampleStateSaver() {
	opt, _ := models.NewOptimizer("adam", 0.1)
	step, _ := models.NewStepLR(opt, 10, 0.1)
	multi, _ := models.NewMultiStepLR(opt, []int{5, 8}, 0.1)
	expo, _ := models.NewExponentialLR(opt, 0.9)
	cos, _ := models.NewCosineAnnealingLR(opt, 100, 0)
	plateau, _ := models.NewReduceLROnPlateau(opt)
	for _, s := range []models.StateSaver{opt, step, multi, expo, cos, plateau} {
		var buf bytes.Buffer
		if err := s.WriteState(&buf); err != nil {
			panic(err)
		}
		if err := s.ReadState(&buf); err != nil {
			panic(err)
		}
	}
	fmt.Println("saved and restored")
	// Output: saved and restored
}

// A scheduler's state: its counters and last rate.
func ExampleStepLR_WriteState() {
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewStepLR(opt, 2, 0.5)
	for range 3 {
		_ = s.Step()
	}
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	opt2, _ := models.NewOptimizer("sgd", 1)
	s2, _ := models.NewStepLR(opt2, 2, 0.5)
	_ = s2.ReadState(&buf)
	_ = s2.Step() // step 4: halves the optimizer's rate
	fmt.Println(s.LastLR(), s2.LastLR())
	// Output: 0.5 0.5
}

// SaveState and LoadState through a file; a schedule made with other
// arguments refuses the state.
func ExampleStepLR_SaveState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("adam", 0.1)
	s, _ := models.NewStepLR(opt, 2, 0.5)
	_ = s.Step()
	if err := s.SaveState(path); err != nil {
		panic(err)
	}
	other, _ := models.NewStepLR(opt, 3, 0.5)
	err := other.LoadState(path)
	fmt.Println(errors.Is(err, models.ErrStateFile))
	// Output: true
}

// LoadState restores the counters of the same schedule.
func ExampleStepLR_LoadState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("adam", 0.1)
	s, _ := models.NewStepLR(opt, 2, 0.5)
	_, _ = s.Step(), s.Step()
	_ = s.SaveState(path)
	s2, _ := models.NewStepLR(opt, 2, 0.5)
	fmt.Println(s2.LoadState(path), s2.LastLR())
	// Output: <nil> 0.05
}

// ReadState reads a state from a stream.
func ExampleStepLR_ReadState() {
	opt, _ := models.NewOptimizer("adam", 0.1)
	s, _ := models.NewStepLR(opt, 2, 0.5)
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	fmt.Println(s.ReadState(&buf))
	// Output: <nil>
}

func ExampleMultiStepLR_WriteState() {
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewMultiStepLR(opt, []int{1, 3}, 0.1)
	_ = s.Step()
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	s2, _ := models.NewMultiStepLR(opt, []int{1, 3}, 0.1)
	fmt.Println(s2.ReadState(&buf), s2.LastLR())
	// Output: <nil> 0.1
}

func ExampleMultiStepLR_SaveState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewMultiStepLR(opt, []int{1, 3}, 0.1)
	_ = s.Step()
	_ = s.SaveState(path)
	s2, _ := models.NewMultiStepLR(opt, []int{3, 1}, 0.1) // the same milestones
	fmt.Println(s2.LoadState(path), s2.LastLR())
	// Output: <nil> 0.1
}

func ExampleExponentialLR_WriteState() {
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewExponentialLR(opt, 0.5)
	_ = s.Step()
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	s2, _ := models.NewExponentialLR(opt, 0.5)
	fmt.Println(s2.ReadState(&buf), s2.LastLR())
	// Output: <nil> 0.5
}

func ExampleExponentialLR_SaveState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewExponentialLR(opt, 0.5)
	_ = s.Step()
	_ = s.SaveState(path)
	s2, _ := models.NewExponentialLR(opt, 0.5)
	fmt.Println(s2.LoadState(path), s2.LastLR())
	// Output: <nil> 0.5
}

func ExampleCosineAnnealingLR_WriteState() {
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewCosineAnnealingLR(opt, 2, 0)
	_ = s.Step()
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	s2, _ := models.NewCosineAnnealingLR(opt, 2, 0)
	fmt.Println(s2.ReadState(&buf), s2.LastLR())
	// Output: <nil> 0.5
}

func ExampleCosineAnnealingLR_SaveState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("sgd", 1)
	s, _ := models.NewCosineAnnealingLR(opt, 2, 0)
	_ = s.Step()
	_ = s.SaveState(path)
	s2, _ := models.NewCosineAnnealingLR(opt, 2, 0)
	fmt.Println(s2.LoadState(path), s2.LastLR())
	// Output: <nil> 0.5
}

// A plateau scheduler's state holds its fields, best metric and counters.
func ExampleReduceLROnPlateau_WriteState() {
	opt, _ := models.NewOptimizer("adam", 0.1)
	s, _ := models.NewReduceLROnPlateau(opt)
	s.Mode, s.Patience = "max", 2
	_, _ = s.Step(0.5), s.Step(0.4)
	var buf bytes.Buffer
	_ = s.WriteState(&buf)
	s2, _ := models.NewReduceLROnPlateau(opt)
	fmt.Println(s2.ReadState(&buf), s2.Mode, s2.Patience, s2.Best())
	// Output: <nil> max 2 0.5
}

func ExampleReduceLROnPlateau_SaveState() {
	dir, _ := os.MkdirTemp("", "state")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sched.gms")
	opt, _ := models.NewOptimizer("adam", 0.1)
	s, _ := models.NewReduceLROnPlateau(opt)
	_ = s.Step(1.5)
	_ = s.SaveState(path)
	s2, _ := models.NewReduceLROnPlateau(opt)
	fmt.Println(s2.LoadState(path), s2.Best())
	// Output: <nil> 1.5
}
