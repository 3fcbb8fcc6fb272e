package testkit

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// safeClaim matches a claim of safety for concurrent use in a doc
// comment; the words before it tell a claim ("X is safe for concurrent
// use", "it is as safe for concurrent use as F", "Search may be called
// concurrently") from a denial or a requirement ("is not safe for
// concurrent use", "need not be safe", "must be safe").
var safeClaim = regexp.MustCompile(`(?i)((?:\S+\s+){0,3})(?:as\s+)?(safe\s+for\s+concurrent\s+(?:use|reads)|safe\s+to\s+share|may\s+be\s+called\s+concurrently|may\s+be\s+reduced\s+by\s+several\s+goroutines|allow\s+concurrent|concurren(?:t|cy)-safe)`)

// notClaim are the words that, just before a match of safeClaim, make it
// a denial or a requirement rather than a claim.
var notClaim = regexp.MustCompile(`(?i)\b(not|never|must|need|needs|should|whether|only\s+if)\b`)

// ClaimsSafe reports whether a doc comment claims, at least under some
// conditions, that its type is safe for concurrent use (or for concurrent
// reads): "A Range is a plain value, safe for concurrent use", "With a nil
// Rand Mine is safe for concurrent use ...; with a seeded Rand it is not",
// "It is as safe for concurrent use as its Func". Denials ("A session is
// not safe for concurrent use") and requirements on an implementation or
// a function value ("need not be safe", "must be safe for concurrent use
// only if ...") are not claims.
func ClaimsSafe(doc string) bool {
	doc = strings.Join(strings.Fields(doc), " ")
	for _, m := range safeClaim.FindAllStringSubmatchIndex(doc, -1) {
		before := doc[m[2]:m[3]]
		// Only the words of the same clause count.
		if i := strings.LastIndexAny(before, ".;:"); i >= 0 {
			before = before[i+1:]
		}
		if !notClaim.MatchString(before) {
			return true
		}
	}
	return false
}

// SafeTypes returns, sorted, the exported types of the package in dir
// whose doc comment claims that they are safe for concurrent use (see
// ClaimsSafe): the types that a -race test must exercise concurrently.
func SafeTypes(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, ty := range ExportedTypes(t, dir) {
		if ClaimsSafe(ty.Doc) && !slices.Contains(out, ty.Name) {
			out = append(out, ty.Name)
		}
	}
	return out
}

// CheckSafeTested fails the test for every exported type of dir whose doc
// claims safety for concurrent use and that tested lacks — so a type
// newly declared safe cannot go without a -race test — and for every name
// of tested that is not such a type (a test of concurrent use of a type
// whose doc does not claim it). A package's concurrency test lists the
// types it exercises with Concurrently and calls it.
func CheckSafeTested(t testing.TB, dir string, tested []string) {
	t.Helper()
	safe := SafeTypes(t, dir)
	for _, name := range safe {
		if !slices.Contains(tested, name) {
			t.Errorf("the doc of %s claims it is safe for concurrent use, but no -race test exercises it (add it to the package's concurrency test)", name)
		}
	}
	for _, name := range tested {
		if !slices.Contains(safe, name) {
			t.Errorf("the concurrency test exercises %s, whose doc does not claim it is safe for concurrent use", name)
		}
	}
}

// ConcurrentCase is one entry of a package's concurrency test: a type
// whose doc claims safety for concurrent use, and a function that
// exercises a shared value of it from several goroutines (typically with
// Concurrently, comparing with a lone call's result). RunConcurrentCases
// runs the cases one at a time: a ConcurrentCase is not itself meant for
// concurrent use.
type ConcurrentCase struct {
	Type string
	Run  func(t *testing.T)
}

// RunConcurrentCases checks with CheckSafeTested that cases cover exactly
// the types of dir claimed safe, then runs each case as a subtest named
// after its type. Run it with -race: it backs the package's claims.
func RunConcurrentCases(t *testing.T, dir string, cases []ConcurrentCase) {
	t.Helper()
	var names []string
	for _, c := range cases {
		if slices.Contains(names, c.Type) {
			t.Errorf("the concurrency test lists %s twice", c.Type)
		}
		names = append(names, c.Type)
	}
	CheckSafeTested(t, dir, names)
	for _, c := range cases {
		t.Run(c.Type, c.Run)
	}
}
