package accuracy_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// tieKNN are the kNN functions the tie tests run: the default search and
// an IndexKNN over a fresh Exact index (and, with the faiss tag, PML's
// FaissKNN: see ties_faiss_test.go).
var tieKNN = []struct {
	name string
	fn   accuracy.KNNFunc
}{
	{"ExactKNN", accuracy.ExactKNN},
	{"IndexKNN(Exact)", accuracy.IndexKNN(func(d int) (knn.Index, error) { return knn.NewExact(d, knn.L2), nil })},
}

// capturing returns a copy of c whose only metric records the neighbours
// the metrics see (self matches removed).
func capturing(c accuracy.Calculator, got *knn.Result) *accuracy.Calculator {
	c.Include, c.Exclude = nil, nil
	c.Metrics = []accuracy.Metric{accuracy.CustomMetric{MetricName: "capture", KNN: true, Func: func(in *accuracy.Inputs) (accuracy.Value, error) {
		*got = knn.Result{K: in.KNN.K, Indices: slices.Clone(in.KNN.Indices)}
		return accuracy.Value{}, nil
	}}}
	c.Include = []string{"capture"}
	return &c
}

// oracleNeighbours is PML's knn_func on exact data, written out: every
// query's references sorted by squared distance (float64, exact for the
// small integers of these tests), ties by increasing index (the rule of
// knn.Exact and of FAISS's IndexFlatL2); k + 1 of them when the reference
// includes the query, then return_results: the query's own index removed,
// or the last neighbour when the query is not among them.
func oracleNeighbours(q, r gometric.Matrix, k int, refIncludesQuery bool) []int {
	kk := k
	if refIncludesQuery {
		kk++
	}
	var out []int
	for i := range q.Rows {
		d := make([]float64, r.Rows)
		for j := range r.Rows {
			d[j] = sqDist(q.Row(i), r.Row(j))
		}
		idx := make([]int, r.Rows)
		for j := range idx {
			idx[j] = j
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case d[a] < d[b]:
				return -1
			case d[a] > d[b]:
				return 1
			}
			return 0
		})
		row := idx[:kk]
		if refIncludesQuery {
			drop := slices.Index(row, i)
			if drop < 0 {
				drop = kk - 1
			}
			row = slices.Delete(slices.Clone(row), drop, drop+1)
		}
		out = append(out, row...)
	}
	return out
}

// TestSelfExclusionWithDuplicates is the hand-worked case: duplicates of a
// query that tie with it at the k-th place. Rows (2-D, labels):
//
//	0 A (0,0) l0   1 A l0   2 B (1,0) l1   3 A l0   4 A l1   5 C (3,0) l1
//
// With k = 1 the search asks for 2 neighbours. q0 and q1 find [0 1] and
// lose themselves; q3 and q4 also find [0 1] (the tie at distance 0 goes
// to the smaller indices), where they are absent, so the last neighbour
// goes: [0]. q2 finds [2 0], q5 [5 2].
func TestSelfExclusionWithDuplicates(t *testing.T) {
	x := gometric.Matrix{Rows: 6, Cols: 2, Data: []float32{0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0}}
	labels := []int{0, 0, 1, 0, 1, 1}
	tests := []struct {
		k    accuracy.K
		want []int // per query, self removed
		p1   float64
	}{
		{accuracy.KInt(1), []int{1, 0, 0, 0, 0, 2}, 4.0 / 6},
		// k + 1 = 3: q0 [0 1 3], q1 [0 1 3], q2 [2 0 1], q3 [0 1 3],
		// q4 [0 1 3] (absent: drop 3), q5 [5 2 0].
		{accuracy.KInt(2), []int{1, 3, 0, 3, 0, 1, 0, 1, 0, 1, 2, 0}, 4.0 / 6},
		// k + 1 = 4: q4 finds [0 1 3 4] and loses itself.
		{accuracy.KInt(3), []int{1, 3, 4, 0, 3, 4, 0, 1, 3, 0, 1, 4, 0, 1, 3, 2, 0, 1}, 4.0 / 6},
	}
	for _, b := range tieKNN {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%v", b.name, tc.k), func(t *testing.T) {
				c := accuracy.Calculator{K: tc.k, KNN: b.fn}
				var got knn.Result
				if _, err := capturing(c, &got).SelfAccuracy(x, labels); err != nil {
					t.Fatal(err)
				}
				if k := len(tc.want) / 6; got.K != k || !slices.Equal(got.Indices, tc.want) {
					t.Fatalf("neighbours %v (K %d), want %v", got.Indices, got.K, tc.want)
				}
				if o := oracleNeighbours(x, x, got.K, true); !slices.Equal(o, tc.want) {
					t.Fatalf("the oracle gives %v, the worked answer %v", o, tc.want)
				}
				c.Include = []string{accuracy.NamePrecisionAt1}
				r, err := c.SelfAccuracy(x, labels)
				if err != nil {
					t.Fatal(err)
				}
				if p := r[accuracy.NamePrecisionAt1].Scalar; !close(p, tc.p1, 1e-12, 0) {
					t.Errorf("precision@1 = %v, want %v", p, tc.p1)
				}
			})
		}
	}
}

// TestTiesInAccuracy checks the neighbours every metric sees against the
// oracle on points of a 3×3 integer grid: many duplicates and many
// equidistant points, so ties fall at the k-th place for every k. It runs
// the self reference, a separate reference and a reference that includes
// the query followed by other rows, 30 queries (FAISS's BLAS path from 20
// on; integer coordinates keep its distances exact), and every kind of k.
func TestTiesInAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	grid := func(n int) (gometric.Matrix, []int) {
		m := gometric.Matrix{Rows: n, Cols: 2, Data: make([]float32, 2*n)}
		l := make([]int, n)
		for i := range m.Data {
			m.Data[i] = float32(rng.IntN(3))
		}
		for i := range l {
			l[i] = rng.IntN(3)
		}
		return m, l
	}
	q, ql := grid(30)
	other, ol := grid(17)
	ref := gometric.Matrix{Rows: q.Rows + other.Rows, Cols: 2, Data: slices.Concat(q.Data, other.Data)}
	rl := slices.Concat(ql, ol)
	self := func(incl bool) int {
		if incl {
			return 1
		}
		return 0
	}
	ks := []struct {
		k     accuracy.K
		wantK func(rl []int, incl bool) int
	}{
		{accuracy.KInt(1), func([]int, bool) int { return 1 }},
		{accuracy.KInt(2), func([]int, bool) int { return 2 }},
		{accuracy.KInt(5), func([]int, bool) int { return 5 }},
		{accuracy.KMaxBinCount(), func(rl []int, incl bool) int {
			most := 0
			for _, l := range ql {
				c := 0
				for _, r := range rl {
					if r == l {
						c++
					}
				}
				most = max(most, c)
			}
			return most - self(incl)
		}},
		{accuracy.KAll(), func(rl []int, incl bool) int { return len(rl) - self(incl) }},
	}
	for _, b := range tieKNN {
		for _, kc := range ks {
			k := kc.k
			for _, mode := range []string{"self", "separate", "includes query"} {
				t.Run(fmt.Sprintf("%s/%v/%s", b.name, k, mode), func(t *testing.T) {
					var got knn.Result
					c := capturing(accuracy.Calculator{K: k, KNN: b.fn}, &got)
					var err error
					r, incl := q, true
					switch mode {
					case "self":
						_, err = c.SelfAccuracy(q, ql)
					case "separate":
						r, incl = other, false
						_, err = c.Accuracy(q, ql, other, ol, false)
					default:
						r = ref
						_, err = c.Accuracy(q, ql, ref, rl, true)
					}
					if err != nil {
						t.Fatal(err)
					}
					rls := map[string][]int{"self": ql, "separate": ol, "includes query": rl}[mode]
					if want := kc.wantK(rls, incl); got.K != want {
						t.Fatalf("K = %d, want %d", got.K, want)
					}
					if want := oracleNeighbours(q, r, got.K, incl); !slices.Equal(got.Indices, want) {
						t.Fatalf("K %d: neighbours differ from the oracle\n got %v\nwant %v", got.K, got.Indices, want)
					}
				})
			}
		}
	}
}
