package distributed

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// tol is the bound: the float64 metric layer agrees to 1e-9.
const tol = 1e-9

// lossCase is one wrapped loss of the equivalence table.
type lossCase struct {
	name      string
	loss      func() losses.Loss  // a fresh loss; every call gives equal parameters
	miner     func() miners.Miner // nil: no miner
	efficient bool
	ref       bool
	wantErr   error // a combination PML refuses
}

func lossCases() []lossCase {
	contrastive := func() losses.Loss { return losses.NewContrastive() }
	triplet := func() losses.Loss { return losses.NewTripletMargin() }
	ms := func() losses.Loss { return losses.NewMultiSimilarity() }
	proxy := func() losses.Loss {
		l, err := losses.NewProxyAnchor(3, 4, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			panic(err)
		}
		return l
	}
	arcface := func() losses.Loss {
		l, err := losses.NewArcFace(3, 4, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			panic(err)
		}
		return l
	}
	margin := func() losses.Loss {
		l, err := losses.NewMarginPerClass(3, 1.2)
		if err != nil {
			panic(err)
		}
		l.LearnBeta = true
		return l
	}
	tripletMiner := func() miners.Miner { return miners.NewTripletMargin() }
	msMiner := func() miners.Miner { return miners.NewMultiSimilarity() }
	pairMiner := func() miners.Miner {
		m := miners.NewPairMargin()
		m.PosMargin, m.NegMargin = 0.5, 0.5
		return m
	}
	var cs []lossCase
	for _, eff := range []bool{false, true} {
		for _, ref := range []bool{false, true} {
			cs = append(cs,
				lossCase{name: "contrastive", loss: contrastive, efficient: eff, ref: ref},
				lossCase{name: "contrastive+pairmargin", loss: contrastive, miner: pairMiner, efficient: eff, ref: ref},
			)
		}
		cs = append(cs,
			lossCase{name: "tripletmargin+miner", loss: triplet, miner: tripletMiner, efficient: eff},
			lossCase{name: "multisimilarity+miner", loss: ms, miner: msMiner, efficient: eff},
			lossCase{name: "multisimilarity", loss: ms, efficient: eff},
			lossCase{name: "margin(learned beta)", loss: margin, efficient: eff},
		)
	}
	cs = append(cs,
		lossCase{name: "proxyanchor", loss: proxy},
		lossCase{name: "arcface", loss: arcface},
		lossCase{name: "proxyanchor", loss: proxy, efficient: true, wantErr: gometric.ErrUnsupported},
	)
	for i := range cs {
		cs[i].name = fmt.Sprintf("%s/efficient=%v/ref=%v", cs[i].name, cs[i].efficient, cs[i].ref)
	}
	return cs
}

// batches are every rank's part of one global batch: rank r has 5+r rows
// (and 4+r ref rows), so the gathers have varying counts.
type batches struct {
	emb, ref             []*mat.Dense
	labels, refLabels    [][]int
	allEmb, allRef       *mat.Dense
	allLabels, allRefLab []int
}

func makeBatches(seed uint64, size, dim int, withRef bool) batches {
	rng := rand.New(rand.NewPCG(seed, 7))
	var b batches
	for r := range size {
		n := 5 + r
		b.emb = append(b.emb, testkit.NormalDense(rng, n, dim))
		b.labels = append(b.labels, randLabels(rng, n))
		if withRef {
			b.ref = append(b.ref, testkit.NormalDense(rng, 4+r, dim))
			b.refLabels = append(b.refLabels, randLabels(rng, 4+r))
		}
	}
	b.allEmb, b.allLabels = stack(b.emb, b.labels, -1)
	if withRef {
		b.allRef, b.allRefLab = stack(b.ref, b.refLabels, -1)
	}
	return b
}

func randLabels(rng *rand.Rand, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(3)
	}
	return out
}

// stack concatenates the parts in rank order, or with part first first
// (PML's gather order on rank first) when first >= 0.
func stack(parts []*mat.Dense, labels [][]int, first int) (*mat.Dense, []int) {
	ord := make([]int, 0, len(parts))
	if first >= 0 {
		ord = order(first, len(parts))
	} else {
		for r := range parts {
			ord = append(ord, r)
		}
	}
	var data []float64
	var lab []int
	_, d := parts[0].Dims()
	for _, r := range ord {
		data = appendRows(data, parts[r])
		lab = append(lab, labels[r]...)
	}
	return mat.NewDense(len(data)/d, d, data), lab
}

// offset is the first row of rank r in the concatenation.
func offset(parts []*mat.Dense, r int) int {
	o := 0
	for q := range r {
		n, _ := parts[q].Dims()
		o += n
	}
	return o
}

// expected is one rank's wrapped result as PML defines it.
type expected struct {
	loss        float64
	grad, rgrad *mat.Dense
	params      map[string]*mat.Dense
}

// reference computes, in one process, what rank r's wrapped loss must
// return: without Efficient, from the loss of the concatenated batch; with
// it, from rank r's batch against the concatenation with its own rows
// first (PML's create_efficient_batch) and the ranks' summed parameter
// gradients.
func reference(tc lossCase, b batches, r int) (expected, error) {
	size := len(b.emb)
	w := float64(size)
	if !tc.efficient {
		l := tc.loss()
		var tup tuples.Tuples
		if tc.miner != nil {
			var err error
			if tup, err = tc.miner().Mine(miners.Input{Embeddings: b.allEmb, Labels: b.allLabels, Ref: b.allRef, RefLabels: b.allRefLab}); err != nil {
				return expected{}, err
			}
		}
		res, err := l.Compute(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels, Ref: b.allRef, RefLabels: b.allRefLab, Tuples: tup})
		if err != nil {
			return expected{}, err
		}
		n, d := b.emb[r].Dims()
		o := offset(b.emb, r)
		e := expected{loss: w * res.Loss, grad: scaled(res.Grad.Slice(o, o+n, 0, d), w), params: res.ParamGrads}
		if tc.ref {
			m, _ := b.ref[r].Dims()
			o := offset(b.ref, r)
			e.rgrad = scaled(res.RefGrad.Slice(o, o+m, 0, d), w)
		}
		return e, nil
	}
	var e expected
	for i := range size {
		l := tc.loss()
		curr, currL := b.emb[i], b.labels[i]
		var others *mat.Dense
		var othersL []int
		if tc.ref {
			others, othersL = stack(b.ref, b.refLabels, i)
		} else {
			others, othersL = stack(b.emb, b.labels, i)
		}
		n, d := curr.Dims()
		idx := arange(nil, n)
		var tup tuples.Tuples
		var err error
		if tc.miner != nil {
			tup, err = tc.miner().Mine(miners.Input{Embeddings: curr, Labels: currL, Ref: others, RefLabels: othersL})
		} else {
			tup, err = tuples.AllPairs(currL, othersL, false)
		}
		if err != nil {
			return expected{}, err
		}
		if tup, err = tuples.RemoveSelfComparisons(tup, idx, len(othersL), false); err != nil {
			return expected{}, err
		}
		res, err := l.Compute(losses.Batch{Embeddings: curr, Labels: currL, Ref: others, RefLabels: othersL, Tuples: tup})
		if err != nil {
			return expected{}, err
		}
		if e.params == nil && res.ParamGrads != nil {
			e.params = map[string]*mat.Dense{}
		}
		for k, g := range res.ParamGrads {
			if e.params[k] == nil {
				e.params[k] = mat.DenseCopyOf(g)
			} else {
				e.params[k].Add(e.params[k], g)
			}
		}
		if i != r {
			continue
		}
		e.loss = w * res.Loss
		g := mat.DenseCopyOf(res.Grad)
		if tc.ref {
			m, _ := b.ref[i].Dims()
			e.rgrad = scaled(res.RefGrad.Slice(0, m, 0, d), w)
		} else {
			g.Add(g, res.RefGrad.Slice(0, n, 0, d))
		}
		g.Scale(w, g)
		e.grad = g
	}
	return e, nil
}

func matClose(a, b mat.Matrix) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ar, ac := a.Dims()
	br, bc := b.Dims()
	if ar != br || ac != bc {
		return false
	}
	for i := range ar {
		for j := range ac {
			if !testkit.Close(a.At(i, j), b.At(i, j), tol, tol) {
				return false
			}
		}
	}
	return true
}

// checkResult compares one rank's wrapped result with what it must be.
func checkResult(got losses.Result, want expected) error {
	if !testkit.Close(got.Loss, want.loss, tol, tol) {
		return fmt.Errorf("loss %.17g, want %.17g", got.Loss, want.loss)
	}
	if !matClose(got.Grad, want.grad) {
		return fmt.Errorf("grad\n%v\nwant\n%v", mat.Formatted(got.Grad), mat.Formatted(want.grad))
	}
	if want.rgrad != nil && !matClose(got.RefGrad, want.rgrad) {
		return fmt.Errorf("ref grad\n%v\nwant\n%v", mat.Formatted(got.RefGrad), mat.Formatted(want.rgrad))
	}
	if len(got.ParamGrads) != len(want.params) {
		return fmt.Errorf("%d parameter gradients, want %d", len(got.ParamGrads), len(want.params))
	}
	for k, g := range want.params {
		if !matClose(got.ParamGrads[k], g) {
			return fmt.Errorf("gradient of %q\n%v\nwant\n%v", k, mat.Formatted(got.ParamGrads[k]), mat.Formatted(g))
		}
	}
	return nil
}

// TestLossWrapperMatchesSingleProcess is PML's own check of the wrappers:
// with 2 and 4 ranks (in-process, and MPI under mpirun), each rank's
// wrapped loss and gradients equal those of one process on the
// concatenated batch (efficient: as PML's test defines them), to 1e-9.
func TestLossWrapperMatchesSingleProcess(t *testing.T) {
	for _, w := range worlds() {
		for _, tc := range lossCases() {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				if w.size == 1 {
					// One process (the MPI world without mpirun): the
					// wrappers are the wrapped loss and miner, as PML's
					// non-distributed case, Efficient or not.
					tc.efficient, tc.wantErr = false, nil
				}
				b := makeBatches(uint64(w.size), w.size, 4, tc.ref)
				w.run(t, func(c Communicator) error {
					r := c.Rank()
					lw := &LossWrapper{Loss: tc.loss(), Comm: c, Efficient: tc.efficient}
					in := losses.Batch{Embeddings: b.emb[r], Labels: b.labels[r]}
					if tc.ref {
						in.Ref, in.RefLabels = b.ref[r], b.refLabels[r]
					}
					if tc.miner != nil {
						mw := &MinerWrapper{Miner: tc.miner(), Comm: c, Efficient: tc.efficient}
						tup, err := mw.Mine(miners.Input{Embeddings: in.Embeddings, Labels: in.Labels, Ref: in.Ref, RefLabels: in.RefLabels})
						if err != nil {
							return err
						}
						in.Tuples = tup
					}
					got, err := lw.Compute(in)
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) {
							return fmt.Errorf("error %v, want %v", err, tc.wantErr)
						}
						return nil
					}
					if err != nil {
						return err
					}
					want, err := reference(tc, b, r)
					if err != nil {
						return fmt.Errorf("reference: %w", err)
					}
					if err := checkResult(got, want); err != nil {
						return fmt.Errorf("rank %d: %w", r, err)
					}
					// A second step reuses the buffers and gives the same.
					in.Reuse = &got
					again, err := lw.Compute(in)
					if err != nil {
						return err
					}
					return checkResult(again, want)
				})
			})
		}
	}
}

// TestLossWrapperModelGradient checks the DDP identity the scaling is for:
// the mean over the ranks of Jᵣᵀ·Gradᵣ, with Jᵣ the rows of rank r, is the
// single-process gradient of the concatenated batch (here Jᵣ selects rows,
// so the stacked Gradᵣ / W is that gradient).
func TestLossWrapperModelGradient(t *testing.T) {
	group, _ := NewLocalGroup(3)
	b := makeBatches(9, 3, 5, false)
	grads := make([]*mat.Dense, 3)
	worldRun(t, group, func(c Communicator) error {
		lw := NewLossWrapper(losses.NewTripletMargin(), c)
		res, err := lw.Compute(losses.Batch{Embeddings: b.emb[c.Rank()], Labels: b.labels[c.Rank()]})
		grads[c.Rank()] = res.Grad
		return err
	})
	single, err := losses.NewTripletMargin().Compute(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels})
	if err != nil {
		t.Fatal(err)
	}
	stacked, _ := stack(grads, [][]int{nil, nil, nil}, -1)
	stacked.Scale(1.0/3, stacked)
	if !matClose(stacked, single.Grad) {
		t.Errorf("mean of the ranks' gradients\n%v\nsingle process\n%v", mat.Formatted(stacked), mat.Formatted(single.Grad))
	}
}

func worldRun(t *testing.T, group []*Local, f func(c Communicator) error) {
	t.Helper()
	world{size: len(group)}.runGroup(t, group, f)
}

// TestCrossBatchMemoryWrapped checks a wrapped CrossBatchMemory over three
// steps (with and without an enqueue mask) against one CrossBatchMemory
// fed the concatenated batches. As in PML's test the ring does not wrap:
// once it does, which gathered rows a rank overwrites depends on its
// gather order (its own rows first), as in PML.
func TestCrossBatchMemoryWrapped(t *testing.T) {
	for _, w := range worlds() {
		for _, masked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mask=%v", w.name, masked), func(t *testing.T) {
				const steps = 3
				var bs []batches
				var masks [][][]bool
				rng := rand.New(rand.NewPCG(5, 5))
				for s := range steps {
					bs = append(bs, makeBatches(uint64(100+s), w.size, 4, false))
					var m [][]bool
					for r := range w.size {
						mr := make([]bool, 5+r)
						for i := range mr {
							mr[i] = rng.IntN(2) == 0
						}
						mr[0], mr[1] = true, false
						m = append(m, mr)
					}
					masks = append(masks, m)
				}
				w.run(t, func(c Communicator) error {
					r := c.Rank()
					mine, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 4, 128)
					if err != nil {
						return err
					}
					single, _ := losses.NewCrossBatchMemory(losses.NewContrastive(), 4, 128)
					lw := NewLossWrapper(mine, c)
					for s := range steps {
						b := bs[s]
						in := losses.Batch{Embeddings: b.emb[r], Labels: b.labels[r]}
						var got, ref losses.Result
						var err error
						if masked {
							var all []bool
							for q := range w.size {
								all = append(all, masks[s][q]...)
							}
							got, err = lw.ComputeMasked(in, masks[s][r])
							if err == nil {
								ref, err = single.ComputeMasked(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels}, all)
							}
						} else {
							got, err = lw.Compute(in)
							if err == nil {
								ref, err = single.Compute(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels})
							}
						}
						if err != nil {
							return err
						}
						n, d := b.emb[r].Dims()
						o := offset(b.emb, r)
						ws := float64(w.size)
						want := expected{loss: ws * ref.Loss, grad: scaled(ref.Grad.Slice(o, o+n, 0, d), ws)}
						if err := checkResult(got, want); err != nil {
							return fmt.Errorf("rank %d step %d: %w", r, s, err)
						}
					}
					return nil
				})
			})
		}
	}
}

// TestWrapperErrors checks the refusals of the wrappers (as PML's) and
// that a rank's bad input fails every rank instead of leaving it waiting.
func TestWrapperErrors(t *testing.T) {
	var nilW *LossWrapper
	var nilM *MinerWrapper
	emb := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	cbm, _ := losses.NewCrossBatchMemory(losses.NewContrastive(), 2, 8)
	one, _ := NewLocalGroup(2)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"nil loss wrapper", func() error { _, err := nilW.Compute(losses.Batch{Embeddings: emb}); return err }(), gometric.ErrSetting},
		{"nil miner wrapper", func() error { _, err := nilM.Mine(miners.Input{Embeddings: emb}); return err }(), gometric.ErrSetting},
		{"zero loss wrapper", func() error { _, err := (&LossWrapper{}).Compute(losses.Batch{Embeddings: emb}); return err }(), gometric.ErrSetting},
		{"zero miner wrapper", func() error { _, err := (&MinerWrapper{}).Mine(miners.Input{Embeddings: emb}); return err }(), gometric.ErrSetting},
		{"multiple losses", func() error {
			_, err := NewLossWrapper(losses.NewMultiple(losses.NewContrastive()), nil).Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 1}})
			return err
		}(), gometric.ErrUnsupported},
		{"xbm efficient", func() error {
			_, err := (&LossWrapper{Loss: cbm, Efficient: true}).Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 1}})
			return err
		}(), gometric.ErrSetting},
		{"xbm with ref", func() error {
			_, err := NewLossWrapper(cbm, one[0]).Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 1}, Ref: emb})
			return err
		}(), gometric.ErrUnsupported},
		{"mask without xbm", func() error {
			_, err := NewLossWrapper(losses.NewContrastive(), nil).ComputeMasked(losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, []bool{true, false})
			return err
		}(), gometric.ErrUnsupported},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}

	// Bad input on one rank: every rank returns an error, nobody waits.
	bad := []struct {
		name string
		in   func(r int) losses.Batch
	}{
		{"nil embeddings on rank 1", func(r int) losses.Batch {
			if r == 1 {
				return losses.Batch{Labels: []int{0, 1}}
			}
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}}
		}},
		{"NaN on rank 0", func(r int) losses.Batch {
			e := mat.DenseCopyOf(emb)
			if r == 0 {
				e.Set(0, 0, math.NaN())
			}
			return losses.Batch{Embeddings: e, Labels: []int{0, 1}}
		}},
		{"labels missing on rank 1", func(r int) losses.Batch {
			if r == 1 {
				return losses.Batch{Embeddings: emb}
			}
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}}
		}},
		{"different widths", func(r int) losses.Batch {
			return losses.Batch{Embeddings: mat.NewDense(2, 2+r, nil), Labels: []int{0, 1}}
		}},
		{"label count", func(r int) losses.Batch {
			return losses.Batch{Embeddings: emb, Labels: make([]int, 1+r)}
		}},
		{"ref on rank 0 only", func(r int) losses.Batch {
			if r == 0 {
				return losses.Batch{Embeddings: emb, Labels: []int{0, 1}, Ref: emb, RefLabels: []int{0, 1}}
			}
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}}
		}},
		{"ref width", func(r int) losses.Batch {
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}
		}},
		{"ref labels without ref", func(r int) losses.Batch {
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}, RefLabels: []int{0, 1}}
		}},
		{"Inf on rank 1", func(r int) losses.Batch {
			e := mat.DenseCopyOf(emb)
			if r == 1 {
				e.Set(1, 1, math.Inf(-1))
			}
			return losses.Batch{Embeddings: e, Labels: []int{0, 1}}
		}},
		{"extreme labels", func(r int) losses.Batch {
			return losses.Batch{Embeddings: emb, Labels: []int{math.MaxInt, math.MinInt}, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{1 << 40}}}
		}},
		{"tuples out of range", func(r int) losses.Batch {
			return losses.Batch{Embeddings: emb, Labels: []int{0, 1}, Tuples: &tuples.Triplets{A: []int{-1}, P: []int{0}, N: []int{1}}}
		}},
	}
	for _, tc := range bad {
		for _, mk := range []func() losses.Loss{
			func() losses.Loss { return losses.NewContrastive() },
			func() losses.Loss { l, _ := losses.NewArcFace(3, 2, rand.New(rand.NewPCG(1, 1))); return l },
		} {
			group, _ := NewLocalGroup(2)
			errs := make([]error, 2)
			done := make(chan struct{})
			go func() {
				defer close(done)
				worldRunAll(group, func(c Communicator) error {
					_, err := NewLossWrapper(mk(), c).Compute(tc.in(c.Rank()))
					errs[c.Rank()] = err
					return nil
				})
			}()
			<-done
			for r, err := range errs {
				if err == nil || !testkit.WrapsSentinel(err) && !errors.Is(err, ErrComm) {
					t.Errorf("%s: rank %d: %v, want an error with a sentinel", tc.name, r, err)
				}
			}
			// The miner wrapper, on the same inputs.
			group, _ = NewLocalGroup(2)
			worldRunAll(group, func(c Communicator) error {
				in := tc.in(c.Rank())
				_, err := NewMinerWrapper(miners.NewMultiSimilarity(), c).Mine(miners.Input{Embeddings: in.Embeddings, Labels: in.Labels, Ref: in.Ref, RefLabels: in.RefLabels})
				errs[c.Rank()] = err
				return nil
			})
			for r, err := range errs {
				if tc.name == "extreme labels" || tc.name == "tuples out of range" {
					continue // valid for a miner
				}
				if err == nil || !testkit.WrapsSentinel(err) && !errors.Is(err, ErrComm) {
					t.Errorf("miner, %s: rank %d: %v, want an error with a sentinel", tc.name, r, err)
				}
			}
		}
	}
}

// TestMinerWrapperNotDistributed checks PML's non-distributed case: the
// wrappers are the wrapped loss and miner.
func TestMinerWrapperNotDistributed(t *testing.T) {
	b := makeBatches(3, 1, 4, false)
	one, _ := NewLocalGroup(1)
	for _, c := range []Communicator{nil, one[0]} {
		tup, err := NewMinerWrapper(miners.NewMultiSimilarity(), c).Mine(miners.Input{Embeddings: b.allEmb, Labels: b.allLabels})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := miners.NewMultiSimilarity().Mine(miners.Input{Embeddings: b.allEmb, Labels: b.allLabels})
		if miners.CountOf(tup) != miners.CountOf(want) {
			t.Errorf("mined %v, want %v", miners.CountOf(tup), miners.CountOf(want))
		}
		got, err := NewLossWrapper(losses.NewContrastive(), c).Compute(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels, Tuples: tup})
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := losses.NewContrastive().Compute(losses.Batch{Embeddings: b.allEmb, Labels: b.allLabels, Tuples: want})
		if got.Loss != ref.Loss || !mat.Equal(got.Grad, ref.Grad) {
			t.Errorf("not distributed: loss %v, want %v", got.Loss, ref.Loss)
		}
	}
}
