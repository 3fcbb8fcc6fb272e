package models

import (
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
)

// MLPConfig is the architecture of an MLP. It has no defaults: NewMLP
// refuses fewer than two Sizes with an error wrapping gometric.ErrSetting.
// It is a plain value, safe for concurrent reads.
type MLPConfig struct {
	// Sizes are the layer widths: Sizes[0] is the input feature size, the
	// last is the embedding size; at least two.
	Sizes []int
	// Seed seeds the initialisation: the same seed gives the same weights.
	// It also seeds the dropout masks (see Dropout).
	Seed uint64
	// Dropout is torch's nn.Dropout(p) after the ReLU of every hidden layer
	// (none after the last dense layer): in training (TrainStep,
	// TrainStepInput) each hidden activation is zeroed with probability p
	// and the survivors are scaled by 1/(1−p), computed in float32 as
	// torch does (inverted dropout); Embed is not affected. p must be in
	// [0, 1); 0, the zero value, means no dropout (the MLP of an earlier
	// release: the same numbers and the same weight files). The masks are
	// drawn from Seed and the MLP's count of training steps, which the
	// weight file keeps, so a run resumed from a checkpoint draws the same
	// masks as an uninterrupted one (see MLP).
	Dropout float64 `json:",omitempty"`
}

// MLP is a multilayer perceptron head in Gorgonia (float32) for
// precomputed features: dense layers of Sizes, with a ReLU between two
// dense layers and none after the last. With two sizes it is a single
// nn.Linear(D, E), the embedder of PML's examples (their MLP([D, E]));
// with more it is nn.Sequential(nn.Linear, nn.ReLU, ..., nn.Linear), and
// with Dropout p it is nn.Sequential(nn.Linear, nn.ReLU, nn.Dropout(p),
// ..., nn.Linear).
//
// Dropout masks are reproducible: the MLP counts its successful training
// steps (TrainStep and TrainStepInput calls that return no error; a
// failed call draws the same masks when retried), and at step t (0 for
// the first) the mask of hidden layer l (1 for the ReLU after fc1, ...)
// is drawn from math/rand/v2's PCG seeded with (Seed ^ l·0x9e3779b97f4a7c15,
// t ^ 0x64726f706f757420), one Uint64 per activation in row-major order
// (sample by sample), the activation being zeroed when the draw is below
// p·2^64. Save writes the step count into the weight file and Load and
// LoadEncoder restore it, so training that resumes from a checkpoint
// continues with the masks of an uninterrupted run. Load accepts weights
// saved with another Dropout (as with another Seed) and keeps this MLP's
// Dropout, taking the file's step count only when it has dropout.
//
// Make one with NewMLP or LoadEncoder: the zero value has no architecture,
// and its methods return an error wrapping gometric.ErrSetting (those
// without an error result return zero values), as do those of a nil *MLP.
// An MLP is safe for concurrent use: its calls are serialised.
type MLP struct {
	nw  *network[float32]
	cfg MLPConfig
}

// NewMLP builds an MLP with weights initialised from cfg.Seed. An
// MLPConfig with fewer than two Sizes (the zero value included), a zero
// size, a size above 2^16, more than 2^28 parameter values in all, or a
// Dropout outside [0, 1) (NaN included) is an error wrapping
// gometric.ErrSetting.
func NewMLP(cfg MLPConfig) (*MLP, error) {
	if len(cfg.Sizes) == 0 {
		return nil, fmt.Errorf("models.NewMLP: the zero MLPConfig has no architecture; set Sizes (input size, ..., embedding size), e.g. MLPConfig{Sizes: []int{512, 64}}: %w", gometric.ErrSetting)
	}
	nw, err := newMLPNetwork[float32](cfg)
	if err != nil {
		return nil, err
	}
	cfg.Sizes = slices.Clone(cfg.Sizes)
	return &MLP{nw: nw, cfg: cfg}, nil
}

// net returns the network, or an error for a nil or zero MLP.
func (m *MLP) net(method string) (*network[float32], error) {
	if m == nil {
		return nil, unusable("models.MLP."+method, "nil receiver")
	}
	if m.nw == nil {
		return nil, unusable("models.MLP."+method, "not made by NewMLP (the zero value has no architecture); use NewMLP(cfg) or LoadEncoder(path)")
	}
	return m.nw, nil
}

// InputShape returns the shape of one input sample, [Sizes[0]] (nil for a
// nil or zero MLP).
func (m *MLP) InputShape() []int {
	nw, err := m.net("InputShape")
	if err != nil {
		return nil
	}
	return nw.InputShape()
}

// EmbeddingSize returns the size E of an embedding, the last of Sizes (0
// for a nil or zero MLP).
func (m *MLP) EmbeddingSize() int {
	nw, err := m.net("EmbeddingSize")
	if err != nil {
		return 0
	}
	return nw.EmbeddingSize()
}

// Params returns the parameters in a fixed order (the weight file's); nil
// for a nil or zero MLP.
func (m *MLP) Params() []*Param {
	nw, err := m.net("Params")
	if err != nil {
		return nil
	}
	return nw.Params()
}

// ZeroGrad sets every parameter's gradient to 0 (nothing for a nil or
// zero MLP).
func (m *MLP) ZeroGrad() {
	if nw, err := m.net("ZeroGrad"); err == nil {
		nw.ZeroGrad()
	}
}

// Step applies opt to the parameters (opt.Step(Params())); Gorgonia's
// solvers leave the gradients at 0.
func (m *MLP) Step(opt *Optimizer) error {
	nw, err := m.net("Step")
	if err != nil {
		return err
	}
	return nw.Step(opt)
}

// Embed returns the N×E embeddings of x, an N×Sizes[0] batch (inference:
// no gradient). A non-finite input value, or an embedding that overflows
// float32, is an error wrapping gometric.ErrNonFinite.
func (m *MLP) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	nw, err := m.net("Embed")
	if err != nil {
		return gometric.Matrix{}, err
	}
	return nw.Embed(x)
}

// TrainStep runs one forward pass of x, an N×Sizes[0] batch, calls loss on
// the embeddings and backpropagates its gradient in one run of the
// training graph (see ConvNet.TrainStep).
func (m *MLP) TrainStep(x gometric.Matrix, loss LossFunc) (float32, error) {
	nw, err := m.net("TrainStep")
	if err != nil {
		return 0, err
	}
	return nw.TrainStep(x, loss)
}

// Config returns the architecture (the zero MLPConfig for a nil MLP).
func (m *MLP) Config() MLPConfig {
	if m == nil {
		return MLPConfig{}
	}
	c := m.cfg
	c.Sizes = slices.Clone(c.Sizes)
	return c
}

// mlpSpecs validates cfg and returns its parameters.
func mlpSpecs(cfg MLPConfig) ([]paramSpec, error) {
	const c = "models.MLP"
	if len(cfg.Sizes) < 2 || len(cfg.Sizes) > 32 {
		return nil, fmt.Errorf("%s: %d sizes, want 2 to 32: %w", c, len(cfg.Sizes), gometric.ErrSetting)
	}
	if !(cfg.Dropout >= 0 && cfg.Dropout < 1) {
		return nil, fmt.Errorf("%s: Dropout %v, want p in [0, 1) (torch's nn.Dropout p, the probability of zeroing an activation; 0: none): %w", c, cfg.Dropout, gometric.ErrSetting)
	}
	var specs []paramSpec
	for i, s := range cfg.Sizes {
		if err := checkDim(c, fmt.Sprintf("Sizes[%d]", i), s); err != nil {
			return nil, err
		}
		if i == 0 {
			continue
		}
		in := cfg.Sizes[i-1]
		if in*s > 1<<28 {
			return nil, fmt.Errorf("%s: layer %d of %d×%d is too large: %w", c, i, s, in, gometric.ErrSetting)
		}
		specs = append(specs,
			paramSpec{fmt.Sprintf("fc%d.weight", i), []int{s, in}, []int{s, in}, in},
			paramSpec{fmt.Sprintf("fc%d.bias", i), []int{s}, []int{s}, in})
	}
	if err := checkParams(c, specs); err != nil {
		return nil, err
	}
	return specs, nil
}

func newMLPNetwork[T float](cfg MLPConfig) (*network[T], error) {
	const c = "models.MLP"
	specs, err := mlpSpecs(cfg)
	if err != nil {
		return nil, err
	}
	sizes := slices.Clone(cfg.Sizes)
	var drop *dropout
	if cfg.Dropout > 0 {
		drop = newDropout(cfg.Dropout, cfg.Seed)
	}
	forward := func(x *G.Node, p []*G.Node, n int, train, inputGrad bool) (*G.Node, error) {
		h := x
		var err error
		for i := 1; i < len(sizes); i++ {
			if i > 1 {
				op := newReLUOp[T](n, sizes[i-1])
				if train && drop != nil {
					op.withDropout(drop, i-1)
				}
				if h, err = G.ApplyOp(op, h); err != nil {
					return nil, err
				}
			}
			if h, err = G.ApplyOp(newLinearOp[T](n, sizes[i-1], sizes[i], i > 1 || inputGrad), h, p[2*(i-1)], p[2*(i-1)+1]); err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	nw := newNetwork[T](c, []int{sizes[0]}, sizes[len(sizes)-1], specs, cfg.Seed, forward)
	nw.dropout = drop
	return nw, nil
}
