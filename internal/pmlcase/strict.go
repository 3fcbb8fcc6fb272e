package pmlcase

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The strict harness. A golden case is only worth something if every
// number PML recorded is compared: a missing output, a key the tests do not
// know, a case file that disappeared or an output nobody reads would
// otherwise pass silently. So:
//
//   - Load checks a case against the schema of shared/golden/README.md:
//     no unknown key at the top level, in the inputs or in the outputs (by
//     module), every output the module requires (loss and grad_embeddings
//     for losses, grad_params with exactly the names of params, grad_ref_emb
//     when ref_emb is given, ...), and a file name that matches its module,
//     class and case number;
//   - Cases checks the case files of a module against the index.json of
//     their directory (testdata/pml, and $GOMETRIC_GOLDEN_DIR with its own
//     index.json): every listed case exists, every file is listed, and the
//     per-class counts agree; testdata/pml must also hold at least the
//     cases it shipped with (MinCases), so that deleting a file together
//     with its index entry fails too;
//   - Run runs a test on every case and fails a case whose test did not
//     read every output, and every input that carries something (not null,
//     {} or []).

// inputKeys are the input names of the schema (all modules).
var inputKeys = []string{
	"embeddings", "labels", "ref_emb", "ref_labels", "indices_tuple", "params",
	"meta_classes", "enqueue_mask", "previous_calls", "loss_dict", "ref_includes_query",
}

// accuracyKNNMetrics and accuracyClusterMetrics are PML's
// AccuracyCalculator metrics by what they need.
var (
	accuracyKNNMetrics     = []string{"precision_at_1", "r_precision", "mean_average_precision_at_r", "mean_average_precision", "mean_reciprocal_rank"}
	accuracyClusterMetrics = []string{"NMI", "AMI"}
)

// outputKeys are the output names each module may record.
var outputKeys = map[string][]string{
	"losses":       {"loss", "grad_embeddings", "grad_ref_emb", "grad_params", "previous_calls"},
	"miners":       {"indices_tuple", "tuple_kind", "counts", "properties"},
	"distances":    {"matrix", "is_inverted"},
	"reducers":     {"loss", "grad_losses", "returns_input_unchanged"},
	"regularizers": {"loss", "grad_embeddings"},
	"accuracy": slices.Concat(accuracyKNNMetrics, accuracyClusterMetrics,
		[]string{"k", "knn_indices", "cluster_labels", "knn_func", "kmeans_func"}),
}

// MinCases is the number of cases and classes testdata/pml held when the
// strict harness was written, per module: a smaller folder lost cases.
var MinCases = map[string]struct{ Cases, Classes int }{
	"losses":       {117, 37},
	"miners":       {35, 10},
	"distances":    {15, 4},
	"reducers":     {25, 9},
	"regularizers": {12, 5},
	"accuracy":     {14, 1},
}

// empty reports whether a raw JSON value carries nothing: null, {} or [].
func empty(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	if s == "null" {
		return true
	}
	if len(s) >= 2 && (s[0] == '{' && s[len(s)-1] == '}' || s[0] == '[' && s[len(s)-1] == ']') {
		return strings.TrimSpace(s[1:len(s)-1]) == ""
	}
	return false
}

// rawInput returns an input's raw value and marks it read.
func (c *Case) rawInput(name string) (json.RawMessage, bool) {
	raw, ok := c.Inputs[name]
	if ok {
		c.mark("inputs", name)
	}
	return raw, ok
}

// rawOutput returns an output's raw value and marks it read.
func (c *Case) rawOutput(name string) (json.RawMessage, bool) {
	raw, ok := c.Outputs[name]
	if ok {
		c.mark("outputs", name)
	}
	return raw, ok
}

func (c *Case) mark(part, name string) {
	if c.read == nil {
		c.read = map[string]bool{}
	}
	c.read[part+"."+name] = true
}

// Unconsumed lists, sorted, the outputs the case's test has not read and
// the inputs that carry something (not null, {} or []) it has not read,
// as "outputs.<name>" and "inputs.<name>". Reading means decoding through
// Input, Output, Matrix, OutputMatrix, Ints, Batch, GradParams, SetParams,
// LossDict, MinerInput, AccuracyInput, EnqueueMask, PreviousCalls or
// OutputString.
func (c *Case) Unconsumed() []string {
	var out []string
	for name := range c.Outputs {
		if !c.read["outputs."+name] {
			out = append(out, "outputs."+name)
		}
	}
	for name, raw := range c.Inputs {
		if !c.read["inputs."+name] && !empty(raw) {
			out = append(out, "inputs."+name)
		}
	}
	sort.Strings(out)
	return out
}

// OutputString decodes a string output (accuracy's knn_func and
// kmeans_func); it is an error when it is absent.
func (c *Case) OutputString(name string) (string, error) {
	var s string
	ok, err := c.Output(name, &s)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%s: output %q is missing", c.Name(), name)
	}
	return s, nil
}

// validate checks a loaded case against the schema; module is the
// directory it was found in.
func (c *Case) validate(module string) error {
	name := c.Name()
	if c.SchemaVersion != 1 {
		return fmt.Errorf("%s: schema_version %d, want 1", name, c.SchemaVersion)
	}
	if c.Module != module {
		return fmt.Errorf("%s: module %q in a %q folder", name, c.Module, module)
	}
	allowed, ok := outputKeys[module]
	if !ok {
		return fmt.Errorf("%s: unknown module %q", name, module)
	}
	if want := c.Class + "__" + strconv.Itoa(c.Case); name != want {
		return fmt.Errorf("%s: the file records class %q case %d (file name %s.json)", name, c.Class, c.Case, want)
	}
	if c.Random && module != "miners" {
		return fmt.Errorf("%s: random is true outside miners", name)
	}
	wantDtype := "float64"
	if module == "accuracy" {
		wantDtype = "float32"
	}
	if c.Dtype != wantDtype {
		return fmt.Errorf("%s: dtype %q, want %q", name, c.Dtype, wantDtype)
	}
	if c.Config == nil || c.Inputs == nil || c.Outputs == nil {
		return fmt.Errorf("%s: config, inputs and outputs must be objects", name)
	}
	for k := range c.Inputs {
		if !slices.Contains(inputKeys, k) {
			return fmt.Errorf("%s: unknown input %q", name, k)
		}
	}
	for k := range c.Outputs {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("%s: unknown %s output %q", name, module, k)
		}
	}
	has := func(k string) bool { _, ok := c.Outputs[k]; return ok }
	var required []string
	switch module {
	case "losses":
		required = []string{"loss", "grad_embeddings", "grad_params"}
		if c.Has("ref_emb") {
			required = append(required, "grad_ref_emb")
		} else if has("grad_ref_emb") {
			return fmt.Errorf("%s: grad_ref_emb without ref_emb", name)
		}
		if c.Has("previous_calls") {
			required = append(required, "previous_calls")
		} else if has("previous_calls") {
			return fmt.Errorf("%s: output previous_calls without input previous_calls", name)
		}
		if err := c.sameParamNames(); err != nil {
			return err
		}
	case "miners":
		required = []string{"tuple_kind", "counts"}
		if c.Random {
			required = append(required, "properties")
			if has("indices_tuple") {
				return fmt.Errorf("%s: a random case records indices_tuple", name)
			}
		} else {
			required = append(required, "indices_tuple")
			if has("properties") {
				return fmt.Errorf("%s: a deterministic case records properties instead of checking indices", name)
			}
		}
	case "distances":
		required = []string{"matrix", "is_inverted"}
	case "reducers":
		if has("returns_input_unchanged") {
			if len(c.Outputs) != 1 {
				return fmt.Errorf("%s: returns_input_unchanged with other outputs", name)
			}
		} else {
			required = []string{"loss", "grad_losses"}
		}
	case "regularizers":
		required = []string{"loss", "grad_embeddings"}
	case "accuracy":
		metrics, err := accuracyMetrics(c.Config)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		required = metrics
		if slices.ContainsFunc(metrics, func(m string) bool { return slices.Contains(accuracyKNNMetrics, m) }) {
			required = append(required, "k", "knn_indices", "knn_func")
		}
		if slices.ContainsFunc(metrics, func(m string) bool { return slices.Contains(accuracyClusterMetrics, m) }) {
			required = append(required, "cluster_labels", "kmeans_func")
		}
		for k := range c.Outputs {
			if (slices.Contains(accuracyKNNMetrics, k) || slices.Contains(accuracyClusterMetrics, k)) && !slices.Contains(metrics, k) {
				return fmt.Errorf("%s: output %q, which the config does not compute", name, k)
			}
		}
	}
	for _, k := range required {
		raw, ok := c.Outputs[k]
		if !ok || string(raw) == "null" {
			return fmt.Errorf("%s: required %s output %q is missing", name, module, k)
		}
	}
	return nil
}

// sameParamNames checks that a loss case's grad_params has a gradient for
// exactly the parameters its params input sets.
func (c *Case) sameParamNames() error {
	names := func(raw json.RawMessage) ([]string, error) {
		if len(raw) == 0 || empty(raw) {
			return nil, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out, nil
	}
	p, err := names(c.Inputs["params"])
	if err != nil {
		return fmt.Errorf("%s: input params: %v", c.Name(), err)
	}
	g, err := names(c.Outputs["grad_params"])
	if err != nil {
		return fmt.Errorf("%s: output grad_params: %v", c.Name(), err)
	}
	if !slices.Equal(p, g) {
		return fmt.Errorf("%s: params %v but grad_params %v: every parameter needs its gradient", c.Name(), p, g)
	}
	return nil
}

// accuracyMetrics lists the metrics an AccuracyCalculator config computes
// (include, then exclude, as PML's get_function_dict).
func accuracyMetrics(a Args) ([]string, error) {
	all := slices.Concat(accuracyKNNMetrics, accuracyClusterMetrics)
	var include, exclude []string
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"include", &include}, {"exclude", &exclude}} {
		if a.Has(l.name) {
			if err := json.Unmarshal(a[l.name], l.dst); err != nil {
				return nil, fmt.Errorf("config %q: %v", l.name, err)
			}
		}
	}
	out := all
	if len(include) > 0 {
		out = include
	}
	return slices.DeleteFunc(slices.Clone(out), func(m string) bool { return slices.Contains(exclude, m) }), nil
}

// index is a golden directory's index.json (the generator's format).
type index struct {
	SchemaVersion int             `json:"schema_version"`
	Seed          int             `json:"seed"`
	PMLVersion    string          `json:"pml_version"`
	TorchVersion  string          `json:"torch_version"`
	KNNFunc       string          `json:"knn_func"`
	Cases         []indexEntry    `json:"cases"`
	Failures      []indexFailure  `json:"failures"`
	Uncovered     json.RawMessage `json:"uncovered"`
}

type indexEntry struct {
	Module string `json:"module"`
	Class  string `json:"class"`
	Case   int    `json:"case"`
	File   string `json:"file"`
	Random bool   `json:"random"`
}

type indexFailure struct {
	Module string          `json:"module"`
	Class  string          `json:"class"`
	Case   int             `json:"case"`
	Error  string          `json:"error"`
	Trace  json.RawMessage `json:"trace"`
}

// decodeStrict decodes data into v, refusing unknown fields and trailing
// data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// readIndex reads dir/index.json; strict refuses unknown keys.
func readIndex(dir string, strict bool) (*index, error) {
	path := filepath.Join(dir, "index.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pmlcase: %v (every golden directory lists its cases in index.json)", err)
	}
	var idx index
	decode := decodeStrict
	if !strict {
		decode = json.Unmarshal
	}
	if err := decode(data, &idx); err != nil {
		return nil, fmt.Errorf("pmlcase: %s: %v", path, err)
	}
	if idx.SchemaVersion != 1 {
		return nil, fmt.Errorf("pmlcase: %s: schema_version %d, want 1", path, idx.SchemaVersion)
	}
	return &idx, nil
}

// dirCases returns the case files of module in dir (sorted), after
// checking them against dir's index.json: the same files, one entry each;
// the per-class counts are named in the error when they differ. Our own
// directory (own) must also record no failure for the module and have no
// unknown index key; an external directory's recorded failures are cases
// PML itself could not run, which have no file and are left out.
func dirCases(dir, module string, own bool) ([]string, map[string]indexEntry, error) {
	idx, err := readIndex(dir, own)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range idx.Failures {
		if f.Module == module && own {
			return nil, nil, fmt.Errorf("pmlcase: %s/index.json records a failed %s case %s__%d: %s", dir, module, f.Class, f.Case, f.Error)
		}
	}
	listed := map[string]indexEntry{}
	for _, e := range idx.Cases {
		if e.Module != module {
			continue
		}
		want := filepath.ToSlash(filepath.Join(module, fmt.Sprintf("%s__%d.json", e.Class, e.Case)))
		if e.File != want {
			return nil, nil, fmt.Errorf("pmlcase: %s/index.json: entry %s %s %d names file %q, want %q", dir, e.Module, e.Class, e.Case, e.File, want)
		}
		if _, dup := listed[e.File]; dup {
			return nil, nil, fmt.Errorf("pmlcase: %s/index.json lists %s twice", dir, e.File)
		}
		listed[e.File] = e
	}
	files, err := filepath.Glob(filepath.Join(dir, module, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(files)
	onDisk := map[string]bool{}
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return nil, nil, err
		}
		onDisk[filepath.ToSlash(rel)] = true
	}
	var missing, unlisted []string
	for f := range listed {
		if !onDisk[f] {
			missing = append(missing, f)
		}
	}
	for f := range onDisk {
		if _, ok := listed[f]; !ok {
			unlisted = append(unlisted, f)
		}
	}
	if len(missing) > 0 || len(unlisted) > 0 {
		sort.Strings(missing)
		sort.Strings(unlisted)
		return nil, nil, fmt.Errorf("pmlcase: %s/%s does not match index.json: missing %v, not listed %v; per class (index/files): %s",
			dir, module, missing, unlisted, classCounts(listed, onDisk))
	}
	byPath := make(map[string]indexEntry, len(listed))
	for rel, e := range listed {
		byPath[filepath.Join(dir, filepath.FromSlash(rel))] = e
	}
	return files, byPath, nil
}

// classCounts formats the per-class counts of the index and of the files.
func classCounts(listed map[string]indexEntry, onDisk map[string]bool) string {
	type pair struct{ index, files int }
	counts := map[string]*pair{}
	get := func(class string) *pair {
		if counts[class] == nil {
			counts[class] = &pair{}
		}
		return counts[class]
	}
	for _, e := range listed {
		get(e.Class).index++
	}
	for f := range onDisk {
		class, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), "__")
		get(class).files++
	}
	var parts []string
	for class, p := range counts {
		if p.index != p.files {
			parts = append(parts, fmt.Sprintf("%s %d/%d", class, p.index, p.files))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// Run runs test on every case of module (see Cases) as a subtest named
// after the case, and fails a case whose test returned without reading
// every output and every input that carries something (Unconsumed). A
// test that skips its case is not checked.
func Run(t *testing.T, module string, test func(t *testing.T, c *Case)) {
	t.Helper()
	cases, err := Cases(module)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			test(t, c)
			if t.Skipped() || t.Failed() {
				return
			}
			if u := c.Unconsumed(); len(u) > 0 {
				t.Errorf("the test did not compare %s: every recorded key must be checked", strings.Join(u, ", "))
			}
		})
	}
}
