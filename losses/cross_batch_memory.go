package losses

import (
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// DefaultMemorySize is PML's CrossBatchMemory default memory_size.
const DefaultMemorySize = 1024

// CrossBatchMemory mirrors PML's CrossBatchMemory: a ring buffer of the
// last MemorySize embeddings and labels seen (detached: no gradient flows
// into the memory), used as the reference set of the wrapped loss.
//
// Each call first writes the batch (or, with an enqueue mask, the masked
// rows) into the ring after the previous ones, wrapping around; the memory
// used as ref is the filled prefix until the ring has wrapped once, then
// all of it. The tuples are the Miner's (mining the query rows against the
// memory) or, without a Miner, every pair of query row and memory slot
// (PML's get_all_pairs_indices(labels, memory labels)). Without a mask the
// positive pairs of a row with its own slot are removed (PML's
// remove_self_comparisons, tuples.RemoveSelfComparisons, wrap-around
// included), and Batch.Tuples, when given, are converted to the miner's
// kind and appended. With a mask (ComputeMasked, MoCo style) the masked
// rows are only enqueued and the others are the queries; their gradient
// rows are zero.
//
// Loss must be one of PML's supported classes (Angular, Circle,
// Contrastive, GeneralizedLiftedStructure, IntraPairVariance,
// LiftedStructure, Margin, MultiSimilarity, NCA, NTXent,
// SignalToNoiseRatioContrastive, SupCon, TripletMargin, TupletMargin) or a
// loss type defined outside this package. The state persists across calls;
// a call that fails leaves it unchanged. A CrossBatchMemory is not safe for
// concurrent use. Make it with NewCrossBatchMemory: its zero value has no
// memory and is refused with an error wrapping gometric.ErrSetting.
type CrossBatchMemory struct {
	// Loss is the wrapped loss (PML's loss).
	Loss Loss
	// Miner is PML's miner (nil: all pairs).
	Miner miners.Miner

	embeddingSize, memorySize int
	memory                    *mat.Dense
	memLabels                 []int
	queueIdx                  int
	filled                    bool
}

// NewCrossBatchMemory returns PML's CrossBatchMemory(loss, embedding_size,
// memory_size) with no miner and an empty memory (PML's default memory
// size is DefaultMemorySize). Sizes below 1 are an ErrSetting error, and
// so is a memory of more than 2^28 values (embeddingSize × memorySize).
func NewCrossBatchMemory(loss Loss, embeddingSize, memorySize int) (*CrossBatchMemory, error) {
	const name = "losses.CrossBatchMemory"
	if embeddingSize < 1 || memorySize < 1 {
		return nil, check.Settingf(name, "embeddingSize = %d and memorySize = %d must be positive", embeddingSize, memorySize)
	}
	if err := checkSizes(name, embeddingSize, memorySize); err != nil {
		return nil, err
	}
	c := &CrossBatchMemory{Loss: loss, embeddingSize: embeddingSize, memorySize: memorySize}
	c.Reset()
	return c, nil
}

// Reset empties the memory (PML's reset_queue). It does nothing on a nil
// or zero CrossBatchMemory.
func (c *CrossBatchMemory) Reset() {
	if c == nil || c.memorySize < 1 || c.embeddingSize < 1 {
		return
	}
	c.memory = mat.NewDense(c.memorySize, c.embeddingSize, nil)
	c.memLabels = make([]int, c.memorySize)
	c.queueIdx, c.filled = 0, false
}

// EmbeddingSize returns PML's embedding_size (0 for a nil or zero
// CrossBatchMemory).
func (c *CrossBatchMemory) EmbeddingSize() int {
	if c == nil {
		return 0
	}
	return c.embeddingSize
}

// MemorySize returns PML's memory_size (0 for a nil or zero
// CrossBatchMemory).
func (c *CrossBatchMemory) MemorySize() int {
	if c == nil {
		return 0
	}
	return c.memorySize
}

// QueueIdx returns the slot the next enqueued row goes to (PML's
// queue_idx).
func (c *CrossBatchMemory) QueueIdx() int {
	if c == nil {
		return 0
	}
	return c.queueIdx
}

// Filled reports whether the ring has wrapped (PML's has_been_filled).
func (c *CrossBatchMemory) Filled() bool { return c != nil && c.filled }

// Memory returns copies of the memory the next call would use as ref when
// nothing is enqueued: the first QueueIdx slots before the ring has
// wrapped, all of them after (nil, nil when empty, nil or zero).
func (c *CrossBatchMemory) Memory() (*mat.Dense, []int) {
	if c == nil || c.memory == nil {
		return nil, nil
	}
	k := c.memorySize
	if !c.filled {
		k = c.queueIdx
	}
	if k == 0 {
		return nil, nil
	}
	return mat.DenseCopyOf(c.memory.Slice(0, k, 0, c.embeddingSize)), slices.Clone(c.memLabels[:k])
}

// Params returns the wrapped loss's parameters named "loss.<name>" (PML's
// named_parameters(), e.g. Margin's "loss.beta"), or nil.
func (c *CrossBatchMemory) Params() []*Param {
	if c == nil {
		return nil
	}
	return prefixedParams("loss.", c.Loss)
}

// Compute implements Loss: ComputeMasked without a mask.
func (c *CrossBatchMemory) Compute(b Batch) (Result, error) {
	return c.ComputeMasked(b, nil) // nil c: ComputeMasked's error
}

// ComputeMasked is PML's forward(embeddings, labels, indices_tuple,
// enqueue_mask). Labels are required; Ref and RefLabels must be nil. With
// a nil enqueueMask the whole batch is enqueued and is the query (its size
// must not exceed the memory). Otherwise enqueueMask has one entry per row:
// true rows are enqueued (at most MemorySize of them), false rows are the
// queries (at least one), and Batch.Tuples must be nil (PML raises).
//
// As PML, enqueuing no row at all marks the ring as wrapped (its
// has_been_filled test is queue_idx <= previous queue_idx), so the whole
// memory, never-written zero slots with label 0 included, becomes the ref.
func (c *CrossBatchMemory) ComputeMasked(b Batch, enqueueMask []bool) (Result, error) {
	const name, ctor = "losses.CrossBatchMemory", "NewCrossBatchMemory(loss, embeddingSize, memorySize)"
	if c == nil {
		return Result{}, nilError(name, ctor)
	}
	if c.memory == nil {
		return Result{}, check.Settingf(name, "not made by NewCrossBatchMemory: its zero value has no memory; use %s", ctor)
	}
	supported := func(cl string) bool { return pairLosses[cl] || cl == "Margin" }
	if err := checkWrapped(name, c.Loss, supported); err != nil {
		return Result{}, err
	}
	if err := check.Matrix(name, "embeddings", b.Embeddings); err != nil {
		return Result{}, err
	}
	n, d := b.Embeddings.Dims()
	if d != c.embeddingSize {
		return Result{}, check.Errorf(name, gometric.ErrShape, "embeddings have %d columns, the memory holds %d", d, c.embeddingSize)
	}
	if b.Labels == nil {
		return Result{}, check.Errorf(name, gometric.ErrLabels, "labels are required")
	}
	if err := check.Labels(name, "labels", b.Labels, n); err != nil {
		return Result{}, err
	}
	if b.Ref != nil || b.RefLabels != nil {
		return Result{}, check.Errorf(name, gometric.ErrUnsupported, "ref embeddings are not supported (the memory is the ref)")
	}
	var queue, query []int
	if enqueueMask == nil {
		if n > c.memorySize {
			return Result{}, check.Errorf(name, gometric.ErrShape, "batch of %d rows is larger than the memory (%d)", n, c.memorySize)
		}
		queue = make([]int, n)
		for i := range queue {
			queue[i] = i
		}
		query = queue
	} else {
		if b.Tuples != nil {
			return Result{}, check.Errorf(name, gometric.ErrUnsupported, "tuples and an enqueue mask are mutually exclusive (as PML)")
		}
		if len(enqueueMask) != n {
			return Result{}, check.Errorf(name, gometric.ErrShape, "enqueue mask has %d entries for %d rows", len(enqueueMask), n)
		}
		for i, m := range enqueueMask {
			if m {
				queue = append(queue, i)
			} else {
				query = append(query, i)
			}
		}
		if len(queue) > c.memorySize {
			return Result{}, check.Errorf(name, gometric.ErrShape, "%d enqueued rows are more than the memory (%d)", len(queue), c.memorySize)
		}
		if len(query) == 0 {
			return Result{}, check.Errorf(name, gometric.ErrShape, "the enqueue mask selects every row; no query rows remain")
		}
	}

	// Enqueue, keeping what is overwritten so that a failure can undo it.
	prevIdx, prevFilled := c.queueIdx, c.filled
	currIdx := make([]int, len(queue))
	saved := mat.NewDense(max(len(queue), 1), d, nil)
	savedLabels := make([]int, len(queue))
	for j, r := range queue {
		slot := (prevIdx + j) % c.memorySize
		currIdx[j] = slot
		savedLabels[j] = c.memLabels[slot]
		saved.SetRow(j, c.memory.RawRowView(slot))
		c.memory.SetRow(slot, b.Embeddings.RawRowView(r))
		c.memLabels[slot] = b.Labels[r]
	}
	c.queueIdx = (prevIdx + len(queue)) % c.memorySize
	if !c.filled && c.queueIdx <= prevIdx {
		c.filled = true
	}
	undo := func() {
		for j, slot := range currIdx {
			c.memory.SetRow(slot, saved.RawRowView(j))
			c.memLabels[slot] = savedLabels[j]
		}
		c.queueIdx, c.filled = prevIdx, prevFilled
	}
	res, err := c.call(name, b, query, currIdx, enqueueMask == nil)
	if err != nil {
		undo()
		return Result{}, err
	}
	return res, nil
}

// call runs the wrapped loss on the query rows against the memory.
func (c *CrossBatchMemory) call(name string, b Batch, query, currIdx []int, removeSelf bool) (Result, error) {
	n, d := b.Embeddings.Dims()
	k := c.memorySize
	if !c.filled {
		k = c.queueIdx
	}
	eMem := c.memory.Slice(0, k, 0, d).(*mat.Dense)
	lMem := c.memLabels[:k]
	emb, labels := b.Embeddings, b.Labels
	if len(query) != n {
		emb = mat.NewDense(len(query), d, nil)
		labels = make([]int, len(query))
		for i, r := range query {
			emb.SetRow(i, b.Embeddings.RawRowView(r))
			labels[i] = b.Labels[r]
		}
	}
	var t tuples.Tuples
	var err error
	if c.Miner != nil {
		if t, err = c.Miner.Mine(miners.Input{Embeddings: emb, Labels: labels, Ref: eMem, RefLabels: lMem}); err != nil {
			return Result{}, fmt.Errorf("%s: miner: %w", name, err)
		}
	} else if t, err = tuples.AllPairs(labels, lMem, false); err != nil {
		return Result{}, wrap(name, err)
	}
	if removeSelf {
		if t, err = tuples.RemoveSelfComparisons(t, currIdx, c.memorySize, false); err != nil {
			return Result{}, wrap(name, err)
		}
	}
	if b.Tuples != nil {
		if t, err = concatTuples(t, b.Tuples, labels, lMem); err != nil {
			return Result{}, wrap(name, err)
		}
	}
	res, err := c.Loss.Compute(Batch{Embeddings: emb, Labels: labels, Ref: eMem, RefLabels: lMem, Tuples: t})
	if err != nil {
		return Result{}, wrap(name, err)
	}
	res.RefGrad = nil // the memory is detached
	if res.Grad != nil && len(query) != n {
		g := mat.NewDense(n, d, nil)
		for i, r := range query {
			g.SetRow(r, res.Grad.RawRowView(i))
		}
		res.Grad = g
	}
	if res.ParamGrads != nil {
		pg := make(map[string]*mat.Dense, len(res.ParamGrads))
		for p, g := range res.ParamGrads {
			pg["loss."+p] = g
		}
		res.ParamGrads = pg
	}
	return res, nil
}

// concatTuples appends the user's tuples to the mined ones, converted to
// the mined kind (PML's convert_to_pairs / convert_to_triplets and
// concatenate_indices_tuples).
func concatTuples(mined, user tuples.Tuples, labels, memLabels []int) (tuples.Tuples, error) {
	switch m := mined.(type) {
	case *tuples.Pairs:
		u, err := tuples.ToPairs(user, labels, memLabels, false)
		if err != nil {
			return nil, err
		}
		return &tuples.Pairs{
			A1: slices.Concat(m.A1, u.A1), P: slices.Concat(m.P, u.P),
			A2: slices.Concat(m.A2, u.A2), N: slices.Concat(m.N, u.N),
		}, nil
	case *tuples.Triplets:
		u, err := tuples.ToTriplets(user, labels, memLabels, false, tuples.AllPerAnchor, nil)
		if err != nil {
			return nil, err
		}
		return &tuples.Triplets{A: slices.Concat(m.A, u.A), P: slices.Concat(m.P, u.P), N: slices.Concat(m.N, u.N)}, nil
	}
	return nil, check.Errorf("losses.CrossBatchMemory", gometric.ErrUnsupported, "the miner returned %T", mined)
}
