//go:build !mpi

package distributed

import (
	"fmt"

	"github.com/gometric/gometric"
)

// Available reports whether this build has the Open MPI layer (the build
// tag mpi).
const Available = false

// MPI returns an error wrapping gometric.ErrUnsupported: this build has no
// Open MPI layer (build with -tags mpi and Debian's libopenmpi-dev). With
// the tag it initialises Open MPI and returns the process's communicator.
func MPI() (Communicator, error) {
	return nil, fmt.Errorf("distributed.MPI: built without Open MPI (build with -tags mpi and libopenmpi-dev): %w", gometric.ErrUnsupported)
}

// Finalize ends MPI for the process; without the build tag mpi it does
// nothing.
func Finalize() error { return nil }
