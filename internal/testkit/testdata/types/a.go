// Package types is a fixture of testkit's tests.
package types

// base is embedded by Outer.
type base struct{ inner }

// Hidden is promoted through base.
func (base) Hidden() {}

// Shadowed is declared on base and on Outer; Outer's wins.
func (*base) Shadowed(int) {}

// inner is embedded two levels down.
type inner struct{}

// Deep is promoted from inner.
func (inner) Deep() error { return nil }

// Outer is safe for concurrent use.
type Outer struct {
	base
	N int
}

// Own is declared on Outer.
func (o *Outer) Own() {}

// Shadowed is Outer's own.
func (o Outer) Shadowed(string) {}

type (
	// Grouped says nothing.
	Grouped int
	// Other is a concurrent-safe value.
	Other string
)

// Generic is safe for concurrent use.
type Generic[T any] struct{ v T }

// Get returns v.
func (g *Generic[T]) Get() T { return g.v }
