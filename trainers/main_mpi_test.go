//go:build mpi

package trainers_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gometric/gometric/utils/distributed"
)

// TestMain gives the tests this process's MPI communicator (mpirun -np 2
// runs TestDataParallelEqualsSingleProcess on two ranks) and finalizes MPI.
func TestMain(m *testing.M) {
	c, err := distributed.MPI()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mpiWorld = c
	code := m.Run()
	if err := distributed.Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 2
	}
	os.Exit(code)
}
