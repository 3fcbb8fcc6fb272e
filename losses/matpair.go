package losses

import (
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/workers"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// matPairs holds the positive and negative masks of GenericPairLoss's
// mat_based_loss over the N×M distance matrix. With no mined tuples the
// masks are those of all pairs and are produced one row at a time from the
// labels (nothing N×M is stored); mined pairs are scattered into two dense
// row-major masks, as PML's pos_mask[a1, p] = 1 does.
type matPairs struct {
	n, m int
	// nPos and nNeg are PML's len(a1) and len(a2) after convert_to_pairs
	// (duplicates counted; input.countPairs).
	nPos, nNeg int
	// All pairs: the labels, the ref labels and whether self pairs are
	// excluded.
	labels, ref []int
	refIsQuery  bool
	// Mined pairs: dense masks (nil for all pairs).
	pos, neg []bool
}

// newMatPairs converts the batch's tuples to pair masks as PML's
// convert_to_pairs followed by mat_based_loss. Mined tuples were validated
// against (N, M) by prepare; labels are not needed for them, as in PML.
func newMatPairs(in *input) (*matPairs, error) {
	in.countPairs()
	mp := &matPairs{n: in.n, m: in.m, nPos: in.nPos, nNeg: in.nNeg}
	if in.tuples == nil {
		mp.labels, mp.ref, mp.refIsQuery = in.labels, in.refLabels, in.refIsQuery
		return mp, nil
	}
	var a1, p, a2, n []int
	switch t := in.tuples.(type) {
	case *tuples.Pairs:
		a1, p, a2, n = t.A1, t.P, t.A2, t.N
	case *tuples.Triplets:
		a1, p, a2, n = t.A, t.P, t.A, t.N
	default:
		return nil, check.Errorf(in.name, gometric.ErrUnsupported, "unsupported Tuples type %T", in.tuples)
	}
	mp.pos, mp.neg = make([]bool, mp.n*mp.m), make([]bool, mp.n*mp.m)
	for k, a := range a1 {
		mp.pos[a*mp.m+p[k]] = true
	}
	for k, a := range a2 {
		mp.neg[a*mp.m+n[k]] = true
	}
	return mp, nil
}

// matRow is one query row of a mat-based pair loss as a worker sees it:
// its masks and their counts, and scratch space owned by the worker.
type matRow struct {
	i          int
	pos, neg   []bool // the row's masks (len M)
	nPos, nNeg int
	// keep, f and idx are scratch: M bools, 4·M floats and M ints.
	keep []bool
	f    []float64
	idx  []int
	// posBuf and negBuf back pos and neg for all pairs.
	posBuf, negBuf []bool
}

// load sets r to row i.
func (mp *matPairs) load(r *matRow, i int) {
	r.i, r.nPos, r.nNeg = i, 0, 0
	if mp.pos != nil {
		r.pos, r.neg = mp.pos[i*mp.m:(i+1)*mp.m], mp.neg[i*mp.m:(i+1)*mp.m]
		for j, p := range r.pos {
			if p {
				r.nPos++
			}
			if r.neg[j] {
				r.nNeg++
			}
		}
		return
	}
	pos, neg := r.posBuf, r.negBuf
	l := mp.labels[i]
	for j, v := range mp.ref {
		same := l == v
		pos[j], neg[j] = same, !same
		if same {
			r.nPos++
		}
	}
	r.nNeg = mp.m - r.nPos
	if mp.refIsQuery && pos[i] {
		pos[i] = false
		r.nPos--
	}
	r.pos, r.neg = pos, neg
}

// matRowBlock is the number of rows per parallel work item; rows are
// independent, so results do not depend on the split or on GOMAXPROCS.
const matRowBlock = 16

// matParallelMin is the matrix size (N·M) from which rows are spread over
// goroutines.
const matParallelMin = 1 << 14

// eachRow calls fn for every row, in parallel for large matrices. Each
// worker has its own matRow; fn must only write to row r.i of shared
// outputs.
func (mp *matPairs) eachRow(fn func(r *matRow)) { mp.eachRowOf(true, fn) }

// eachRowOf is eachRow; without masks, the rows get only their index set
// (r.i) and the scratch f and idx, for a loss that reads the masks or
// labels of mp itself.
func (mp *matPairs) eachRowOf(masks bool, fn func(r *matRow)) {
	load := mp.load
	if !masks {
		load = func(r *matRow, i int) { r.i = i }
	}
	newRow := func() *matRow {
		r := &matRow{f: make([]float64, 4*mp.m), idx: make([]int, mp.m)}
		if masks {
			r.keep = make([]bool, mp.m)
			if mp.pos == nil {
				r.posBuf, r.negBuf = make([]bool, mp.m), make([]bool, mp.m)
			}
		}
		return r
	}
	blocks := (mp.n + matRowBlock - 1) / matRowBlock
	nw := workers.Count(blocks)
	if mp.n*mp.m < matParallelMin || nw < 2 {
		r := newRow()
		for i := range mp.n {
			load(r, i)
			fn(r)
		}
		return
	}
	rows := make([]*matRow, nw)
	workers.Each(nw, blocks, func(w, b int) {
		if rows[w] == nil {
			rows[w] = newRow()
		}
		r := rows[w]
		for i := b * matRowBlock; i < min((b+1)*matRowBlock, mp.n); i++ {
			load(r, i)
			fn(r)
		}
	})
}

// matpairRowOf returns row i of a matrix with m columns as a slice.
func matpairRowOf(raw []float64, stride, i, m int) []float64 {
	return raw[i*stride : i*stride+m]
}

// matpairTerm is the term of a mat-based pair loss: one "element" sub-loss
// named "loss" per query row, and a backward pass that scales row i of jac
// (d values[i] / d matrix row i, computed in the forward pass) by the
// upstream gradient and back-propagates it through the distance. jac is
// consumed by the backward pass.
func matpairTerm(in *input, dm, jac *mat.Dense, values []float64) *term {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{idx}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			raw := jac.RawMatrix()
			for i, w := range dv[0] {
				r := matpairRowOf(raw.Data, raw.Stride, i, in.m)
				if w == 0 {
					clear(r)
					continue
				}
				for j := range r {
					r[j] *= w
				}
			}
			return in.matrixBackward(dm, jac, g)
		},
	}
}
