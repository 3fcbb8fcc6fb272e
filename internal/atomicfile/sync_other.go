//go:build !unix

package atomicfile

// isNotSupported reports every directory-sync error as unsupported: only
// Unix systems can sync a directory.
func isNotSupported(error) bool { return true }
