package testkit

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Type is an exported type declared in a package's non-test source. A type
// declared in several files under different build constraints (one
// variant per build) is listed once per declaration. It is plain data,
// safe for concurrent reads.
type Type struct {
	Name   string
	Struct bool // declared as a struct type
	Doc    string
	// Methods is the type's method set as the source declares it, sorted
	// by name: the methods declared on T or *T, then those promoted from
	// the types of the package that T embeds (at any depth, the shallowest
	// winning), as go/doc lists them with AllMethods.
	Methods []Method
}

// Method is a method of an exported type. It is plain data, safe for
// concurrent reads (its Type is the parsed source, never modified).
type Method struct {
	Name string
	Type *ast.FuncType // its parameters and results, as written
}

// HasMethods reports whether the type has any method, its own or
// promoted.
func (ty Type) HasMethods() bool { return len(ty.Methods) > 0 }

// Method returns the method of the given name, and whether there is one.
func (ty Type) Method(name string) (Method, bool) {
	i := slices.IndexFunc(ty.Methods, func(m Method) bool { return m.Name == name })
	if i < 0 {
		return Method{}, false
	}
	return ty.Methods[i], true
}

// ExportedTypes parses the non-test .go files of dir (whatever their build
// constraints) and returns its exported types, sorted by name.
func ExportedTypes(t testing.TB, dir string) []Type {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Type
	declared := map[string][]Method{} // methods declared on each type (exported or not)
	embeds := map[string][]string{}   // the package types each struct type embeds
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
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil || len(d.Recv.List) != 1 || !d.Name.IsExported() {
					continue
				}
				if recv := baseTypeName(d.Recv.List[0].Type); recv != "" {
					declared[recv] = append(declared[recv], Method{Name: d.Name.Name, Type: d.Type})
				}
			case *ast.GenDecl:
				if d.Tok != token.TYPE {
					continue
				}
				for _, s := range d.Specs {
					ts := s.(*ast.TypeSpec)
					st, isStruct := ts.Type.(*ast.StructType)
					if isStruct {
						for _, fld := range st.Fields.List {
							if len(fld.Names) == 0 {
								if e := baseTypeName(fld.Type); e != "" {
									embeds[ts.Name.Name] = append(embeds[ts.Name.Name], e)
								}
							}
						}
					}
					if !ts.Name.IsExported() {
						continue
					}
					doc := ts.Doc
					if doc == nil && len(d.Specs) == 1 {
						doc = d.Doc
					}
					out = append(out, Type{Name: ts.Name.Name, Struct: isStruct, Doc: doc.Text()})
				}
			}
		}
	}
	for i := range out {
		out[i].Methods = methodSet(out[i].Name, declared, embeds)
	}
	slices.SortStableFunc(out, func(a, b Type) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// baseTypeName returns the name of a receiver or embedded field type of
// the package (T, *T, T[P], *T[P]), or "" for a type of another package.
func baseTypeName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// methodSet returns the methods of name, declared or promoted through
// embedded types of the package, breadth first so that a shallower method
// hides a deeper one of the same name.
func methodSet(name string, declared map[string][]Method, embeds map[string][]string) []Method {
	var out []Method
	seen := map[string]bool{name: true}
	level := []string{name}
	for len(level) > 0 {
		var next []string
		var found []Method
		for _, ty := range level {
			for _, m := range declared[ty] {
				if !slices.ContainsFunc(out, func(o Method) bool { return o.Name == m.Name }) {
					found = append(found, m)
				}
			}
			for _, e := range embeds[ty] {
				if !seen[e] {
					seen[e] = true
					next = append(next, e)
				}
			}
		}
		for _, m := range found {
			if !slices.ContainsFunc(out, func(o Method) bool { return o.Name == m.Name }) {
				out = append(out, m)
			}
		}
		level = next
	}
	slices.SortFunc(out, func(a, b Method) int { return strings.Compare(a.Name, b.Name) })
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
		if ty.Struct && !have[ty.Name] && !declared[ty.Name] {
			t.Errorf("exported struct type %s is missing from the test's table", ty.Name)
		}
		declared[ty.Name] = true
	}
	for _, n := range listed {
		if !declared[n] {
			t.Errorf("the test's table lists %s, which is not an exported type of the package", n)
		}
	}
}

// CheckConcurrencyDocs fails the test for every exported type of dir whose
// doc comment does not say whether it is safe for concurrent use: it must
// contain the word "concurrent".
func CheckConcurrencyDocs(t testing.TB, dir string) {
	t.Helper()
	for _, ty := range ExportedTypes(t, dir) {
		if !strings.Contains(ty.Doc, "concurrent") {
			t.Errorf("the doc of %s does not say whether it is safe for concurrent use (it lacks the word \"concurrent\")", ty.Name)
		}
	}
}

// NilReceiver calls every exported method of a nil value of the pointer
// type ptr with zero arguments. It fails the test when a call panics, when
// a method with an error as its last result returns a nil error, or when a
// method without one returns a non-zero value. The methods named in except
// are called (and must not panic) but their results are left to the
// caller: those whose documented result for a nil receiver is neither an
// error nor the zero value, such as an Equal that reports two nil pointers
// equal or a Close with nothing to release. It returns the errors the
// methods returned, by method name, for the caller to check further.
// Given a *testing.T, it calls each method in a subtest named
// "nil <Type>.<Method>".
func NilReceiver(t testing.TB, ptr reflect.Type, except ...string) map[string]error {
	t.Helper()
	if ptr.Kind() != reflect.Pointer {
		t.Fatalf("%v is not a pointer type", ptr)
	}
	return callAll(t, "nil", reflect.Zero(ptr), true, except)
}

// ZeroValue calls every exported method of a pointer to a new zero value
// of ptr's element type with zero arguments. It fails the test when a call
// panics, or when a method with an error as its last result (but those
// named in except) returns a nil error: use it for types whose zero value
// is refused. It returns the errors by method name. Given a *testing.T, it
// calls each method in a subtest named "zero <Type>.<Method>".
func ZeroValue(t testing.TB, ptr reflect.Type, except ...string) map[string]error {
	t.Helper()
	if ptr.Kind() != reflect.Pointer {
		t.Fatalf("%v is not a pointer type", ptr)
	}
	return callAll(t, "zero", reflect.New(ptr.Elem()), false, except)
}

// Refused is ZeroValue for a given pointer, such as a struct literal that
// lacks what only the constructor sets: it calls every exported method of
// v with zero arguments, fails the test when a call panics or when a
// method with an error result (but those named in except) returns a nil
// error, and returns the errors by method name. Its subtests are named
// "value <Type>.<Method>".
func Refused(t testing.TB, v any, except ...string) map[string]error {
	t.Helper()
	return callAll(t, "value", reflect.ValueOf(v), false, except)
}

func callAll(t testing.TB, what string, recv reflect.Value, wantZero bool, except []string) map[string]error {
	t.Helper()
	ptr := recv.Type()
	errType := reflect.TypeFor[error]()
	out := map[string]error{}
	for i := range ptr.NumMethod() {
		m := ptr.Method(i)
		check := func(t testing.TB) {
			t.Helper()
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
				if ft.IsVariadic() {
					res = m.Func.CallSlice(args)
				} else {
					res = m.Func.Call(args)
				}
			}()
			if res == nil || slices.Contains(except, m.Name) {
				return
			}
			if n := ft.NumOut(); n > 0 && ft.Out(n-1) == errType {
				err, _ := res[n-1].Interface().(error)
				if err == nil {
					t.Errorf("%s %v: %s returns a nil error", what, ptr, m.Name)
				}
				out[m.Name] = err
				return
			}
			if !wantZero {
				return
			}
			for k, r := range res {
				if !r.IsZero() {
					t.Errorf("%s %v: %s returns %v as result %d, want the zero value", what, ptr, m.Name, r, k)
				}
			}
		}
		if tt, ok := t.(*testing.T); ok {
			tt.Run(what+" "+typeName(ptr)+"."+m.Name, func(t *testing.T) { check(t) })
		} else {
			check(t)
		}
	}
	return out
}

// typeName is the name of ptr's element type (or of ptr), without its
// package.
func typeName(ty reflect.Type) string {
	if ty.Kind() == reflect.Pointer {
		ty = ty.Elem()
	}
	if n := ty.Name(); n != "" {
		return n
	}
	return ty.String()
}

// ErrorCase is one call of a table of calls that must fail (or succeed).
// RunErrorCases runs the cases one at a time: an ErrorCase is not meant
// for concurrent use.
type ErrorCase struct {
	Name string
	Call func() error
	// Want is the sentinel the error must wrap; nil: the call must
	// succeed.
	Want error
	// Ctor, when set, must appear in the error's message: the constructor
	// a refused zero value names.
	Ctor string
}

// RunErrorCases runs every case as a subtest: a case with a nil Want must
// return no error; the others an error wrapping Want whose message
// contains Ctor.
func RunErrorCases(t *testing.T, cases []ErrorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			err := tc.Call()
			if tc.Want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.Want) {
				t.Fatalf("err = %v, want %v", err, tc.Want)
			}
			if tc.Ctor != "" && !strings.Contains(err.Error(), tc.Ctor) {
				t.Errorf("error %q does not name %s", err, tc.Ctor)
			}
		})
	}
}

// Concurrently calls f from n goroutines at once, rounds times in each
// (g is the goroutine's number, 0 to n−1), and fails the test with the
// first error of every goroutine, which stops at it. Run with -race, it
// backs a type's claim to be safe for concurrent use; f typically compares
// a result with the one of a lone call.
func Concurrently(t testing.TB, n, rounds int, f func(g int) error) {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for range rounds {
				if err := f(g); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
}
