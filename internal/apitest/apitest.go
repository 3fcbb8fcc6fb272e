// Package apitest is test support for the library's API conventions: it
// lists a package's exported types from its source, so that a table-driven
// test over them cannot forget a new one, checks that each type's doc says
// whether it is safe for concurrent use, and calls every method of a nil
// pointer to check that none panics and that those with an error result
// return an error. Only tests import it.
package apitest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Type is an exported type declared in a package's non-test source.
type Type struct {
	Name   string
	Struct bool // declared as a struct type
	Doc    string
}

// ExportedTypes parses the non-test .go files of dir and returns its
// exported types, sorted by name.
func ExportedTypes(t testing.TB, dir string) []Type {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Type
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if !ts.Name.IsExported() {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(g.Specs) == 1 {
					doc = g.Doc
				}
				_, isStruct := ts.Type.(*ast.StructType)
				out = append(out, Type{Name: ts.Name.Name, Struct: isStruct, Doc: doc.Text()})
			}
		}
	}
	slices.SortFunc(out, func(a, b Type) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// CheckListed fails the test for every exported struct type of dir that
// listed lacks, and for every name of listed that is not an exported type
// of dir.
func CheckListed(t testing.TB, dir string, listed []string) {
	t.Helper()
	have := map[string]bool{}
	for _, n := range listed {
		have[n] = true
	}
	declared := map[string]bool{}
	for _, ty := range ExportedTypes(t, dir) {
		declared[ty.Name] = true
		if ty.Struct && !have[ty.Name] {
			t.Errorf("exported struct type %s is missing from the test's table", ty.Name)
		}
	}
	for _, n := range listed {
		if !declared[n] {
			t.Errorf("the test's table lists %s, which is not an exported type of the package", n)
		}
	}
}

// CheckConcurrencyDocs fails the test for every exported type of dir whose
// doc comment does not say whether it is safe for concurrent use (it must
// contain the word "concurrent").
func CheckConcurrencyDocs(t testing.TB, dir string) {
	t.Helper()
	for _, ty := range ExportedTypes(t, dir) {
		if !strings.Contains(ty.Doc, "concurrent") {
			t.Errorf("the doc of %s does not say whether it is safe for concurrent use", ty.Name)
		}
	}
}

// NilReceiver calls every exported method of a nil value of the pointer
// type ptr with zero arguments. It fails the test when a call panics, when
// a method with an error as its last result returns a nil error, or when a
// method without one returns a non-zero value (except the methods named in
// nonZero, whose documented result for a nil receiver is not the zero
// value, such as an Equal that reports two nil pointers equal). It returns
// the errors the methods returned, by method name, for the caller to check
// further.
func NilReceiver(t testing.TB, ptr reflect.Type, nonZero ...string) map[string]error {
	t.Helper()
	if ptr.Kind() != reflect.Pointer {
		t.Fatalf("%v is not a pointer type", ptr)
	}
	return callAll(t, "nil", reflect.Zero(ptr), true, nonZero)
}

// ZeroValue calls every exported method of a pointer to a new zero value
// of ptr's element type with zero arguments. It fails the test when a call
// panics, or when a method with an error as its last result returns a nil
// error: use it for types whose zero value is refused. It returns the
// errors by method name.
func ZeroValue(t testing.TB, ptr reflect.Type) map[string]error {
	t.Helper()
	if ptr.Kind() != reflect.Pointer {
		t.Fatalf("%v is not a pointer type", ptr)
	}
	return callAll(t, "zero", reflect.New(ptr.Elem()), false, nil)
}

func callAll(t testing.TB, what string, recv reflect.Value, wantZero bool, nonZero []string) map[string]error {
	t.Helper()
	ptr := recv.Type()
	errType := reflect.TypeFor[error]()
	out := map[string]error{}
	for i := range ptr.NumMethod() {
		m := ptr.Method(i)
		ft := m.Type
		args := []reflect.Value{recv}
		for j := 1; j < ft.NumIn(); j++ {
			args = append(args, reflect.Zero(ft.In(j)))
		}
		var res []reflect.Value
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s %v: %s panics: %v", what, ptr, m.Name, r)
				}
			}()
			res = m.Func.Call(args)
		}()
		if res == nil {
			continue
		}
		if n := ft.NumOut(); n > 0 && ft.Out(n-1) == errType {
			err, _ := res[n-1].Interface().(error)
			if err == nil {
				t.Errorf("%s %v: %s returns a nil error", what, ptr, m.Name)
			}
			out[m.Name] = err
			continue
		}
		if !wantZero || slices.Contains(nonZero, m.Name) {
			continue
		}
		for k, r := range res {
			if !r.IsZero() {
				t.Errorf("%s %v: %s returns %v as result %d, want the zero value", what, ptr, m.Name, r, k)
			}
		}
	}
	return out
}
