package trainers_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// blobs makes n feature vectors of dim d in k classes: class c is a
// Gaussian blob around its own random centre (spread sets the noise).
func blobs(t testing.TB, seed uint64, n, d, k int, spread float64) *datasets.Features {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	x, labels := testkit.Blobs(rng, testkit.NormalCentres(rng, k, d, 1), n, spread)
	f, err := datasets.NewFeatures(d, x.Data, labels)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mlpTrainer returns a MetricLossOnly on ds with an MLP head, the
// TripletMargin loss, Adam and an MPerClass sampler (m 4, batch 16).
func mlpTrainer(t testing.TB, ds *datasets.Features, seed uint64) *trainers.MetricLossOnly {
	t.Helper()
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{ds.Dim(), 16, 8}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := models.NewOptimizer("adam", 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	tr := trainers.NewMetricLossOnly(enc, opt, 16, loss, ds)
	tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 4, BatchSize: 16, LengthBeforeNewIter: ds.Len()}
	tr.Seed = seed
	return tr
}

// weights copies the encoder's parameters.
func weights(enc models.Encoder) [][]float32 {
	var out [][]float32
	for _, p := range enc.Params() {
		v, _ := p.Float32s()
		out = append(out, append([]float32(nil), v...))
	}
	return out
}

func sameWeights(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if math.Float32bits(a[i][j]) != math.Float32bits(b[i][j]) {
				return false
			}
		}
	}
	return true
}

// recordingMiner wraps a miner and records the counts of its outputs.
type recordingMiner struct {
	m      miners.Miner
	counts []miners.Counts
	out    []tuples.Tuples
}

func (r *recordingMiner) Mine(in miners.Input) (tuples.Tuples, error) {
	tp, err := r.m.Mine(in)
	if err == nil {
		r.counts = append(r.counts, miners.CountOf(tp))
		r.out = append(r.out, tp)
	}
	return tp, err
}

// recordingLoss wraps a loss and records the tuples it was given.
type recordingLoss struct {
	l      losses.Loss
	tuples []tuples.Tuples
	labels [][]int
	emb    []*mat.Dense
}

func (r *recordingLoss) Compute(b losses.Batch) (losses.Result, error) {
	r.tuples = append(r.tuples, b.Tuples)
	r.labels = append(r.labels, append([]int(nil), b.Labels...))
	r.emb = append(r.emb, mat.DenseCopyOf(b.Embeddings))
	return r.l.Compute(b)
}

// centreLoss is a learnable loss for the tests: the mean squared distance
// of every embedding to a learnable centre C (1×E), whose gradient the
// trainer must hand to the LossOptimizer.
type centreLoss struct {
	c *mat.Dense
}

func (l *centreLoss) Params() []*losses.Param { return []*losses.Param{{Name: "C", Value: l.c}} }

func (l *centreLoss) Compute(b losses.Batch) (losses.Result, error) {
	n, e := b.Embeddings.Dims()
	g := mat.NewDense(n, e, nil)
	gc := mat.NewDense(1, e, nil)
	var loss float64
	for i := 0; i < n; i++ {
		for j := 0; j < e; j++ {
			d := b.Embeddings.At(i, j) - l.c.At(0, j)
			loss += d * d / float64(n)
			g.Set(i, j, 2*d/float64(n))
			gc.Set(0, j, gc.At(0, j)-2*d/float64(n))
		}
	}
	return losses.Result{Loss: loss, Grad: g, ParamGrads: map[string]*mat.Dense{"C": gc}}, nil
}

// stopIf is ErrStopTraining when stop holds, else nil.
func stopIf(stop bool) error {
	if stop {
		return trainers.ErrStopTraining
	}
	return nil
}
