package trainers_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/trainers"
	"gonum.org/v1/gonum/mat"
)

// paramRecorder wraps a learnable loss and records, at every Compute, the
// embeddings and labels it got, its parameters' values then, and the
// parameter gradients it returned (copies: the trainer reuses the
// matrices).
type paramRecorder struct {
	l      losses.Loss
	emb    []*mat.Dense
	labels [][]int
	before []map[string]*mat.Dense
	grads  []map[string]*mat.Dense
}

func (r *paramRecorder) Params() []*losses.Param { return r.l.(losses.Learnable).Params() }

func (r *paramRecorder) Compute(b losses.Batch) (losses.Result, error) {
	r.emb = append(r.emb, mat.DenseCopyOf(b.Embeddings))
	r.labels = append(r.labels, append([]int(nil), b.Labels...))
	r.before = append(r.before, paramValues(r.Params()))
	res, err := r.l.Compute(b)
	g := map[string]*mat.Dense{}
	for name, m := range res.ParamGrads {
		g[name] = mat.DenseCopyOf(m)
	}
	r.grads = append(r.grads, g)
	return res, err
}

// paramValues copies the parameters' values by name.
func paramValues(ps []*losses.Param) map[string]*mat.Dense {
	out := map[string]*mat.Dense{}
	for _, p := range ps {
		out[p.Name] = mat.DenseCopyOf(p.Value)
	}
	return out
}

// handOptimizer is torch's update rule written out in float64, one state
// per parameter name.
type handOptimizer struct {
	name   string
	lr     float64
	m, v   map[string][]float64
	t      int
	b1, b2 float64
}

func (h *handOptimizer) step(w map[string]*mat.Dense, g map[string]*mat.Dense) {
	if h.m == nil {
		h.m, h.v = map[string][]float64{}, map[string][]float64{}
	}
	h.t++
	for name, wv := range w {
		wr := wv.RawMatrix().Data
		gr := g[name].RawMatrix().Data
		if h.m[name] == nil {
			h.m[name], h.v[name] = make([]float64, len(wr)), make([]float64, len(wr))
		}
		m, v := h.m[name], h.v[name]
		for i := range wr {
			switch h.name {
			case "sgd":
				wr[i] -= h.lr * gr[i]
			case "adam":
				m[i] = h.b1*m[i] + (1-h.b1)*gr[i]
				v[i] = h.b2*v[i] + (1-h.b2)*gr[i]*gr[i]
				mh := m[i] / (1 - math.Pow(h.b1, float64(h.t)))
				vh := v[i] / (1 - math.Pow(h.b2, float64(h.t)))
				wr[i] -= h.lr * mh / (math.Sqrt(vh) + 1e-8)
			}
		}
	}
}

// closeMats compares two parameter maps entry by entry (atol + rtol·|want|).
func closeMats(got, want map[string]*mat.Dense, rtol, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d parameters, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			return fmt.Errorf("parameter %q missing", name)
		}
		gr, gc := g.Dims()
		wr, wc := w.Dims()
		if gr != wr || gc != wc {
			return fmt.Errorf("%q is %d×%d, want %d×%d", name, gr, gc, wr, wc)
		}
		for i := range wr {
			for j := range wc {
				if a, b := g.At(i, j), w.At(i, j); !(math.Abs(a-b) <= atol+rtol*math.Abs(b)) {
					return fmt.Errorf("%q[%d][%d] = %.15g, want %.15g", name, i, j, a, b)
				}
			}
		}
	}
	return nil
}

// TestLearnableLossSteps trains a PML loss with learnable parameters for
// three iterations through MetricLossOnly and checks every step against an
// independent computation: the parameter gradient the loss returned equals
// the gradient of a fresh copy of the loss (no reused matrices) at the
// parameters the step started from, on the embeddings and labels of that
// step; and the parameters after the step equal the optimizer's rule
// applied by hand to the expected parameters. A gradient that is not
// zeroed between steps (the second step's gradient added to the first's),
// a step applied twice or not at all, or a stale parameter fails it.
func TestLearnableLossSteps(t *testing.T) {
	const classes, emb = 4, 8
	seeded := func(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }
	type maker func() (losses.Loss, error)
	lossMakers := []struct {
		name string
		make maker
	}{
		{"ArcFace", func() (losses.Loss, error) { return losses.NewArcFace(classes, emb, seeded(1)) }},
		{"NormalizedSoftmax", func() (losses.Loss, error) { return losses.NewNormalizedSoftmax(classes, emb, seeded(2)) }},
		{"ProxyAnchor", func() (losses.Loss, error) { return losses.NewProxyAnchor(classes, emb, seeded(3)) }},
		{"CosFace", func() (losses.Loss, error) { return losses.NewCosFace(classes, emb, seeded(4)) }},
	}
	opts := []struct {
		name string
		lr   float64
	}{{"sgd", 0.5}, {"adam", 0.05}}
	ds := blobs(t, 11, 64, 5, classes, 0.8)
	for _, lm := range lossMakers {
		for _, o := range opts {
			t.Run(lm.name+"/"+o.name, func(t *testing.T) {
				loss, err := lm.make()
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := lm.make() // the same initial parameters
				if err != nil {
					t.Fatal(err)
				}
				tr := mlpTrainer(t, ds, 5)
				rec := &paramRecorder{l: loss}
				tr.Loss = rec
				if tr.LossOptimizer, err = models.NewOptimizer(o.name, o.lr); err != nil {
					t.Fatal(err)
				}
				tr.IterationsPerEpoch = 3
				var after []map[string]*mat.Dense
				tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, _ trainers.IterationInfo) error {
					after = append(after, paramValues(rec.Params()))
					return nil
				}
				want := paramValues(fresh.(losses.Learnable).Params())
				if _, err := tr.Train(context.Background(), 1, 1); err != nil {
					t.Fatal(err)
				}
				if len(rec.grads) != 3 || len(after) != 3 {
					t.Fatalf("%d loss calls and %d iterations, want 3 each", len(rec.grads), len(after))
				}
				hand := &handOptimizer{name: o.name, lr: o.lr, b1: 0.9, b2: 0.999}
				for s := range 3 {
					if err := closeMats(rec.before[s], want, 0, 1e-12); err != nil {
						t.Fatalf("step %d: the loss started from other parameters: %v", s+1, err)
					}
					// The independent gradient: a fresh loss at the expected
					// parameters, no reused matrices.
					for _, p := range fresh.(losses.Learnable).Params() {
						p.Value.Copy(want[p.Name])
					}
					res, err := fresh.Compute(losses.Batch{Embeddings: rec.emb[s], Labels: rec.labels[s]})
					if err != nil {
						t.Fatal(err)
					}
					if err := closeMats(rec.grads[s], res.ParamGrads, 1e-12, 1e-14); err != nil {
						t.Fatalf("step %d: parameter gradient: %v", s+1, err)
					}
					hand.step(want, res.ParamGrads)
					if err := closeMats(after[s], want, 1e-10, 1e-12); err != nil {
						t.Fatalf("step %d: parameters after the step: %v", s+1, err)
					}
				}
			})
		}
	}
}
