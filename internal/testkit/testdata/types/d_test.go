package types

// TestOnly is declared in a test file and not listed.
type TestOnly struct{}
