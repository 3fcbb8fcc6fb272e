package distributed

import (
	"fmt"
	"reflect"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

const (
	lossName  = "distributed.LossWrapper"
	minerName = "distributed.MinerWrapper"
)

// LossWrapper mirrors PML's DistributedLossWrapper: every rank calls
// Compute with its own batch, the batches of all ranks are gathered, and
// the wrapped loss sees the global batch.
//
// Without Efficient (PML's default), each rank computes the loss on the
// gathered batch — its own rows first, then every other rank's in rank
// order, as PML's all_gather concatenates them — and keeps the gradient of
// its own rows (the gathered rows of other ranks are constants, as torch's
// all_gather is not differentiable). With Efficient, each rank computes
// only the loss of its own rows against the gathered batch (as ref): the
// tuples are Batch.Tuples or every pair of a local row with a gathered row
// except the row with itself (PML's get_indices_tuple), and the gradient
// of the local rows adds their part as ref. Efficient needs a loss that
// accepts a ref (tuple losses; classification losses such as ArcFace
// refuse it, as in PML) and is refused with a CrossBatchMemory (as PML).
//
// As PML, Result.Loss is the loss times the number of ranks W, and
// Result.Grad (and RefGrad, for the local ref rows) are W times the
// gradient of that loss with respect to this rank's rows. So when every
// rank backpropagates its gradient and the model's gradients are averaged
// over the ranks (torch's DDP, trainers with a Communicator), the model
// gets the gradient of the single-process loss on the concatenated batch
// (efficient: of the sum of the ranks' losses). Parts and Records are the
// wrapped loss's own, unscaled.
//
// A learnable wrapped loss (ArcFace's W, ProxyAnchor's proxies, Margin's
// beta) gets its parameter gradients all-reduced: Result.ParamGrads hold,
// on every rank and with the same bits, the gradient of the single-process
// loss with respect to the parameters (efficient: the sum of the ranks'
// gradients; otherwise their mean, every rank having computed the full
// loss), so that every rank's loss optimizer makes the same step and the
// parameters stay equal. Params returns the wrapped loss's parameters.
//
// A CrossBatchMemory is wrapped as PML allows: the gathered batch (and
// enqueue mask, ComputeMasked) is enqueued on every rank, no ref. Each
// rank enqueues its own rows first, so once the ring wraps the ranks'
// memories hold different rows, as in PML.
//
// With a nil Comm or a group of one, Compute is the wrapped loss's own
// (PML's non-distributed case). Every rank must call Compute at the same
// step; a rank whose input is invalid still takes part in the gather so
// that every rank returns an error instead of waiting. The zero value has
// no Loss and is refused with an error wrapping gometric.ErrSetting; no
// constructor is needed (NewLossWrapper is a shorthand). A LossWrapper is
// not safe for concurrent use: it reuses its buffers from call to call.
type LossWrapper struct {
	// Loss is the wrapped loss (PML's loss), required.
	Loss losses.Loss
	// Comm is the process group; nil means not distributed.
	Comm Communicator
	// Efficient is PML's efficient (default false).
	Efficient bool

	g     gatherer
	inner losses.Result
	pbuf  []float64
	idx   []int
}

// NewLossWrapper returns PML's DistributedLossWrapper(loss) over comm, with
// Efficient false.
func NewLossWrapper(loss losses.Loss, comm Communicator) *LossWrapper {
	return &LossWrapper{Loss: loss, Comm: comm}
}

// Params returns the wrapped loss's learnable parameters (nil when it has
// none), so that losses.Objective.StepParams steps them.
func (w *LossWrapper) Params() []*losses.Param {
	if w == nil {
		return nil
	}
	if l, ok := w.Loss.(losses.Learnable); ok && !check.Nil(w.Loss) {
		return l.Params()
	}
	return nil
}

// Compute implements losses.Loss: PML's forward(embeddings, labels,
// indices_tuple, ref_emb, ref_labels) over the group.
func (w *LossWrapper) Compute(b losses.Batch) (losses.Result, error) {
	return w.compute(b, nil, false)
}

// ComputeMasked is PML's forward with an enqueue_mask, for a wrapped
// CrossBatchMemory: the masks of all ranks are gathered with the
// embeddings. For another loss it is an error wrapping
// gometric.ErrUnsupported.
func (w *LossWrapper) ComputeMasked(b losses.Batch, enqueueMask []bool) (losses.Result, error) {
	return w.compute(b, enqueueMask, true)
}

// unsupported is PML's TypeError: the wrappers of losses are not
// BaseMetricLossFunctions.
func unsupported(l losses.Loss) bool {
	switch l.(type) {
	case *losses.Multiple, *losses.SelfSupervised:
		return true
	}
	return false
}

// validate is a rank's own input check (before the gather).
func validate(c string, emb *mat.Dense, labels []int, ref *mat.Dense, refLabels []int) error {
	if err := check.Matrix(c, "embeddings", emb); err != nil {
		return err
	}
	n, d := emb.Dims()
	if labels != nil {
		if err := check.Labels(c, "labels", labels, n); err != nil {
			return err
		}
	}
	if ref != nil {
		if err := check.Matrix(c, "ref embeddings", ref); err != nil {
			return err
		}
		m, dr := ref.Dims()
		if dr != d {
			return check.Errorf(c, gometric.ErrShape, "ref embeddings have %d columns, embeddings %d", dr, d)
		}
		if refLabels != nil {
			if err := check.Labels(c, "ref labels", refLabels, m); err != nil {
				return err
			}
		}
	} else if refLabels != nil {
		return check.Errorf(c, gometric.ErrShape, "ref labels without ref embeddings")
	}
	return nil
}

func (w *LossWrapper) compute(b losses.Batch, mask []bool, masked bool) (losses.Result, error) {
	const c = lossName
	if w == nil {
		return losses.Result{}, fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if check.Nil(w.Loss) {
		return losses.Result{}, check.Settingf(c, "Loss is nil; set it (NewLossWrapper(losses.NewContrastive(), comm))")
	}
	if unsupported(w.Loss) {
		return losses.Result{}, check.Errorf(c, gometric.ErrUnsupported, "the loss %T is not one loss (PML: must extend BaseMetricLossFunction or CrossBatchMemory); wrap each loss", w.Loss)
	}
	cbm, isCBM := w.Loss.(*losses.CrossBatchMemory)
	if isCBM && w.Efficient {
		return losses.Result{}, check.Settingf(c, "CrossBatchMemory with Efficient is not supported (as PML)")
	}
	if masked && !isCBM {
		return losses.Result{}, check.Errorf(c, gometric.ErrUnsupported, "an enqueue mask needs a CrossBatchMemory, not %T", w.Loss)
	}
	if isCBM && (b.Ref != nil || b.RefLabels != nil) {
		return losses.Result{}, check.Errorf(c, gometric.ErrUnsupported, "CrossBatchMemory is not compatible with ref embeddings and ref labels (as PML)")
	}
	comm := w.Comm
	if check.Nil(comm) {
		comm = nil
	}
	size := Size(comm)
	if size <= 1 {
		if isCBM {
			return cbm.ComputeMasked(b, mask)
		}
		return w.Loss.Compute(b)
	}

	l := local{emb: b.Embeddings, labels: b.Labels, ref: b.Ref, refLabels: b.RefLabels, mask: mask, hasMask: mask != nil}
	l.err = validate(c, b.Embeddings, b.Labels, b.Ref, b.RefLabels)
	if l.err == nil && mask != nil {
		n, _ := b.Embeddings.Dims()
		if len(mask) != n {
			l.err = check.Errorf(c, gometric.ErrShape, "enqueue mask has %d entries for %d rows", len(mask), n)
		}
	}
	if err := w.g.gather(c, comm, l); err != nil {
		return losses.Result{}, err
	}
	g := &w.g
	n, d := b.Embeddings.Dims()
	var res losses.Result
	var err error
	reuse := &w.inner
	switch {
	case isCBM:
		in := losses.Batch{Embeddings: g.allEmb(), Labels: g.allLabels(), Tuples: b.Tuples}
		var m []bool
		if g.hasMask {
			m = g.mask
		}
		res, err = cbm.ComputeMasked(in, m)
	case w.Efficient:
		refE, refL := g.allEmb(), g.allLabels()
		if g.hasRef {
			refE = g.allRef()
			if refL != nil {
				refL = g.allRefLabels()
			}
		}
		t := b.Tuples
		if t == nil {
			t, err = w.allPairs(b.Labels, refL, refE)
		}
		if err == nil {
			res, err = w.Loss.Compute(losses.Batch{Embeddings: b.Embeddings, Labels: b.Labels, Ref: refE, RefLabels: refL, Tuples: t, Reuse: reuse})
		}
	default:
		res, err = w.Loss.Compute(losses.Batch{Embeddings: g.allEmb(), Labels: g.allLabels(), Ref: g.allRef(), RefLabels: g.allRefLabels(), Tuples: b.Tuples, Reuse: reuse})
	}
	if err == nil && !isCBM {
		w.inner = res
	}
	// The parameter gradients are all-reduced whether or not this rank's
	// loss failed, so that no rank waits for another.
	pg, perr := w.reduceParams(comm, res.ParamGrads, err)
	if err != nil {
		return losses.Result{}, err
	}
	if perr != nil {
		return losses.Result{}, perr
	}

	scale := float64(size)
	out := losses.Result{Loss: res.Loss * scale, Parts: res.Parts, Records: res.Records, ParamGrads: pg}
	var prev *losses.Result
	if b.Reuse != nil {
		prev = b.Reuse
	}
	if res.Grad != nil {
		out.Grad = reuseDense(prev, false, n, d)
		if w.Efficient && !g.hasRef && res.RefGrad != nil {
			// The local rows are also the first rows of the ref.
			out.Grad.Add(res.Grad.Slice(0, n, 0, d), res.RefGrad.Slice(0, n, 0, d))
			out.Grad.Scale(scale, out.Grad)
		} else {
			out.Grad.Scale(scale, res.Grad.Slice(0, n, 0, d))
		}
		if g.hasRef && res.RefGrad != nil {
			m, _ := b.Ref.Dims()
			out.RefGrad = reuseDense(prev, true, m, d)
			out.RefGrad.Scale(scale, res.RefGrad.Slice(0, m, 0, d))
		}
	}
	return out, nil
}

// reuseDense returns prev's Grad (or RefGrad) when it is r×c, else a new
// matrix.
func reuseDense(prev *losses.Result, ref bool, r, c int) *mat.Dense {
	if prev != nil {
		m := prev.Grad
		if ref {
			m = prev.RefGrad
		}
		if m != nil {
			if mr, mc := m.Dims(); mr == r && mc == c {
				return m
			}
		}
	}
	return mat.NewDense(r, c, nil)
}

// allPairs is PML's get_indices_tuple(labels, ref_labels) without a miner:
// every pair of a local row with a gathered row, minus each local row with
// its own gathered copy.
func (w *LossWrapper) allPairs(labels, refLabels []int, ref *mat.Dense) (tuples.Tuples, error) {
	const c = lossName
	if labels == nil || refLabels == nil {
		return nil, check.Errorf(c, gometric.ErrLabels, "Efficient without tuples needs labels (PML's get_indices_tuple)")
	}
	p, err := tuples.AllPairs(labels, refLabels, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	w.idx = arange(w.idx, len(labels))
	t, err := tuples.RemoveSelfComparisons(p, w.idx, len(refLabels), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return t, nil
}

// arange returns 0, 1, …, n-1 in dst's memory.
func arange(dst []int, n int) []int {
	dst = grow(dst, n)
	for i := range dst {
		dst[i] = i
	}
	return dst
}

// reduceParams all-reduces the gradients of the wrapped loss's parameters
// with one extra value, the number of ranks whose loss failed (failed is
// this rank's error). It returns the gradients of the single-process loss:
// the ranks' sum with Efficient, their mean otherwise.
func (w *LossWrapper) reduceParams(comm Communicator, grads map[string]*mat.Dense, failed error) (map[string]*mat.Dense, error) {
	const c = lossName
	ps := w.Params()
	if len(ps) == 0 {
		return nil, nil
	}
	total := 0
	for _, p := range ps {
		if p == nil || p.Value == nil || p.Value.IsEmpty() {
			total = -1
			break
		}
		r, k := p.Value.Dims()
		total += r * k
	}
	if total < 0 {
		// Every rank has the same parameters, so every rank stops here.
		return nil, check.Errorf(c, gometric.ErrShape, "the loss %T has an empty learnable parameter", w.Loss)
	}
	w.pbuf = grow(w.pbuf, total+1)
	clear(w.pbuf)
	if failed != nil {
		w.pbuf[total] = 1
	} else {
		off := 0
		for _, p := range ps {
			r, k := p.Value.Dims()
			if gm := grads[p.Name]; gm != nil {
				if gr, gk := gm.Dims(); gr != r || gk != k {
					w.pbuf[total] = 1
					failed = check.Errorf(c, gometric.ErrShape, "the gradient of %q is %d×%d, the parameter %d×%d", p.Name, gr, gk, r, k)
					break
				}
				for i := range r {
					copy(w.pbuf[off+i*k:off+(i+1)*k], gm.RawRowView(i))
				}
			}
			off += r * k
		}
	}
	if err := comm.AllReduceFloat64s(w.pbuf); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if failed != nil {
		return nil, failed
	}
	if w.pbuf[total] != 0 {
		return nil, fmt.Errorf("%s: the loss failed on %v other rank(s): %w", c, w.pbuf[total], ErrComm)
	}
	scale := 1.0
	if !w.Efficient {
		scale = 1 / float64(comm.Size())
	}
	out := make(map[string]*mat.Dense, len(ps))
	off := 0
	for _, p := range ps {
		r, k := p.Value.Dims()
		m := mat.NewDense(r, k, nil)
		raw := m.RawMatrix().Data
		for i, v := range w.pbuf[off : off+r*k] {
			raw[i] = v * scale
		}
		out[p.Name] = m
		off += r * k
	}
	return out, nil
}

// MinerWrapper mirrors PML's DistributedMinerWrapper: every rank calls Mine
// with its own batch; the batches of all ranks are gathered (this rank's
// rows first, then the others' in rank order, as LossWrapper gathers them)
// and the wrapped miner mines the gathered batch. Without Efficient (PML's
// default) the tuples index the gathered batch, for a LossWrapper without
// Efficient; with Efficient the anchors are the local rows and the others
// index the gathered batch (or gathered ref), with each local row's pair
// with itself removed (PML's get_indices_tuple), for a LossWrapper with
// Efficient.
//
// With a nil Comm or a group of one, Mine is the wrapped miner's own. The
// zero value has no Miner and is refused with an error wrapping
// gometric.ErrSetting. A MinerWrapper is not safe for concurrent use: it
// reuses its buffers from call to call.
type MinerWrapper struct {
	// Miner is the wrapped miner (PML's miner), required.
	Miner miners.Miner
	// Comm is the process group; nil means not distributed.
	Comm Communicator
	// Efficient is PML's efficient (default false).
	Efficient bool

	g   gatherer
	idx []int
}

// NewMinerWrapper returns PML's DistributedMinerWrapper(miner) over comm,
// with Efficient false.
func NewMinerWrapper(miner miners.Miner, comm Communicator) *MinerWrapper {
	return &MinerWrapper{Miner: miner, Comm: comm}
}

// Mine implements miners.Miner over the group.
func (w *MinerWrapper) Mine(in miners.Input) (tuples.Tuples, error) {
	const c = minerName
	if w == nil {
		return nil, fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if check.Nil(w.Miner) {
		return nil, check.Settingf(c, "Miner is nil; set it (NewMinerWrapper(miners.NewMultiSimilarity(), comm))")
	}
	comm := w.Comm
	if check.Nil(comm) {
		comm = nil
	}
	if Size(comm) <= 1 {
		return w.Miner.Mine(in)
	}
	l := local{emb: in.Embeddings, labels: in.Labels, ref: in.Ref, refLabels: in.RefLabels}
	l.err = validate(c, in.Embeddings, in.Labels, in.Ref, in.RefLabels)
	if err := w.g.gather(c, comm, l); err != nil {
		return nil, err
	}
	g := &w.g
	if !w.Efficient {
		return w.Miner.Mine(miners.Input{Embeddings: g.allEmb(), Labels: g.allLabels(), Ref: g.allRef(), RefLabels: g.allRefLabels()})
	}
	refE, refL := g.allEmb(), g.allLabels()
	if g.hasRef {
		refE, refL = g.allRef(), g.allRefLabels()
	}
	t, err := w.Miner.Mine(miners.Input{Embeddings: in.Embeddings, Labels: in.Labels, Ref: refE, RefLabels: refL})
	if err != nil {
		return nil, err
	}
	if t == nil || reflect.ValueOf(t).IsNil() {
		return t, nil
	}
	n, _ := in.Embeddings.Dims()
	rows, _ := refE.Dims()
	if n > rows {
		return nil, check.Errorf(c, gometric.ErrShape, "Efficient: %d local rows but only %d gathered ref rows", n, rows)
	}
	w.idx = arange(w.idx, n)
	out, err := tuples.RemoveSelfComparisons(t, w.idx, rows, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return out, nil
}
