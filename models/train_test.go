package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
)

// crossEntropy treats the embeddings as class logits: the mean softmax
// cross-entropy and its gradient.
func crossEntropy(labels []int) LossFunc {
	return func(m gometric.Matrix) (float32, gometric.Matrix, error) {
		n, e, emb := m.Rows, m.Cols, m.Data
		g := make([]float32, len(emb))
		var loss float64
		for i := 0; i < n; i++ {
			row := emb[i*e : (i+1)*e]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, float64(v))
			}
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v) - m)
			}
			for j, v := range row {
				p := math.Exp(float64(v)-m) / z
				if j == labels[i] {
					loss -= math.Log(p)
					p--
				}
				g[i*e+j] = float32(p / float64(n))
			}
		}
		return float32(loss / float64(n)), gometric.Matrix{Rows: n, Cols: e, Data: g}, nil
	}
}

// stripes makes n 1×8×8 images of 3 classes: a bright horizontal band in
// the top, middle or bottom third, plus noise.
func stripes(rng *rand.Rand, n int) (gometric.Matrix, []int) {
	x := gometric.Matrix{Rows: n, Cols: 64, Data: make([]float32, n*64)}
	labels := make([]int, n)
	for i := range labels {
		c := i % 3
		labels[i] = c
		for y := 0; y < 8; y++ {
			for xx := 0; xx < 8; xx++ {
				v := 0.3 * rng.NormFloat64()
				if y/3 == c || (c == 2 && y == 8-1) {
					v += 1
				}
				x.Data[i*64+y*8+xx] = float32(v)
			}
		}
	}
	return x, labels
}

func accuracy(t *testing.T, enc Encoder, x gometric.Matrix, labels []int) float64 {
	e, err := enc.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, l := range labels {
		row := e.Row(i)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == l {
			right++
		}
	}
	return float64(right) / float64(len(labels))
}

// TestTrainingLowersLoss trains each encoder a few steps on a separable
// problem: the loss falls and held-out samples are classified.
func TestTrainingLowersLoss(t *testing.T) {
	for _, name := range []string{"adam", "sgd", "rmsprop"} {
		t.Run("ConvNet/"+name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			enc, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 8, Width: 8, Blocks: []int{4}, Embedding: 3, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			opt, err := NewOptimizer(name, map[string]float64{"adam": 0.02, "sgd": 0.2, "rmsprop": 0.01}[name])
			if err != nil {
				t.Fatal(err)
			}
			opt.Momentum = 0.9
			testX, testY := stripes(rng, 30)
			var first, last float32
			for step := 0; step < 30; step++ {
				x, y := stripes(rng, 12)
				l, err := enc.TrainStep(x, crossEntropy(y))
				if err != nil {
					t.Fatal(err)
				}
				if err := enc.Step(opt); err != nil {
					t.Fatal(err)
				}
				if step == 0 {
					first = l
				}
				last = l
			}
			acc := accuracy(t, enc, testX, testY)
			t.Logf("loss %v → %v, acc %v", first, last, acc)
			if !(last < first/4) || acc < 0.9 {
				t.Fatalf("loss %v → %v, held-out accuracy %v", first, last, acc)
			}
		})
	}
	t.Run("MLP", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		enc, err := NewMLP(MLPConfig{Sizes: []int{64, 16, 3}, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		opt, err := NewOptimizer("adam", 0.01)
		if err != nil {
			t.Fatal(err)
		}
		testX, testY := stripes(rng, 30)
		var first, last float32
		for step := 0; step < 30; step++ {
			x, y := stripes(rng, 12)
			l, err := enc.TrainStep(x, crossEntropy(y))
			if err != nil {
				t.Fatal(err)
			}
			if err := enc.Step(opt); err != nil {
				t.Fatal(err)
			}
			if step == 0 {
				first = l
			}
			last = l
		}
		if acc := accuracy(t, enc, (testX), testY); !(last < first/4) || acc < 0.9 {
			t.Fatalf("loss %v → %v, held-out accuracy %v", first, last, acc)
		}
	})
}
