package distributed

import (
	"fmt"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// header is what every rank tells the others before a gather: whether its
// input is valid, and the shapes that follow.
const (
	hOK        = iota // 1 when the rank's input is valid
	hRows             // rows of the embeddings
	hCols             // their columns
	hLabels           // 1 when labels follow
	hRefRows          // rows of the ref embeddings (0: none)
	hRefLabels        // 1 when ref labels follow
	hMask             // 1 when an enqueue mask follows
	hLen
)

// gatherer holds the buffers of one wrapper's gathers, reused from call to
// call, and the gathered batch in PML's order: this rank's rows first, then
// every other rank's in rank order (PML's all_gather removes the current
// rank and concatenates after the local tensor).
type gatherer struct {
	ints, intsRecv   []int
	counts, fcounts  []int
	floats, fRecv    []float64
	emb, ref         []float64
	labels, refLabel []int
	mask             []bool
	ord              []int

	// rows[r] and refRows[r] are rank r's row counts.
	rows, refRows []int
	hasLabels     bool
	hasRefLabels  bool
	hasRef        bool
	hasMask       bool
	cols          int
}

// local is one rank's part of a gather.
type local struct {
	emb       *mat.Dense
	labels    []int
	ref       *mat.Dense
	refLabels []int
	mask      []bool
	hasMask   bool
	err       error // the rank's own input error; every rank fails with it
}

// gather exchanges l with every rank of c. Every rank calls it once per
// step, valid input or not, so that a rank's error reaches all ranks
// instead of leaving them waiting: when any rank's input is bad, every rank
// returns an error (its own error, or one naming the first bad rank).
func (g *gatherer) gather(component string, c Communicator, l local) error {
	size, me := c.Size(), c.Rank()
	g.ints = grow(g.ints, hLen)[:hLen]
	clear(g.ints)
	var rows, cols, refRows int
	if l.err == nil {
		rows, cols = l.emb.Dims()
		if l.ref != nil {
			refRows, _ = l.ref.Dims()
		}
		g.ints[hOK] = 1
		g.ints[hRows], g.ints[hCols], g.ints[hRefRows] = rows, cols, refRows
		if l.labels != nil {
			g.ints[hLabels] = 1
			g.ints = append(g.ints, l.labels...)
		}
		if l.refLabels != nil {
			g.ints[hRefLabels] = 1
			g.ints = append(g.ints, l.refLabels...)
		}
		if l.hasMask {
			g.ints[hMask] = 1
			for _, m := range l.mask {
				b := 0
				if m {
					b = 1
				}
				g.ints = append(g.ints, b)
			}
		}
	}
	var err error
	g.intsRecv, g.counts, err = c.AllGatherInts(g.ints, g.intsRecv, g.counts)
	if err != nil {
		return fmt.Errorf("%s: %w", component, err)
	}
	if l.err != nil {
		return l.err
	}
	// Check the headers: every rank valid, and the same kind of input.
	g.rows = grow(g.rows, size)
	g.refRows = grow(g.refRows, size)
	off := 0
	var h0 []int
	totalRows, totalRef := 0, 0
	for r := range size {
		if g.counts[r] < hLen {
			return fmt.Errorf("%s: rank %d sent a header of %d values: %w", component, r, g.counts[r], ErrComm)
		}
		h := g.intsRecv[off : off+hLen]
		if h[hOK] != 1 {
			return fmt.Errorf("%s: rank %d's input is invalid (see its error): %w", component, r, gometric.ErrShape)
		}
		if h0 == nil {
			h0 = h
		}
		if h[hCols] != h0[hCols] || h[hLabels] != h0[hLabels] || h[hRefLabels] != h0[hRefLabels] || h[hMask] != h0[hMask] || (h[hRefRows] > 0) != (h0[hRefRows] > 0) {
			return fmt.Errorf("%s: rank %d's batch (%d×%d, labels %v, ref rows %d, ref labels %v, mask %v) does not match rank 0's (%d×%d, labels %v, ref rows %d, ref labels %v, mask %v): %w",
				component, r, h[hRows], h[hCols], h[hLabels] == 1, h[hRefRows], h[hRefLabels] == 1, h[hMask] == 1,
				h0[hRows], h0[hCols], h0[hLabels] == 1, h0[hRefRows], h0[hRefLabels] == 1, h0[hMask] == 1, gometric.ErrShape)
		}
		want := hLen + h[hRows]*(h[hLabels]+h[hMask]) + h[hRefRows]*h[hRefLabels]
		if g.counts[r] != want {
			return fmt.Errorf("%s: rank %d sent %d values, its header announces %d: %w", component, r, g.counts[r], want, ErrComm)
		}
		g.rows[r], g.refRows[r] = h[hRows], h[hRefRows]
		totalRows += h[hRows]
		totalRef += h[hRefRows]
		off += g.counts[r]
	}
	g.cols = h0[hCols]
	g.hasLabels, g.hasRefLabels, g.hasMask = h0[hLabels] == 1, h0[hRefLabels] == 1, h0[hMask] == 1
	g.hasRef = h0[hRefRows] > 0

	// Labels, ref labels and mask in PML's order (this rank first).
	g.labels, g.refLabel, g.mask = g.labels[:0], g.refLabel[:0], g.mask[:0]
	g.ord = appendOrder(g.ord[:0], me, size)
	for _, r := range g.ord {
		o := 0
		for q := range r {
			o += g.counts[q]
		}
		p := g.intsRecv[o+hLen : o+g.counts[r]]
		n := g.rows[r]
		if g.hasLabels {
			g.labels = append(g.labels, p[:n]...)
			p = p[n:]
		}
		if g.hasRefLabels {
			g.refLabel = append(g.refLabel, p[:g.refRows[r]]...)
			p = p[g.refRows[r]:]
		}
		if g.hasMask {
			for _, b := range p[:n] {
				g.mask = append(g.mask, b == 1)
			}
		}
	}

	// The embeddings and the ref embeddings, in one gather.
	g.floats = appendRows(g.floats[:0], l.emb)
	if l.ref != nil {
		g.floats = appendRows(g.floats, l.ref)
	}
	g.fRecv, g.fcounts, err = c.AllGatherFloat64s(g.floats, g.fRecv, g.fcounts)
	if err != nil {
		return fmt.Errorf("%s: %w", component, err)
	}
	g.emb = grow(g.emb, totalRows*g.cols)[:0]
	g.ref = grow(g.ref, totalRef*g.cols)[:0]
	for _, r := range g.ord {
		o := 0
		for q := range r {
			o += g.fcounts[q]
		}
		ne, nr := g.rows[r]*g.cols, g.refRows[r]*g.cols
		if g.fcounts[r] != ne+nr {
			return fmt.Errorf("%s: rank %d sent %d embedding values, its header announces %d: %w", component, r, g.fcounts[r], ne+nr, ErrComm)
		}
		g.emb = append(g.emb, g.fRecv[o:o+ne]...)
		g.ref = append(g.ref, g.fRecv[o+ne:o+ne+nr]...)
	}
	return nil
}

// order is PML's gather order on rank me: me, then every other rank.
func order(me, size int) []int { return appendOrder(nil, me, size) }

// appendOrder appends order(me, size) to out.
func appendOrder(out []int, me, size int) []int {
	out = append(out, me)
	for r := range size {
		if r != me {
			out = append(out, r)
		}
	}
	return out
}

// appendRows appends m's rows to dst.
func appendRows(dst []float64, m *mat.Dense) []float64 {
	r, _ := m.Dims()
	for i := range r {
		dst = append(dst, m.RawRowView(i)...)
	}
	return dst
}

// allEmb returns the gathered embeddings as a matrix (nil when empty).
func (g *gatherer) allEmb() *mat.Dense {
	if len(g.emb) == 0 {
		return nil
	}
	return mat.NewDense(len(g.emb)/g.cols, g.cols, g.emb)
}

// allRef returns the gathered ref embeddings, or nil without a ref.
func (g *gatherer) allRef() *mat.Dense {
	if !g.hasRef || len(g.ref) == 0 {
		return nil
	}
	return mat.NewDense(len(g.ref)/g.cols, g.cols, g.ref)
}

// allLabels returns the gathered labels, nil when the ranks gave none.
func (g *gatherer) allLabels() []int {
	if !g.hasLabels {
		return nil
	}
	return g.labels
}

// allRefLabels returns the gathered ref labels, nil when the ranks gave
// none.
func (g *gatherer) allRefLabels() []int {
	if !g.hasRefLabels {
		return nil
	}
	return g.refLabel
}
