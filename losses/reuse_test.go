package losses_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// TestReuse checks Batch.Reuse: the same bits as a fresh call, the
// caller's matrices returned when their shapes fit, new ones when they do
// not, and inputs never overwritten.
func TestReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	batch := benchBatch(32, 8)
	ref := testkit.NormalDense(rng, 16, 8)
	refLabels := make([]int, 16)
	for i := range refLabels {
		refLabels[i] = i / 4
	}
	withRef := losses.Batch{Embeddings: batch.Embeddings, Labels: batch.Labels, Ref: ref, RefLabels: refLabels}
	arc, err := losses.NewArcFace(4, 8, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		loss  losses.Loss
		batch losses.Batch
	}{
		{"contrastive", losses.NewContrastive(), batch},
		{"contrastive with ref", losses.NewContrastive(), withRef},
		{"triplet margin", losses.NewTripletMargin(), batch},
		{"multi similarity", losses.NewMultiSimilarity(), batch},
		{"arcface", arc, batch},
		{"proxy anchor", newProxyAnchor(t, 4, 8, nil), batch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fresh, err := c.loss.Compute(c.batch)
			if err != nil {
				t.Fatal(err)
			}
			// A reused result full of garbage must give the fresh bits.
			prev, err := c.loss.Compute(c.batch)
			if err != nil {
				t.Fatal(err)
			}
			fill(prev.Grad)
			fill(prev.RefGrad)
			for _, m := range prev.ParamGrads {
				fill(m)
			}
			b := c.batch
			b.Reuse = &prev
			got, err := c.loss.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Loss != fresh.Loss {
				t.Errorf("loss %v, fresh %v", got.Loss, fresh.Loss)
			}
			same(t, "Grad", got.Grad, fresh.Grad, prev.Grad)
			same(t, "RefGrad", got.RefGrad, fresh.RefGrad, prev.RefGrad)
			for name, m := range fresh.ParamGrads {
				same(t, name, got.ParamGrads[name], m, prev.ParamGrads[name])
			}
		})
	}
	t.Run("misfit and aliased", func(t *testing.T) {
		loss := losses.NewContrastive()
		small := mat.NewDense(2, 2, nil)
		emb := mat.DenseCopyOf(batch.Embeddings)
		for _, reuse := range []*mat.Dense{small, emb} {
			b := losses.Batch{Embeddings: emb, Labels: batch.Labels, Reuse: &losses.Result{Grad: reuse}}
			got, err := loss.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.Grad == reuse {
				t.Errorf("a %v matrix was reused", reuse == emb)
			}
			if !mat.Equal(emb, batch.Embeddings) {
				t.Fatal("the embeddings were overwritten")
			}
		}
	})
}

func fill(m *mat.Dense) {
	if m == nil {
		return
	}
	raw := m.RawMatrix()
	for i := range raw.Data {
		raw.Data[i] = math.NaN()
	}
}

// same checks that got has want's bits and is the reused matrix.
func same(t *testing.T, what string, got, want, reused *mat.Dense) {
	t.Helper()
	if want == nil {
		if got != nil {
			t.Errorf("%s: got a matrix, want nil", what)
		}
		return
	}
	if got != reused {
		t.Errorf("%s: a new matrix, want the reused one", what)
	}
	r, c := want.Dims()
	for i := range r {
		for j := range c {
			if math.Float64bits(got.At(i, j)) != math.Float64bits(want.At(i, j)) {
				t.Fatalf("%s (%d, %d) = %v, fresh %v", what, i, j, got.At(i, j), want.At(i, j))
			}
		}
	}
}

// TestPooledRecordsSurvive checks that the unreduced records a pooled
// loss returns (reducers.DoNothing) own their memory: a later call on
// other inputs leaves them unchanged.
func TestPooledRecordsSurvive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	labels := benchBatch(24, 6).Labels
	first := losses.Batch{Embeddings: testkit.NormalDense(rng, 24, 6), Labels: labels}
	second := losses.Batch{Embeddings: testkit.NormalDense(rng, 24, 6), Labels: labels}
	for _, mk := range []func() losses.Loss{
		func() losses.Loss { l := losses.NewContrastive(); l.Reducer = reducers.NewDoNothing(); return l },
		func() losses.Loss { l := losses.NewMultiSimilarity(); l.Reducer = reducers.NewDoNothing(); return l },
		func() losses.Loss { l := losses.NewTripletMargin(); l.Reducer = reducers.NewDoNothing(); return l },
	} {
		loss := mk()
		res, err := loss.Compute(first)
		if err != nil {
			t.Fatal(err)
		}
		var saved [][]float64
		for _, r := range res.Records {
			saved = append(saved, append([]float64(nil), r.Values...))
		}
		if _, err := loss.Compute(second); err != nil {
			t.Fatal(err)
		}
		for i, r := range res.Records {
			for j, v := range r.Values {
				if math.Float64bits(v) != math.Float64bits(saved[i][j]) {
					t.Fatalf("%T: record %s value %d changed from %v to %v by a later call", loss, r.Name, j, saved[i][j], v)
				}
			}
		}
		if len(res.Records) == 0 || len(res.Records[0].Values) == 0 {
			t.Fatalf("%T: no records", loss)
		}
	}
}
