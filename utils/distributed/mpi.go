//go:build mpi

package distributed

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <stdint.h>
#include <mpi.h>

static MPI_Comm gm_comm;

static int gm_init(int *provided) {
	int done = 0;
	MPI_Initialized(&done);
	if (!done) {
		int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
		if (rc != MPI_SUCCESS) return rc;
	} else {
		MPI_Query_thread(provided);
	}
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	int rc = MPI_Comm_dup(MPI_COMM_WORLD, &gm_comm);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Comm_set_errhandler(gm_comm, MPI_ERRORS_RETURN);
}
static int gm_serialized(void) { return MPI_THREAD_SERIALIZED; }
static int gm_rank(int *r) { return MPI_Comm_rank(gm_comm, r); }
static int gm_size(int *s) { return MPI_Comm_size(gm_comm, s); }
static int gm_finalize(void) {
	int fin = 0;
	MPI_Finalized(&fin);
	if (fin) return MPI_SUCCESS;
	MPI_Comm_free(&gm_comm);
	return MPI_Finalize();
}
static int gm_allgather_counts(int n, int *counts) {
	return MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, gm_comm);
}
static int gm_allgatherv(void *send, int n, void *recv, int *counts, int *displs, int kind) {
	MPI_Datatype t = kind == 0 ? MPI_DOUBLE : MPI_INT64_T;
	return MPI_Allgatherv(send, n, t, recv, counts, displs, t, gm_comm);
}
static int gm_allreduce_double(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, gm_comm);
}
static int gm_bcast(void *buf, int n, int kind, int root) {
	MPI_Datatype t = kind == 0 ? MPI_DOUBLE : (kind == 1 ? MPI_FLOAT : MPI_INT64_T);
	return MPI_Bcast(buf, n, t, root, gm_comm);
}
static int gm_barrier(void) { return MPI_Barrier(gm_comm); }
static int gm_error_string(int code, char *buf, int *len) { return MPI_Error_string(code, buf, len); }
static int gm_max_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gometric/gometric"
)

const mpiName = "distributed.MPI"

// mpiState is the process's one MPI communicator (a duplicate of
// MPI_COMM_WORLD).
var mpiState struct {
	mu        sync.Mutex
	comm      *mpiComm
	err       error
	finalized bool
}

// mpiComm is the Open MPI communicator of this process (a duplicate of
// MPI_COMM_WORLD), made by MPI. Its calls are serialized by a mutex (MPI is
// initialised with MPI_THREAD_SERIALIZED).
type mpiComm struct {
	mu         sync.Mutex
	rank, size int
	counts     []C.int
	displs     []C.int
	f64        []float64
	closed     bool
}

// Available reports whether this build has the Open MPI layer (the build
// tag mpi).
const Available = true

// MPI initialises Open MPI once per process (MPI_Init_thread; a program
// started without mpirun is a group of one) and returns its communicator, a
// duplicate of MPI_COMM_WORLD. Later calls return the same one. Finalize
// ends it. The communicator is safe for concurrent use: its calls are
// serialized by a mutex (MPI runs at MPI_THREAD_SERIALIZED), but every rank
// must issue the same collectives in the same order.
func MPI() (Communicator, error) {
	mpiState.mu.Lock()
	defer mpiState.mu.Unlock()
	if mpiState.err != nil {
		return nil, mpiState.err
	}
	if mpiState.comm != nil {
		return mpiState.comm, nil
	}
	if mpiState.finalized {
		return nil, fmt.Errorf("distributed.MPI: MPI was finalized and cannot be initialised again: %w", ErrComm)
	}
	var provided C.int
	if rc := C.gm_init(&provided); rc != 0 {
		mpiState.err = mpiError("distributed.MPI", "MPI_Init_thread", rc)
		return nil, mpiState.err
	}
	if provided < C.gm_serialized() {
		mpiState.err = fmt.Errorf("distributed.MPI: the MPI library gives thread level %d, MPI_THREAD_SERIALIZED is needed: %w", int(provided), gometric.ErrUnsupported)
		return nil, mpiState.err
	}
	var r, s C.int
	if rc := C.gm_rank(&r); rc != 0 {
		return nil, mpiError("distributed.MPI", "MPI_Comm_rank", rc)
	}
	if rc := C.gm_size(&s); rc != 0 {
		return nil, mpiError("distributed.MPI", "MPI_Comm_size", rc)
	}
	mpiState.comm = &mpiComm{rank: int(r), size: int(s)}
	return mpiState.comm, nil
}

// Finalize ends MPI for the process (MPI_Finalize) after a barrier-free
// shutdown of the communicator; later collectives return an error wrapping
// ErrComm. It does nothing when MPI was not initialised or is finalized.
func Finalize() error {
	mpiState.mu.Lock()
	defer mpiState.mu.Unlock()
	if mpiState.comm == nil || mpiState.finalized {
		return nil
	}
	c := mpiState.comm
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	mpiState.finalized = true
	if rc := C.gm_finalize(); rc != 0 {
		return mpiError("distributed.Finalize", "MPI_Finalize", rc)
	}
	return nil
}

// mpiError is an MPI error code as an error wrapping ErrComm.
func mpiError(c, call string, rc C.int) error {
	buf := make([]byte, int(C.gm_max_string())+1)
	var n C.int
	msg := ""
	if C.gm_error_string(rc, (*C.char)(unsafe.Pointer(&buf[0])), &n) == 0 && n > 0 {
		msg = string(buf[:n])
	}
	return fmt.Errorf("%s: %s failed with code %d (%s): %w", c, call, int(rc), msg, ErrComm)
}

// lock serializes the calls and checks that c is usable.
func (c *mpiComm) lock(name string) error {
	if c == nil {
		return fmt.Errorf("%s: nil receiver: %w", name, gometric.ErrSetting)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("%s: MPI is finalized: %w", name, ErrComm)
	}
	return nil
}

// Rank implements Communicator (0 for nil).
func (c *mpiComm) Rank() int {
	if c == nil {
		return 0
	}
	return c.rank
}

// Size implements Communicator (1 for nil).
func (c *mpiComm) Size() int {
	if c == nil {
		return 1
	}
	return c.size
}

// checkCount refuses a buffer MPI's int counts cannot describe.
func checkCount(name string, n int) error {
	if n > math.MaxInt32 {
		return fmt.Errorf("%s: %d values exceed MPI's count limit %d: %w", name, n, math.MaxInt32, gometric.ErrShape)
	}
	return nil
}

// allGatherv gathers n values at send (kind 0: float64, 1: int64) into
// the memory returned by alloc(total).
func (c *mpiComm) allGatherv(name string, send unsafe.Pointer, n, kind int, alloc func(total int) unsafe.Pointer, counts []int) ([]int, error) {
	if err := checkCount(name, n); err != nil {
		return counts[:0], err
	}
	c.counts = grow(c.counts, c.size)
	c.displs = grow(c.displs, c.size)
	if rc := C.gm_allgather_counts(C.int(n), &c.counts[0]); rc != 0 {
		return counts[:0], mpiError(name, "MPI_Allgather", rc)
	}
	total := 0
	counts = grow(counts, c.size)
	for r, k := range c.counts {
		c.displs[r] = C.int(total)
		counts[r] = int(k)
		total += int(k)
	}
	if total > math.MaxInt32 {
		return counts[:0], fmt.Errorf("%s: %d values in all exceed MPI's count limit %d: %w", name, total, math.MaxInt32, gometric.ErrShape)
	}
	recv := alloc(total)
	var dummy [1]float64
	if send == nil {
		send = unsafe.Pointer(&dummy[0])
	}
	if recv == nil {
		recv = unsafe.Pointer(&dummy[0])
	}
	rc := C.gm_allgatherv(send, C.int(n), recv, &c.counts[0], &c.displs[0], C.int(kind))
	runtime.KeepAlive(dummy)
	if rc != 0 {
		return counts[:0], mpiError(name, "MPI_Allgatherv", rc)
	}
	return counts, nil
}

// AllGatherFloat64s implements Communicator (MPI_Allgatherv).
func (c *mpiComm) AllGatherFloat64s(send, recv []float64, counts []int) ([]float64, []int, error) {
	return allGatherTyped(c, mpiName+".AllGatherFloat64s", 0, send, recv, counts)
}

// AllGatherInts implements Communicator (MPI_Allgatherv of int64).
func (c *mpiComm) AllGatherInts(send, recv []int, counts []int) ([]int, []int, error) {
	return allGatherTyped(c, mpiName+".AllGatherInts", 1, send, recv, counts)
}

// allGatherTyped is the all-gather of either element type: kind 0 sends
// float64, 1 int64 (Go's int on the 64-bit platforms cgo builds for).
func allGatherTyped[E float64 | int](c *mpiComm, name string, kind int, send, recv []E, counts []int) ([]E, []int, error) {
	if err := c.lock(name); err != nil {
		return recv[:0], counts[:0], err
	}
	defer c.mu.Unlock()
	var sp unsafe.Pointer
	if len(send) > 0 {
		sp = unsafe.Pointer(&send[0])
	}
	counts, err := c.allGatherv(name, sp, len(send), kind, func(total int) unsafe.Pointer {
		recv = grow(recv, total)
		if total == 0 {
			return nil
		}
		return unsafe.Pointer(&recv[0])
	}, counts)
	if err != nil {
		return recv[:0], counts, err
	}
	return recv, counts, nil
}

// sameLength checks on every rank that all buffers have n values (one
// extra MPI_Allgather of the lengths), so a mismatch is an error on every
// rank rather than memory corruption.
func (c *mpiComm) sameLength(name string, n int) error {
	if err := checkCount(name, n); err != nil {
		return err
	}
	c.counts = grow(c.counts, c.size)
	if rc := C.gm_allgather_counts(C.int(n), &c.counts[0]); rc != 0 {
		return mpiError(name, "MPI_Allgather", rc)
	}
	for r, k := range c.counts {
		if int(k) != n {
			return fmt.Errorf("%s: rank %d's buffer has %d values, rank %d's %d: %w", name, r, int(k), c.rank, n, gometric.ErrShape)
		}
	}
	return nil
}

// AllReduceFloat64s implements Communicator (MPI_Allreduce, MPI_SUM).
func (c *mpiComm) AllReduceFloat64s(buf []float64) error {
	const name = mpiName + ".AllReduceFloat64s"
	if err := c.lock(name); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return c.allReduce(name, buf)
}

func (c *mpiComm) allReduce(name string, buf []float64) error {
	if err := c.sameLength(name, len(buf)); err != nil {
		return err
	}
	if len(buf) == 0 {
		return nil
	}
	if rc := C.gm_allreduce_double((*C.double)(unsafe.Pointer(&buf[0])), C.int(len(buf))); rc != 0 {
		return mpiError(name, "MPI_Allreduce", rc)
	}
	return nil
}

// AllReduceFloat32s implements Communicator: the values travel and are
// summed as float64 and rounded once, as in the in-process group.
func (c *mpiComm) AllReduceFloat32s(buf []float32) error {
	const name = mpiName + ".AllReduceFloat32s"
	if err := c.lock(name); err != nil {
		return err
	}
	defer c.mu.Unlock()
	c.f64 = grow(c.f64, len(buf))
	for i, v := range buf {
		c.f64[i] = float64(v)
	}
	if err := c.allReduce(name, c.f64); err != nil {
		return err
	}
	for i, v := range c.f64 {
		buf[i] = float32(v)
	}
	return nil
}

func (c *mpiComm) bcast(name string, p unsafe.Pointer, n, kind, root int) error {
	if err := c.lock(name); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if err := checkRoot(name, root, c.size); err != nil {
		return err
	}
	if err := c.sameLength(name, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if rc := C.gm_bcast(p, C.int(n), C.int(kind), C.int(root)); rc != 0 {
		return mpiError(name, "MPI_Bcast", rc)
	}
	return nil
}

// BroadcastFloat64s implements Communicator (MPI_Bcast).
func (c *mpiComm) BroadcastFloat64s(buf []float64, root int) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	return c.bcast(mpiName+".BroadcastFloat64s", p, len(buf), 0, root)
}

// BroadcastFloat32s implements Communicator (MPI_Bcast).
func (c *mpiComm) BroadcastFloat32s(buf []float32, root int) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	return c.bcast(mpiName+".BroadcastFloat32s", p, len(buf), 1, root)
}

// BroadcastInts implements Communicator (MPI_Bcast of int64).
func (c *mpiComm) BroadcastInts(buf []int, root int) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	return c.bcast(mpiName+".BroadcastInts", p, len(buf), 2, root)
}

// Barrier implements Communicator (MPI_Barrier).
func (c *mpiComm) Barrier() error {
	const name = mpiName + ".Barrier"
	if err := c.lock(name); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if rc := C.gm_barrier(); rc != 0 {
		return mpiError(name, "MPI_Barrier", rc)
	}
	return nil
}
