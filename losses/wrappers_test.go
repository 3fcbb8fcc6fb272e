package losses_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// runCrossBatchMemory feeds a CrossBatchMemory case's previous_calls to l in
// order, comparing each call's loss and gradient with PML's, then runs the
// case's own call (with its enqueue mask) and returns its result.
func runCrossBatchMemory(t *testing.T, c *pmlcase.Case, l *losses.CrossBatchMemory, b losses.Batch) (losses.Result, error) {
	t.Helper()
	calls, err := c.PreviousCalls()
	if err != nil {
		t.Fatal(err)
	}
	for i, pc := range calls {
		res, err := l.ComputeMasked(pc.Batch, pc.EnqueueMask)
		if err != nil {
			t.Fatalf("previous_calls[%d]: %v", i, err)
		}
		if err := fdiff.CompareSlices([]float64{res.Loss}, []float64{pc.Loss}, 1e-6, 1e-9); err != nil {
			t.Errorf("previous_calls[%d] loss: %v", i, err)
		}
		if err := fdiff.Compare(res.Grad, pc.Grad, 1e-6, 1e-9); err != nil {
			t.Errorf("previous_calls[%d] grad_embeddings: %v", i, err)
		}
	}
	mask, err := c.EnqueueMask()
	if err != nil {
		t.Fatal(err)
	}
	return l.ComputeMasked(b, mask)
}

func wrapRng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// TestSelfSupervisedGrad checks the embeddings and ref gradients of
// SelfSupervised against finite differences, symmetric or not, for
// several wrapped losses (inputs random, away from relu kinks with
// probability 1; the triplet margin is large so most triplets are active).
func TestSelfSupervisedGrad(t *testing.T) {
	tm := losses.NewTripletMargin()
	tm.Margin = 2
	cases := []struct {
		name string
		loss losses.Loss
	}{
		{"NTXent", losses.NewNTXent()},
		{"Contrastive", losses.NewContrastive()},
		{"TripletMargin", tm},
		{"SupCon", losses.NewSupCon()},
		{"MultiSimilarity", losses.NewMultiSimilarity()},
	}
	for _, c := range cases {
		for _, sym := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/symmetric=%v", c.name, sym), func(t *testing.T) {
				rng := wrapRng(1)
				emb := testkit.NormalDense(rng, 5, 4)
				ref := testkit.NormalDense(rng, 5, 4)
				l := losses.NewSelfSupervised(c.loss)
				l.Symmetric = sym
				checkGrad(t, l, losses.Batch{Embeddings: emb, Ref: ref}, 1e-5, 1e-7)
			})
		}
	}
}

// TestSelfSupervisedLabels checks that the wrapper is the wrapped loss
// with labels 0..N-1 on both views.
func TestSelfSupervisedLabels(t *testing.T) {
	rng := wrapRng(2)
	emb, ref := testkit.NormalDense(rng, 6, 3), testkit.NormalDense(rng, 6, 3)
	inner := losses.NewNTXent()
	labels := []int{0, 1, 2, 3, 4, 5}
	want, err := inner.Compute(losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: labels})
	if err != nil {
		t.Fatal(err)
	}
	l := losses.NewSelfSupervised(inner)
	l.Symmetric = false
	got, err := l.Compute(losses.Batch{Embeddings: emb, Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != want.Loss {
		t.Errorf("asymmetric loss %v, want %v", got.Loss, want.Loss)
	}
	all := mat.NewDense(12, 3, nil)
	all.Stack(emb, ref)
	want, err = inner.Compute(losses.Batch{Embeddings: all, Labels: append(labels, labels...)})
	if err != nil {
		t.Fatal(err)
	}
	l.Symmetric = true
	got, err = l.Compute(losses.Batch{Embeddings: emb, Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != want.Loss || got.Grad.At(5, 2) != want.Grad.At(5, 2) || got.RefGrad.At(0, 1) != want.Grad.At(6, 1) {
		t.Errorf("symmetric result differs from the wrapped loss on [emb; ref]")
	}
}

func newArc(t testing.TB, c, d int, seed uint64) *losses.ArcFace {
	l, err := losses.NewArcFace(c, d, wrapRng(seed))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMultipleGrad checks Multiple's embeddings and parameter gradients
// (list and named forms, weights, a miner) against finite differences and
// its parameter names.
func TestMultipleGrad(t *testing.T) {
	rng := wrapRng(3)
	emb := testkit.NormalDense(rng, 9, 4)
	labels := randLabels(rng, 9, 3)
	tm := losses.NewTripletMargin()
	tm.Margin = 3
	cases := []struct {
		name   string
		m      *losses.Multiple
		params []string
	}{
		{"list", &losses.Multiple{Losses: []losses.Loss{losses.NewContrastive(), tm}, Weights: []float64{1, 0.5}}, nil},
		{"list-arcface", &losses.Multiple{Losses: []losses.Loss{losses.NewNTXent(), newArc(t, 3, 4, 1)}, Weights: []float64{0.3, 2}}, []string{"losses.1.W"}},
		{"named-miner", &losses.Multiple{
			Losses:  []losses.Loss{losses.NewMultiSimilarity(), newArc(t, 3, 4, 2), newArc(t, 3, 4, 3)},
			Names:   []string{"ms", "arc", "arc2"},
			Miners:  []miners.Miner{miners.NewMultiSimilarity(), nil, nil},
			Weights: []float64{0.7, 0.3, -1.5},
		}, []string{"losses.arc.W", "losses.arc2.W"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := losses.Batch{Embeddings: emb, Labels: labels}
			checkGrad(t, c.m, b, 1e-5, 1e-7)
			var names []string
			for _, p := range c.m.Params() {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, c.params) {
				t.Errorf("params %v, want %v", names, c.params)
			}
			if len(c.params) > 0 {
				checkParamGrads(t, c.m, b, 1e-5, 1e-7)
			}
		})
	}
}

// TestMultipleSum checks that Multiple is the weighted sum of its losses.
func TestMultipleSum(t *testing.T) {
	rng := wrapRng(4)
	emb := testkit.NormalDense(rng, 8, 3)
	labels := randLabels(rng, 8, 3)
	a, b := losses.NewContrastive(), losses.NewNTXent()
	b2 := losses.Batch{Embeddings: emb, Labels: labels}
	ra, _ := a.Compute(b2)
	rb, _ := b.Compute(b2)
	m := &losses.Multiple{Losses: []losses.Loss{a, b}, Weights: []float64{2, -0.5}}
	r, err := m.Compute(b2)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*ra.Loss - 0.5*rb.Loss; math.Abs(r.Loss-want) > 1e-12 {
		t.Errorf("loss %v, want %v", r.Loss, want)
	}
	if want := 2*ra.Grad.At(3, 1) - 0.5*rb.Grad.At(3, 1); math.Abs(r.Grad.At(3, 1)-want) > 1e-12 {
		t.Errorf("grad %v, want %v", r.Grad.At(3, 1), want)
	}
}

// recorder is a loss defined outside the losses package that records what
// CrossBatchMemory hands it.
type recorder struct{ last losses.Batch }

func (r *recorder) Compute(b losses.Batch) (losses.Result, error) {
	r.last = b
	n, d := b.Embeddings.Dims()
	return losses.Result{Grad: mat.NewDense(n, d, nil)}, nil
}

// refRing is a straightforward reference of CrossBatchMemory's memory: the
// whole history of enqueued rows, slot s holding the latest row whose
// global position is s modulo the size.
type refRing struct {
	size      int
	hist      [][]float64
	histLabel []int
	zeroCall  bool // PML: enqueuing nothing marks the ring as filled
}

func (r *refRing) used() int {
	if len(r.hist) >= r.size || r.zeroCall {
		return r.size
	}
	return len(r.hist)
}

// slots returns the used memory rows and labels, and for each history
// index the slot it lives in.
func (r *refRing) slots(d int) ([][]float64, []int) {
	k := r.used()
	rows := make([][]float64, k)
	labels := make([]int, k)
	for s := range rows {
		rows[s] = make([]float64, d)
	}
	for g, row := range r.hist {
		if s := g % r.size; s < k {
			rows[s], labels[s] = row, r.histLabel[g]
		}
	}
	return rows, labels
}

type pair struct{ a, b int }

func pairSet(a, b []int) []pair {
	out := make([]pair, len(a))
	for i := range a {
		out[i] = pair{a[i], b[i]}
	}
	slices.SortFunc(out, func(x, y pair) int {
		if x.a != y.a {
			return x.a - y.a
		}
		return x.b - y.b
	})
	return out
}

// TestCrossBatchMemoryProperty runs many random call sequences (memory
// sizes, batch sizes, wrap-around, mask on and off, empty enqueue) and
// compares the memory and the tuples given to the wrapped loss (all pairs,
// or a triplet miner's triplets, with self comparisons removed) with
// refRing.
func TestCrossBatchMemoryProperty(t *testing.T) {
	rng := wrapRng(5)
	const d = 3
	for seq := range 150 {
		size := 1 + rng.IntN(9)
		rec := &recorder{}
		cbm, err := losses.NewCrossBatchMemory(rec, d, size)
		if err != nil {
			t.Fatal(err)
		}
		useMiner := seq%3 == 0
		if useMiner {
			cbm.Miner = miners.NewTripletMargin()
		}
		ref := &refRing{size: size}
		for call := range 1 + rng.IntN(8) {
			n := 1 + rng.IntN(size+2)
			emb := testkit.NormalDense(rng, n, d)
			labels := randLabels(rng, n, 1+rng.IntN(3))
			var mask []bool
			if rng.IntN(2) == 0 {
				mask = make([]bool, n)
				for i := range mask {
					mask[i] = rng.IntN(2) == 0
				}
			}
			var queue, query []int
			for i := range n {
				if mask == nil || mask[i] {
					queue = append(queue, i)
				}
				if mask == nil || !mask[i] {
					query = append(query, i)
				}
			}
			_, err := cbm.ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels}, mask)
			if len(queue) > size || len(query) == 0 {
				if err == nil {
					t.Fatalf("seq %d call %d: no error for %d enqueued, %d queries, memory %d", seq, call, len(queue), len(query), size)
				}
				continue // the state must be unchanged: checked on the next call
			}
			if err != nil {
				t.Fatalf("seq %d call %d: %v", seq, call, err)
			}
			start := len(ref.hist)
			for _, i := range queue {
				ref.hist = append(ref.hist, emb.RawRowView(i))
				ref.histLabel = append(ref.histLabel, labels[i])
			}
			if len(queue) == 0 {
				ref.zeroCall = true
			}
			rows, mlabels := ref.slots(d)
			// memory as seen by the loss and by Memory()
			gotMem, gotLabels := cbm.Memory()
			if !slices.Equal(rec.last.RefLabels, mlabels) || !slices.Equal(gotLabels, mlabels) {
				t.Fatalf("seq %d call %d: memory labels %v / %v, want %v", seq, call, rec.last.RefLabels, gotLabels, mlabels)
			}
			for s, row := range rows {
				if !slices.Equal(rec.last.Ref.RawRowView(s), row) || !slices.Equal(gotMem.RawRowView(s), row) {
					t.Fatalf("seq %d call %d: memory row %d differs", seq, call, s)
				}
			}
			qlabels := make([]int, len(query))
			for i, r := range query {
				qlabels[i] = labels[r]
				if !slices.Equal(rec.last.Embeddings.RawRowView(i), emb.RawRowView(r)) {
					t.Fatalf("seq %d call %d: query row %d differs", seq, call, i)
				}
			}
			// self slot of query i (no mask; PML removes nothing for a
			// single-row batch, see tuples.RemoveSelfComparisons)
			self := func(i, s int) bool {
				return mask == nil && n > 1 && (start+i)%size == s
			}
			if useMiner {
				qemb := rec.last.Embeddings
				mem := mat.NewDense(len(rows), d, nil)
				for s, row := range rows {
					mem.SetRow(s, row)
				}
				mined, err := miners.NewTripletMargin().Mine(miners.Input{Embeddings: qemb, Labels: qlabels, Ref: mem, RefLabels: mlabels})
				if err != nil {
					t.Fatal(err)
				}
				mt := mined.(*tuples.Triplets)
				var wa, wp, wn []int
				for j := range mt.A {
					if !self(mt.A[j], mt.P[j]) {
						wa, wp, wn = append(wa, mt.A[j]), append(wp, mt.P[j]), append(wn, mt.N[j])
					}
				}
				got := rec.last.Tuples.(*tuples.Triplets)
				if !slices.Equal(got.A, wa) || !slices.Equal(got.P, wp) || !slices.Equal(got.N, wn) {
					t.Fatalf("seq %d call %d: triplets %v, want %v %v %v", seq, call, got, wa, wp, wn)
				}
				continue
			}
			var pa, pp, na, nn []int
			for i := range query {
				for s := range mlabels {
					switch {
					case qlabels[i] != mlabels[s]:
						na, nn = append(na, i), append(nn, s)
					case !self(i, s):
						pa, pp = append(pa, i), append(pp, s)
					}
				}
			}
			got := rec.last.Tuples.(*tuples.Pairs)
			if !slices.Equal(pairSet(got.A1, got.P), pairSet(pa, pp)) || !slices.Equal(pairSet(got.A2, got.N), pairSet(na, nn)) {
				t.Fatalf("seq %d call %d: pairs %v, want pos %v %v neg %v %v", seq, call, got, pa, pp, na, nn)
			}
		}
	}
}

// TestCrossBatchMemoryGradMask checks that enqueued-only rows get a zero
// gradient and that the queries' gradient is the wrapped loss's against
// the memory.
func TestCrossBatchMemoryGradMask(t *testing.T) {
	rng := wrapRng(6)
	cbm, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 4, 10)
	if err != nil {
		t.Fatal(err)
	}
	emb := testkit.NormalDense(rng, 6, 4)
	labels := []int{0, 1, 0, 1, 0, 1}
	mask := []bool{true, true, true, false, false, false}
	res, err := cbm.ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels}, mask)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range 4 {
			if res.Grad.At(i, j) != 0 {
				t.Fatalf("enqueued row %d has gradient %v", i, res.Grad.At(i, j))
			}
		}
	}
	mem, ml := cbm.Memory()
	q := mat.DenseCopyOf(emb.Slice(3, 6, 0, 4))
	want, err := losses.NewContrastive().Compute(losses.Batch{Embeddings: q, Labels: labels[3:], Ref: mem, RefLabels: ml})
	if err != nil {
		t.Fatal(err)
	}
	if err := fdiff.Compare(res.Grad.Slice(3, 6, 0, 4).(*mat.Dense), want.Grad, 1e-12, 1e-15); err != nil {
		t.Error(err)
	}
	if res.Loss != want.Loss || res.RefGrad != nil {
		t.Errorf("loss %v want %v; ref grad %v (the memory is detached)", res.Loss, want.Loss, res.RefGrad)
	}
}

// TestCrossBatchMemoryMarginParams checks that a learnable Margin's beta is
// exposed as "loss.beta" with its gradient (finite differences: with the
// memory as large as the batch, repeating the call leaves the state fixed).
func TestCrossBatchMemoryMarginParams(t *testing.T) {
	rng := wrapRng(7)
	m := losses.NewMargin()
	m.LearnBeta = true
	m.Margin = 1.5
	cbm, err := losses.NewCrossBatchMemory(m, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	b := losses.Batch{Embeddings: testkit.NormalDense(rng, 8, 3), Labels: randLabels(rng, 8, 2)}
	if ps := cbm.Params(); len(ps) != 1 || ps[0].Name != "loss.beta" {
		t.Fatalf("params %v", ps)
	}
	checkParamGrads(t, cbm, b, 1e-5, 1e-8)
}

// TestWrappersBadInput checks the errors of the wrappers.
func TestWrappersBadInput(t *testing.T) {
	rng := wrapRng(8)
	emb, ref := testkit.NormalDense(rng, 4, 3), testkit.NormalDense(rng, 4, 3)
	labels := []int{0, 1, 0, 1}
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	newCBM := func(size int) *losses.CrossBatchMemory {
		c, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 3, size)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	arc := newArc(t, 2, 3, 9)
	const ss, ml, cb = "losses.SelfSupervised", "losses.Multiple", "losses.CrossBatchMemory"
	cases := []struct {
		name     string
		run      func() error
		sentinel error
		comp     string
	}{
		{"ss no ref", func() error {
			_, err := losses.NewSelfSupervised(losses.NewNTXent()).Compute(losses.Batch{Embeddings: emb})
			return err
		}, gometric.ErrShape, ss},
		{"ss ref rows", func() error {
			_, err := losses.NewSelfSupervised(losses.NewNTXent()).Compute(losses.Batch{Embeddings: emb, Ref: testkit.NormalDense(rng, 3, 3)})
			return err
		}, gometric.ErrShape, ss},
		{"ss labels", func() error {
			_, err := losses.NewSelfSupervised(losses.NewNTXent()).Compute(losses.Batch{Embeddings: emb, Ref: ref, Labels: labels})
			return err
		}, gometric.ErrLabels, ss},
		{"ss nan", func() error {
			_, err := losses.NewSelfSupervised(losses.NewNTXent()).Compute(losses.Batch{Embeddings: nan, Ref: ref})
			return err
		}, gometric.ErrNonFinite, ss},
		{"ss unsupported", func() error {
			_, err := losses.NewSelfSupervised(arc).Compute(losses.Batch{Embeddings: emb, Ref: ref})
			return err
		}, gometric.ErrUnsupported, ss},
		{"ss nil", func() error {
			_, err := losses.NewSelfSupervised(nil).Compute(losses.Batch{Embeddings: emb, Ref: ref})
			return err
		}, gometric.ErrSetting, ss},
		{"ml empty", func() error {
			_, err := losses.NewMultiple().Compute(losses.Batch{Embeddings: emb, Labels: labels})
			return err
		}, gometric.ErrSetting, ml},
		{"ml weights", func() error {
			m := losses.NewMultiple(losses.NewContrastive())
			m.Weights = []float64{1, 2}
			_, err := m.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			return err
		}, gometric.ErrSetting, ml},
		{"ml nan weight", func() error {
			m := losses.NewMultiple(losses.NewContrastive())
			m.Weights = []float64{math.NaN()}
			_, err := m.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			return err
		}, gometric.ErrSetting, ml},
		{"ml names", func() error {
			m := losses.NewMultiple(losses.NewContrastive(), losses.NewNTXent())
			m.Names = []string{"a", "a"}
			_, err := m.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			return err
		}, gometric.ErrSetting, ml},
		{"ml tuples with miners", func() error {
			m := losses.NewMultiple(losses.NewContrastive())
			m.Miners = []miners.Miner{miners.NewMultiSimilarity()}
			_, err := m.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{}})
			return err
		}, gometric.ErrUnsupported, ml},
		{"ml ref", func() error {
			_, err := losses.NewMultiple(losses.NewContrastive()).Compute(losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: labels})
			return err
		}, gometric.ErrUnsupported, ml},
		{"ml label >= classes", func() error {
			_, err := losses.NewMultiple(arc).Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 1, 2, 0}})
			return err
		}, gometric.ErrLabels, ml},
		{"cbm sizes", func() error { _, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 0, 4); return err }, gometric.ErrSetting, cb},
		{"cbm memory smaller than batch", func() error { _, err := newCBM(3).Compute(losses.Batch{Embeddings: emb, Labels: labels}); return err }, gometric.ErrShape, cb},
		{"cbm too many enqueued", func() error {
			_, err := newCBM(1).ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels}, []bool{true, true, false, false})
			return err
		}, gometric.ErrShape, cb},
		{"cbm mask and tuples", func() error {
			_, err := newCBM(8).ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{}}, []bool{true, false, false, false})
			return err
		}, gometric.ErrUnsupported, cb},
		{"cbm mask length", func() error {
			_, err := newCBM(8).ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels}, []bool{true})
			return err
		}, gometric.ErrShape, cb},
		{"cbm all masked", func() error {
			_, err := newCBM(8).ComputeMasked(losses.Batch{Embeddings: emb, Labels: labels}, []bool{true, true, true, true})
			return err
		}, gometric.ErrShape, cb},
		{"cbm embedding size", func() error {
			_, err := newCBM(8).Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 2), Labels: labels})
			return err
		}, gometric.ErrShape, cb},
		{"cbm no labels", func() error { _, err := newCBM(8).Compute(losses.Batch{Embeddings: emb}); return err }, gometric.ErrLabels, cb},
		{"cbm nan", func() error { _, err := newCBM(8).Compute(losses.Batch{Embeddings: nan, Labels: labels}); return err }, gometric.ErrNonFinite, cb},
		{"cbm unsupported", func() error {
			c, _ := losses.NewCrossBatchMemory(arc, 3, 8)
			_, err := c.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			return err
		}, gometric.ErrUnsupported, cb},
		{"cbm tuple index", func() error {
			_, err := newCBM(8).Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{9}}})
			return err
		}, gometric.ErrIndex, cb},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkErr(t, c.run(), c.sentinel, c.comp) })
	}
}

// TestCrossBatchMemoryFailureKeepsState checks that a failing call leaves
// the memory unchanged.
func TestCrossBatchMemoryFailureKeepsState(t *testing.T) {
	rng := wrapRng(9)
	c, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	labels := []int{0, 1, 0, 1}
	if _, err := c.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 3), Labels: labels}); err != nil {
		t.Fatal(err)
	}
	m0, l0 := c.Memory()
	_, err = c.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 3), Labels: labels, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{99}}})
	if err == nil {
		t.Fatal("no error")
	}
	m1, l1 := c.Memory()
	if c.QueueIdx() != 4 || c.Filled() || !mat.Equal(m0, m1) || !slices.Equal(l0, l1) {
		t.Errorf("state changed by a failing call")
	}
}
