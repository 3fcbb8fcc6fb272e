package pmlcase

import (
	"encoding/json"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
)

// AccuracyCalculator builds the accuracy.Calculator of an AccuracyCalculator
// case from its config (k, include, exclude, avg_of_avgs,
// return_per_class). Another class or an unknown argument is an error; so
// are PML arguments that a JSON case cannot carry (label_comparison_fn,
// knn_func, kmeans_func), which would silently change the results.
func AccuracyCalculator(c *Case) (*accuracy.Calculator, error) {
	if c.Class != "AccuracyCalculator" {
		return nil, fmt.Errorf("pmlcase: unknown accuracy class %q", c.Class)
	}
	a := c.Config
	if err := a.Known(c.Class, "k", "include", "exclude", "avg_of_avgs", "return_per_class", "device"); err != nil {
		return nil, err
	}
	calc := accuracy.NewCalculator()
	var err error
	if calc.K, err = accuracyK(a); err != nil {
		return nil, err
	}
	if calc.AvgOfAvgs, err = a.Bool("avg_of_avgs", false); err != nil {
		return nil, err
	}
	if calc.ReturnPerClass, err = a.Bool("return_per_class", false); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"include", &calc.Include}, {"exclude", &calc.Exclude}} {
		if !a.Has(l.name) {
			continue
		}
		if err := json.Unmarshal(a[l.name], l.dst); err != nil {
			return nil, fmt.Errorf("argument %q: %v", l.name, err)
		}
	}
	return calc, nil
}

// accuracyK decodes PML's k: null (all references), "max_bin_count" or an
// integer.
func accuracyK(a Args) (accuracy.K, error) {
	if !a.Has("k") {
		return accuracy.KAll(), nil
	}
	var s string
	if err := json.Unmarshal(a["k"], &s); err == nil {
		if s != "max_bin_count" {
			return accuracy.K{}, fmt.Errorf("argument \"k\": unknown value %q", s)
		}
		return accuracy.KMaxBinCount(), nil
	}
	n, err := a.Int("k", 0)
	if err != nil {
		return accuracy.K{}, err
	}
	return accuracy.KInt(n), nil
}

// AccuracyData is the input of an accuracy case, converted as PML's
// get_accuracy converts it: embeddings to float32, labels kept as integers.
// It is plain data, safe for concurrent reads.
type AccuracyData struct {
	Query            gometric.Matrix
	QueryLabels      []int
	Reference        gometric.Matrix // the query when the case has no ref_emb
	ReferenceLabels  []int
	RefIncludesQuery bool
	// SelfReference is true when the case has no ref_emb (PML's
	// get_accuracy(query, labels) with no reference).
	SelfReference bool
}

// AccuracyInput decodes the inputs of an accuracy case.
func (c *Case) AccuracyInput() (AccuracyData, error) {
	var d AccuracyData
	var err error
	if d.Query, err = c.float32Matrix("embeddings"); err != nil {
		return d, err
	}
	if _, err := c.Input("labels", &d.QueryLabels); err != nil {
		return d, err
	}
	if _, err := c.Input("ref_includes_query", &d.RefIncludesQuery); err != nil {
		return d, err
	}
	if !c.Has("ref_emb") {
		d.SelfReference = true
		d.Reference, d.ReferenceLabels, d.RefIncludesQuery = d.Query, d.QueryLabels, true
		return d, nil
	}
	if d.Reference, err = c.float32Matrix("ref_emb"); err != nil {
		return d, err
	}
	if _, err := c.Input("ref_labels", &d.ReferenceLabels); err != nil {
		return d, err
	}
	return d, nil
}

// float32Matrix decodes a nested-list input matrix into a gometric.Matrix,
// rounding every value to float32 as get_accuracy's .type(torch.float).
func (c *Case) float32Matrix(name string) (gometric.Matrix, error) {
	m, err := c.Matrix(name)
	if err != nil {
		return gometric.Matrix{}, err
	}
	if m == nil {
		return gometric.Matrix{}, fmt.Errorf("%s: input %q is missing", c.Name(), name)
	}
	r, k := m.Dims()
	out := gometric.Matrix{Rows: r, Cols: k, Data: make([]float32, r*k)}
	for i := range r {
		for j := range k {
			out.Data[i*k+j] = float32(m.At(i, j))
		}
	}
	return out, nil
}
