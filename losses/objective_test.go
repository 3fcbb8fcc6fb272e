package losses_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// objBatch is n float32 embeddings of dim d in k classes.
func objBatch(seed uint64, n, d, k int) (gometric.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := testkit.NormalMatrix(rng, n, d)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % k
	}
	return m, labels
}

// Compute equals the miner and the loss called by hand on the float64
// embeddings, and reuses its gradient memory from call to call.
func TestObjectiveMatchesManualCalls(t *testing.T) {
	tests := []struct {
		name  string
		loss  func() losses.Loss
		miner func() miners.Miner
	}{
		{"triplet, no miner", func() losses.Loss { return losses.NewTripletMargin() }, nil},
		{"triplet + multisimilarity", func() losses.Loss { return losses.NewTripletMargin() }, func() miners.Miner { return miners.NewMultiSimilarity() }},
		{"contrastive + batchhard", func() losses.Loss { return losses.NewContrastive() }, func() miners.Miner { return miners.NewBatchHard() }},
		{"multisimilarity + pairmargin", func() losses.Loss { return losses.NewMultiSimilarity() }, func() miners.Miner { return miners.NewPairMargin() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := &losses.Objective{Loss: tc.loss()}
			var ref miners.Miner
			if tc.miner != nil {
				obj.Miner, ref = tc.miner(), tc.miner()
			}
			refLoss := tc.loss()
			var prevGrad *mat.Dense
			var prevData *float32
			for step := 0; step < 3; step++ {
				emb, labels := objBatch(uint64(step), 24, 5, 4)
				l, g, err := obj.Compute(emb, labels)
				if err != nil {
					t.Fatal(err)
				}
				e64 := emb.Dense()
				b := losses.Batch{Embeddings: e64, Labels: labels}
				var counts miners.Counts
				if ref != nil {
					tup, err := ref.Mine(miners.Input{Embeddings: e64, Labels: labels})
					if err != nil {
						t.Fatal(err)
					}
					b.Tuples, counts = tup, miners.CountOf(tup)
				}
				want, err := refLoss.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				if l != float32(want.Loss) {
					t.Errorf("step %d: loss %v, want %v", step, l, float32(want.Loss))
				}
				if g.Rows != 24 || g.Cols != 5 || len(g.Data) != 24*5 {
					t.Fatalf("gradient %d×%d (%d values)", g.Rows, g.Cols, len(g.Data))
				}
				for i, v := range g.Data {
					if w := float32(want.Grad.At(i/5, i%5)); v != w {
						t.Fatalf("step %d: grad[%d] = %v, want %v", step, i, v, w)
					}
				}
				res, mined := obj.Last()
				if res.Loss != want.Loss || mined != counts {
					t.Errorf("step %d: Last = %v, %+v; want %v, %+v", step, res.Loss, mined, want.Loss, counts)
				}
				if step > 0 && (res.Grad != prevGrad || &g.Data[0] != prevData) {
					t.Errorf("step %d: the gradient memory was not reused", step)
				}
				prevGrad, prevData = res.Grad, &g.Data[0]
			}
		})
	}
}

// objLoss is a configurable loss for the tests of Objective.
type objLoss struct {
	res    losses.Result
	err    error
	params []*losses.Param
}

func (l *objLoss) Compute(b losses.Batch) (losses.Result, error) {
	if l.err != nil {
		return losses.Result{}, l.err
	}
	res := l.res
	if res.Grad == nil && res.Loss == 0 && res.ParamGrads == nil {
		n, d := b.Embeddings.Dims()
		res.Grad = mat.NewDense(n, d, nil)
	}
	return res, nil
}

// objLearnable is an objLoss with parameters.
type objLearnable struct{ *objLoss }

func (l objLearnable) Params() []*losses.Param { return l.params }

// objOpt records what StepParams gives it.
type objOpt struct {
	calls  int
	params []*losses.Param
	grads  []*mat.Dense
	err    error
}

func (o *objOpt) StepParams(ps []*losses.Param, gs []*mat.Dense) error {
	o.calls++
	o.params = ps
	o.grads = nil
	for _, g := range gs {
		o.grads = append(o.grads, mat.DenseCopyOf(g))
	}
	return o.err
}

func TestObjectiveErrors(t *testing.T) {
	emb, labels := objBatch(1, 8, 3, 2)
	nan := emb.Clone()
	nan.Data[7] = float32(math.NaN())
	doNothing := losses.NewContrastive()
	doNothing.Reducer = reducers.NewDoNothing()
	boom := errors.New("boom")
	tests := []struct {
		name   string
		obj    *losses.Objective
		emb    gometric.Matrix
		labels []int
		want   error
		text   string
	}{
		{"nil receiver", nil, emb, labels, gometric.ErrSetting, "losses.Objective.Compute: nil receiver"},
		{"zero value", &losses.Objective{}, emb, labels, gometric.ErrSetting, "Loss is nil"},
		{"empty embeddings", &losses.Objective{Loss: losses.NewContrastive()}, gometric.Matrix{}, nil, gometric.ErrShape, "embeddings is empty"},
		{"short data", &losses.Objective{Loss: losses.NewContrastive()}, gometric.Matrix{Rows: 8, Cols: 3, Data: emb.Data[:20]}, labels, gometric.ErrShape, "20 values for 8×3"},
		{"NaN embedding", &losses.Objective{Loss: losses.NewContrastive()}, nan, labels, gometric.ErrNonFinite, "row 2, column 1"},
		{"labels", &losses.Objective{Loss: losses.NewContrastive()}, emb, labels[:3], gometric.ErrLabels, "losses.Contrastive"},
		{"miner labels", &losses.Objective{Loss: losses.NewContrastive(), Miner: miners.NewMultiSimilarity()}, emb, labels[:3], gometric.ErrLabels, "miners."},
		{"DoNothing reducer", &losses.Objective{Loss: doNothing}, emb, labels, gometric.ErrSetting, "returned no gradient"},
		{"loss error", &losses.Objective{Loss: &objLoss{err: boom}}, emb, labels, boom, "boom"},
		{"gradient shape", &losses.Objective{Loss: &objLoss{res: losses.Result{Loss: 1, Grad: mat.NewDense(8, 2, nil)}}}, emb, labels, gometric.ErrShape, "8×2 gradient for 8×3"},
		{"NaN loss", &losses.Objective{Loss: &objLoss{res: losses.Result{Loss: math.NaN(), Grad: mat.NewDense(8, 3, nil)}}}, emb, labels, gometric.ErrNonFinite, "is NaN"},
		{"float32 overflow of the loss", &losses.Objective{Loss: &objLoss{res: losses.Result{Loss: 1e300, Grad: mat.NewDense(8, 3, nil)}}}, emb, labels, gometric.ErrNonFinite, "+Inf"},
		{"float32 overflow of the gradient", &losses.Objective{Loss: &objLoss{res: losses.Result{Loss: 1, Grad: mat.NewDense(8, 3, []float64{23: -1e300})}}}, emb, labels, gometric.ErrNonFinite, "row 7, column 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A successful call first, so that Last must be cleared.
			if tc.obj != nil {
				loss, miner := tc.obj.Loss, tc.obj.Miner
				tc.obj.Loss, tc.obj.Miner = losses.NewContrastive(), miners.NewMultiSimilarity()
				if _, _, err := tc.obj.Compute(emb, labels); err != nil {
					t.Fatal(err)
				}
				if res, mined := tc.obj.Last(); res.Grad == nil || mined == (miners.Counts{}) {
					t.Fatal("Last is empty after a successful call")
				}
				tc.obj.Loss, tc.obj.Miner = loss, miner
			}
			l, g, err := tc.obj.Compute(tc.emb, tc.labels)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
			if l != 0 || g.Data != nil {
				t.Errorf("a failed call returned %v, %v", l, g)
			}
			res, mined := tc.obj.Last()
			if res.Grad != nil || res.Loss != 0 || mined != (miners.Counts{}) {
				t.Errorf("Last after a failure: %+v, %+v", res, mined)
			}
			if err := tc.obj.StepParams(&objOpt{}); tc.obj == nil && !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("StepParams on nil: %v", err)
			}
		})
	}
}

func TestObjectiveStepParams(t *testing.T) {
	emb, labels := objBatch(2, 6, 3, 2)
	a := &losses.Param{Name: "A", Value: mat.NewDense(2, 3, nil)}
	b := &losses.Param{Name: "B", Value: mat.NewDense(1, 2, nil)}
	ga := mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})

	// Without parameters: nothing to do, with or without an optimizer.
	plain := &losses.Objective{Loss: losses.NewContrastive()}
	if err := plain.StepParams(nil); err != nil {
		t.Errorf("no parameters, nil optimizer: %v", err)
	}
	none := &losses.Objective{Loss: objLearnable{&objLoss{}}}
	opt := &objOpt{}
	if err := none.StepParams(opt); err != nil || opt.calls != 0 {
		t.Errorf("empty parameter list: %v, %d calls", err, opt.calls)
	}

	l := &objLoss{res: losses.Result{Loss: 1, Grad: mat.NewDense(6, 3, nil), ParamGrads: map[string]*mat.Dense{"A": ga}}, params: []*losses.Param{a, b}}
	obj := &losses.Objective{Loss: objLearnable{l}}
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "no successful Compute") {
		t.Errorf("before Compute: %v", err)
	}
	if _, _, err := obj.Compute(emb, labels); err != nil {
		t.Fatal(err)
	}
	if err := obj.StepParams(nil); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "optimizer is nil") {
		t.Errorf("nil optimizer: %v", err)
	}
	if err := obj.StepParams(opt); err != nil {
		t.Fatal(err)
	}
	// B was not touched: a zero gradient of its shape.
	if opt.calls != 1 || len(opt.params) != 2 || opt.params[0] != a || opt.params[1] != b ||
		!mat.Equal(opt.grads[0], ga) || !mat.Equal(opt.grads[1], mat.NewDense(1, 2, nil)) {
		t.Errorf("StepParams gave %d calls, %v, %v", opt.calls, opt.params, opt.grads)
	}
	// A gradient is applied once.
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrSetting) || opt.calls != 1 {
		t.Errorf("second StepParams: %v (%d calls)", err, opt.calls)
	}
	// A failed Compute leaves nothing to apply.
	l.err = errors.New("boom")
	if _, _, err := obj.Compute(emb, labels); err == nil {
		t.Fatal("no error")
	}
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("after a failed Compute: %v", err)
	}
	l.err = nil
	// The optimizer's error, wrapped.
	if _, _, err := obj.Compute(emb, labels); err != nil {
		t.Fatal(err)
	}
	opt.err = fmt.Errorf("opt: %w", gometric.ErrShape)
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrShape) || !strings.HasPrefix(err.Error(), "losses.Objective.StepParams: opt") {
		t.Errorf("optimizer error: %v", err)
	}
	opt.err = nil
	// A parameter gradient of the wrong shape; an empty parameter.
	l.res.ParamGrads = map[string]*mat.Dense{"B": mat.NewDense(2, 2, nil)}
	if _, _, err := obj.Compute(emb, labels); err != nil {
		t.Fatal(err)
	}
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), `"B" is 2×2`) {
		t.Errorf("gradient shape: %v", err)
	}
	l.res.ParamGrads = nil
	l.params = []*losses.Param{a, {Name: "C"}}
	if _, _, err := obj.Compute(emb, labels); err != nil {
		t.Fatal(err)
	}
	if err := obj.StepParams(opt); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("empty parameter: %v", err)
	}
}
