package testers_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// blobs makes n feature vectors of dim d in k classes around random
// centres, with Gaussian noise of the given spread; first labels the
// classes from first on.
func blobs(t testing.TB, seed uint64, n, d, k, first int, spread float64) *datasets.Features {
	t.Helper()
	// The same centres for every split.
	centres := testkit.NormalCentres(rand.New(rand.NewPCG(99, 3)), k+first, d, 4)
	x, labels := testkit.Blobs(rand.New(rand.NewPCG(seed, 2)), centres[first:], n, spread)
	for i := range labels {
		labels[i] += first
	}
	f, err := datasets.NewFeatures(d, x.Data, labels)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func encoder(t testing.TB, d, e int) testers.EmbedFunc {
	t.Helper()
	return linear(d, e)
}

// direct embeds ds in one call, normalises as torch's F.normalize, and
// returns the embeddings with their labels.
func direct(t *testing.T, enc testers.EmbedFunc, ds *datasets.Features, normalize bool) (gometric.Matrix, []int) {
	t.Helper()
	y, err := enc.Embed(gometric.Matrix{Rows: ds.Len(), Cols: ds.Dim(), Data: append([]float32(nil), ds.Data()...)})
	if err != nil {
		t.Fatal(err)
	}
	e := y.Cols
	if normalize {
		for i := 0; i < ds.Len(); i++ {
			row := y.Data[i*e : (i+1)*e]
			var s float64
			for _, v := range row {
				s += float64(v) * float64(v)
			}
			for j := range row {
				row[j] /= float32(math.Max(math.Sqrt(s), 1e-12))
			}
		}
	}
	return gometric.Matrix{Rows: ds.Len(), Cols: e, Data: y.Data}, slices.Clone(ds.Labels())
}

func TestMatchesCalculator(t *testing.T) {
	train := blobs(t, 1, 60, 5, 3, 0, 0.7)
	test := blobs(t, 2, 45, 5, 3, 0, 0.7)
	enc := encoder(t, 5, 4)
	calc := accuracy.NewCalculator()
	for _, normalize := range []bool{true, false} {
		for _, bs := range []int{1, 7, 32, 1000} {
			tester := testers.NewGlobalEmbeddingSpace()
			tester.Normalize = normalize
			tester.BatchSize = bs
			tester.Calculator = calc
			got, err := tester.Test(context.Background(), enc,
				map[string]datasets.Dataset{"train": train, "test": test},
				testers.Eval{Query: "test", References: []string{"train", "test"}},
				testers.Eval{Query: "train", References: []string{"train"}},
			)
			if err != nil {
				t.Fatal(err)
			}
			qe, ql := direct(t, enc, test, normalize)
			re, rl := direct(t, enc, train, normalize)
			// The query split comes first in its reference.
			ref := gometric.Matrix{Rows: qe.Rows + re.Rows, Cols: qe.Cols, Data: append(append([]float32(nil), qe.Data...), re.Data...)}
			want, err := calc.Accuracy(qe, ql, ref, append(slices.Clone(ql), rl...), true)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["test"], want) {
				t.Errorf("normalize %v, batch %d: test vs train+test\n got %v\nwant %v", normalize, bs, got["test"], want)
			}
			want, err = calc.SelfAccuracy(re, rl)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["train"], want) {
				t.Errorf("normalize %v, batch %d: train vs itself\n got %v\nwant %v", normalize, bs, got["train"], want)
			}
			if len(got) != 2 {
				t.Errorf("%d splits in the result, want 2", len(got))
			}
		}
	}
}

// A query split against other splits only: the reference excludes the
// query.
func TestSeparateReference(t *testing.T) {
	train := blobs(t, 1, 60, 5, 3, 0, 0.1)
	test := blobs(t, 2, 30, 5, 3, 0, 0.1)
	enc := encoder(t, 5, 4)
	tester := testers.NewGlobalEmbeddingSpace()
	got, err := tester.Test(context.Background(), enc, map[string]datasets.Dataset{"train": train, "test": test},
		testers.Eval{Query: "test", References: []string{"train"}})
	if err != nil {
		t.Fatal(err)
	}
	qe, ql := direct(t, enc, test, true)
	re, rl := direct(t, enc, train, true)
	want, err := accuracy.NewCalculator().Accuracy(qe, ql, re, rl, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["test"], want) {
		t.Errorf("got %v\nwant %v", got["test"], want)
	}
	// The blobs are well separated: retrieval is perfect.
	for _, n := range []string{accuracy.NamePrecisionAt1, accuracy.NameRPrecision, accuracy.NameMeanAveragePrecisionAtR} {
		if v := got["test"][n].Scalar; v != 1 {
			t.Errorf("%s = %v on separable blobs, want 1", n, v)
		}
	}
	if _, ok := got["train"]; ok {
		t.Error("the train split was not a query but has results")
	}
}

// With no Eval, every split is evaluated against itself.
func TestDefaultEvals(t *testing.T) {
	a := blobs(t, 1, 30, 5, 3, 0, 0.5)
	b := blobs(t, 2, 24, 5, 4, 3, 0.5)
	enc := encoder(t, 5, 4)
	tester := testers.NewGlobalEmbeddingSpace()
	got, err := tester.Test(context.Background(), enc, map[string]datasets.Dataset{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	for name, ds := range map[string]*datasets.Features{"a": a, "b": b} {
		e, l := direct(t, enc, ds, true)
		want, err := accuracy.NewCalculator().SelfAccuracy(e, l)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[name], want) {
			t.Errorf("split %s: got %v\nwant %v", name, got[name], want)
		}
	}
}

func TestEmbeddings(t *testing.T) {
	ds := blobs(t, 1, 10, 5, 2, 0, 0.5)
	enc := encoder(t, 5, 4)
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = 3
	got, labels, err := tester.Embeddings(context.Background(), enc, ds)
	if err != nil {
		t.Fatal(err)
	}
	want, wl := direct(t, enc, ds, true)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(labels, wl) {
		t.Errorf("got %v %v\nwant %v %v", got, labels, want, wl)
	}
	for i := 0; i < got.Rows; i++ {
		var s float64
		for _, v := range got.Row(i) {
			s += float64(v) * float64(v)
		}
		if math.Abs(s-1) > 1e-5 {
			t.Errorf("row %d has squared norm %v", i, s)
		}
	}
}

// emptyish is a dataset with a configurable length and labels.
type fakeDataset struct {
	n      int
	labels []int
	shape  []int
}

func (f fakeDataset) Len() int           { return f.n }
func (f fakeDataset) Labels() []int      { return f.labels }
func (f fakeDataset) SampleShape() []int { return f.shape }
func (f fakeDataset) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	out := gometric.Matrix{Rows: len(idx), Cols: f.shape[0], Data: make([]float32, len(idx)*f.shape[0])}
	for i := range out.Data {
		out.Data[i] = float32(math.NaN())
	}
	return out, make([]int, len(idx)), nil
}

func TestErrors(t *testing.T) {
	ds := blobs(t, 1, 12, 5, 3, 0, 0.5)
	enc := encoder(t, 5, 4)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		enc    testers.Embedder
		splits map[string]datasets.Dataset
		evals  []testers.Eval
		bs     int
		want   error
	}{
		{"nil encoder", context.Background(), nil, map[string]datasets.Dataset{"a": ds}, nil, 32, gometric.ErrSetting},
		{"no split", context.Background(), enc, nil, nil, 32, gometric.ErrSetting},
		{"batch size 0", context.Background(), enc, map[string]datasets.Dataset{"a": ds}, nil, 0, gometric.ErrSetting},
		{"unknown query", context.Background(), enc, map[string]datasets.Dataset{"a": ds}, []testers.Eval{{Query: "b", References: []string{"a"}}}, 32, gometric.ErrSetting},
		{"unknown reference", context.Background(), enc, map[string]datasets.Dataset{"a": ds}, []testers.Eval{{Query: "a", References: []string{"a", "c"}}}, 32, gometric.ErrSetting},
		{"no reference", context.Background(), enc, map[string]datasets.Dataset{"a": ds}, []testers.Eval{{Query: "a"}}, 32, gometric.ErrSetting},
		{"query twice", context.Background(), enc, map[string]datasets.Dataset{"a": ds}, []testers.Eval{{Query: "a", References: []string{"a"}}, {Query: "a", References: []string{"a"}}}, 32, gometric.ErrSetting},
		{"shape", context.Background(), enc, map[string]datasets.Dataset{"a": blobs(t, 1, 12, 3, 3, 0, 0.5)}, nil, 32, gometric.ErrShape},
		{"empty", context.Background(), enc, map[string]datasets.Dataset{"a": fakeDataset{0, nil, []int{5}}}, nil, 32, gometric.ErrShape},
		{"labels", context.Background(), enc, map[string]datasets.Dataset{"a": fakeDataset{3, []int{1}, []int{5}}}, nil, 32, gometric.ErrLabels},
		{"NaN input", context.Background(), enc, map[string]datasets.Dataset{"a": fakeDataset{3, []int{1, 1, 2}, []int{5}}}, nil, 32, gometric.ErrNonFinite},
		{"cancelled", cancelled, enc, map[string]datasets.Dataset{"a": ds}, nil, 32, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tester := testers.NewGlobalEmbeddingSpace()
			tester.BatchSize = tc.bs
			_, err := tester.Test(tc.ctx, tc.enc, tc.splits, tc.evals...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != context.Canceled && !strings.HasPrefix(err.Error(), "testers.GlobalEmbeddingSpace") {
				t.Errorf("error %q does not name the tester", err)
			}
		})
	}
}
