package models

import (
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Encoder maps a batch of inputs to float32 embeddings and learns from the
// gradient of a loss on them. ConvNet, MLP and ResNet implement it. Its methods
// are safe for concurrent use (calls are serialised).
//
// A training iteration is
//
//	loss, err := enc.TrainStep(batch, lossFn) // forward, loss, backward; sets every gradient
//	err = enc.Step(opt)                       // applies the optimizer; gradients back to 0
//
// TrainStep sets the gradients rather than adding to them, and resets the
// Gorgonia tape machine after every run, so nothing carries over from one
// iteration to the next.
type Encoder interface {
	// InputShape is the shape of one sample: [C H W] or [D].
	InputShape() []int
	// EmbeddingSize is E, the length of an embedding.
	EmbeddingSize() int
	// Embed returns the N×E embeddings of x, N samples of InputShape,
	// one flattened sample per row (x.Cols is the product of InputShape).
	Embed(x gometric.Matrix) (gometric.Matrix, error)
	// TrainStep embeds x, calls loss on the embeddings and backpropagates
	// its gradient, in one run of a Gorgonia graph; it returns the loss
	// and leaves d(loss)/d(parameter) in every parameter's gradient.
	TrainStep(x gometric.Matrix, loss LossFunc) (float32, error)
	// Params returns the learnable parameters in a fixed order.
	Params() []*Param
	// ZeroGrad sets every gradient to 0.
	ZeroGrad()
	// Step applies opt to the parameters and leaves the gradients at 0.
	Step(opt *Optimizer) error
	// Save writes the weights (and the architecture) to path atomically.
	Save(path string) error
	// Load reads weights written by Save for the same architecture.
	Load(path string) error
}

var (
	_ Encoder = (*ConvNet)(nil)
	_ Encoder = (*MLP)(nil)
)

// ConvNetConfig is the architecture of a ConvNet. It has no defaults:
// NewConvNet refuses a zero field with an error wrapping
// gometric.ErrSetting (ReferenceConvNetConfig is the benchmark's network).
// It is a plain value, safe for concurrent reads.
type ConvNetConfig struct {
	// Channels, Height and Width are the shape of an input image (C×H×W).
	Channels, Height, Width int
	// Blocks holds the output channels of each block conv3×3 (padding 1)
	// → ReLU → max-pool 2×2; each block halves the height and width
	// (rounding down, as torch's MaxPool2d(2)).
	Blocks []int
	// Embedding is the size of the dense layer that ends the network.
	Embedding int
	// Seed seeds the initialisation: the same seed gives the same weights.
	Seed uint64
}

// ReferenceConvNetConfig returns the network of the Fashion-MNIST
// benchmark (conv3×3(16)–ReLU–pool–conv3×3(32)–ReLU–pool–dense(64) on
// 1×28×28 images) with the given seed.
func ReferenceConvNetConfig(seed uint64) ConvNetConfig {
	return ConvNetConfig{Channels: 1, Height: 28, Width: 28, Blocks: []int{16, 32}, Embedding: 64, Seed: seed}
}

// maxDim bounds every size of an architecture (channels, height, width,
// features, embedding) so that shapes cannot overflow.
const maxDim = 1 << 16

// maxParams bounds the parameter values of an architecture (1 GiB of
// float32 weights, as much again for the gradients), so that neither a
// configuration nor a weight file's header can ask for unbounded memory.
const maxParams = 1 << 28

// checkParams refuses an architecture of more than maxParams values.
func checkParams(component string, specs []paramSpec) error {
	total := 0
	for _, s := range specs {
		total += shapeLen(s.shape)
		if total > maxParams {
			return fmt.Errorf("%s: the architecture has more than %d parameter values (the limit): %w", component, maxParams, gometric.ErrSetting)
		}
	}
	return nil
}

// ConvNet is a convolutional encoder in Gorgonia (float32): for each block
// a 3×3 convolution (padding 1, stride 1, with bias) → ReLU → 2×2 max-pool
// (stride 2), then the flattened features go through a dense layer to the
// embedding. It is the torch model
//
//	nn.Sequential(nn.Conv2d(C, b1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), ...,
//	              nn.Flatten(), nn.Linear(F, E))
//
// with the same parameter names, shapes and initialisation distribution
// (not the same random draws: see the package doc).
//
// Make one with NewConvNet or LoadEncoder: the zero value has no
// architecture, and its methods return an error wrapping
// gometric.ErrSetting (those without an error result return zero values),
// as do those of a nil *ConvNet. A ConvNet is safe for concurrent use: its
// calls are serialised.
type ConvNet struct {
	nw  *network[float32]
	cfg ConvNetConfig
}

// NewConvNet builds a ConvNet with weights initialised from cfg.Seed. A
// ConvNetConfig with a zero size (the zero value included), a size above
// 2^16 or more than 2^28 parameter values in all is an error wrapping
// gometric.ErrSetting.
func NewConvNet(cfg ConvNetConfig) (*ConvNet, error) {
	if cfg.Channels == 0 && cfg.Height == 0 && cfg.Width == 0 && len(cfg.Blocks) == 0 && cfg.Embedding == 0 {
		return nil, fmt.Errorf("models.NewConvNet: the zero ConvNetConfig has no architecture; set Channels, Height, Width, Blocks and Embedding, or use ReferenceConvNetConfig(seed): %w", gometric.ErrSetting)
	}
	nw, err := newConvNetwork[float32](cfg)
	if err != nil {
		return nil, err
	}
	cfg.Blocks = slices.Clone(cfg.Blocks)
	return &ConvNet{nw: nw, cfg: cfg}, nil
}

// net returns the network, or an error for a nil or zero ConvNet.
func (m *ConvNet) net(method string) (*network[float32], error) {
	if m == nil {
		return nil, unusable("models.ConvNet."+method, "nil receiver")
	}
	if m.nw == nil {
		return nil, unusable("models.ConvNet."+method, "not made by NewConvNet (the zero value has no architecture); use NewConvNet(cfg) or LoadEncoder(path)")
	}
	return m.nw, nil
}

// InputShape returns the shape of one input sample, [C H W] (nil for a nil
// or zero ConvNet).
func (m *ConvNet) InputShape() []int {
	nw, err := m.net("InputShape")
	if err != nil {
		return nil
	}
	return nw.InputShape()
}

// EmbeddingSize returns the size E of an embedding (0 for a nil or zero
// ConvNet).
func (m *ConvNet) EmbeddingSize() int {
	nw, err := m.net("EmbeddingSize")
	if err != nil {
		return 0
	}
	return nw.EmbeddingSize()
}

// Params returns the parameters in a fixed order (the weight file's); nil
// for a nil or zero ConvNet.
func (m *ConvNet) Params() []*Param {
	nw, err := m.net("Params")
	if err != nil {
		return nil
	}
	return nw.Params()
}

// ZeroGrad sets every parameter's gradient to 0 (nothing for a nil or
// zero ConvNet).
func (m *ConvNet) ZeroGrad() {
	if nw, err := m.net("ZeroGrad"); err == nil {
		nw.ZeroGrad()
	}
}

// Step applies opt to the parameters (opt.Step(Params())); Gorgonia's
// solvers leave the gradients at 0.
func (m *ConvNet) Step(opt *Optimizer) error {
	nw, err := m.net("Step")
	if err != nil {
		return err
	}
	return nw.Step(opt)
}

// Embed returns the N×E embeddings of x, an N×(C·H·W) batch (inference:
// no gradient). A non-finite input value, or an embedding that overflows
// float32, is an error wrapping gometric.ErrNonFinite.
func (m *ConvNet) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	nw, err := m.net("Embed")
	if err != nil {
		return gometric.Matrix{}, err
	}
	return nw.Embed(x)
}

// TrainStep runs one forward pass of x, an N×(C·H·W) batch, calls loss on
// the embeddings and backpropagates its gradient, all in one run of the
// training graph. On success every parameter's gradient holds
// d(loss)/d(parameter) for this batch (set, not accumulated) and the loss
// is returned; apply it with Step. On failure the gradients are 0. If loss
// panics, TrainStep panics with the same value (on the caller's goroutine;
// Gorgonia runs the graph on its own).
func (m *ConvNet) TrainStep(x gometric.Matrix, loss LossFunc) (float32, error) {
	nw, err := m.net("TrainStep")
	if err != nil {
		return 0, err
	}
	return nw.TrainStep(x, loss)
}

// Config returns the architecture (the zero ConvNetConfig for a nil
// ConvNet).
func (m *ConvNet) Config() ConvNetConfig {
	if m == nil {
		return ConvNetConfig{}
	}
	c := m.cfg
	c.Blocks = slices.Clone(c.Blocks)
	return c
}

func checkDim(component, what string, v int) error {
	if v <= 0 || v > maxDim {
		return fmt.Errorf("%s: %s = %d is outside [1, %d]: %w", component, what, v, maxDim, gometric.ErrSetting)
	}
	return nil
}

// convSpecs validates cfg and returns its parameters.
func convSpecs(cfg ConvNetConfig) ([]paramSpec, int, error) {
	const c = "models.ConvNet"
	for _, d := range []struct {
		what string
		v    int
	}{{"Channels", cfg.Channels}, {"Height", cfg.Height}, {"Width", cfg.Width}, {"Embedding", cfg.Embedding}} {
		if err := checkDim(c, d.what, d.v); err != nil {
			return nil, 0, err
		}
	}
	if len(cfg.Blocks) == 0 || len(cfg.Blocks) > 16 {
		return nil, 0, fmt.Errorf("%s: %d blocks, want 1 to 16: %w", c, len(cfg.Blocks), gometric.ErrSetting)
	}
	var specs []paramSpec
	ch, h, w := cfg.Channels, cfg.Height, cfg.Width
	for i, out := range cfg.Blocks {
		if err := checkDim(c, fmt.Sprintf("Blocks[%d]", i), out); err != nil {
			return nil, 0, err
		}
		if h < 2 || w < 2 {
			return nil, 0, fmt.Errorf("%s: block %d gets %d×%d images, too small to pool 2×2: %w", c, i, h, w, gometric.ErrSetting)
		}
		fan := ch * 9
		specs = append(specs,
			paramSpec{fmt.Sprintf("conv%d.weight", i+1), []int{out, ch, 3, 3}, []int{out, ch, 3, 3}, fan},
			paramSpec{fmt.Sprintf("conv%d.bias", i+1), []int{out}, []int{out}, fan})
		ch, h, w = out, h/2, w/2
	}
	feat := ch * h * w
	if feat > 1<<24 || feat*cfg.Embedding > 1<<28 {
		return nil, 0, fmt.Errorf("%s: dense layer of %d×%d is too large: %w", c, cfg.Embedding, feat, gometric.ErrSetting)
	}
	specs = append(specs,
		paramSpec{"fc.weight", []int{cfg.Embedding, feat}, []int{cfg.Embedding, feat}, feat},
		paramSpec{"fc.bias", []int{cfg.Embedding}, []int{cfg.Embedding}, feat})
	if err := checkParams(c, specs); err != nil {
		return nil, 0, err
	}
	return specs, feat, nil
}

func newConvNetwork[T float](cfg ConvNetConfig) (*network[T], error) {
	specs, feat, err := convSpecs(cfg)
	if err != nil {
		return nil, err
	}
	blocks := slices.Clone(cfg.Blocks)
	forward := func(x *G.Node, p []*G.Node, n int, _, inputGrad bool) (*G.Node, error) {
		h := x
		ch, hh, ww := cfg.Channels, cfg.Height, cfg.Width
		var err error
		for i, out := range blocks {
			if h, err = G.ApplyOp(newBlockOp[T](n, ch, hh, ww, out, i > 0 || inputGrad), h, p[2*i], p[2*i+1]); err != nil {
				return nil, err
			}
			ch, hh, ww = out, hh/2, ww/2
		}
		if h, err = G.Reshape(h, tensor.Shape{n, feat}); err != nil {
			return nil, err
		}
		k := 2 * len(blocks)
		return G.ApplyOp(newLinearOp[T](n, feat, cfg.Embedding, true), h, p[k], p[k+1])
	}
	input := []int{cfg.Channels, cfg.Height, cfg.Width}
	return newNetwork[T]("models.ConvNet", input, cfg.Embedding, specs, cfg.Seed, forward), nil
}
