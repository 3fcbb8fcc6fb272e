package models

import (
	"fmt"
	"sync"

	"github.com/gometric/gometric"
)

// ResNetConfig is the architecture of a ResNet: torchvision's
// torchvision.models.resnet18, resnet34, resnet50 or resnet101.
// Its zero value is refused by NewResNet (Depth must be set); the other
// fields' zero values are torchvision's defaults where noted. It is a
// plain value, safe for concurrent reads.
type ResNetConfig struct {
	// Depth is 18, 34 (BasicBlock), 50 or 101 (Bottleneck).
	Depth int
	// NumClasses is the size of the final fc layer (torchvision's
	// num_classes; 1000 for ImageNet weights). 0 means no fc, PML's
	// trunk.fc = torch.nn.Identity(): the embeddings are the pooled
	// features, 512 (ResNet-18/34) or 2048 (ResNet-50/101) values.
	NumClasses int
	// Channels is the number of input channels (at most 1024); if it is
	// 0, 3 is used.
	Channels int
	// Height and Width are the input's size; if 0, 224 is used.
	Height, Width int
	// FreezeBatchNorm is PML's freeze_trunk_batchnorm: during TrainStep
	// every BatchNorm stays in eval mode (it normalises with its running
	// statistics, which are not updated). As in PML, which only calls
	// eval() on the BatchNorm modules, their weight and bias still train
	// with the rest.
	FreezeBatchNorm bool
	// Seed seeds torchvision's initialisation (kaiming_normal_ with
	// mode="fan_out" for the convolutions, BatchNorm weight 1 and bias 0,
	// torch's nn.Linear rule for fc); the draws are not torch's.
	Seed uint64
}

// maxImage bounds Height and Width, maxChannels Channels.
const (
	maxImage    = 1 << 13
	maxChannels = 1 << 10
)

// resnetChunk is the largest batch Embed runs at once.
const resnetChunk = 32

// ResNet is torchvision's ResNet (torchvision.models.ResNet, v1.5: the
// Bottleneck's stride is on its 3×3 convolution), in float32: conv1 7×7/2,
// bn1, ReLU, max-pool 3×3/2, four stages of BasicBlocks (ResNet-18, -34)
// or Bottlenecks (ResNet-50, -101) whose downsample is a strided 1×1
// convolution and a BatchNorm, adaptive average pooling and an optional
// fc. Its parameter and buffer names are torchvision's ("conv1.weight",
// "layer2.0.downsample.1.running_mean", "fc.bias"), so StateDict and
// LoadStateDict exchange weights with torchvision's state_dict.
//
// Embed runs the network in eval mode (torch's model.eval(): BatchNorm
// normalises with its running statistics); TrainStep and TrainStepInput
// in train mode (batch statistics, running statistics updated with
// momentum 0.1 and the unbiased variance), unless FreezeBatchNorm or
// SetEvalMode(true) (see EvalModer). As an
// InputGradStepper it can be followed by an embedder, PML's trunk and
// embedder.
//
// Make one with NewResNet: the zero value has no architecture, and its
// methods return an error wrapping gometric.ErrSetting (those without an
// error result return zero values), as do those of a nil *ResNet. A
// ResNet is safe for concurrent use: its calls are serialised.
type ResNet struct {
	mu     sync.Mutex
	saveMu sync.Mutex
	r      *resnet[float32]
}

var _ InputGradStepper = (*ResNet)(nil)

// NewResNet builds a ResNet initialised from cfg.Seed as torchvision
// initialises one. A Depth other than 18, 34, 50 or 101 (the zero
// ResNetConfig included), a negative size, Channels above 1024,
// NumClasses above 2^16 or Height or Width above 8192 is an error wrapping
// gometric.ErrSetting.
func NewResNet(cfg ResNetConfig) (*ResNet, error) {
	cfg, err := resnetConfig("models.NewResNet", cfg)
	if err != nil {
		return nil, err
	}
	return &ResNet{r: newResNet[float32](cfg)}, nil
}

// resnetConfig validates cfg and fills its defaults.
func resnetConfig(c string, cfg ResNetConfig) (ResNetConfig, error) {
	if _, ok := resnetLayers[cfg.Depth]; !ok {
		return cfg, fmt.Errorf("%s: Depth = %d, want 18, 34, 50 or 101 (torchvision's resnet18 … resnet101): %w", c, cfg.Depth, gometric.ErrSetting)
	}
	if cfg.Channels == 0 {
		cfg.Channels = 3
	}
	if cfg.Height == 0 {
		cfg.Height = 224
	}
	if cfg.Width == 0 {
		cfg.Width = 224
	}
	for _, d := range []struct {
		what string
		v    int
		max  int
	}{{"Channels", cfg.Channels, maxChannels}, {"Height", cfg.Height, maxImage}, {"Width", cfg.Width, maxImage}} {
		if d.v <= 0 || d.v > d.max {
			return cfg, fmt.Errorf("%s: %s = %d is outside [1, %d]: %w", c, d.what, d.v, d.max, gometric.ErrSetting)
		}
	}
	if cfg.NumClasses < 0 || cfg.NumClasses > maxDim {
		return cfg, fmt.Errorf("%s: NumClasses = %d is outside [0, %d] (0: no fc): %w", c, cfg.NumClasses, maxDim, gometric.ErrSetting)
	}
	return cfg, nil
}

// net returns the network, or an error for a nil or zero ResNet.
func (m *ResNet) net(method string) (*resnet[float32], error) {
	if m == nil {
		return nil, unusable("models.ResNet."+method, "nil receiver")
	}
	if m.r == nil {
		return nil, unusable("models.ResNet."+method, "not made by NewResNet (the zero value has no architecture); use NewResNet(cfg)")
	}
	return m.r, nil
}

// Config returns the architecture, defaults filled in (the zero
// ResNetConfig for a nil or zero ResNet).
func (m *ResNet) Config() ResNetConfig {
	if m == nil || m.r == nil {
		return ResNetConfig{}
	}
	return m.r.cfg
}

// InputShape returns [Channels Height Width] (nil for a nil or zero
// ResNet).
func (m *ResNet) InputShape() []int {
	r, err := m.net("InputShape")
	if err != nil {
		return nil
	}
	return []int{r.cfg.Channels, r.cfg.Height, r.cfg.Width}
}

// EmbeddingSize returns NumClasses, or without fc the pooled features'
// size, 512 or 2048 (0 for a nil or zero ResNet).
func (m *ResNet) EmbeddingSize() int {
	r, err := m.net("EmbeddingSize")
	if err != nil {
		return 0
	}
	return r.embedding()
}

// Params returns the trainable parameters in torchvision's order
// (named_parameters). Nil for a nil or zero ResNet.
func (m *ResNet) Params() []*Param {
	r, err := m.net("Params")
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Param(nil), r.trainable...)
}

// ZeroGrad sets every parameter's gradient to 0 (nothing for a nil or zero
// ResNet).
func (m *ResNet) ZeroGrad() {
	r, err := m.net("ZeroGrad")
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range r.all {
		p.zeroGrad()
	}
}

// Step applies opt to the trainable parameters (opt.Step(Params())).
func (m *ResNet) Step(opt *Optimizer) error {
	r, err := m.net("Step")
	if err != nil {
		return err
	}
	if opt == nil {
		return fmt.Errorf("models.ResNet.Step: nil optimizer: %w", gometric.ErrSetting)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := opt.Step(r.trainable); err != nil {
		return fmt.Errorf("models.ResNet.Step: %w", err)
	}
	return nil
}

// checkInput validates a batch of NCHW images, one per row.
func (m *ResNet) checkInput(method string, r *resnet[float32], x gometric.Matrix) error {
	c := "models.ResNet." + method
	per := r.cfg.Channels * r.cfg.Height * r.cfg.Width
	if x.Cols != per {
		return fmt.Errorf("%s: input rows have %d values, want %d (one %d×%d×%d image per row): %w", c, x.Cols, per, r.cfg.Channels, r.cfg.Height, r.cfg.Width, gometric.ErrShape)
	}
	if err := x.CheckShape(c, "input"); err != nil {
		return err
	}
	if i := firstNonFinite(x.Data); i >= 0 {
		return fmt.Errorf("%s: input sample %d has %v at offset %d: %w", c, i/per, x.Data[i], i%per, gometric.ErrNonFinite)
	}
	return nil
}

// Embed returns the N×E outputs of x, an N×(C·H·W) batch of NCHW images,
// in eval mode (no gradient; BatchNorm with its running statistics), in
// chunks of 32 samples. A non-finite input, or an output that overflows
// float32, is an error wrapping gometric.ErrNonFinite.
func (m *ResNet) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	r, err := m.net("Embed")
	if err != nil {
		return gometric.Matrix{}, err
	}
	if err := m.checkInput("Embed", r, x); err != nil {
		return gometric.Matrix{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, per, e := x.Rows, x.Cols, r.embedding()
	out := make([]float32, 0, n*e)
	for lo := 0; lo < n; lo += resnetChunk {
		hi := min(n, lo+resnetChunk)
		out = append(out, r.forward(x.Data[lo*per:hi*per], hi-lo, false)...)
	}
	if i := firstNonFinite(out); i >= 0 {
		return gometric.Matrix{}, fmt.Errorf("models.ResNet.Embed: the output of sample %d has %v at %d (float32 overflow: the input or the weights are too large): %w", i/e, out[i], i%e, gometric.ErrNonFinite)
	}
	return gometric.Matrix{Rows: n, Cols: e, Data: out}, nil
}

// TrainStep runs x, an N×(C·H·W) batch of NCHW images, forward in train
// mode, calls loss on the N×E outputs and backpropagates its gradient: on
// success every trainable parameter's gradient holds d(loss)/d(parameter)
// for this batch (set, not accumulated) and the loss is returned; apply
// it with Step. On failure the gradients are 0. The BatchNorms' running
// statistics are updated by the forward pass, as torch's are, even when
// loss fails. Training BatchNorm on one value per channel (N = 1 with an
// input small enough that the last stage is 1×1) is an error wrapping
// gometric.ErrShape, as in torch.
func (m *ResNet) TrainStep(x gometric.Matrix, loss LossFunc) (float32, error) {
	l, _, err := m.trainStep("TrainStep", x, loss, false)
	return l, err
}

// TrainStepInput is TrainStep that also returns d(loss)/d(x), an
// N×(C·H·W) matrix of its own (see InputGradStepper).
func (m *ResNet) TrainStepInput(x gometric.Matrix, loss LossFunc) (float32, gometric.Matrix, error) {
	return m.trainStep("TrainStepInput", x, loss, true)
}

func (m *ResNet) trainStep(method string, x gometric.Matrix, loss LossFunc, inputGrad bool) (float32, gometric.Matrix, error) {
	c := "models.ResNet." + method
	r, err := m.net(method)
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	if err := m.checkInput(method, r, x); err != nil {
		return 0, gometric.Matrix{}, err
	}
	if loss == nil {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: nil loss function: %w", c, gometric.ErrSetting)
	}
	n := x.Rows
	m.mu.Lock()
	defer m.mu.Unlock()
	if !r.cfg.FreezeBatchNorm && !r.eval && r.smallestPlane(n) < 2 {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: %d sample(s) of %d×%d leave one value per channel in the last stage: BatchNorm cannot train on it (use a larger batch or input, FreezeBatchNorm or SetEvalMode): %w",
			c, n, r.cfg.Height, r.cfg.Width, gometric.ErrShape)
	}
	clean := func() {
		r.abandon()
		for _, p := range r.all {
			p.zeroGrad()
		}
	}
	done := false
	defer func() {
		if !done { // the loss function panicked: leave no half state
			clean()
		}
	}()
	out := r.forward(x.Data, n, true)
	e := r.embedding()
	fail := func(err error) (float32, gometric.Matrix, error) {
		clean()
		done = true
		return 0, gometric.Matrix{}, fmt.Errorf("%s: %w", c, err)
	}
	if i := firstNonFinite(out); i >= 0 {
		return fail(fmt.Errorf("the output of sample %d has %v at %d (float32 overflow: the input or the weights are too large): %w", i/e, out[i], i%e, gometric.ErrNonFinite))
	}
	l, g, err := adapt[float32](loss)(out, n, e)
	if err != nil {
		return fail(err)
	}
	dx := r.backward(g, n, inputGrad)
	done = true
	if !inputGrad {
		return l, gometric.Matrix{}, nil
	}
	return l, gometric.Matrix{Rows: n, Cols: x.Cols, Data: dx}, nil
}
