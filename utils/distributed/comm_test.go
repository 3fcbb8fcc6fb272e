package distributed

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gometric/gometric"
)

// TestCollectives checks every collective on every world with per-rank
// buffers of different lengths.
func TestCollectives(t *testing.T) {
	for _, w := range worlds() {
		t.Run(w.name, func(t *testing.T) {
			w.run(t, func(c Communicator) error {
				r, n := c.Rank(), c.Size()
				if n != w.size || r < 0 || r >= n {
					t.Errorf("rank %d of %d, want size %d", r, n, w.size)
				}
				// Rank r sends r+1 values r*10, r*10+1, ...
				send := make([]float64, r+1)
				isend := make([]int, r+1)
				for i := range send {
					send[i] = float64(r*10 + i)
					isend[i] = -(r*10 + i)
				}
				var want []float64
				var iwant, wcounts []int
				for q := range n {
					wcounts = append(wcounts, q+1)
					for i := range q + 1 {
						want = append(want, float64(q*10+i))
						iwant = append(iwant, -(q*10 + i))
					}
				}
				got, counts, err := c.AllGatherFloat64s(send, nil, nil)
				if err != nil {
					return err
				}
				if !slices.Equal(got, want) || !slices.Equal(counts, wcounts) {
					t.Errorf("rank %d: AllGatherFloat64s = %v %v, want %v %v", r, got, counts, want, wcounts)
				}
				igot, counts, err := c.AllGatherInts(isend, make([]int, 0, 100), counts)
				if err != nil {
					return err
				}
				if !slices.Equal(igot, iwant) || !slices.Equal(counts, wcounts) {
					t.Errorf("rank %d: AllGatherInts = %v %v, want %v %v", r, igot, counts, iwant, wcounts)
				}
				// An empty contribution.
				got, counts, err = c.AllGatherFloat64s(nil, got, counts)
				if err != nil {
					return err
				}
				if len(got) != 0 || len(counts) != n {
					t.Errorf("rank %d: empty AllGatherFloat64s = %v %v", r, got, counts)
				}
				buf := []float64{float64(r), 1, 0.5}
				if err := c.AllReduceFloat64s(buf); err != nil {
					return err
				}
				if wantSum := []float64{float64(n*(n-1)) / 2, float64(n), float64(n) / 2}; !slices.Equal(buf, wantSum) {
					t.Errorf("rank %d: AllReduceFloat64s = %v, want %v", r, buf, wantSum)
				}
				b32 := []float32{float32(r), 0.25}
				if err := c.AllReduceFloat32s(b32); err != nil {
					return err
				}
				if wantSum := []float32{float32(n*(n-1)) / 2, float32(n) / 4}; !slices.Equal(b32, wantSum) {
					t.Errorf("rank %d: AllReduceFloat32s = %v, want %v", r, b32, wantSum)
				}
				root := n - 1
				bf := []float64{float64(r), float64(r)}
				if err := c.BroadcastFloat64s(bf, root); err != nil {
					return err
				}
				bs := []float32{float32(r)}
				if err := c.BroadcastFloat32s(bs, root); err != nil {
					return err
				}
				bi := []int{r, r, r}
				if err := c.BroadcastInts(bi, root); err != nil {
					return err
				}
				if bf[1] != float64(root) || bs[0] != float32(root) || bi[2] != root {
					t.Errorf("rank %d: broadcasts from %d gave %v %v %v", r, root, bf, bs, bi)
				}
				return c.Barrier()
			})
		})
	}
}

// TestCollectiveErrors checks that bad input fails on every rank with a
// sentinel (and leaves no rank waiting).
func TestCollectiveErrors(t *testing.T) {
	for _, w := range worlds() {
		if w.size < 2 {
			continue
		}
		t.Run(w.name, func(t *testing.T) {
			w.run(t, func(c Communicator) error {
				r := c.Rank()
				err := c.AllReduceFloat64s(make([]float64, r+1))
				if !errors.Is(err, gometric.ErrShape) {
					t.Errorf("rank %d: AllReduce of different lengths: %v, want ErrShape", r, err)
				}
				err = c.BroadcastFloat64s(make([]float64, 2), c.Size())
				if !errors.Is(err, gometric.ErrIndex) {
					t.Errorf("rank %d: Broadcast from root %d: %v, want ErrIndex", r, c.Size(), err)
				}
				err = c.BroadcastInts(make([]int, 2), -1)
				if !errors.Is(err, gometric.ErrIndex) {
					t.Errorf("rank %d: Broadcast from root -1: %v, want ErrIndex", r, err)
				}
				// The group is still usable.
				return c.Barrier()
			})
		})
	}
}

// TestLocalMismatchAndClose checks the in-process group's own failures:
// ranks calling different collectives, a closed group, the zero value.
func TestLocalMismatchAndClose(t *testing.T) {
	g, err := NewLocalGroup(2)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = g[0].Barrier() }()
	go func() { defer wg.Done(); errs[1] = g[1].AllReduceFloat64s([]float64{1}) }()
	wg.Wait()
	for r, err := range errs {
		if !errors.Is(err, ErrComm) {
			t.Errorf("rank %d: mismatched collectives: %v, want ErrComm", r, err)
		}
	}
	// Close releases a waiting rank.
	done := make(chan error)
	go func() { done <- g[0].Barrier() }()
	g[1].Close()
	if err := <-done; !errors.Is(err, ErrComm) {
		t.Errorf("Barrier on a closed group: %v, want ErrComm", err)
	}
	if err := g[1].Barrier(); !errors.Is(err, ErrComm) {
		t.Errorf("Barrier after Close: %v, want ErrComm", err)
	}
	var zero Local
	var nilL *Local
	for _, c := range []*Local{&zero, nilL} {
		if err := c.Barrier(); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%v.Barrier: %v, want ErrSetting", c, err)
		}
		if _, _, err := c.AllGatherInts([]int{1}, nil, nil); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("AllGatherInts: %v, want ErrSetting", err)
		}
		if c.Rank() != 0 || c.Size() != 1 || c.Close() != nil {
			t.Errorf("Rank, Size, Close of a zero Local")
		}
	}
	for _, n := range []int{0, -1, maxLocalRanks + 1, int(^uint(0) >> 1)} {
		if _, err := NewLocalGroup(n); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("NewLocalGroup(%d): %v, want ErrSetting", n, err)
		}
	}
	// A group of one is its own world.
	one, _ := NewLocalGroup(1)
	got, counts, err := one[0].AllGatherInts([]int{7}, nil, nil)
	if err != nil || !slices.Equal(got, []int{7}) || !slices.Equal(counts, []int{1}) {
		t.Errorf("group of one: %v %v %v", got, counts, err)
	}
}
