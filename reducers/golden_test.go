package reducers_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/reducers"
)

// TestGolden runs every PML reducer case of testdata/pml/reducers (and
// $GOMETRIC_GOLDEN_DIR/reducers) through reducers.Reduce and compares the
// loss and the gradient of every loss_dict entry.
func TestGolden(t *testing.T) {
	pmlcase.Run(t, "reducers", func(t *testing.T, c *pmlcase.Case) {
		r, err := pmlcase.Reducer(&pmlcase.Spec{Class: c.Class, Args: c.Config})
		if err != nil {
			t.Fatal(err)
		}
		losses, err := pmlcase.LossDict(c)
		if err != nil {
			t.Fatal(err)
		}
		var emb [][]float64
		if ok, err := c.Input("embeddings", &emb); err != nil || !ok {
			t.Fatalf("embeddings: present %v, %v", ok, err)
		}
		labels, err := c.Ints("labels")
		if err != nil {
			t.Fatal(err)
		}
		batch := reducers.Batch{N: len(emb), Labels: labels}

		var unchanged bool
		if ok, err := c.Output("returns_input_unchanged", &unchanged); err != nil {
			t.Fatal(err)
		} else if ok {
			if !unchanged {
				t.Fatal("case records returns_input_unchanged = false")
			}
			if !reducers.Passthrough(r) {
				t.Fatalf("%T: Passthrough = false, PML returns the loss dict unchanged", r)
			}
			if _, err := reducers.Reduce(r, losses, batch); !errors.Is(err, gometric.ErrUnsupported) {
				t.Fatalf("Reduce: error %v, want one wrapping ErrUnsupported", err)
			}
			return
		}
		if reducers.Passthrough(r) {
			t.Fatalf("%T: Passthrough = true for a reducing class", r)
		}

		var want float64
		if ok, err := c.Output("loss", &want); err != nil || !ok {
			t.Fatalf("output loss: present %v, %v", ok, err)
		}
		var wantGrads map[string]json.RawMessage
		if ok, err := c.Output("grad_losses", &wantGrads); err != nil || !ok {
			t.Fatalf("output grad_losses: present %v, %v", ok, err)
		}
		out, err := reducers.Reduce(r, losses, batch)
		if err != nil {
			t.Fatal(err)
		}
		if err := fdiff.CompareSlices([]float64{out.Loss}, []float64{want}, 1e-6, 1e-9); err != nil {
			t.Errorf("loss: %v", err)
		}
		if len(wantGrads) != len(losses) {
			t.Errorf("%d gradients recorded for %d sub-losses", len(wantGrads), len(losses))
		}
		for i, l := range losses {
			raw, ok := wantGrads[l.Name]
			if !ok {
				t.Errorf("no recorded gradient for sub-loss %q", l.Name)
				continue
			}
			wg, err := gradList(raw)
			if err != nil {
				t.Fatalf("grad_losses[%q]: %v", l.Name, err)
			}
			if len(l.Values) == 0 {
				// PML's literal zero loss has no values; its recorded
				// gradient is a zero scalar.
				for _, w := range wg {
					if w != 0 {
						t.Errorf("sub-loss %q: zero loss with recorded gradient %v", l.Name, wg)
					}
				}
				continue
			}
			if err := fdiff.CompareSlices(out.Grads[i], wg, 1e-6, 1e-9); err != nil {
				t.Errorf("gradient of %q: %v", l.Name, err)
			}
		}
	})
}

// gradList decodes a recorded gradient: a list, or a bare number for an
// already-reduced scalar.
func gradList(raw json.RawMessage) ([]float64, error) {
	var list []float64
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return []float64{v}, nil
}

// TestGoldenCount guards against the case folder going missing or
// shrinking: PML's nine reducers, 25 cases.
func TestGoldenCount(t *testing.T) {
	cases, err := pmlcase.Cases("reducers")
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]bool{}
	for _, c := range cases {
		classes[c.Class] = true
	}
	if len(cases) < 25 || len(classes) < 9 {
		t.Fatalf("%d cases of %d classes, want at least 25 of 9", len(cases), len(classes))
	}
}

// TestLossDictOrder checks that LossDict keeps the JSON key order (which
// is PML's dict order) and decodes every form of "losses".
func TestLossDictOrder(t *testing.T) {
	c := &pmlcase.Case{Path: "inline.json", Inputs: map[string]json.RawMessage{
		"loss_dict": json.RawMessage(`{"zeta": {"losses": [1, 2], "indices": [[0, 1], [1, 0]], "reduction_type": "pos_pair", "divisor": 4},
			"alpha": {"losses": 0.5, "indices": null, "reduction_type": "already_reduced"},
			"mid": {"losses": 0, "indices": null, "reduction_type": "already_reduced"},
			"elem": {"losses": [3], "indices": [2], "reduction_type": "element"}}`),
	}}
	got, err := pmlcase.LossDict(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []reducers.SubLoss{
		{Name: "zeta", Values: []float64{1, 2}, Indices: [][]int{{0, 1}, {1, 0}}, Kind: reducers.PosPair, Divisor: 4, HasDivisor: true},
		{Name: "alpha", Values: []float64{0.5}, Kind: reducers.AlreadyReduced},
		{Name: "mid", Kind: reducers.AlreadyReduced},
		{Name: "elem", Values: []float64{3}, Indices: [][]int{{2}}, Kind: reducers.Element},
	}
	if len(got) != len(want) {
		t.Fatalf("%d sub-losses, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Kind != w.Kind || g.Divisor != w.Divisor || g.HasDivisor != w.HasDivisor ||
			!slices.Equal(g.Values, w.Values) || len(g.Indices) != len(w.Indices) {
			t.Errorf("sub-loss %d = %+v, want %+v", i, g, w)
			continue
		}
		for j := range w.Indices {
			if !slices.Equal(g.Indices[j], w.Indices[j]) {
				t.Errorf("sub-loss %d indices %d = %v, want %v", i, j, g.Indices[j], w.Indices[j])
			}
		}
	}
	bad := []string{
		`{"a": {"losses": 1.5, "indices": null, "reduction_type": "element"}}`,
		`{"a": {"losses": [1], "indices": [0], "reduction_type": "bogus"}}`,
		`{"a": {"losses": [1], "indices": [0], "reduction_type": "element", "extra": 1}}`,
		`{"a": {"losses": null, "indices": null, "reduction_type": "element"}}`,
		`{"a": {"losses": [1], "indices": [0], "reduction_type": "element"}, "a": {"losses": [1], "indices": [0], "reduction_type": "element"}}`,
		`[1, 2]`,
	}
	for _, b := range bad {
		c := &pmlcase.Case{Path: "bad.json", Inputs: map[string]json.RawMessage{"loss_dict": json.RawMessage(b)}}
		if _, err := pmlcase.LossDict(c); err == nil {
			t.Errorf("LossDict(%s): no error", b)
		}
	}
}

// TestBuilder checks the spec builder's rejections.
func TestBuilder(t *testing.T) {
	bad := []pmlcase.Spec{
		{Class: "NoSuchReducer"},
		{Class: "MeanReducer", Args: pmlcase.Args{"bogus": json.RawMessage(`1`)}},
		{Class: "ClassWeightedReducer"},
		{Class: "PerAnchorReducer", Args: pmlcase.Args{"aggregation_func": json.RawMessage(`"f"`)}},
		{Class: "PerAnchorReducer", Args: pmlcase.Args{"reducer": json.RawMessage(`{"class": "Nope", "args": {}}`)}},
		{Class: "MultipleReducers", Args: pmlcase.Args{"reducers": json.RawMessage(`{"x": {"class": "Nope", "args": {}}}`)}},
		{Class: "MultipleReducers"},
	}
	for _, s := range bad {
		if r, err := pmlcase.Reducer(&s); err == nil {
			t.Errorf("Reducer(%+v) = %T, no error", s, r)
		}
	}
	if r, err := pmlcase.Reducer(nil); r != nil || err != nil {
		t.Errorf("Reducer(nil) = %v, %v", r, err)
	}
}
