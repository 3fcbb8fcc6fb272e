package distributed

import (
	"fmt"
	"sync"

	"github.com/gometric/gometric"
)

const localName = "distributed.Local"

// maxLocalRanks bounds NewLocalGroup's n: a group is goroutines of one
// process, and each rank holds a slot of every round.
const maxLocalRanks = 1 << 16

// Local is one rank of an in-process group made by NewLocalGroup: the
// ranks are goroutines of one process that exchange data through shared
// memory (for tests without MPI, and for workers on one node). Every
// collective waits until all ranks of the group have called it; the last
// one to arrive computes the result (sums in rank order, gathers in rank
// order) and wakes the others. Ranks that call different collectives at the
// same step, or pass buffers whose lengths disagree, all get an error.
//
// Close ends the whole group: collectives waiting and future ones return an
// error wrapping ErrComm, so a rank that fails can release the others.
//
// A Local is safe for concurrent use: its calls are serialized (a second
// call waits for the first), but every rank must still issue the same
// collectives in the same order. The zero value and a nil *Local belong to
// no group: their collectives return an error wrapping gometric.ErrSetting
// that names NewLocalGroup, Rank returns 0 and Size 1.
type Local struct {
	g    *localGroup
	rank int
	mu   sync.Mutex
}

// localGroup is the state the ranks of one group share.
type localGroup struct {
	n      int
	mu     sync.Mutex
	cond   *sync.Cond
	cur    *localRound
	closed bool
}

// localRound is one collective step: every rank's part, then the result.
type localRound struct {
	op      string
	parts   []any
	arrived int
	done    bool
	out     any
	err     error
}

// NewLocalGroup returns the n ranks of a new in-process group, rank r at
// index r; each is meant to be used by its own goroutine. n must be in
// [1, 65536] (an error wrapping gometric.ErrSetting otherwise).
func NewLocalGroup(n int) ([]*Local, error) {
	if n < 1 || n > maxLocalRanks {
		return nil, fmt.Errorf("distributed.NewLocalGroup: n = %d ranks is outside [1, %d]: %w", n, maxLocalRanks, gometric.ErrSetting)
	}
	g := &localGroup{n: n}
	g.cond = sync.NewCond(&g.mu)
	out := make([]*Local, n)
	for r := range out {
		out[r] = &Local{g: g, rank: r}
	}
	return out, nil
}

// Communicators returns the ranks of group as Communicators.
func Communicators(group []*Local) []Communicator {
	out := make([]Communicator, len(group))
	for i, l := range group {
		out[i] = l
	}
	return out
}

// Rank implements Communicator (0 for a nil or zero Local).
func (l *Local) Rank() int {
	if l == nil || l.g == nil {
		return 0
	}
	return l.rank
}

// Size implements Communicator (1 for a nil or zero Local).
func (l *Local) Size() int {
	if l == nil || l.g == nil {
		return 1
	}
	return l.g.n
}

// Close ends the group of l for every rank: collectives in progress that
// have not completed, and all later ones, return an error wrapping ErrComm.
// Closing twice is not an error; a nil or zero Local does nothing.
func (l *Local) Close() error {
	if l == nil || l.g == nil {
		return nil
	}
	g := l.g
	g.mu.Lock()
	g.closed = true
	g.cond.Broadcast()
	g.mu.Unlock()
	return nil
}

// usable checks that l belongs to a group.
func (l *Local) usable(c string) error {
	if l == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if l.g == nil {
		return fmt.Errorf("%s: not made by NewLocalGroup: the zero value belongs to no group; use NewLocalGroup(n): %w", c, gometric.ErrSetting)
	}
	return nil
}

// exchange deposits part for the collective op and waits until every rank
// has; the last to arrive runs finish on all parts (in rank order). The
// parts are read only by finish, before any rank returns.
func (l *Local) exchange(c, op string, part any, finish func(parts []any) (any, error)) (any, error) {
	if err := l.usable(c); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("%s: rank %d: the group is closed: %w", c, l.rank, ErrComm)
	}
	r := g.cur
	if r == nil {
		r = &localRound{op: op, parts: make([]any, g.n)}
		g.cur = r
	}
	if r.op != op && r.err == nil {
		r.err = fmt.Errorf("%s: rank %d called %s while another rank called %s at the same step: %w", c, l.rank, op, r.op, ErrComm)
	}
	r.parts[l.rank] = part
	r.arrived++
	if r.arrived == g.n {
		if r.err == nil {
			r.out, r.err = finish(r.parts)
		}
		r.parts, r.done, g.cur = nil, true, nil
		g.cond.Broadcast()
	}
	for !r.done && !g.closed {
		g.cond.Wait()
	}
	if !r.done {
		return nil, fmt.Errorf("%s: rank %d: the group was closed during the call: %w", c, l.rank, ErrComm)
	}
	return r.out, r.err
}

// gathered is the result of an all-gather.
type gathered[T any] struct {
	data   []T
	counts []int
}

func allGatherLocal[T any](l *Local, c, op string, send, recv []T, counts []int) ([]T, []int, error) {
	out, err := l.exchange(c, op, send, func(parts []any) (any, error) {
		res := gathered[T]{counts: make([]int, len(parts))}
		total := 0
		for i, p := range parts {
			res.counts[i] = len(p.([]T))
			total += res.counts[i]
		}
		res.data = make([]T, 0, total)
		for _, p := range parts {
			res.data = append(res.data, p.([]T)...)
		}
		return res, nil
	})
	if err != nil {
		return recv[:0], counts[:0], err
	}
	res := out.(gathered[T])
	recv = grow(recv, len(res.data))
	copy(recv, res.data)
	counts = grow(counts, len(res.counts))
	copy(counts, res.counts)
	return recv, counts, nil
}

// AllGatherFloat64s implements Communicator.
func (l *Local) AllGatherFloat64s(send, recv []float64, counts []int) ([]float64, []int, error) {
	return allGatherLocal(l, localName+".AllGatherFloat64s", "AllGatherFloat64s", send, recv, counts)
}

// AllGatherInts implements Communicator.
func (l *Local) AllGatherInts(send, recv []int, counts []int) ([]int, []int, error) {
	return allGatherLocal(l, localName+".AllGatherInts", "AllGatherInts", send, recv, counts)
}

// sameLengths checks that every part has the length of the first.
func sameLengths[T any](c string, parts []any) error {
	n := len(parts[0].([]T))
	for r, p := range parts {
		if m := len(p.([]T)); m != n {
			return fmt.Errorf("%s: rank %d's buffer has %d values, rank 0's %d: %w", c, r, m, n, gometric.ErrShape)
		}
	}
	return nil
}

// AllReduceFloat64s implements Communicator.
func (l *Local) AllReduceFloat64s(buf []float64) error {
	const c = localName + ".AllReduceFloat64s"
	out, err := l.exchange(c, "AllReduceFloat64s", buf, func(parts []any) (any, error) {
		if err := sameLengths[float64](c, parts); err != nil {
			return nil, err
		}
		sum := make([]float64, len(parts[0].([]float64)))
		for _, p := range parts {
			for i, v := range p.([]float64) {
				sum[i] += v
			}
		}
		return sum, nil
	})
	if err != nil {
		return err
	}
	copy(buf, out.([]float64))
	return nil
}

// AllReduceFloat32s implements Communicator: the sum is taken in float64,
// in rank order, and rounded once.
func (l *Local) AllReduceFloat32s(buf []float32) error {
	const c = localName + ".AllReduceFloat32s"
	out, err := l.exchange(c, "AllReduceFloat32s", buf, func(parts []any) (any, error) {
		if err := sameLengths[float32](c, parts); err != nil {
			return nil, err
		}
		sum := make([]float64, len(parts[0].([]float32)))
		for _, p := range parts {
			for i, v := range p.([]float32) {
				sum[i] += float64(v)
			}
		}
		return sum, nil
	})
	if err != nil {
		return err
	}
	for i, v := range out.([]float64) {
		buf[i] = float32(v)
	}
	return nil
}

func broadcastLocal[T any](l *Local, c, op string, buf []T, root int) error {
	if err := l.usable(c); err != nil {
		return err
	}
	// A bad root is reported by the collective so that every rank fails.
	out, err := l.exchange(c, op, bcastPart[T]{buf, root}, func(parts []any) (any, error) {
		p0 := parts[0].(bcastPart[T])
		for r, p := range parts {
			b := p.(bcastPart[T])
			if b.root != p0.root {
				return nil, fmt.Errorf("%s: rank %d names root %d, rank 0 root %d: %w", c, r, b.root, p0.root, gometric.ErrSetting)
			}
			if len(b.buf) != len(p0.buf) {
				return nil, fmt.Errorf("%s: rank %d's buffer has %d values, rank 0's %d: %w", c, r, len(b.buf), len(p0.buf), gometric.ErrShape)
			}
		}
		if err := checkRoot(c, p0.root, len(parts)); err != nil {
			return nil, err
		}
		return append([]T(nil), parts[p0.root].(bcastPart[T]).buf...), nil
	})
	if err != nil {
		return err
	}
	copy(buf, out.([]T))
	return nil
}

// bcastPart is one rank's part of a broadcast.
type bcastPart[T any] struct {
	buf  []T
	root int
}

// BroadcastFloat64s implements Communicator.
func (l *Local) BroadcastFloat64s(buf []float64, root int) error {
	return broadcastLocal(l, localName+".BroadcastFloat64s", "BroadcastFloat64s", buf, root)
}

// BroadcastFloat32s implements Communicator.
func (l *Local) BroadcastFloat32s(buf []float32, root int) error {
	return broadcastLocal(l, localName+".BroadcastFloat32s", "BroadcastFloat32s", buf, root)
}

// BroadcastInts implements Communicator.
func (l *Local) BroadcastInts(buf []int, root int) error {
	return broadcastLocal(l, localName+".BroadcastInts", "BroadcastInts", buf, root)
}

// Barrier implements Communicator.
func (l *Local) Barrier() error {
	_, err := l.exchange(localName+".Barrier", "Barrier", nil, func([]any) (any, error) { return nil, nil })
	return err
}
