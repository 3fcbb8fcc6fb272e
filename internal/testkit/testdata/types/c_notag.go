//go:build !sometag

package types

// Tagged is declared for the other builds; it is safe for concurrent use.
type Tagged struct{}
