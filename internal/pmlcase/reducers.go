package pmlcase

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/gometric/gometric/reducers"
)

// Reducer builds the gometric reducer for a PML reducer spec (nil spec:
// nil, nil). Nested specs (PerAnchorReducer's "reducer", MultipleReducers'
// "reducers" and "default_reducer") are built recursively. An unknown class
// or argument is an error; "collect_stats", which only switches PML's
// statistics recording, is accepted by every class.
func Reducer(s *Spec) (reducers.Reducer, error) {
	if s == nil {
		return nil, nil
	}
	a := s.Args
	if _, err := a.Bool("collect_stats", false); err != nil {
		return nil, fmt.Errorf("%s: %v", s.Class, err)
	}
	switch s.Class {
	case "MeanReducer":
		return reducers.NewMean(), a.Known(s.Class, "collect_stats")
	case "SumReducer":
		return reducers.NewSum(), a.Known(s.Class, "collect_stats")
	case "AvgNonZeroReducer":
		return reducers.NewAvgNonZero(), a.Known(s.Class, "collect_stats")
	case "DivisorReducer":
		return reducers.NewDivisor(), a.Known(s.Class, "collect_stats")
	case "DoNothingReducer":
		return reducers.NewDoNothing(), a.Known(s.Class, "collect_stats")
	case "ThresholdReducer":
		if err := a.Known(s.Class, "low", "high", "collect_stats"); err != nil {
			return nil, err
		}
		low, err := a.Float("low", math.Inf(-1))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		high, err := a.Float("high", math.Inf(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		return reducers.NewThreshold(low, high), nil
	case "ClassWeightedReducer":
		if err := a.Known(s.Class, "weights", "collect_stats"); err != nil {
			return nil, err
		}
		w, err := a.Tensor("weights")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		if w == nil {
			return nil, fmt.Errorf("%s: argument \"weights\" is required", s.Class)
		}
		return reducers.NewClassWeighted(w), nil
	case "PerAnchorReducer":
		// aggregation_func (a Python function) cannot be recorded, so it
		// is rejected as unknown.
		if err := a.Known(s.Class, "reducer", "collect_stats"); err != nil {
			return nil, err
		}
		inner, err := nestedReducer(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		r := reducers.NewPerAnchor()
		if inner != nil {
			r.Reducer = inner
		}
		return r, nil
	case "MultipleReducers":
		if err := a.Known(s.Class, "reducers", "default_reducer", "collect_stats"); err != nil {
			return nil, err
		}
		specs, err := a.Specs("reducers")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		if specs == nil {
			return nil, fmt.Errorf("%s: argument \"reducers\" is required", s.Class)
		}
		names := make([]string, 0, len(specs))
		for name := range specs {
			names = append(names, name)
		}
		sort.Strings(names)
		m := make(map[string]reducers.Reducer, len(specs))
		for _, name := range names {
			sp := specs[name]
			if sp.Class == "" {
				return nil, fmt.Errorf("%s: reducers[%q] is not a {class, args} object", s.Class, name)
			}
			r, err := Reducer(&sp)
			if err != nil {
				return nil, fmt.Errorf("%s: reducers[%q]: %v", s.Class, name, err)
			}
			m[name] = r
		}
		r := reducers.NewMultiple(m)
		ds, err := a.Spec("default_reducer")
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.Class, err)
		}
		if ds != nil {
			if r.Default, err = Reducer(ds); err != nil {
				return nil, fmt.Errorf("%s: default_reducer: %v", s.Class, err)
			}
		}
		return r, nil
	}
	return nil, fmt.Errorf("pmlcase: unknown reducer class %q", s.Class)
}

// lossEntry is one loss_dict entry as the golden cases store it.
type lossEntry struct {
	Losses        json.RawMessage `json:"losses"`
	Indices       json.RawMessage `json:"indices"`
	ReductionType string          `json:"reduction_type"`
	Divisor       *float64        `json:"divisor"`
}

// LossDict decodes the case's "loss_dict" input into SubLoss records in the
// order of the JSON keys (PML's dict order, which decides the order of
// MultipleReducers' sum).
//
// "losses" is a list, or a bare number: the integer literal 0 is PML's
// literal zero loss (nil Values, whatever the reduction type); any other
// bare number is a 0-d tensor and only valid for "already_reduced" (one
// value). "indices" is null, an int list (element) or a list of 2 or 3 int
// lists (pairs, triplets); it is ignored for "already_reduced" as PML does.
// "divisor", when present, sets Divisor and HasDivisor.
func LossDict(c *Case) ([]reducers.SubLoss, error) {
	raw, ok := c.rawInput("loss_dict")
	if !ok || string(raw) == "null" {
		return nil, fmt.Errorf("%s: input \"loss_dict\" is missing", c.Name())
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s: loss_dict is not an object", c.Name())
	}
	var out []reducers.SubLoss
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: loss_dict: %v", c.Name(), err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s: loss_dict: key %v is not a string", c.Name(), tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("%s: loss_dict: duplicate key %q", c.Name(), name)
		}
		seen[name] = true
		var entryRaw json.RawMessage
		if err := dec.Decode(&entryRaw); err != nil {
			return nil, fmt.Errorf("%s: loss_dict[%q]: %v", c.Name(), name, err)
		}
		l, err := subLoss(name, entryRaw)
		if err != nil {
			return nil, fmt.Errorf("%s: loss_dict[%q]: %v", c.Name(), name, err)
		}
		out = append(out, l)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, fmt.Errorf("%s: loss_dict is not a closed object", c.Name())
	}
	return out, nil
}

// subLoss decodes one loss_dict entry.
func subLoss(name string, raw json.RawMessage) (reducers.SubLoss, error) {
	var e lossEntry
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return reducers.SubLoss{}, err
	}
	kind, err := reducers.ParseKind(e.ReductionType)
	if err != nil {
		return reducers.SubLoss{}, err
	}
	l := reducers.SubLoss{Name: name, Kind: kind}
	if e.Divisor != nil {
		l.Divisor, l.HasDivisor = *e.Divisor, true
	}
	lr := bytes.TrimSpace(e.Losses)
	switch {
	case len(lr) == 0 || string(lr) == "null":
		return l, fmt.Errorf("\"losses\" is missing")
	case lr[0] == '[':
		if err := json.Unmarshal(lr, &l.Values); err != nil {
			return l, fmt.Errorf("\"losses\": %v", err)
		}
	case string(lr) == "0":
		// PML's literal zero loss (a Python int 0, not a tensor).
		l.Values = nil
	default:
		var v float64
		if err := json.Unmarshal(lr, &v); err != nil {
			return l, fmt.Errorf("\"losses\": %v", err)
		}
		if kind != reducers.AlreadyReduced {
			return l, fmt.Errorf("\"losses\" is the scalar %v for reduction type %s", v, kind)
		}
		l.Values = []float64{v}
	}
	ir := bytes.TrimSpace(e.Indices)
	if kind == reducers.AlreadyReduced || len(ir) == 0 || string(ir) == "null" {
		return l, nil
	}
	if kind == reducers.Element {
		var idx []int
		if err := json.Unmarshal(ir, &idx); err != nil {
			return l, fmt.Errorf("\"indices\" of an element loss: %v", err)
		}
		l.Indices = [][]int{idx}
		return l, nil
	}
	if err := json.Unmarshal(ir, &l.Indices); err != nil {
		return l, fmt.Errorf("\"indices\" of a %s loss: %v", kind, err)
	}
	return l, nil
}
