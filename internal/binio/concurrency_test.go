package binio

import (
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestConcurrencyDocs: every type says whether it is safe for concurrent
// use; Writer and Reader say they are not, so the table of -race cases
// is empty (a type declared safe later must add one).
func TestConcurrencyDocs(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
	testkit.RunConcurrentCases(t, ".", nil)
}
