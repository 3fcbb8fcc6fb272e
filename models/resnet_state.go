package models

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gometric/gometric"
)

// stateEntry is one tensor of a ResNet's state_dict: a parameter or a
// BatchNorm buffer.
type stateEntry[T float] struct {
	name    string
	shape   []int
	data    []T    // nil for num_batches_tracked
	tracked *int64 // num_batches_tracked
}

// entries lists the state in torchvision's state_dict order: each
// module's parameters, then its buffers, then its children.
func resnetEntries[T float](r *resnet[T]) []stateEntry[T] {
	var out []stateEntry[T]
	bi := 0
	for _, p := range r.all {
		out = append(out, stateEntry[T]{name: p.name, shape: p.shape, data: p.value.Data().([]T)})
		if strings.HasSuffix(p.name, ".bias") && p != r.fcB {
			bn := r.bns[bi]
			pre := r.bnNames[bi]
			c := []int{bn.c}
			out = append(out,
				stateEntry[T]{name: pre + ".running_mean", shape: c, data: bn.mean},
				stateEntry[T]{name: pre + ".running_var", shape: c, data: bn.vr},
				stateEntry[T]{name: pre + ".num_batches_tracked", shape: []int{}, tracked: &bn.tracked})
			bi++
		}
	}
	return out
}

// StateDict returns the weights and BatchNorm buffers by torchvision's
// names ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked"
// (an int64 scalar), "layer1.0.conv1.weight",
// "layer2.0.downsample.1.weight", "fc.bias", …), as torch's
// model.state_dict() of the same torchvision ResNet: copies, which later
// steps do not change. Nil for a nil or zero ResNet.
func (m *ResNet) StateDict() StateDict {
	r, err := m.net("StateDict")
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return stateDictOf(r)
}

// stateDictOf copies r's state into a StateDict (float32 values).
func stateDictOf[T float](r *resnet[T]) StateDict {
	sd := StateDict{}
	for _, e := range resnetEntries(r) {
		t := StateTensor{Shape: slices.Clone(e.shape)}
		if e.tracked != nil {
			t.Ints = []int64{*e.tracked}
		} else {
			t.Data = toF32(slices.Clone(e.data))
		}
		sd[e.name] = t
	}
	return sd
}

// maxListed bounds the keys an error lists per kind.
const maxListed = 8

func listKeys(keys []string) string {
	sort.Strings(keys)
	if len(keys) > maxListed {
		return fmt.Sprintf("%s … (%d in all)", strings.Join(keys[:maxListed], ", "), len(keys))
	}
	return strings.Join(keys, ", ")
}

// LoadStateDict copies a torchvision state_dict into the network, as
// torch's model.load_state_dict(sd) (strict): every key must be one of
// the network's, with its shape. Two departures, as torchvision users
// need them: when the network has no fc (NumClasses 0, PML's Identity
// trunk), "fc.weight" and "fc.bias" are ignored, so that ImageNet weights
// load into a trunk; and a missing "num_batches_tracked" counts as 0, as
// torch loads state dicts saved before BatchNorm had that buffer (the
// ImageNet files torchvision downloads). Missing, unexpected and
// mis-shaped keys are listed in one error wrapping gometric.ErrShape; a
// NaN or ±Inf value is an error wrapping gometric.ErrNonFinite. Nothing
// changes unless the whole dict is good; the gradients are then set to 0.
func (m *ResNet) LoadStateDict(sd StateDict) error {
	const c = "models.ResNet.LoadStateDict"
	r, err := m.net("LoadStateDict")
	if err != nil {
		return err
	}
	if sd == nil {
		return fmt.Errorf("%s: nil state dict: %w", c, gometric.ErrShape)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return loadStateDict(c, r, sd)
}

// loadStateDict is LoadStateDict on r.
func loadStateDict[T float](c string, r *resnet[T], sd StateDict) error {
	entries := resnetEntries(r)
	want := map[string]bool{}
	var missing, badShape []string
	for _, e := range entries {
		want[e.name] = true
		t, ok := sd[e.name]
		if !ok {
			if e.tracked == nil {
				missing = append(missing, e.name)
			}
			continue
		}
		if e.tracked != nil {
			scalar := len(t.Shape) == 0 || (len(t.Shape) == 1 && t.Shape[0] == 1)
			if !scalar || len(t.Ints)+len(t.Data) != 1 {
				badShape = append(badShape, fmt.Sprintf("%s: shape %v with %d values, want a scalar", e.name, t.Shape, len(t.Ints)+len(t.Data)))
			}
			continue
		}
		if !slices.Equal(t.Shape, e.shape) {
			badShape = append(badShape, fmt.Sprintf("%s: shape %v, want %v", e.name, t.Shape, e.shape))
		} else if len(t.Data) != len(e.data) {
			badShape = append(badShape, fmt.Sprintf("%s: %d float values (Ints %d), want %d", e.name, len(t.Data), len(t.Ints), len(e.data)))
		}
	}
	var unexpected []string
	for k := range sd {
		if want[k] || (r.fcW == nil && (k == "fc.weight" || k == "fc.bias")) {
			continue
		}
		unexpected = append(unexpected, k)
	}
	if len(missing)+len(unexpected)+len(badShape) > 0 {
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing keys: "+listKeys(missing))
		}
		if len(unexpected) > 0 {
			parts = append(parts, "unexpected keys: "+listKeys(unexpected))
		}
		if len(badShape) > 0 {
			parts = append(parts, "mis-shaped keys: "+listKeys(badShape))
		}
		return fmt.Errorf("%s: the state dict is not a torchvision ResNet-%d's (NumClasses %d): %s: %w", c, r.cfg.Depth, r.cfg.NumClasses, strings.Join(parts, "; "), gometric.ErrShape)
	}
	for _, e := range entries {
		t, ok := sd[e.name]
		if !ok || e.tracked != nil {
			continue
		}
		if i := firstNonFinite(t.Data); i >= 0 {
			return fmt.Errorf("%s: %s has %v at index %d: %w", c, e.name, t.Data[i], i, gometric.ErrNonFinite)
		}
	}
	for _, e := range entries {
		t, ok := sd[e.name]
		switch {
		case e.tracked == nil:
			for i, v := range t.Data {
				e.data[i] = T(v)
			}
		case !ok:
			*e.tracked = 0
		case len(t.Ints) == 1:
			*e.tracked = t.Ints[0]
		default:
			*e.tracked = int64(t.Data[0])
		}
	}
	for _, p := range r.all {
		p.zeroGrad()
	}
	return nil
}

// resnetFileConfig is the configuration a ResNet weight file records: the
// architecture and each BatchNorm's num_batches_tracked.
type resnetFileConfig struct {
	ResNetConfig
	Tracked []int64 `json:"tracked"`
}

// Save writes the architecture, the parameters and the BatchNorm running
// statistics to path in the package's weight format (kind "ResNet"),
// atomically, as ConvNet.Save does.
func (m *ResNet) Save(path string) error {
	const c = "models.ResNet.Save"
	r, err := m.net("Save")
	if err != nil {
		return err
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	m.mu.Lock()
	fc := resnetFileConfig{ResNetConfig: r.cfg}
	h := fileHeader{Kind: "ResNet"}
	var vals [][]float32
	for _, e := range resnetEntries(r) {
		if e.tracked != nil {
			fc.Tracked = append(fc.Tracked, *e.tracked)
			continue
		}
		if i := firstNonFinite(e.data); i >= 0 {
			m.mu.Unlock()
			return fmt.Errorf("%s: %s: %s has %v at index %d: %w", c, path, e.name, e.data[i], i, gometric.ErrNonFinite)
		}
		h.Params = append(h.Params, fileParam{Name: e.name, Shape: slices.Clone(e.shape)})
		vals = append(vals, slices.Clone(e.data))
	}
	m.mu.Unlock()
	cj, err := json.Marshal(fc)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c, path, err)
	}
	h.Config = cj
	return writeWeights(c, path, h, vals)
}

// Load reads a file that Save wrote for the same architecture (Depth,
// NumClasses, Channels, Height, Width; FreezeBatchNorm and Seed aside):
// weights, running statistics and num_batches_tracked. The file is
// checked completely (framing, header, architecture, checksum, finite
// values) before anything changes; the gradients are then set to 0.
func (m *ResNet) Load(path string) error {
	const c = "models.ResNet.Load"
	r, err := m.net("Load")
	if err != nil {
		return err
	}
	f, size, err := openWeights(path)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	defer f.Close()
	wr := newWeightReader(path, f, size)
	h, err := wr.header()
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if h.Kind != "ResNet" {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "the file holds a model of kind %q, not ResNet", h.Kind))
	}
	if h.DropoutSteps != 0 {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "dropout_steps %d in a ResNet file (only an MLP has dropout)", h.DropoutSteps))
	}
	var fc resnetFileConfig
	if err := json.Unmarshal(h.Config, &fc); err != nil {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "ResNet configuration: %v", err))
	}
	a, b := fc.ResNetConfig, r.cfg
	if a.Depth != b.Depth || a.NumClasses != b.NumClasses || a.Channels != b.Channels || a.Height != b.Height || a.Width != b.Width {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "the file's ResNet is %+v, this one %+v", a, b))
	}
	// Names and shapes are fixed when the network is made.
	var specs []paramSpec
	nTracked := 0
	for _, e := range resnetEntries(r) {
		if e.tracked != nil {
			nTracked++
			continue
		}
		specs = append(specs, paramSpec{name: e.name, shape: e.shape})
	}
	if len(fc.Tracked) != nTracked {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%d num_batches_tracked values, the network has %d BatchNorms", len(fc.Tracked), nTracked))
	}
	if err := sameParams(h.Params, specs); err != nil {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%v", err))
	}
	vals, err := wr.checkedValues(h, specs)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	i, t := 0, 0
	for _, e := range resnetEntries(r) {
		if e.tracked != nil {
			*e.tracked = fc.Tracked[t]
			t++
			continue
		}
		copy(e.data, vals[i])
		i++
	}
	for _, p := range r.all {
		p.zeroGrad()
	}
	return nil
}

// resnetValues is the number of float32 values Save writes for a ResNet
// of cfg (weights, biases and BatchNorm running statistics; not the
// num_batches_tracked counts, which are in the header), computed from
// the architecture without building it: LoadEncoder checks a file's size
// against it before allocating the network.
func resnetValues(cfg ResNetConfig) int64 {
	unit := func(cin, cout, k int) int64 { return int64(cout)*int64(cin)*int64(k*k) + 4*int64(cout) }
	n := unit(cfg.Channels, 64, 7)
	expansion := 1
	if cfg.Depth >= 50 {
		expansion = 4
	}
	in := 64
	for s, nb := range resnetLayers[cfg.Depth] {
		planes := 64 << s
		for i := range nb {
			if expansion == 4 {
				n += unit(in, planes, 1) + unit(planes, planes, 3) + unit(planes, planes*4, 1)
			} else {
				n += unit(in, planes, 3) + unit(planes, planes, 3)
			}
			if (s > 0 && i == 0) || in != planes*expansion {
				n += unit(in, planes*expansion, 1)
			}
			in = planes * expansion
		}
	}
	if cfg.NumClasses > 0 {
		n += int64(cfg.NumClasses)*int64(in) + int64(cfg.NumClasses)
	}
	return n
}

// decodeResNet is LoadEncoder of a file of kind "ResNet": the
// configuration is checked and the file's size against what that
// architecture holds before the network is made, then ResNet.Load reads
// it (again, whole: a weight file is read twice, the price of one loader).
func decodeResNet(c, path string, wr *weightReader, h fileHeader) (Encoder, error) {
	var fc resnetFileConfig
	if err := json.Unmarshal(h.Config, &fc); err != nil {
		return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "ResNet configuration: %v", err))
	}
	cfg, err := resnetConfig(c, fc.ResNetConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%v", err))
	}
	if wr.size < 0 {
		return nil, fmt.Errorf("%s: %s: a ResNet is read from a regular file: %w", c, path, gometric.ErrUnsupported)
	}
	if err := wr.fits([]paramSpec{{shape: []int{int(resnetValues(cfg))}}}); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	m, err := NewResNet(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if err := m.Load(path); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return m, nil
}
