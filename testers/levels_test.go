package testers_test

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
	"gonum.org/v1/gonum/mat"
)

// multi is a data set with labels at several levels.
type multi struct {
	*datasets.Features
	levels [][]int
}

func (m multi) LabelLevels() int { return len(m.levels) }

func (m multi) LabelsAt(level int) ([]int, error) {
	if level < 0 || level >= len(m.levels) {
		return nil, fmt.Errorf("level %d: %w", level, gometric.ErrIndex)
	}
	return m.levels[level], nil
}

// The image data sets with label levels are MultiLevel.
var _ testers.MultiLevel = (*datasets.ImageFiles)(nil)

func features(t testing.TB, dim int, x []float32, labels []int) *datasets.Features {
	t.Helper()
	f, err := datasets.NewFeatures(dim, x, labels)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// twoLevels gives blobs a parent level: label / 2.
func twoLevels(t testing.TB, ds *datasets.Features) multi {
	parent := make([]int, ds.Len())
	for i, l := range ds.Labels() {
		parent[i] = l / 2
	}
	return multi{ds, [][]int{slices.Clone(ds.Labels()), parent}}
}

func TestEvaluateKeysAndLevels(t *testing.T) {
	ds := twoLevels(t, blobs(t, 1, 40, 5, 4, 0, 1.5))
	enc := encoder(t, 5, 4)
	ctx := context.Background()
	e, _ := direct(t, enc, ds.Features, true)
	calc := accuracy.NewCalculator()
	want := make([]accuracy.Results, 2)
	for l := range want {
		var err error
		if want[l], err = calc.SelfAccuracy(e, ds.levels[l]); err != nil {
			t.Fatal(err)
		}
	}
	splits := map[string]datasets.Dataset{"a": ds}
	g := testers.NewGlobalEmbeddingSpace()
	// Default: level 0, PML's keys in Evaluate, plain ones in Test.
	plain, err := g.Test(ctx, enc, splits)
	if err != nil || !reflect.DeepEqual(plain["a"], want[0]) {
		t.Fatalf("Test: %v\n got %v\nwant %v", err, plain["a"], want[0])
	}
	keyed, err := g.Evaluate(ctx, enc, splits)
	if err != nil {
		t.Fatal(err)
	}
	if len(keyed["a"]) != len(want[0]) {
		t.Errorf("Evaluate has %d keys, want %d", len(keyed["a"]), len(want[0]))
	}
	for n, v := range want[0] {
		if !reflect.DeepEqual(keyed["a"][n+"_level0"], v) {
			t.Errorf("%s_level0 = %v, want %v", n, keyed["a"][n+"_level0"], v)
		}
	}
	// One other level.
	g.LabelHierarchyLevel = []int{1}
	plain, err = g.Test(ctx, enc, splits)
	if err != nil || !reflect.DeepEqual(plain["a"], want[1]) {
		t.Fatalf("Test at level 1: %v\n got %v\nwant %v", err, plain["a"], want[1])
	}
	// Every level, with the averages.
	for _, set := range []func(){func() { g.AllLevels = true }, func() { g.AllLevels, g.LabelHierarchyLevel = false, []int{1, 0} }} {
		set()
		keyed, err = g.Evaluate(ctx, enc, splits)
		if err != nil {
			t.Fatal(err)
		}
		if len(keyed["a"]) != 3*len(want[0]) {
			t.Errorf("Evaluate over 2 levels has %d keys, want %d", len(keyed["a"]), 3*len(want[0]))
		}
		for n := range want[0] {
			for l := range 2 {
				if got := keyed["a"][n+"_level"+string(rune('0'+l))]; !reflect.DeepEqual(got, want[l][n]) {
					t.Errorf("%s_level%d = %v, want %v", n, l, got, want[l][n])
				}
			}
			avg := (want[0][n].Scalar + want[1][n].Scalar) / 2
			if got := keyed["a"]["AVERAGE_"+n].Scalar; math.Abs(got-avg) > 1e-15 {
				t.Errorf("AVERAGE_%s = %v, want %v", n, got, avg)
			}
		}
		if _, err := g.Test(ctx, enc, splits); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "Evaluate") {
			t.Errorf("Test over 2 levels: %v, want an ErrSetting naming Evaluate", err)
		}
	}
	// A single-level data set with AllLevels: level 0 only.
	g.AllLevels = true
	if _, err := g.Test(ctx, enc, map[string]datasets.Dataset{"a": ds.Features}); err != nil {
		t.Errorf("AllLevels on one level: %v", err)
	}
	if _, _, err := g.Embeddings(ctx, enc, fakeDataset{3, []int{1}, []int{5}}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("Embeddings of a data set with too few labels: %v, want ErrLabels", err)
	}
	for _, tc := range []struct {
		name   string
		levels []int
		ds     datasets.Dataset
		want   error
	}{
		{"level beyond", []int{2}, ds, gometric.ErrSetting},
		{"negative level", []int{-1}, ds, gometric.ErrSetting},
		{"level twice", []int{0, 0}, ds, gometric.ErrSetting},
		{"level 1 of a single-level set", []int{1}, ds.Features, gometric.ErrSetting},
		{"no levels", nil, multi{ds.Features, nil}, gometric.ErrLabels},
		{"a short level", nil, multi{ds.Features, [][]int{ds.levels[0], ds.levels[1][1:]}}, gometric.ErrLabels},
		{"level 0 differs", nil, multi{ds.Features, [][]int{ds.levels[1], ds.levels[1]}}, gometric.ErrLabels},
		{"math.MaxInt level", []int{math.MaxInt}, ds, gometric.ErrSetting},
	} {
		g := testers.NewGlobalEmbeddingSpace()
		g.LabelHierarchyLevel = tc.levels
		_, err := g.Evaluate(ctx, enc, map[string]datasets.Dataset{"a": tc.ds})
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "testers.GlobalEmbeddingSpace: ") {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReferenceSets(t *testing.T) {
	if got, want := testers.ComparedToSelf("a", "b"), []testers.Eval{{Query: "a", References: []string{"a"}}, {Query: "b", References: []string{"b"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ComparedToSelf = %v", got)
	}
	if got, want := testers.ComparedToSetsCombined("a", "b"), []testers.Eval{{Query: "a", References: []string{"a", "b"}}, {Query: "b", References: []string{"a", "b"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ComparedToSetsCombined = %v", got)
	}
	if got, want := testers.ComparedToTrainingSet("train", "train", "val"), []testers.Eval{{Query: "train", References: []string{"train"}}, {Query: "val", References: []string{"train"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ComparedToTrainingSet = %v", got)
	}
	train := blobs(t, 1, 30, 5, 3, 0, 1)
	val := blobs(t, 2, 21, 5, 3, 0, 1)
	enc := encoder(t, 5, 4)
	ctx := context.Background()
	splits := map[string]datasets.Dataset{"train": train, "val": val}
	g := testers.NewGlobalEmbeddingSpace()
	calc := accuracy.NewCalculator()
	te, tl := direct(t, enc, train, true)
	ve, vl := direct(t, enc, val, true)
	got, err := g.Test(ctx, enc, splits, testers.ComparedToSetsCombined("train", "val")...)
	if err != nil {
		t.Fatal(err)
	}
	both := gometric.Matrix{Rows: ve.Rows + te.Rows, Cols: ve.Cols, Data: append(slices.Clone(ve.Data), te.Data...)}
	want, err := calc.Accuracy(ve, vl, both, append(slices.Clone(vl), tl...), true)
	if err != nil || !reflect.DeepEqual(got["val"], want) {
		t.Errorf("sets combined, val: %v\n got %v\nwant %v", err, got["val"], want)
	}
	got, err = g.Test(ctx, enc, splits, testers.ComparedToTrainingSet("train", "val")...)
	if err != nil {
		t.Fatal(err)
	}
	want, err = calc.Accuracy(ve, vl, te, tl, false)
	if err != nil || !reflect.DeepEqual(got["val"], want) {
		t.Errorf("training set, val: %v\n got %v\nwant %v", err, got["val"], want)
	}
	if _, err := g.Test(ctx, enc, splits, testers.ComparedToTrainingSet("", "val")...); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("no training split: %v", err)
	}
}

func TestUseTrunkOutput(t *testing.T) {
	ds := blobs(t, 1, 20, 5, 2, 0, 1)
	trunk, head := linear(5, 4), linear(4, 3)
	ctx := context.Background()
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize = false
	both := testers.TrunkEmbedder{Trunk: trunk, Embedder: head}
	full, _, err := g.Embeddings(ctx, both, ds)
	if err != nil {
		t.Fatal(err)
	}
	x := gometric.Matrix{Rows: ds.Len(), Cols: 5, Data: ds.Data()}
	mid, _ := trunk.Embed(x)
	want, _ := head.Embed(mid)
	if !reflect.DeepEqual(full, want) {
		t.Errorf("TrunkEmbedder embeds to %v, want %v", full.Data[:3], want.Data[:3])
	}
	g.UseTrunkOutput = true
	for _, enc := range []testers.Embedder{both, &both, testers.TrunkEmbedder{Trunk: trunk}} {
		got, _, err := g.Embeddings(ctx, enc, ds)
		if err != nil || !reflect.DeepEqual(got, mid) {
			t.Errorf("UseTrunkOutput with %T: %v", enc, err)
		}
	}
	if got, _ := (testers.TrunkEmbedder{Trunk: trunk}).Embed(x); !reflect.DeepEqual(got, mid) {
		t.Error("a TrunkEmbedder without Embedder is not its trunk (PML's Identity)")
	}
	for _, enc := range []testers.Embedder{trunk, testers.TrunkEmbedder{Embedder: head}, &testers.TrunkEmbedder{Trunk: testers.EmbedFunc(nil)}} {
		if _, err := g.Test(ctx, enc, map[string]datasets.Dataset{"a": ds}); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("UseTrunkOutput with %#v: %v, want ErrSetting", enc, err)
		}
	}
	if _, err := (testers.TrunkEmbedder{}).Embed(x); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("zero TrunkEmbedder: %v", err)
	}
}

// TestPCA checks the PCA option against a hand computation with gonum's
// SVD: standardise (unbiased std), centre, project on the leading right
// singular vectors; the components agree up to sign.
func TestPCA(t *testing.T) {
	ds := blobs(t, 3, 50, 6, 3, 0, 1)
	enc := encoder(t, 6, 5)
	ctx := context.Background()
	raw, _ := direct(t, enc, ds, false)
	n, d := raw.Rows, raw.Cols
	z := mat.NewDense(n, d, nil)
	for j := range d {
		var s, ss float64
		for i := range n {
			s += float64(raw.Data[i*d+j])
		}
		mu := s / float64(n)
		for i := range n {
			v := float64(raw.Data[i*d+j]) - mu
			ss += v * v
		}
		sd := math.Sqrt(ss / float64(n-1))
		for i := range n {
			z.Set(i, j, (float64(raw.Data[i*d+j])-mu)/sd)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(z, mat.SVDThin) {
		t.Fatal("SVD")
	}
	var v mat.Dense
	svd.VTo(&v)
	var proj mat.Dense
	proj.Mul(z, &v)
	for _, dims := range []int{1, 2, 5} {
		g := testers.NewGlobalEmbeddingSpace()
		g.Normalize, g.PCA = false, dims
		got, _, err := g.Embeddings(ctx, enc, ds)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rows != n || got.Cols != dims {
			t.Fatalf("PCA %d: %d×%d", dims, got.Rows, got.Cols)
		}
		for c := range dims {
			sign := math.Copysign(1, float64(got.Row(0)[c])*proj.At(0, c))
			for i := range n {
				if w := sign * proj.At(i, c); math.Abs(float64(got.Row(i)[c])-w) > 1e-4*(1+math.Abs(w)) {
					t.Fatalf("PCA %d: [%d,%d] = %v, want %v", dims, i, c, got.Row(i)[c], w)
				}
			}
		}
		// Normalised after PCA, as PML's maybe_normalize.
		g.Normalize = true
		normed, _, err := g.Embeddings(ctx, enc, ds)
		if err != nil {
			t.Fatal(err)
		}
		got.L2Normalize()
		if !reflect.DeepEqual(normed, got) {
			t.Errorf("PCA %d then normalisation differs", dims)
		}
		if _, err := g.Test(ctx, enc, map[string]datasets.Dataset{"a": ds}); err != nil {
			t.Errorf("Test with PCA %d: %v", dims, err)
		}
	}
	constant := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		y := gometric.Matrix{Rows: x.Rows, Cols: 2, Data: make([]float32, 2*x.Rows)}
		for i := range x.Rows {
			y.Data[2*i] = x.Data[i*x.Cols]
		}
		return y, nil
	})
	one := features(t, 6, ds.Data()[:6], ds.Labels()[:1])
	for _, tc := range []struct {
		name string
		pca  int
		enc  testers.Embedder
		ds   datasets.Dataset
		want error
	}{
		{"beyond the dimension", 6, enc, ds, gometric.ErrSetting},
		{"math.MaxInt", math.MaxInt, enc, ds, gometric.ErrSetting},
		{"negative", -1, enc, ds, gometric.ErrSetting},
		{"constant column", 1, constant, ds, gometric.ErrNonFinite},
		{"one sample", 1, enc, one, gometric.ErrNonFinite},
	} {
		g := testers.NewGlobalEmbeddingSpace()
		g.PCA = tc.pca
		if _, err := g.Test(ctx, tc.enc, map[string]datasets.Dataset{"a": tc.ds}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEndOfTesting(t *testing.T) {
	ds := blobs(t, 1, 20, 5, 2, 0, 1)
	enc := encoder(t, 5, 4)
	ctx := context.Background()
	g := testers.NewGlobalEmbeddingSpace()
	var seen map[string]accuracy.Results
	g.EndOfTesting = func(r map[string]accuracy.Results) error { seen = r; return nil }
	want, err := g.Evaluate(ctx, enc, map[string]datasets.Dataset{"a": ds})
	if err != nil || !reflect.DeepEqual(seen, want) {
		t.Errorf("the hook saw %v, Evaluate returned %v (%v)", seen, want, err)
	}
	seen = nil
	if _, err := g.Test(ctx, enc, map[string]datasets.Dataset{"a": ds}); err != nil || !reflect.DeepEqual(seen, want) {
		t.Errorf("after Test the hook saw %v (%v)", seen, err)
	}
	boom := errors.New("boom")
	g.EndOfTesting = func(map[string]accuracy.Results) error { return boom }
	if res, err := g.Test(ctx, enc, map[string]datasets.Dataset{"a": ds}); !errors.Is(err, boom) || res != nil {
		t.Errorf("failing hook: %v, %v", res, err)
	}
}

// TestWithSameParentLabel checks precision@1 on a line against a hand
// count. Parent 0: 0 (c0), 1 (c0), 1.4 (c1), 3 (c1): nearest neighbours
// 1 ✓, 1.4 ✗, 1 ✗, 1.4 ✓ = 0.5. Parent 1: 1.2, 100, 101 (c2), 110, 112
// (c3): all ✓ = 1. The mean is 0.75; globally 1 and 1.4 and 1.2 all
// miss: 6/9.
func TestWithSameParentLabel(t *testing.T) {
	x := []float32{0, 1, 1.4, 3, 1.2, 100, 101, 110, 112}
	l0 := []int{0, 0, 1, 1, 2, 2, 2, 3, 3}
	l1 := []int{0, 0, 0, 0, 1, 1, 1, 1, 1}
	ds := multi{features(t, 1, x, l0), [][]int{l0, l1}}
	identity := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x, nil })
	ctx := context.Background()
	calc := &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1}}
	w := testers.NewWithSameParentLabel()
	w.Normalize, w.Calculator = false, calc
	splits := map[string]datasets.Dataset{"a": ds}
	for _, all := range []bool{false, true} { // level 1 has no parent
		w.AllLevels = all
		got, err := w.Evaluate(ctx, identity, splits)
		if err != nil {
			t.Fatal(err)
		}
		if v := got["a"]["precision_at_1_level0"].Scalar; v != 0.75 || len(got["a"]) != 1 {
			t.Errorf("AllLevels %v: %v, want precision_at_1_level0 0.75 alone", all, got["a"])
		}
	}
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize, g.Calculator = false, calc
	if got, err := g.Test(ctx, identity, splits); err != nil || math.Abs(got["a"][accuracy.NamePrecisionAt1].Scalar-6.0/9) > 1e-12 {
		t.Errorf("global: %v %v, want 6/9", got, err)
	}
	// Against another split: each parent's queries retrieve within it.
	ref := multi{features(t, 1, []float32{0.9, 1.3, 1.25, 99}, []int{1, 0, 0, 2}), [][]int{{1, 0, 0, 2}, {0, 0, 1, 1}}}
	w.AllLevels = false
	got, err := w.Test(ctx, identity, map[string]datasets.Dataset{"a": ds, "r": ref}, testers.Eval{Query: "a", References: []string{"r"}})
	// parent 0 queries 0,1,1.4,3 vs {0.9 c1, 1.3 c0}: ✗ ✗ ✗ ✗ → 0 (c0 ✓ at 1.3 for 1.4? 1.4 is c1: ✗);
	// 0 → 0.9 (c1) ✗; 1 → 0.9 (c1) ✗; 1.4 → 1.3 (c0) ✗; 3 → 1.3 (c0) ✗.
	// parent 1 queries vs {1.25 c0, 99 c2}: 1.2 → 1.25 ✗; 100, 101 → 99 ✓; 110, 112 (c3, lone) are skipped: 2/3.
	if err != nil || math.Abs(got["a"][accuracy.NamePrecisionAt1].Scalar-(0+2.0/3)/2) > 1e-12 {
		t.Errorf("against r: %v %v, want 1/3", got, err)
	}
	if _, err := w.Test(ctx, identity, map[string]datasets.Dataset{"a": ds.Features}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("no parent level: %v, want ErrSetting", err)
	}
	noParent := multi{features(t, 1, []float32{5}, []int{1}), [][]int{{1}, {7}}}
	if _, err := w.Test(ctx, identity, map[string]datasets.Dataset{"a": ds, "r": noParent}, testers.Eval{Query: "a", References: []string{"r"}}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("a parent missing from the reference: %v, want ErrLabels", err)
	}
}

// TestGlobalTwoStream checks precision@1 against a hand count: anchors
// 0, 10, 20, 13 (labels 0..3) retrieve among positives 1, 14, 21, 10.5:
// 0 → 1 ✓, 10 → 10.5 ✗, 20 → 21 ✓, 13 → 14 ✗ = 0.5.
func TestGlobalTwoStream(t *testing.T) {
	labels := []int{0, 1, 2, 3}
	anchors := features(t, 1, []float32{0, 10, 20, 13}, labels)
	positives := features(t, 1, []float32{1, 14, 21, 10.5}, labels)
	identity := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x, nil })
	ctx := context.Background()
	g := testers.NewGlobalTwoStreamEmbeddingSpace()
	g.Normalize = false
	g.Calculator = &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecisionAtR}}
	splits := map[string]testers.TwoStreamSplit{"a": {anchors, positives}}
	got, err := g.Evaluate(ctx, identity, splits)
	if err != nil {
		t.Fatal(err)
	}
	if v := got["a"]["precision_at_1_level0"].Scalar; v != 0.5 {
		t.Errorf("precision_at_1_level0 = %v, want 0.5", v)
	}
	a, p, l, err := g.Embeddings(ctx, identity, splits["a"])
	if err != nil || !slices.Equal(l, labels) {
		t.Fatal(err)
	}
	want, _ := g.Calculator.Accuracy(a, l, p, l, false)
	plain, err := g.Test(ctx, identity, splits)
	if err != nil || !reflect.DeepEqual(plain["a"], want) {
		t.Errorf("Test = %v (%v), want %v", plain, err, want)
	}
	bad := features(t, 1, []float32{1, 14, 21, 10.5}, []int{0, 1, 2, 2})
	short := features(t, 1, []float32{1, 14, 21}, []int{0, 1, 2})
	for _, tc := range []struct {
		name   string
		splits map[string]testers.TwoStreamSplit
		evals  []testers.Eval
		want   error
	}{
		{"other reference", map[string]testers.TwoStreamSplit{"a": {anchors, positives}, "b": {anchors, positives}}, []testers.Eval{{Query: "a", References: []string{"b"}}}, gometric.ErrSetting},
		{"two references", map[string]testers.TwoStreamSplit{"a": {anchors, positives}, "b": {anchors, positives}}, []testers.Eval{{Query: "a", References: []string{"a", "b"}}}, gometric.ErrSetting},
		{"labels differ", map[string]testers.TwoStreamSplit{"a": {anchors, bad}}, nil, gometric.ErrLabels},
		{"lengths differ", map[string]testers.TwoStreamSplit{"a": {anchors, short}}, nil, gometric.ErrShape},
		{"no positives", map[string]testers.TwoStreamSplit{"a": {Anchors: anchors}}, nil, gometric.ErrSetting},
		{"zero split", map[string]testers.TwoStreamSplit{"a": {}}, nil, gometric.ErrSetting},
	} {
		_, err := g.Test(ctx, identity, tc.splits, tc.evals...)
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "testers.GlobalTwoStreamEmbeddingSpace: ") {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestVisualizer(t *testing.T) {
	dir := t.TempDir()
	ds := twoLevels(t, blobs(t, 1, 40, 5, 4, 0, 0.5))
	enc := encoder(t, 5, 4)
	g := testers.NewGlobalEmbeddingSpace()
	g.AllLevels = true
	g.Visualize = testers.PNGVisualizer(dir)
	if _, err := g.Evaluate(context.Background(), enc, map[string]datasets.Dataset{"tr/ain": ds}); err != nil {
		t.Fatal(err)
	}
	for level, classes := range []int{4, 2} {
		path := filepath.Join(dir, "tr_ain_PCA_level"+string(rune('0'+level))+".png")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b := img.Bounds()
		if b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s is %v", path, b)
		}
		// The classes' colours are saturated; axes and text are grey.
		colours := map[[3]uint32]bool{}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if max(r, g, bl)-min(r, g, bl) > 0xa000 {
					colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
				}
			}
		}
		if len(colours) < classes {
			t.Errorf("%s has %d saturated colours, want at least %d (one per class)", path, len(colours), classes)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files written, want 2", len(entries))
	}
	for _, tc := range []struct {
		name   string
		emb    gometric.Matrix
		labels []int
		want   error
	}{
		{"empty", gometric.Matrix{}, nil, gometric.ErrShape},
		{"NaN", gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{float32(math.NaN()), 1}}, []int{0}, gometric.ErrNonFinite},
		{"short data", gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1}}, []int{0, 1}, gometric.ErrShape},
		{"huge", gometric.Matrix{Rows: 1 << 40, Cols: 1 << 30}, nil, gometric.ErrShape},
		{"labels", gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, 3, 4}}, []int{0}, gometric.ErrLabels},
	} {
		if err := testers.ScatterPNG(filepath.Join(dir, "x.png"), tc.emb, tc.labels); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// One dimension, one point, many classes (no legend).
	many := gometric.Matrix{Rows: 30, Cols: 1, Data: make([]float32, 30)}
	labels := make([]int, 30)
	for i := range labels {
		many.Data[i], labels[i] = float32(i), i*1e15
	}
	if err := testers.ScatterPNG(filepath.Join(dir, "many.png"), many, labels); err != nil {
		t.Error(err)
	}
	if err := testers.ScatterPNG(filepath.Join(dir, "one.png"), gometric.Matrix{Rows: 1, Cols: 3, Data: []float32{1, 2, 3}}, []int{math.MinInt}); err != nil {
		t.Error(err)
	}
	if err := testers.PNGVisualizer("")("a", 0, many, labels); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("empty dir: %v", err)
	}
	if err := testers.PNGVisualizer(dir)("..", 0, many, labels); err != nil {
		t.Error(err)
	} else if _, err := os.Stat(filepath.Join(dir, "____PCA_level0.png")); err != nil {
		t.Errorf("split \"..\": %v", err)
	}
	g.Visualize = func(string, int, gometric.Matrix, []int) error { return errors.New("boom") }
	if _, err := g.Test(context.Background(), enc, map[string]datasets.Dataset{"a": ds.Features}); err == nil || !strings.Contains(err.Error(), "visualizer") {
		t.Errorf("failing visualizer: %v", err)
	}
}
