// Package pmlcase reads the golden cases recorded by running
// pytorch-metric-learning 2.8.1 (testdata/pml, and the directory named by
// GOMETRIC_GOLDEN_DIR) and turns PML's class names and keyword arguments
// into gometric values. It is test support: only _test.go files import it,
// so the library itself never parses PML's spellings.
package pmlcase

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// EnvDir names the environment variable whose directory holds extra cases
// in the same layout as testdata/pml (<dir>/<module>/<Class>__<n>.json).
const EnvDir = "GOMETRIC_GOLDEN_DIR"

// Case is one golden case (schema version 1 of shared/golden/README.md).
// Load refuses a file with a field the schema lacks; the decoders below
// record which inputs and outputs a test read (see Unconsumed and Run), so
// a Case is not safe for concurrent use.
type Case struct {
	Path          string                     `json:"-"`
	SchemaVersion int                        `json:"schema_version"`
	Module        string                     `json:"module"`
	Class         string                     `json:"class"`
	Case          int                        `json:"case"`
	Description   string                     `json:"description"`
	Seed          int                        `json:"seed"`
	PMLVersion    string                     `json:"pml_version"`
	TorchVersion  string                     `json:"torch_version"`
	Dtype         string                     `json:"dtype"`
	Random        bool                       `json:"random"`
	Config        Args                       `json:"config"`
	Inputs        map[string]json.RawMessage `json:"inputs"`
	Outputs       map[string]json.RawMessage `json:"outputs"`
	Notes         string                     `json:"notes"`

	// read holds "inputs.<name>" and "outputs.<name>" for every key a
	// decoder has read.
	read map[string]bool
}

// Name is the case's file name without its directory, for subtest names.
func (c *Case) Name() string { return strings.TrimSuffix(filepath.Base(c.Path), ".json") }

// Spec is a nested PML object: {"class": "LpDistance", "args": {...}}. It
// is plain data, safe for concurrent reads.
type Spec struct {
	Class string `json:"class"`
	Args  Args   `json:"args"`
}

// Args holds keyword arguments as raw JSON; safe for concurrent reads.
type Args map[string]json.RawMessage

// Has reports whether the argument is present and not null.
func (a Args) Has(name string) bool {
	raw, ok := a[name]
	return ok && string(raw) != "null"
}

// Float returns a number argument, or def when absent.
func (a Args) Float(name string, def float64) (float64, error) {
	if !a.Has(name) {
		return def, nil
	}
	var v float64
	if err := json.Unmarshal(a[name], &v); err != nil {
		return 0, fmt.Errorf("argument %q: %v", name, err)
	}
	return v, nil
}

// Int returns an integer argument, or def when absent.
func (a Args) Int(name string, def int) (int, error) {
	if !a.Has(name) {
		return def, nil
	}
	var v int
	if err := json.Unmarshal(a[name], &v); err != nil {
		return 0, fmt.Errorf("argument %q: %v", name, err)
	}
	return v, nil
}

// Bool returns a boolean argument, or def when absent.
func (a Args) Bool(name string, def bool) (bool, error) {
	if !a.Has(name) {
		return def, nil
	}
	var v bool
	if err := json.Unmarshal(a[name], &v); err != nil {
		return false, fmt.Errorf("argument %q: %v", name, err)
	}
	return v, nil
}

// String returns a string argument, or def when absent.
func (a Args) String(name string, def string) (string, error) {
	if !a.Has(name) {
		return def, nil
	}
	var v string
	if err := json.Unmarshal(a[name], &v); err != nil {
		return "", fmt.Errorf("argument %q: %v", name, err)
	}
	return v, nil
}

// Spec returns a nested PML object argument, or nil when absent.
func (a Args) Spec(name string) (*Spec, error) {
	if !a.Has(name) {
		return nil, nil
	}
	var s Spec
	if err := json.Unmarshal(a[name], &s); err != nil {
		return nil, fmt.Errorf("argument %q: %v", name, err)
	}
	if s.Class == "" {
		return nil, fmt.Errorf("argument %q is not a {class, args} object", name)
	}
	return &s, nil
}

// Specs returns a {name: {class, args}} argument (MultipleReducers'
// reducers, MultipleLosses' losses), or nil when absent.
func (a Args) Specs(name string) (map[string]Spec, error) {
	if !a.Has(name) {
		return nil, nil
	}
	var m map[string]Spec
	if err := json.Unmarshal(a[name], &m); err != nil {
		return nil, fmt.Errorf("argument %q: %v", name, err)
	}
	return m, nil
}

// Tensor returns a {"tensor": [...]} argument flattened, or nil when absent.
func (a Args) Tensor(name string) ([]float64, error) {
	if !a.Has(name) {
		return nil, nil
	}
	var t struct {
		Tensor json.RawMessage `json:"tensor"`
	}
	if err := json.Unmarshal(a[name], &t); err != nil || t.Tensor == nil {
		return nil, fmt.Errorf("argument %q is not a {tensor} object", name)
	}
	var flat []float64
	if err := json.Unmarshal(t.Tensor, &flat); err == nil {
		return flat, nil
	}
	var rows [][]float64
	if err := json.Unmarshal(t.Tensor, &rows); err != nil {
		return nil, fmt.Errorf("argument %q: %v", name, err)
	}
	flat = nil // the failed flat decode may have left partial values
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return flat, nil
}

// Known lists the keys of a that the caller understands; it returns an
// error naming any other key, so a case with a setting the Go side ignores
// fails instead of passing by accident.
func (a Args) Known(class string, names ...string) error {
	var extra []string
	for k := range a {
		found := false
		for _, n := range names {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("%s: unsupported argument(s) %s", class, strings.Join(extra, ", "))
	}
	return nil
}

// Has reports whether input name is present and not null.
func (c *Case) Has(name string) bool {
	raw, ok := c.Inputs[name]
	return ok && string(raw) != "null"
}

// Input decodes input name into v; it reports false when it is absent or null.
func (c *Case) Input(name string, v any) (bool, error) {
	if !c.Has(name) {
		return false, nil
	}
	raw, _ := c.rawInput(name)
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("%s: input %q: %v", c.Name(), name, err)
	}
	return true, nil
}

// Output decodes output name into v; it reports false when it is absent.
func (c *Case) Output(name string, v any) (bool, error) {
	raw, ok := c.rawOutput(name)
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("%s: output %q: %v", c.Name(), name, err)
	}
	return true, nil
}

// Matrix decodes a nested-list matrix from the inputs (or nil when absent).
func (c *Case) Matrix(name string) (*mat.Dense, error) {
	var rows [][]float64
	ok, err := c.Input(name, &rows)
	if err != nil || !ok {
		return nil, err
	}
	return gometric.DenseFromRows(rows)
}

// OutputMatrix decodes a nested-list matrix from the outputs.
func (c *Case) OutputMatrix(name string) (*mat.Dense, error) {
	var rows [][]float64
	ok, err := c.Output(name, &rows)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: output %q is missing", c.Name(), name)
	}
	return gometric.DenseFromRows(rows)
}

// Ints decodes an int list from the inputs (nil when absent).
func (c *Case) Ints(name string) ([]int, error) {
	var v []int
	_, err := c.Input(name, &v)
	return v, err
}

// Load reads one case file and checks it against the schema (see
// strict.go): its module is the name of the folder it is in.
func Load(path string) (*Case, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Case
	if err := decodeStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	c.Path = path
	if err := c.validate(filepath.Base(filepath.Dir(path))); err != nil {
		return nil, err
	}
	return &c, nil
}

// Root returns the repository root (the directory holding go.mod), found by
// walking up from the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pmlcase: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Files lists the case files of module (e.g. "distances") in testdata/pml
// and in $GOMETRIC_GOLDEN_DIR/<module>, each folder sorted by path, after
// checking every folder against its index.json (every listed case
// present, every file listed, the same per-class counts) and testdata/pml
// against MinCases.
func Files(module string) ([]string, error) {
	files, _, err := files(module)
	return files, err
}

// files is Files with the index entry of every file.
func files(module string) ([]string, map[string]indexEntry, error) {
	root, err := Root()
	if err != nil {
		return nil, nil, err
	}
	own, entries, err := dirCases(filepath.Join(root, "testdata", "pml"), module, true)
	if err != nil {
		return nil, nil, err
	}
	floor, ok := MinCases[module]
	if !ok {
		return nil, nil, fmt.Errorf("pmlcase: unknown module %q", module)
	}
	classes := map[string]bool{}
	for _, e := range entries {
		classes[e.Class] = true
	}
	if len(own) < floor.Cases || len(classes) < floor.Classes {
		return nil, nil, fmt.Errorf("pmlcase: testdata/pml/%s holds %d cases of %d classes, fewer than the %d of %d it shipped with",
			module, len(own), len(classes), floor.Cases, floor.Classes)
	}
	if dir := os.Getenv(EnvDir); dir != "" {
		extra, extraEntries, err := dirCases(dir, module, false)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", EnvDir, err)
		}
		own = append(own, extra...)
		for k, v := range extraEntries {
			entries[k] = v
		}
	}
	return own, entries, nil
}

// Cases loads every case of module (see Files), each checked against the
// schema and against its index entry.
func Cases(module string) ([]*Case, error) {
	files, entries, err := files(module)
	if err != nil {
		return nil, err
	}
	out := make([]*Case, 0, len(files))
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			return nil, err
		}
		if e := entries[f]; e.Class != c.Class || e.Case != c.Case || e.Random != c.Random {
			return nil, fmt.Errorf("%s: the index lists class %q case %d random %v, the file %q %d %v", f, e.Class, e.Case, e.Random, c.Class, c.Case, c.Random)
		}
		out = append(out, c)
	}
	return out, nil
}
