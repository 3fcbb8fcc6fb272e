package distributed

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gometric/gometric"
)

// ErrComm is wrapped by the errors of a failed collective operation that are
// not the caller's bad input: a closed in-process group, a rank that called
// another collective at the same step, or an MPI error code.
var ErrComm = errors.New("distributed: communication failed")

// Communicator is a process group for data-parallel work, what PML reaches
// through torch.distributed (get_rank, get_world_size, all_gather,
// all_reduce, broadcast, barrier). Every method is a collective except Rank
// and Size: every rank of the group must call the same methods in the same
// order, each with its own buffers; a rank that stops calling them leaves
// the others waiting (as torch.distributed and MPI do). Errors are returned,
// never panics: bad input (a root outside the group, buffers whose lengths
// disagree between ranks) wraps a gometric sentinel, failed communication
// wraps ErrComm.
//
// Sums are computed in rank order, once, so every rank gets the same bits.
//
// The implementations are the in-process group of NewLocalGroup and Open
// MPI (MPI, with the build tag mpi). Each is safe for concurrent use in the
// sense that calls on one rank's Communicator are serialized, but because
// every rank must issue the same collectives in the same order, a rank
// normally calls its Communicator from one goroutine.
type Communicator interface {
	// Rank is this process's index in the group, in [0, Size()).
	Rank() int
	// Size is the number of ranks (PML's world_size).
	Size() int
	// AllGatherFloat64s gathers every rank's send, whose lengths may
	// differ, into one slice in rank order (MPI_Allgatherv), written to
	// recv's memory when its capacity suffices. counts[r] is rank r's
	// length (written to counts' memory when it has capacity).
	AllGatherFloat64s(send, recv []float64, counts []int) ([]float64, []int, error)
	// AllGatherInts is AllGatherFloat64s for ints (labels, indices).
	AllGatherInts(send, recv []int, counts []int) ([]int, []int, error)
	// AllReduceFloat64s replaces buf, on every rank, with the element-wise
	// sum of every rank's buf. All bufs must have one length.
	AllReduceFloat64s(buf []float64) error
	// AllReduceFloat32s is AllReduceFloat64s for float32 (model
	// gradients), summed in float64 and rounded once.
	AllReduceFloat32s(buf []float32) error
	// BroadcastFloat64s copies root's buf into every rank's buf. All bufs
	// must have one length.
	BroadcastFloat64s(buf []float64, root int) error
	// BroadcastFloat32s is BroadcastFloat64s for float32 (model weights).
	BroadcastFloat32s(buf []float32, root int) error
	// BroadcastInts is BroadcastFloat64s for ints (seeds, sizes).
	BroadcastInts(buf []int, root int) error
	// Barrier returns once every rank has called it.
	Barrier() error
}

// checkRoot validates a broadcast's root.
func checkRoot(component string, root, size int) error {
	if root < 0 || root >= size {
		return fmt.Errorf("%s: root %d is outside [0, %d): %w", component, root, size, gometric.ErrIndex)
	}
	return nil
}

// grow returns s resized to n, reusing its memory when it has the capacity.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return slices.Grow(s[:0], n)[:n]
}

// Size returns c.Size(), 1 for a nil Communicator (not distributed).
func Size(c Communicator) int {
	if c == nil {
		return 1
	}
	return c.Size()
}

// Rank returns c.Rank(), 0 for a nil Communicator (not distributed).
func Rank(c Communicator) int {
	if c == nil {
		return 0
	}
	return c.Rank()
}
