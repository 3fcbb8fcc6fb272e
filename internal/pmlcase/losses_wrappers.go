package pmlcase

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"gonum.org/v1/gonum/mat"
)

func init() {
	registerLoss("SelfSupervisedLoss", func(a Args) (losses.Loss, error) {
		if err := a.Known("SelfSupervisedLoss", "loss", "symmetric"); err != nil {
			return nil, err
		}
		inner, err := nestedLoss(a, "loss")
		if err != nil {
			return nil, err
		}
		l := losses.NewSelfSupervised(inner)
		l.Symmetric, err = a.Bool("symmetric", l.Symmetric)
		return l, err
	})
	registerLoss("CrossBatchMemory", func(a Args) (losses.Loss, error) {
		if err := a.Known("CrossBatchMemory", "loss", "embedding_size", "memory_size", "miner"); err != nil {
			return nil, err
		}
		inner, err := nestedLoss(a, "loss")
		if err != nil {
			return nil, err
		}
		if !a.Has("embedding_size") {
			return nil, fmt.Errorf("embedding_size is required")
		}
		es, err := a.Int("embedding_size", 0)
		if err != nil {
			return nil, err
		}
		ms, err := a.Int("memory_size", losses.DefaultMemorySize)
		if err != nil {
			return nil, err
		}
		l, err := losses.NewCrossBatchMemory(inner, es, ms)
		if err != nil {
			return nil, err
		}
		ms2, err := a.Spec("miner")
		if err != nil {
			return nil, err
		}
		if l.Miner, err = Miner(ms2); err != nil {
			return nil, err
		}
		return l, nil
	})
	registerLoss("MultipleLosses", buildMultipleLosses)
}

// nestedLoss builds the required nested loss spec a[key].
func nestedLoss(a Args, key string) (losses.Loss, error) {
	s, err := a.Spec(key)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("argument %q is required", key)
	}
	return Loss(s)
}

// orderedEntry is one element of a JSON list or object, in document order.
type orderedEntry struct {
	key string // "" for a list element
	raw json.RawMessage
}

// orderedItems decodes a JSON list or object keeping the object's key order
// (PML's dicts keep insertion order, and MultipleLosses sums in it).
func orderedItems(raw json.RawMessage) (items []orderedEntry, isDict bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, false, err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, false, err
			}
			items = append(items, orderedEntry{raw: v})
		}
		return items, false, nil
	case json.Delim('{'):
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, true, err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, true, err
			}
			items = append(items, orderedEntry{key: kt.(string), raw: v})
		}
		return items, true, nil
	}
	return nil, false, fmt.Errorf("neither a list nor an object")
}

func buildMultipleLosses(a Args) (losses.Loss, error) {
	if err := a.Known("MultipleLosses", "losses", "miners", "weights"); err != nil {
		return nil, err
	}
	if !a.Has("losses") {
		return nil, fmt.Errorf("argument \"losses\" is required")
	}
	items, isDict, err := orderedItems(a["losses"])
	if err != nil {
		return nil, fmt.Errorf("argument \"losses\": %v", err)
	}
	m := &losses.Multiple{}
	index := map[string]int{}
	for i, it := range items {
		var s Spec
		if err := json.Unmarshal(it.raw, &s); err != nil || s.Class == "" {
			return nil, fmt.Errorf("losses[%d] is not a {class, args} object", i)
		}
		l, err := Loss(&s)
		if err != nil {
			return nil, err
		}
		m.Losses = append(m.Losses, l)
		if isDict {
			m.Names = append(m.Names, it.key)
			index[it.key] = i
		}
	}
	// pos maps a miners/weights entry to its loss index.
	pos := func(what string, j int, it orderedEntry, dict bool) (int, error) {
		if dict != isDict {
			return 0, fmt.Errorf("%s: a list and a dict mixed (PML asserts)", what)
		}
		if !dict {
			return j, nil
		}
		i, ok := index[it.key]
		if !ok {
			return 0, fmt.Errorf("%s: key %q is not a loss", what, it.key)
		}
		return i, nil
	}
	if a.Has("miners") {
		ms, dict, err := orderedItems(a["miners"])
		if err != nil {
			return nil, fmt.Errorf("argument \"miners\": %v", err)
		}
		if !dict && len(ms) != len(items) {
			return nil, fmt.Errorf("miners: %d for %d losses", len(ms), len(items))
		}
		m.Miners = make([]miners.Miner, len(items))
		for j, it := range ms {
			i, err := pos("miners", j, it, dict)
			if err != nil {
				return nil, err
			}
			if string(it.raw) == "null" {
				continue
			}
			var s Spec
			if err := json.Unmarshal(it.raw, &s); err != nil || s.Class == "" {
				return nil, fmt.Errorf("miners entry %d is not a {class, args} object", j)
			}
			if m.Miners[i], err = Miner(&s); err != nil {
				return nil, err
			}
		}
	}
	if a.Has("weights") {
		ws, dict, err := orderedItems(a["weights"])
		if err != nil {
			return nil, fmt.Errorf("argument \"weights\": %v", err)
		}
		if len(ws) != len(items) {
			return nil, fmt.Errorf("weights: %d for %d losses (PML asserts all keys)", len(ws), len(items))
		}
		m.Weights = make([]float64, len(items))
		for j, it := range ws {
			i, err := pos("weights", j, it, dict)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(it.raw, &m.Weights[i]); err != nil {
				return nil, fmt.Errorf("weights entry %d: %v", j, err)
			}
		}
	}
	return m, nil
}

// CrossBatchCall is one call of a stateful CrossBatchMemory case: its
// batch, enqueue mask (nil: none) and, for the "previous_calls", PML's
// loss and gradient. It is plain data, safe for concurrent reads.
type CrossBatchCall struct {
	Batch       losses.Batch
	EnqueueMask []bool
	Loss        float64
	Grad        *mat.Dense
}

// EnqueueMask decodes the "enqueue_mask" input (nil when absent).
func (c *Case) EnqueueMask() ([]bool, error) {
	var m []bool
	if _, err := c.Input("enqueue_mask", &m); err != nil {
		return nil, err
	}
	return m, nil
}

// PreviousCalls decodes a CrossBatchMemory case's "previous_calls" inputs
// with their outputs, in order (none when absent).
func (c *Case) PreviousCalls() ([]CrossBatchCall, error) {
	var ins []map[string]json.RawMessage
	if _, err := c.Input("previous_calls", &ins); err != nil {
		return nil, err
	}
	var outs []struct {
		Loss float64     `json:"loss"`
		Grad [][]float64 `json:"grad_embeddings"`
	}
	if raw, ok := c.rawOutput("previous_calls"); ok {
		if err := decodeStrict(raw, &outs); err != nil {
			return nil, fmt.Errorf("%s: output previous_calls: %v", c.Name(), err)
		}
	}
	if len(outs) != len(ins) {
		return nil, fmt.Errorf("%s: %d previous calls, %d outputs", c.Name(), len(ins), len(outs))
	}
	calls := make([]CrossBatchCall, len(ins))
	for i, in := range ins {
		sub := &Case{Path: fmt.Sprintf("%s#previous_calls[%d]", c.Path, i), Inputs: in}
		var err error
		if calls[i].Batch, err = sub.Batch(); err != nil {
			return nil, err
		}
		if calls[i].EnqueueMask, err = sub.EnqueueMask(); err != nil {
			return nil, err
		}
		for k := range in {
			if !slices.Contains([]string{"embeddings", "labels", "enqueue_mask"}, k) {
				return nil, fmt.Errorf("%s: previous_calls[%d]: unknown input %q", c.Name(), i, k)
			}
		}
		if u := sub.Unconsumed(); len(u) > 0 {
			return nil, fmt.Errorf("%s: previous_calls[%d]: %v not read", c.Name(), i, u)
		}
		calls[i].Loss = outs[i].Loss
		if calls[i].Grad, err = gometric.DenseFromRows(outs[i].Grad); err != nil {
			return nil, fmt.Errorf("%s: previous_calls[%d] grad_embeddings: %v", c.Name(), i, err)
		}
	}
	return calls, nil
}
