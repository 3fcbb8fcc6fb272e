package pmlcase

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goldenCopy copies testdata/pml's index.json and module folder into a new
// module root and makes it the working directory, so that Files and Cases
// read the copy. It returns the copy's testdata/pml.
func goldenCopy(t *testing.T, module string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module golden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "testdata", "pml")
	dst := filepath.Join(dir, "testdata", "pml")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if top, _, _ := strings.Cut(filepath.ToSlash(rel), "/"); d.IsDir() && rel != "." && top != module {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dst
}

// editJSON decodes the JSON file at path, applies edit and writes it back.
func editJSON(t *testing.T, path string, edit func(doc map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	if data, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dropIndexEntries removes the index entries whose file keep rejects.
func dropIndexEntries(t *testing.T, dir string, drop func(file string) bool) {
	editJSON(t, filepath.Join(dir, "index.json"), func(doc map[string]any) {
		cases := doc["cases"].([]any)
		doc["cases"] = slices.DeleteFunc(cases, func(e any) bool { return drop(e.(map[string]any)["file"].(string)) })
	})
}

func sub(doc map[string]any, key string) map[string]any { return doc[key].(map[string]any) }

// TestStrictHarness is the lenient-harness list, each made into a
// failure: a deleted case file (one, or all but one), a case file the
// index does not list, a case deleted together with its index entry, a
// missing loss, a missing parameter or ref gradient, unknown keys at every
// level, a recorded generator failure, a case whose file name, module,
// dtype or random flag contradicts it. Each edit is made on a copy of
// testdata/pml; the untouched copy loads.
func TestStrictHarness(t *testing.T) {
	lossFile := func(dir, name string) string { return filepath.Join(dir, "losses", name+".json") }
	tests := []struct {
		name, module string
		edit         func(t *testing.T, dir string)
		want         string
	}{
		{"untouched", "losses", func(*testing.T, string) {}, ""},
		{"one case file deleted", "losses", func(t *testing.T, dir string) {
			os.Remove(lossFile(dir, "TripletMarginLoss__1"))
		}, "missing [losses/TripletMarginLoss__1.json]"},
		{"all but one loss file deleted", "losses", func(t *testing.T, dir string) {
			files, _ := filepath.Glob(filepath.Join(dir, "losses", "*.json"))
			for _, f := range files[1:] {
				os.Remove(f)
			}
		}, "does not match index.json"},
		{"a miner file deleted", "miners", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "miners", "HDCMiner__0.json"))
		}, "HDCMiner 3/2"},
		{"a file not in the index", "distances", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, "distances", "LpDistance__0.json"))
			os.WriteFile(filepath.Join(dir, "distances", "LpDistance__9.json"), data, 0o644)
		}, "not listed [distances/LpDistance__9.json]"},
		{"a case deleted with its index entry", "regularizers", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "regularizers", "LpRegularizer__0.json"))
			dropIndexEntries(t, dir, func(f string) bool { return f == "regularizers/LpRegularizer__0.json" })
		}, "fewer than the 12 of 5"},
		{"a listed entry twice", "reducers", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "index.json"), func(doc map[string]any) {
				cases := doc["cases"].([]any)
				for _, e := range cases {
					if e.(map[string]any)["module"] == "reducers" {
						doc["cases"] = append(cases, e)
						return
					}
				}
			})
		}, "twice"},
		{"a recorded failure", "accuracy", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "index.json"), func(doc map[string]any) {
				doc["failures"] = []any{map[string]any{"module": "accuracy", "class": "AccuracyCalculator", "case": 9, "error": "boom", "trace": []any{}}}
			})
		}, "failed accuracy case"},
		{"loss missing", "losses", func(t *testing.T, dir string) {
			editJSON(t, lossFile(dir, "ContrastiveLoss__0"), func(doc map[string]any) { delete(sub(doc, "outputs"), "loss") })
		}, `required losses output "loss"`},
		{"grad_params missing", "losses", func(t *testing.T, dir string) {
			editJSON(t, lossFile(dir, "ArcFaceLoss__0"), func(doc map[string]any) { delete(sub(doc, "outputs"), "grad_params") })
		}, "grad_params []"},
		{"a parameter gradient missing", "losses", func(t *testing.T, dir string) {
			editJSON(t, lossFile(dir, "ArcFaceLoss__0"), func(doc map[string]any) { sub(doc, "outputs")["grad_params"] = map[string]any{} })
		}, "every parameter needs its gradient"},
		{"grad_ref_emb missing", "losses", func(t *testing.T, dir string) {
			editJSON(t, lossFile(dir, "AngularLoss__2"), func(doc map[string]any) { delete(sub(doc, "outputs"), "grad_ref_emb") })
		}, `"grad_ref_emb" is missing`},
		{"unknown output", "losses", func(t *testing.T, dir string) {
			editJSON(t, lossFile(dir, "AngularLoss__0"), func(doc map[string]any) { sub(doc, "outputs")["grad_labels"] = 1 })
		}, `unknown losses output "grad_labels"`},
		{"unknown input", "miners", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "miners", "HDCMiner__0.json"), func(doc map[string]any) { sub(doc, "inputs")["weights"] = []any{1} })
		}, `unknown input "weights"`},
		{"unknown top-level key", "distances", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "distances", "LpDistance__0.json"), func(doc map[string]any) { doc["extra"] = true })
		}, `unknown field "extra"`},
		{"unknown index key", "distances", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "index.json"), func(doc map[string]any) { doc["extra"] = true })
		}, `unknown field "extra"`},
		{"class contradicts the file name", "regularizers", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "regularizers", "LpRegularizer__0.json"), func(doc map[string]any) { doc["class"] = "ZeroMeanRegularizer" })
		}, "file name"},
		{"module contradicts the folder", "reducers", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "reducers", "MeanReducer__0.json"), func(doc map[string]any) { doc["module"] = "losses" })
		}, `module "losses" in a "reducers" folder`},
		{"random outside miners", "distances", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "distances", "LpDistance__0.json"), func(doc map[string]any) { doc["random"] = true })
		}, "random is true outside miners"},
		{"deterministic miner without indices", "miners", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "miners", "HDCMiner__0.json"), func(doc map[string]any) { delete(sub(doc, "outputs"), "indices_tuple") })
		}, `"indices_tuple" is missing`},
		{"reducer without gradients", "reducers", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "reducers", "MeanReducer__0.json"), func(doc map[string]any) { delete(sub(doc, "outputs"), "grad_losses") })
		}, `"grad_losses" is missing`},
		{"accuracy metric missing", "accuracy", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "accuracy", "AccuracyCalculator__0.json"), func(doc map[string]any) { delete(sub(doc, "outputs"), "AMI") })
		}, `"AMI" is missing`},
		{"accuracy without neighbours", "accuracy", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "accuracy", "AccuracyCalculator__0.json"), func(doc map[string]any) { delete(sub(doc, "outputs"), "knn_indices") })
		}, `"knn_indices" is missing`},
		{"wrong dtype", "accuracy", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "accuracy", "AccuracyCalculator__0.json"), func(doc map[string]any) { doc["dtype"] = "float64" })
		}, `dtype "float64"`},
		{"index entry contradicts its file", "losses", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "index.json"), func(doc map[string]any) {
				for _, e := range doc["cases"].([]any) {
					if m := e.(map[string]any); m["file"] == "losses/AngularLoss__0.json" {
						m["random"] = true
					}
				}
			})
		}, "the index lists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := goldenCopy(t, tc.module)
			tc.edit(t, dir)
			_, err := Cases(tc.module)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("untouched copy: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestExtraDir checks that a directory named by $GOMETRIC_GOLDEN_DIR is
// run after the project's own, checked against its own index.json.
func TestExtraDir(t *testing.T) {
	dir := t.TempDir()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "reducers"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "testdata", "pml", "reducers", "MeanReducer__0.json"))
	if err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "reducers", "MeanReducer__0.json")
	if err := os.WriteFile(extra, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	if _, err := Files("reducers"); err == nil || !strings.Contains(err.Error(), "index.json") {
		t.Fatalf("a directory without index.json: %v", err)
	}
	idx := `{"schema_version": 1, "seed": 1, "pml_version": "2.8.1", "torch_version": "1.13", "knn_func": "",
		"cases": [{"module": "reducers", "class": "MeanReducer", "case": 0, "file": "reducers/MeanReducer__0.json", "random": false}],
		"failures": [], "uncovered": []}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := Files("reducers")
	if err != nil {
		t.Fatal(err)
	}
	if files[len(files)-1] != extra {
		t.Fatalf("last file %s, want %s", files[len(files)-1], extra)
	}
	cases, err := Cases("reducers")
	if err != nil {
		t.Fatal(err)
	}
	if c := cases[len(cases)-1]; c.Path != extra || c.Name() != "MeanReducer__0" {
		t.Fatalf("last case %s", c.Path)
	}
	// The extra directory's index must list its files.
	if err := os.WriteFile(filepath.Join(dir, "reducers", "SumReducer__0.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Files("reducers"); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Fatalf("an unlisted extra file: %v", err)
	}
}

// TestUnconsumed checks the bookkeeping Run relies on: outputs and
// non-empty inputs stay listed until a decoder reads them; empty inputs
// need no reading.
func TestUnconsumed(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(filepath.Join(root, "testdata", "pml", "regularizers", "LpRegularizer__0.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Unconsumed(), []string{"inputs.embeddings", "outputs.grad_embeddings", "outputs.loss"}; !slices.Equal(got, want) {
		t.Fatalf("fresh case: %v, want %v", got, want)
	}
	if _, err := c.Matrix("embeddings"); err != nil {
		t.Fatal(err)
	}
	var loss float64
	if _, err := c.Output("loss", &loss); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Unconsumed(), []string{"outputs.grad_embeddings"}; !slices.Equal(got, want) {
		t.Fatalf("after reading two: %v, want %v", got, want)
	}
	if _, err := c.OutputMatrix("grad_embeddings"); err != nil {
		t.Fatal(err)
	}
	if got := c.Unconsumed(); len(got) != 0 {
		t.Fatalf("after reading all: %v", got)
	}
	for _, tc := range []struct {
		raw   string
		empty bool
	}{{"null", true}, {"{}", true}, {" [ ] ", true}, {"[0]", false}, {"false", false}, {"0", false}, {`{"a":1}`, false}} {
		if got := empty(json.RawMessage(tc.raw)); got != tc.empty {
			t.Errorf("empty(%s) = %v", tc.raw, got)
		}
	}
}
