package testers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoGorgonia: evaluation does not care how embeddings are made, so
// neither testers nor any package under utils/ but utils/logging (PML's
// logging presets, which checkpoint the trainers' models), nor the test
// binaries of testers and of the evaluation packages, may depend on
// Gorgonia.
func TestNoGorgonia(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	const mod = "github.com/gometric/gometric/"
	// Every package under utils/ but utils/logging.
	listed, err := exec.Command(goBin, "list", mod+"utils/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var utils []string
	for _, p := range strings.Fields(string(listed)) {
		if p != mod+"utils/logging" {
			utils = append(utils, p)
		}
	}
	for _, args := range [][]string{
		append([]string{"list", "-deps", mod + "testers"}, utils...),
		append([]string{"list", "-deps", "-tags", "faiss", mod + "testers"}, utils...),
		{"list", "-deps", "-test", mod + "testers", mod + "utils/knn", mod + "utils/accuracy", mod + "utils/inference"},
	} {
		out, err := exec.Command(goBin, args...).Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "gorgonia.org") {
				t.Errorf("go %s lists %s", strings.Join(args, " "), dep)
			}
		}
	}
}
