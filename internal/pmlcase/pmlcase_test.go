package pmlcase

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExtraDir checks that a case placed in $GOMETRIC_GOLDEN_DIR/<module>
// is listed after the project's own, so new cases need no code.
func TestExtraDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "reducers"), 0o755); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "reducers", "MeanReducer__99.json")
	if err := os.WriteFile(extra, []byte(`{"schema_version":1,"class":"MeanReducer","config":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	files, err := Files("reducers")
	if err != nil {
		t.Fatal(err)
	}
	if files[len(files)-1] != extra {
		t.Fatalf("last file %s, want %s", files[len(files)-1], extra)
	}
	c, err := Load(extra)
	if err != nil || c.Class != "MeanReducer" || c.Name() != "MeanReducer__99" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestArgs(t *testing.T) {
	a := Args{"p": []byte("3"), "flag": []byte("true"), "nested": []byte(`{"class":"SumReducer","args":{}}`),
		"w": []byte(`{"tensor":[[1,2],[3,4]]}`), "none": []byte("null")}
	if v, err := a.Float("p", 2); err != nil || v != 3 {
		t.Errorf("Float: %v %v", v, err)
	}
	if v, err := a.Float("none", 2); err != nil || v != 2 {
		t.Errorf("Float default: %v %v", v, err)
	}
	if v, err := a.Bool("flag", false); err != nil || !v {
		t.Errorf("Bool: %v %v", v, err)
	}
	if s, err := a.Spec("nested"); err != nil || s.Class != "SumReducer" {
		t.Errorf("Spec: %v %v", s, err)
	}
	if w, err := a.Tensor("w"); err != nil || len(w) != 4 || w[3] != 4 {
		t.Errorf("Tensor: %v %v", w, err)
	}
	if err := a.Known("X", "p", "flag"); err == nil {
		t.Error("Known accepted unknown args")
	}
}
