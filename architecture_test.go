package gometric_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gometric/gometric"

// testSupport are the packages only tests may import; pmlcase may import
// anything, testkit only the root package (so that the internal tests of
// every package can import it without a cycle).
var testSupport = map[string]bool{"internal/pmlcase": true, "internal/testkit": true}

// testSupportImports restricts the module packages a test-support package
// may import (by path relative to the module, "" for the root); a package
// not listed may import any.
var testSupportImports = map[string][]string{"internal/testkit": {""}}

// layerRow is one row of ARCHITECTURE.md's table.
type layerRow struct {
	layer, row int
	pattern    string // package path relative to the module ("" is the root), or "dir/..."
}

// readLayers parses the layer table of ARCHITECTURE.md.
func readLayers(t *testing.T) []layerRow {
	t.Helper()
	f, err := os.Open("ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rowRE := regexp.MustCompile("^\\| (\\d+) \\| `([^`]+)`")
	var rows []layerRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := rowRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		layer, _ := strconv.Atoi(m[1])
		p := m[2]
		if p == "gometric" {
			p = ""
		}
		rows = append(rows, layerRow{layer: layer, row: len(rows), pattern: p})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 10 {
		t.Fatalf("ARCHITECTURE.md: found %d table rows", len(rows))
	}
	return rows
}

func (r layerRow) match(pkg string) bool {
	if dir, ok := strings.CutSuffix(r.pattern, "/..."); ok {
		return pkg == dir || strings.HasPrefix(pkg, dir+"/")
	}
	return pkg == r.pattern
}

// rowOf returns the most specific row that matches pkg.
func rowOf(rows []layerRow, pkg string) (layerRow, bool) {
	best, found := layerRow{}, false
	for _, r := range rows {
		if r.match(pkg) && (!found || len(r.pattern) > len(best.pattern)) {
			best, found = r, true
		}
	}
	return best, found
}

// pkgImports maps every package of the module (by path relative to the
// module) to the imports of its non-test files, whatever their build
// tags.
func pkgImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != "." && (n == "testdata" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(p))
		if pkg == "." {
			pkg = ""
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, im := range f.Imports {
			v, _ := strconv.Unquote(im.Path.Value)
			out[pkg] = append(out[pkg], v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// local returns the module-relative path of an import of the module, and
// whether it is one.
func local(imp string) (string, bool) {
	if imp == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(imp, module+"/")
	return rel, ok
}

func name(pkg string) string {
	if pkg == "" {
		return "gometric (root)"
	}
	return pkg
}

// TestImportDirection fails when an import points up the layer table of
// ARCHITECTURE.md or when a package is not in the table.
func TestImportDirection(t *testing.T) {
	rows := readLayers(t)
	imports := pkgImports(t)
	pkgs := make([]string, 0, len(imports))
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if testSupport[p] {
			allowed, restricted := testSupportImports[p]
			for _, imp := range imports[p] {
				if ip, ok := local(imp); ok && restricted && !slices.Contains(allowed, ip) {
					t.Errorf("%s imports %s; it may import only %q of the module", name(p), name(ip), allowed)
				}
			}
			continue // test support: outside the layer table
		}
		rp, ok := rowOf(rows, p)
		if !ok {
			t.Errorf("package %s is not in ARCHITECTURE.md's layer table", name(p))
			continue
		}
		for _, imp := range imports[p] {
			ip, ok := local(imp)
			if !ok {
				continue
			}
			if testSupport[ip] {
				t.Errorf("%s imports %s, which only tests may import", name(p), ip)
				continue
			}
			ri, ok := rowOf(rows, ip)
			if !ok {
				continue // reported as a package of its own
			}
			up := ri.layer > rp.layer ||
				(ri.layer == rp.layer && ri.row > rp.row) ||
				(ri.layer == rp.layer && ri.row == rp.row && !strings.HasSuffix(rp.pattern, "/..."))
			if up {
				t.Errorf("%s (layer %d) imports %s (layer %d, %s row): imports must point down ARCHITECTURE.md's table",
					name(p), rp.layer, name(ip), ri.layer, map[bool]string{true: "a later", false: "the same"}[ri.row > rp.row])
			}
		}
	}
}

// TestNoGorgoniaInEvaluation checks that only models and what is built
// on it depend on Gorgonia, directly or through another package of the
// module.
func TestNoGorgoniaInEvaluation(t *testing.T) {
	imports := pkgImports(t)
	// allowed lists the packages (and trees) that may depend on Gorgonia.
	allowed := []string{"models", "trainers", "utils/logging", "internal/runner", "examples/", "cmd/", "internal/pmlcase"}
	memo := map[string]bool{}
	var uses func(p string, seen map[string]bool) bool
	uses = func(p string, seen map[string]bool) bool {
		if v, ok := memo[p]; ok {
			return v
		}
		if seen[p] {
			return false
		}
		seen[p] = true
		for _, imp := range imports[p] {
			if strings.HasPrefix(imp, "gorgonia.org/") {
				memo[p] = true
				return true
			}
			if ip, ok := local(imp); ok && uses(ip, seen) {
				memo[p] = true
				return true
			}
		}
		memo[p] = false
		return false
	}
	for p := range imports {
		ok := false
		for _, a := range allowed {
			ok = ok || p == strings.TrimSuffix(a, "/") || (strings.HasSuffix(a, "/") && strings.HasPrefix(p, a))
		}
		if !ok && uses(p, map[string]bool{}) {
			t.Errorf("%s depends on Gorgonia; only %v may", name(p), allowed)
		}
	}
	for _, p := range []string{"testers", "utils/accuracy", "utils/inference", "utils/knn", "losses", "datasets"} {
		if _, ok := imports[p]; !ok {
			t.Errorf("package %s not found", p)
		}
	}
}
