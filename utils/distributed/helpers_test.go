package distributed

import (
	"fmt"
	"sync"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// world is a group the tests run on: in-process ranks, or this process's
// rank of the MPI world (mpirun).
type world struct {
	name string
	size int
	// mpi is the MPI communicator when the world is MPI's (one rank runs
	// here).
	mpi Communicator
}

// mpiWorld is set by TestMain in the mpi build.
var mpiWorld Communicator

// worlds are the groups of 2 and 4 in-process ranks, and the MPI world
// when the tests run under the mpi tag.
func worlds() []world {
	ws := []world{{name: "local2", size: 2}, {name: "local4", size: 4}}
	if mpiWorld != nil {
		ws = append(ws, world{name: fmt.Sprintf("mpi%d", mpiWorld.Size()), size: mpiWorld.Size(), mpi: mpiWorld})
	}
	return ws
}

// run calls f on every rank of w that lives in this process, each in its
// own goroutine, and reports the errors. An in-process group is closed
// when a rank fails so that the others do not wait.
func (w world) run(t *testing.T, f func(c Communicator) error) {
	t.Helper()
	if w.mpi != nil {
		if err := f(w.mpi); err != nil {
			t.Fatalf("rank %d: %v", w.mpi.Rank(), err)
		}
		return
	}
	group, err := NewLocalGroup(w.size)
	if err != nil {
		t.Fatal(err)
	}
	w.runGroup(t, group, f)
}

// runGroup calls f on every rank of group, each in its own goroutine.
func (w world) runGroup(t *testing.T, group []*Local, f func(c Communicator) error) {
	t.Helper()
	for r, err := range worldRunAll(group, f) {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// worldRunAll calls f on every rank of group, each in its own goroutine,
// closing the group when one fails, and returns the ranks' errors.
func worldRunAll(group []*Local, f func(c Communicator) error) []error {
	errs := make([]error, len(group))
	var wg sync.WaitGroup
	for r, c := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[r] = f(c); errs[r] != nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	return errs
}

// scaled returns s·m as a new matrix.
func scaled(m mat.Matrix, s float64) *mat.Dense {
	var out mat.Dense
	out.Scale(s, m)
	return &out
}
