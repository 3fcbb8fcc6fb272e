package distances_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

func compareMatrix(t *testing.T, what string, got, want *mat.Dense) {
	t.Helper()
	gr, gc := got.Dims()
	wr, wc := want.Dims()
	if gr != wr || gc != wc {
		t.Fatalf("%s is %d×%d, want %d×%d", what, gr, gc, wr, wc)
	}
	for i := 0; i < wr; i++ {
		for j := 0; j < wc; j++ {
			if g, w := got.At(i, j), want.At(i, j); !testkit.Close(g, w, 1e-6, 1e-9) {
				t.Errorf("%s[%d][%d] = %.17g, want %.17g", what, i, j, g, w)
			}
		}
	}
}

// TestGolden runs every PML distance case of testdata/pml/distances (and of
// $GOMETRIC_GOLDEN_DIR/distances): the matrix and is_inverted must match,
// and a Batched wrapper must give the same rows block by block.
func TestGolden(t *testing.T) {
	pmlcase.Run(t, "distances", func(t *testing.T, c *pmlcase.Case) {
		d, err := pmlcase.Distance(&pmlcase.Spec{Class: c.Class, Args: c.Config})
		if err != nil {
			t.Fatal(err)
		}
		query, err := c.Matrix("embeddings")
		if err != nil {
			t.Fatal(err)
		}
		ref, err := c.Matrix("ref_emb")
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.OutputMatrix("matrix")
		if err != nil {
			t.Fatal(err)
		}
		var inverted bool
		if ok, err := c.Output("is_inverted", &inverted); err != nil || !ok {
			t.Fatalf("is_inverted: present %v, %v", ok, err)
		}
		if got := d.Settings().Inverted; got != inverted {
			t.Errorf("Settings().Inverted = %v, want %v", got, inverted)
		}
		got, err := d.Matrix(query, ref)
		if err != nil {
			t.Fatal(err)
		}
		compareMatrix(t, "matrix", got, want)

		calls := 0
		err = distances.NewBatched(d, 3).Each(query, ref, func(blk *mat.Dense, s, e int) error {
			calls++
			_, wc := want.Dims()
			compareMatrix(t, "block", blk, want.Slice(s, e, 0, wc).(*mat.Dense))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := query.Dims(); calls != (n+2)/3 {
			t.Errorf("Each made %d calls for %d rows in blocks of 3", calls, n)
		}
	})
}

// sameDistance reports whether a and b are distances of one type with the
// same settings (and, for Batched, the same batch size and distance),
// whether or not a constructor made them.
func sameDistance(a, b distances.Distance) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) || a.Settings() != b.Settings() {
		return false
	}
	if ba, ok := a.(*distances.Batched); ok {
		bb := b.(*distances.Batched)
		return ba.BatchSize == bb.BatchSize && sameDistance(ba.Distance, bb.Distance)
	}
	return true
}

// TestBuilder checks the PML spec mapping: defaults, arguments, the nested
// BatchedDistance and the rejections.
func TestBuilder(t *testing.T) {
	tests := []struct {
		spec    string
		want    distances.Distance
		wantErr bool
	}{
		{`{"class": "LpDistance", "args": {}}`, distances.NewLp(), false},
		{`{"class": "LpDistance", "args": {"p": 1, "power": 2, "normalize_embeddings": false}}`, &distances.Lp{P: 1, Power: 2}, false},
		{`{"class": "CosineSimilarity", "args": {"power": 3}}`, &distances.CosineSimilarity{P: 2, Power: 3}, false},
		{`{"class": "DotProductSimilarity", "args": {"normalize_embeddings": false}}`, &distances.DotProductSimilarity{P: 2, Power: 1}, false},
		{`{"class": "SNRDistance", "args": {"collect_stats": true}}`, distances.NewSNR(), false},
		{`{"class": "BatchedDistance", "args": {"distance": {"class": "SNRDistance", "args": {}}, "batch_size": 7}}`, distances.NewBatched(distances.NewSNR(), 7), false},
		{`{"class": "BatchedDistance", "args": {"distance": {"class": "LpDistance", "args": {}}}}`, distances.NewBatched(distances.NewLp(), 32), false},
		{`{"class": "BatchedDistance", "args": {}}`, nil, true},
		{`{"class": "CosineSimilarity", "args": {"normalize_embeddings": true}}`, nil, true},
		{`{"class": "LpDistance", "args": {"is_inverted": true}}`, nil, true},
		{`{"class": "LpDistance", "args": {"p": "two"}}`, nil, true},
		{`{"class": "ManhattanDistance", "args": {}}`, nil, true},
	}
	for _, tc := range tests {
		var s pmlcase.Spec
		if err := json.Unmarshal([]byte(tc.spec), &s); err != nil {
			t.Fatal(err)
		}
		got, err := pmlcase.Distance(&s)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%s: no error, got %#v", tc.spec, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if !sameDistance(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.spec, got, tc.want)
		}
	}
	if d, err := pmlcase.Distance(nil); d != nil || err != nil {
		t.Errorf("Distance(nil) = %v, %v; want nil, nil", d, err)
	}
}
