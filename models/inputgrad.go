package models

import (
	"fmt"

	"github.com/gometric/gometric"
)

// InputGradStepper is an encoder whose training step also returns the
// gradient of the loss with respect to its input. It is how models are
// chained by role without merging their Gorgonia graphs, as PML chains
// its trunk, embedder and classifier in one torch graph: the trunk's loss
// function runs the embedder's TrainStepInput on the trunk's output and
// hands the returned d(loss)/d(input) back as the trunk's gradient.
//
//	loss, err := trunk.TrainStep(x, func(h gometric.Matrix) (float32, gometric.Matrix, error) {
//		return embedder.TrainStepInput(h, metricLoss)
//	})
//
// ConvNet and MLP implement it; both are safe for concurrent use (their
// calls are serialised), but a model must not be chained to itself: its
// step would wait for its own lock.
type InputGradStepper interface {
	Encoder
	// TrainStepInput is TrainStep that also returns d(loss)/d(x), an
	// N×prod(InputShape) matrix of its own (not reused by later calls).
	// On failure the parameters' gradients are 0.
	TrainStepInput(x gometric.Matrix, loss LossFunc) (float32, gometric.Matrix, error)
}

var (
	_ InputGradStepper = (*ConvNet)(nil)
	_ InputGradStepper = (*MLP)(nil)
)

// trainStepInput runs the training graph that also reads the input's
// gradient, and returns a copy of it.
func (nw *network[T]) trainStepInput(x []T, n int, fn lossFn[T]) (T, []T, error) {
	gr, l, err := nw.trainStepGraph(x, n, fn, true)
	if err != nil {
		return 0, nil, err
	}
	dx := make([]T, len(x))
	copy(dx, gr.dx.Data().([]T))
	return l, dx, nil
}

// TrainStepInput is TrainStep that also returns d(loss)/d(x).
func (nw *network[T]) TrainStepInput(x gometric.Matrix, loss LossFunc) (float32, gometric.Matrix, error) {
	n, err := nw.checkInput("TrainStepInput", x)
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	if loss == nil {
		return 0, gometric.Matrix{}, fmt.Errorf("%s.TrainStepInput: nil loss function: %w", nw.component, gometric.ErrSetting)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	l, dx, err := nw.trainStepInput(toT[T](x.Data), n, adapt[T](loss))
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	return float32(l), gometric.Matrix{Rows: n, Cols: x.Cols, Data: toF32(dx)}, nil
}

// TrainStepInput is TrainStep that also returns d(loss)/d(x), an
// N×(Channels·Height·Width) matrix (see InputGradStepper): the step of a
// ConvNet used after another model, e.g. as PML's embedder.
func (m *ConvNet) TrainStepInput(x gometric.Matrix, loss LossFunc) (float32, gometric.Matrix, error) {
	nw, err := m.net("TrainStepInput")
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	return nw.TrainStepInput(x, loss)
}

// TrainStepInput is TrainStep that also returns d(loss)/d(x), an
// N×Sizes[0] matrix (see InputGradStepper): the step of an MLP used after
// another model, as PML's embedder or classifier (an MLP of two Sizes is
// torch's nn.Linear).
func (m *MLP) TrainStepInput(x gometric.Matrix, loss LossFunc) (float32, gometric.Matrix, error) {
	nw, err := m.net("TrainStepInput")
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	return nw.TrainStepInput(x, loss)
}
