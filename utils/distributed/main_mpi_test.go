//go:build mpi

package distributed

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests in every process of mpirun (or alone): the tests
// that take the MPI world find this process's rank and size.
func TestMain(m *testing.M) {
	c, err := MPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mpiWorld = c
	code := m.Run()
	if err := Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 2
	}
	os.Exit(code)
}
