package pmlcase

import (
	"encoding/json"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// paramMatrices decodes a {name: nested list} object: a 2-D list is a
// matrix, a 1-D list of n values a 1×n matrix (how gometric stores PML's
// 1-D parameters such as MarginLoss's beta).
func paramMatrices(what string, raw json.RawMessage) (map[string]*mat.Dense, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	out := make(map[string]*mat.Dense, len(obj))
	for name, v := range obj {
		var rows [][]float64
		if err := json.Unmarshal(v, &rows); err == nil {
			m, err := gometric.DenseFromRows(rows)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %v", what, name, err)
			}
			out[name] = m
			continue
		}
		var flat []float64
		if err := json.Unmarshal(v, &flat); err != nil {
			return nil, fmt.Errorf("%s %q: neither a matrix nor a vector: %v", what, name, err)
		}
		if len(flat) == 0 {
			return nil, fmt.Errorf("%s %q is empty", what, name)
		}
		out[name] = mat.NewDense(1, len(flat), flat)
	}
	return out, nil
}

// GradParams decodes the "grad_params" output ({} or absent: an empty map).
func (c *Case) GradParams() (map[string]*mat.Dense, error) {
	raw, ok := c.rawOutput("grad_params")
	if !ok || string(raw) == "null" {
		return map[string]*mat.Dense{}, nil
	}
	return paramMatrices(c.Name()+": output grad_params", raw)
}

// SetParams writes the case's "params" input into the parameters of l (by
// PML name, shape-checked), as PML's generator wrote them into param.data
// before forward. A case without params, or with an empty object, leaves l
// unchanged; a parameter the loss lacks, or a loss without parameters given
// params, is an error. It also sets a ManifoldLoss case's "meta_classes"
// input (PML's indices_tuple for that class) as Manifold.MetaClasses.
func SetParams(l losses.Loss, c *Case) error {
	if c.Has("meta_classes") {
		m, ok := l.(*losses.Manifold)
		if !ok {
			return fmt.Errorf("%s: meta_classes given for %T", c.Name(), l)
		}
		var err error
		if m.MetaClasses, err = c.Ints("meta_classes"); err != nil {
			return err
		}
	}
	raw, ok := c.rawInput("params")
	if !ok || string(raw) == "null" {
		return nil
	}
	ps, err := paramMatrices(c.Name()+": input params", raw)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	lr, ok := l.(losses.Learnable)
	if !ok {
		return fmt.Errorf("%s: %T has no parameters, the case gives %d", c.Name(), l, len(ps))
	}
	byName := map[string]*losses.Param{}
	for _, p := range lr.Params() {
		byName[p.Name] = p
	}
	for name, v := range ps {
		p, ok := byName[name]
		if !ok {
			return fmt.Errorf("%s: %T has no parameter %q", c.Name(), l, name)
		}
		r, cc := v.Dims()
		pr, pc := p.Value.Dims()
		if r != pr || cc != pc {
			return fmt.Errorf("%s: parameter %q is %d×%d, the case gives %d×%d", c.Name(), name, pr, pc, r, cc)
		}
		p.Value.Copy(v)
	}
	return nil
}
