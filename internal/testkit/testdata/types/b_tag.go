//go:build sometag

package types

// Tagged is declared under a build tag.
type Tagged struct{}
