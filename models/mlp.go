package models

import (
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
)

// MLPConfig is the architecture of an MLP.
type MLPConfig struct {
	// Sizes are the layer widths: Sizes[0] is the input feature size, the
	// last is the embedding size; at least two.
	Sizes []int
	// Seed seeds the initialisation: the same seed gives the same weights.
	Seed uint64
}

// MLP is a multilayer perceptron head in Gorgonia (float32) for
// precomputed features: dense layers of Sizes, with a ReLU between two
// dense layers and none after the last. With two sizes it is a single
// nn.Linear(D, E), the embedder of PML's examples (their MLP([D, E]));
// with more it is nn.Sequential(nn.Linear, nn.ReLU, ..., nn.Linear).
type MLP struct {
	*network[float32]
	cfg MLPConfig
}

// NewMLP builds an MLP with weights initialised from cfg.Seed.
func NewMLP(cfg MLPConfig) (*MLP, error) {
	nw, err := newMLPNetwork[float32](cfg)
	if err != nil {
		return nil, err
	}
	cfg.Sizes = slices.Clone(cfg.Sizes)
	return &MLP{network: nw, cfg: cfg}, nil
}

// Config returns the architecture.
func (m *MLP) Config() MLPConfig {
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
	return specs, nil
}

func newMLPNetwork[T float](cfg MLPConfig) (*network[T], error) {
	const c = "models.MLP"
	specs, err := mlpSpecs(cfg)
	if err != nil {
		return nil, err
	}
	sizes := slices.Clone(cfg.Sizes)
	forward := func(x *G.Node, p []*G.Node, n int) (*G.Node, error) {
		h := x
		var err error
		for i := 1; i < len(sizes); i++ {
			if i > 1 {
				if h, err = G.ApplyOp(newReLUOp[T](n, sizes[i-1]), h); err != nil {
					return nil, err
				}
			}
			if h, err = G.ApplyOp(newLinearOp[T](n, sizes[i-1], sizes[i], i > 1), h, p[2*(i-1)], p[2*(i-1)+1]); err != nil {
				return nil, err
			}
		}
		return h, nil
	}
	return newNetwork[T](c, []int{sizes[0]}, sizes[len(sizes)-1], specs, cfg.Seed, forward), nil
}
