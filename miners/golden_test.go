package miners_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/pmlcase"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// TestGolden runs every recorded PML case of the miners module (and of
// $GOMETRIC_GOLDEN_DIR/miners): deterministic miners must give PML's exact
// index lists (HDCMiner as sets, allowing ties at its cut-off); random
// miners must satisfy every recorded property.
func TestGolden(t *testing.T) {
	pmlcase.Run(t, "miners", func(t *testing.T, c *pmlcase.Case) {
		m, err := pmlcase.Miner(&pmlcase.Spec{Class: c.Class, Args: c.Config})
		if err != nil {
			t.Fatalf("building the miner: %v", err)
		}
		in, err := c.MinerInput()
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Mine(in)
		if err != nil {
			t.Fatalf("Mine: %v", err)
		}
		nRef := len(in.Labels)
		if in.Ref != nil {
			nRef, _ = in.Ref.Dims()
		}
		if err := got.Validate(len(in.Labels), nRef); err != nil {
			t.Fatalf("invalid output: %v", err)
		}
		checkKindAndCounts(t, c, got)
		if c.Random {
			checkProperties(t, c, m, in, got)
			return
		}
		var want [][]int
		if ok, err := c.Output("indices_tuple", &want); err != nil || !ok {
			t.Fatalf("indices_tuple: %v (present %v)", err, ok)
		}
		gotC := canonical(got)
		if c.Class == "HDCMiner" {
			checkHDCSets(t, m, in, gotC, want)
			return
		}
		if !equalLists(gotC, want) {
			t.Errorf("indices differ from PML's\n got %v\nwant %v", gotC, want)
		}
	})
}

// canonical returns the golden files' canonical form of t: triplets sorted
// lexicographically as [a, p, n]; pairs with (a1, p) and (a2, n) sorted
// separately as [a1, p, a2, n]. Duplicates are kept.
func canonical(t tuples.Tuples) [][]int {
	switch v := t.(type) {
	case *tuples.Triplets:
		return sortedColumns(v.A, v.P, v.N)
	case *tuples.Pairs:
		return append(sortedColumns(v.A1, v.P), sortedColumns(v.A2, v.N)...)
	}
	return nil
}

// sortedColumns sorts the rows (cols[0][k], cols[1][k], ...) lexicographically.
func sortedColumns(cols ...[]int) [][]int {
	n := len(cols[0])
	rows := make([][]int, n)
	for k := range rows {
		rows[k] = make([]int, len(cols))
		for c := range cols {
			rows[k][c] = cols[c][k]
		}
	}
	slices.SortFunc(rows, slices.Compare)
	out := make([][]int, len(cols))
	for c := range out {
		out[c] = make([]int, n)
		for k := range rows {
			out[c][k] = rows[k][c]
		}
	}
	return out
}

func equalLists(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func checkKindAndCounts(t *testing.T, c *pmlcase.Case, got tuples.Tuples) {
	t.Helper()
	var kind string
	if ok, err := c.Output("tuple_kind", &kind); err != nil || !ok {
		t.Fatalf("tuple_kind: %v (present %v)", err, ok)
	}
	_, isTrip := got.(*tuples.Triplets)
	if (kind == "triplets") != isTrip || (kind != "triplets" && kind != "pairs") {
		t.Fatalf("got %T, PML returned %q", got, kind)
	}
	var counts map[string]int
	if ok, err := c.Output("counts", &counts); err != nil || !ok {
		t.Fatalf("counts: %v (present %v)", err, ok)
	}
	gc := miners.CountOf(got)
	for k, v := range counts {
		var g int
		switch k {
		case "num_triplets":
			g = gc.Triplets
		case "num_pos_pairs":
			g = gc.PosPairs
		case "num_neg_pairs":
			g = gc.NegPairs
		default:
			t.Errorf("unknown count %q", k)
			continue
		}
		if g != v {
			t.Errorf("%s = %d, PML %d", k, g, v)
		}
	}
}

// refLabelsOf returns the reference labels and whether ref is the query.
func refLabelsOf(in miners.Input) ([]int, bool) {
	if in.Ref == nil {
		return in.Labels, true
	}
	return in.RefLabels, false
}

// matrixOf recomputes the distance matrix a miner uses.
func matrixOf(t *testing.T, d distances.Distance, in miners.Input) *mat.Dense {
	t.Helper()
	if d == nil {
		d = distances.NewLp()
	}
	m, err := d.Matrix(in.Embeddings, in.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkHDCSets compares HDCMiner's output with PML's as sets. A pair may
// differ only if its value equals the cut-off value of its list (the
// k-th selected), where torch.topk's choice among ties is arbitrary.
func checkHDCSets(t *testing.T, m miners.Miner, in miners.Input, got, want [][]int) {
	t.Helper()
	h := m.(*miners.HDC)
	dm := matrixOf(t, h.Distance, in)
	for half, name := range []string{"positive", "negative"} {
		ga, go_ := got[2*half], got[2*half+1]
		wa, wo := want[2*half], want[2*half+1]
		if len(ga) != len(wa) {
			t.Errorf("%s pairs: %d, PML %d", name, len(ga), len(wa))
			continue
		}
		gs, ws := map[[2]int]int{}, map[[2]int]int{}
		for k := range ga {
			gs[[2]int{ga[k], go_[k]}]++
			ws[[2]int{wa[k], wo[k]}]++
		}
		var onlyGot, onlyWant [][2]int
		for k, v := range gs {
			if ws[k] != v {
				onlyGot = append(onlyGot, k)
			}
		}
		for k, v := range ws {
			if gs[k] != v {
				onlyWant = append(onlyWant, k)
			}
		}
		if len(onlyGot) == 0 && len(onlyWant) == 0 {
			continue
		}
		// Every differing pair must have the cut-off value: the smallest or
		// largest value of our selection, whichever borders the pairs left
		// out.
		lo, hi := math.Inf(1), math.Inf(-1)
		for k := range ga {
			v := dm.At(ga[k], go_[k])
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		same := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*(1+math.Abs(b)) }
		for _, k := range append(onlyGot, onlyWant...) {
			v := dm.At(k[0], k[1])
			if !same(v, lo) && !same(v, hi) {
				t.Errorf("%s pairs differ beyond a tie at the cut-off: only ours %v, only PML's %v", name, onlyGot, onlyWant)
				break
			}
		}
	}
}

// checkProperties verifies the recorded properties of a random miner's
// output, each recomputed from the inputs.
func checkProperties(t *testing.T, c *pmlcase.Case, m miners.Miner, in miners.Input, got tuples.Tuples) {
	t.Helper()
	var props map[string]json.RawMessage
	if ok, err := c.Output("properties", &props); err != nil || !ok {
		t.Fatalf("properties: %v (present %v)", err, ok)
	}
	if len(props) == 0 {
		t.Fatal("a random case with no properties")
	}
	refLabels, self := refLabelsOf(in)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := props[k]
		var err error
		switch {
		case k == "note":
		case k == "all_valid":
			err = checkBool(raw, allValid(got, in.Labels, refLabels, self))
		case k == "num_triplets":
			err = checkInt(raw, miners.CountOf(got).Triplets)
		case k == "num_pos_pairs":
			err = checkInt(raw, miners.CountOf(got).PosPairs)
		case k == "num_neg_pairs":
			err = checkInt(raw, miners.CountOf(got).NegPairs)
		case k == "anchor_counts" && c.Class == "DistanceWeightedMiner":
			err = checkAnchorCounts(raw, got.(*tuples.Triplets), in.Labels)
		case k == "negatives_within_nonzero_loss_cutoff" && c.Class == "DistanceWeightedMiner":
			dw := m.(*miners.DistanceWeighted)
			dm := matrixOf(t, dw.Distance, in)
			tr := got.(*tuples.Triplets)
			ok := true
			for i := range tr.A {
				if !(math.Max(dm.At(tr.A[i], tr.N[i]), dw.Cutoff) < dw.NonzeroLossCutoff) {
					ok = false
				}
			}
			err = checkBool(raw, ok)
		case (k == "nonempty_pos_bins" || k == "nonempty_neg_bins") && c.Class == "UniformHistogramMiner":
			uh := m.(*miners.UniformHistogram)
			dm := matrixOf(t, uh.Distance, in)
			pos := k == "nonempty_pos_bins"
			want := nonEmptyBins(dm, in.Labels, refLabels, self, pos, uh.NumBins)
			err = checkInt(raw, want)
			// The output has exactly perBin pairs per non-empty bin.
			p := got.(*tuples.Pairs)
			n, per := p.NumNeg(), uh.NegPerBin
			if pos {
				n, per = p.NumPos(), uh.PosPerBin
			}
			if err == nil && n != want*per {
				err = fmt.Errorf("%d pairs for %d non-empty bins of %d", n, want, per)
			}
		default:
			err = fmt.Errorf("unknown property")
		}
		if err != nil {
			t.Errorf("property %s: %v", k, err)
		}
	}
}

func checkBool(raw json.RawMessage, got bool) error {
	var want bool
	if err := json.Unmarshal(raw, &want); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("got %v, PML %v", got, want)
	}
	return nil
}

func checkInt(raw json.RawMessage, got int) error {
	var want int
	if err := json.Unmarshal(raw, &want); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("got %d, PML %d", got, want)
	}
	return nil
}

func checkAnchorCounts(raw json.RawMessage, tr *tuples.Triplets, labels []int) error {
	var want map[string]int
	if err := json.Unmarshal(raw, &want); err != nil {
		return err
	}
	got := map[int]int{}
	for _, a := range tr.A {
		got[a]++
	}
	for a := range labels {
		w := want[strconv.Itoa(a)]
		if got[a] != w {
			return fmt.Errorf("anchor %d appears %d times, PML %d", a, got[a], w)
		}
	}
	for k := range want {
		if a, err := strconv.Atoi(k); err != nil || a < 0 || a >= len(labels) {
			return fmt.Errorf("bad anchor key %q", k)
		}
	}
	return nil
}

// allValid reports whether every tuple respects the labels: positives share
// the anchor's label (and are not the anchor itself when ref is query),
// negatives do not.
func allValid(t tuples.Tuples, labels, refLabels []int, self bool) bool {
	posOK := func(a, p int) bool { return labels[a] == refLabels[p] && !(self && a == p) }
	negOK := func(a, n int) bool { return labels[a] != refLabels[n] }
	switch v := t.(type) {
	case *tuples.Triplets:
		for i := range v.A {
			if !posOK(v.A[i], v.P[i]) || !negOK(v.A[i], v.N[i]) {
				return false
			}
		}
	case *tuples.Pairs:
		for i := range v.A1 {
			if !posOK(v.A1[i], v.P[i]) {
				return false
			}
		}
		for i := range v.A2 {
			if !negOK(v.A2[i], v.N[i]) {
				return false
			}
		}
	}
	return true
}

// nonEmptyBins counts, as PML's filter_by_bin does, the bins of
// torch.linspace(min, max, numBins+1) that hold at least one positive (or
// negative) pair value: bin i is [e_i, e_i+1), the last one closed.
func nonEmptyBins(dm *mat.Dense, labels, refLabels []int, self, pos bool, numBins int) int {
	var vals []float64
	for i, l := range labels {
		for j, r := range refLabels {
			if self && i == j {
				continue
			}
			if (l == r) == pos {
				vals = append(vals, dm.At(i, j))
			}
		}
	}
	if len(vals) == 0 {
		return 0
	}
	edges := torchLinspace(slices.Min(vals), slices.Max(vals), numBins+1)
	count := 0
	for i := range numBins {
		for _, v := range vals {
			in := edges[i] <= v && v < edges[i+1]
			if i == numBins-1 {
				in = edges[i] <= v && v <= edges[i+1]
			}
			if in {
				count++
				break
			}
		}
	}
	return count
}

// torchLinspace is torch.linspace's CPU formula: start + step·i for the
// first half of the points, end − step·(steps − 1 − i) for the rest.
func torchLinspace(start, end float64, steps int) []float64 {
	step := (end - start) / float64(steps-1)
	out := make([]float64, steps)
	for i := range out {
		if i < steps/2 {
			out[i] = start + step*float64(i)
		} else {
			out[i] = end - step*float64(steps-i-1)
		}
	}
	return out
}

// TestMinerBuilder checks that the case builder refuses what it cannot
// represent instead of ignoring it.
func TestMinerBuilder(t *testing.T) {
	for _, tc := range []struct {
		class, args string
	}{
		{"NoSuchMiner", `{}`},
		{"TripletMarginMiner", `{"margin": 0.1, "swap": true}`},
		{"BatchEasyHardMiner", `{"allowed_pos_range": [0.1]}`},
		{"PairMarginMiner", `{"distance": {"class": "NoSuchDistance", "args": {}}}`},
		{"UniformHistogramMiner", `{"num_bins": "ten"}`},
	} {
		var args pmlcase.Args
		if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
			t.Fatal(err)
		}
		if m, err := pmlcase.Miner(&pmlcase.Spec{Class: tc.class, Args: args}); err == nil {
			t.Errorf("%s %s: built %T, want an error", tc.class, tc.args, m)
		}
	}
	if m, err := pmlcase.Miner(nil); m != nil || err != nil {
		t.Errorf("nil spec: %v, %v", m, err)
	}
}
