package tuples

import (
	"fmt"

	"github.com/gometric/gometric"
)

// Tuples is a set of mined index tuples: *Pairs or *Triplets (PML's
// indices_tuple of length 4 or 3). A nil Tuples means "all", as PML's
// indices_tuple=None does. Both implementations are plain data: safe for
// concurrent reads, not for a write concurrent with anything else.
type Tuples interface {
	// Validate checks that the slices have matching lengths and that
	// anchors index the query set [0, nQuery) and the others the
	// reference set [0, nRef).
	Validate(nQuery, nRef int) error
	isTuples()
}

// Pairs mirrors PML's pair tuple (a1, p, a2, n): positive pairs (A1[i], P[i])
// and negative pairs (A2[j], N[j]). Anchors index the query embeddings,
// P and N the reference embeddings.
//
// The zero value is the empty set of pairs (valid: no positive and no
// negative pair). A nil *Pairs has no pairs for NumPos and NumNeg and is
// an error for Validate. Pairs is plain data: safe for concurrent reads.
type Pairs struct {
	A1, P, A2, N []int
}

// Triplets mirrors PML's triplet tuple (a, p, n): anchor A[i] with positive
// P[i] and negative N[i].
//
// The zero value is the empty set of triplets (valid). A nil *Triplets has
// length 0 and is an error for Validate. Triplets is plain data: safe for
// concurrent reads.
type Triplets struct {
	A, P, N []int
}

func (*Pairs) isTuples()    {}
func (*Triplets) isTuples() {}

// NumPos returns the number of positive pairs (0 for a nil *Pairs).
func (p *Pairs) NumPos() int {
	if p == nil {
		return 0
	}
	return len(p.A1)
}

// NumNeg returns the number of negative pairs (0 for a nil *Pairs).
func (p *Pairs) NumNeg() int {
	if p == nil {
		return 0
	}
	return len(p.A2)
}

// Len returns the number of triplets (0 for a nil *Triplets).
func (t *Triplets) Len() int {
	if t == nil {
		return 0
	}
	return len(t.A)
}

// Validate implements Tuples.
// A nil *Pairs is an error wrapping gometric.ErrShape.
func (p *Pairs) Validate(nQuery, nRef int) error {
	if p == nil {
		return fmt.Errorf("tuples.Pairs: nil *Pairs: %w", gometric.ErrShape)
	}
	if len(p.A1) != len(p.P) {
		return fmt.Errorf("tuples.Pairs: %d positive anchors but %d positives: %w", len(p.A1), len(p.P), gometric.ErrShape)
	}
	if len(p.A2) != len(p.N) {
		return fmt.Errorf("tuples.Pairs: %d negative anchors but %d negatives: %w", len(p.A2), len(p.N), gometric.ErrShape)
	}
	for _, s := range []struct {
		name string
		idx  []int
		n    int
	}{{"A1", p.A1, nQuery}, {"P", p.P, nRef}, {"A2", p.A2, nQuery}, {"N", p.N, nRef}} {
		if err := inRange("tuples.Pairs", s.name, s.idx, s.n); err != nil {
			return err
		}
	}
	return nil
}

// Validate implements Tuples.
// A nil *Triplets is an error wrapping gometric.ErrShape.
func (t *Triplets) Validate(nQuery, nRef int) error {
	if t == nil {
		return fmt.Errorf("tuples.Triplets: nil *Triplets: %w", gometric.ErrShape)
	}
	if len(t.A) != len(t.P) || len(t.A) != len(t.N) {
		return fmt.Errorf("tuples.Triplets: lengths %d, %d, %d differ: %w", len(t.A), len(t.P), len(t.N), gometric.ErrShape)
	}
	for _, s := range []struct {
		name string
		idx  []int
		n    int
	}{{"A", t.A, nQuery}, {"P", t.P, nRef}, {"N", t.N, nRef}} {
		if err := inRange("tuples.Triplets", s.name, s.idx, s.n); err != nil {
			return err
		}
	}
	return nil
}

func inRange(component, name string, idx []int, n int) error {
	for i, v := range idx {
		if v < 0 || v >= n {
			return fmt.Errorf("%s: %s[%d] = %d is outside [0, %d): %w", component, name, i, v, n, gometric.ErrIndex)
		}
	}
	return nil
}
