package models

// EvalModer is implemented by the encoders whose training step differs
// between torch's train and eval modes: an MLP with Dropout and a ResNet
// (BatchNorm). SetEvalMode(true) is torch's model.eval() for the training
// steps that follow: TrainStep and TrainStepInput still compute every
// gradient, but dropout is off and BatchNorm normalises with its running
// statistics without updating them. SetEvalMode(false), the state of a
// new encoder, is model.train(). Embed is always in eval mode.
//
// PML's BaseTrainer.set_to_train puts the models named in freeze_these in
// eval mode and the others in train mode at every epoch; the trainers of
// package trainers do the same through this interface, so a frozen
// embedder with dropout passes gradients to the trunk without dropping.
// The implementations of this package are safe for concurrent use: the
// mode is set and read under the encoder's lock, and applies from the next
// training step.
type EvalModer interface {
	// SetEvalMode sets the mode of the training steps that follow; it
	// errors for a nil or zero encoder.
	SetEvalMode(eval bool) error
	// EvalMode reports the mode (false for a nil or zero encoder).
	EvalMode() bool
}

var (
	_ EvalModer = (*MLP)(nil)
	_ EvalModer = (*ResNet)(nil)
)

// SetEvalMode implements EvalModer: in eval mode the training steps run
// without dropout, and draw no dropout masks.
func (m *MLP) SetEvalMode(eval bool) error {
	nw, err := m.net("SetEvalMode")
	if err != nil {
		return err
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.eval = eval
	return nil
}

// EvalMode implements EvalModer.
func (m *MLP) EvalMode() bool {
	nw, err := m.net("EvalMode")
	if err != nil {
		return false
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.eval
}

// SetEvalMode implements EvalModer: in eval mode the training steps
// normalise with the running statistics and leave them as they are (as
// FreezeBatchNorm does for the whole run).
func (m *ResNet) SetEvalMode(eval bool) error {
	r, err := m.net("SetEvalMode")
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r.eval = eval
	return nil
}

// EvalMode implements EvalModer.
func (m *ResNet) EvalMode() bool {
	r, err := m.net("EvalMode")
	if err != nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return r.eval
}
