package knn

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// withHeapMaxK runs f with the given crossover between the heap and the
// threshold selection: math.MaxInt is the heap for every k (the selection
// before the threshold one was added), 0 the threshold selection for
// every k.
func withHeapMaxK(h int, f func()) {
	old := heapMaxK
	heapMaxK = h
	defer func() { heapMaxK = old }()
	f()
}

// keyRow returns n keys of the given kind: "quantized" (few distinct
// values, many exact ties, ±0 included), "uniform", or "special" (also
// NaN, ±Inf and −0).
func keyRow(rng *rand.Rand, kind string, n int) []float32 {
	row := make([]float32, n)
	for j := range row {
		switch kind {
		case "quantized":
			row[j] = float32(rng.IntN(9)-4) / 4
			if row[j] == 0 && rng.IntN(2) == 0 {
				row[j] = float32(math.Copysign(0, -1))
			}
		case "uniform":
			row[j] = rng.Float32()*2 - 1
		case "special":
			switch rng.IntN(8) {
			case 0:
				row[j] = float32(math.NaN())
			case 1:
				row[j] = float32(math.Inf(1))
			case 2:
				row[j] = float32(math.Inf(-1))
			case 3:
				row[j] = float32(math.Copysign(0, -1))
			default:
				row[j] = float32(rng.IntN(5)) / 2
			}
		}
	}
	return row
}

// bruteTopK is the k best of keys by the documented rule, computed by a
// full sort: keys that are NaN or +Inf are never admitted, the rest go by
// key (−0 equal to +0), then index, and missing neighbours are (+Inf,
// math.MaxInt). For L2 (clamp) a negative key is admitted as +0.
func bruteTopK(keys []float32, k int, clamp bool) ([]float32, []int) {
	type entry struct {
		d  float32
		id int
	}
	var es []entry
	for j, d := range keys {
		if clamp && d < 0 {
			d = 0
		}
		if d < float32(math.Inf(1)) {
			es = append(es, entry{d, j})
		}
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := cmp.Compare(a.d, b.d); c != 0 {
			return c
		}
		return a.id - b.id
	})
	d, id := make([]float32, k), make([]int, k)
	for j := range k {
		if j < len(es) {
			d[j], id[j] = es[j].d, es[j].id
		} else {
			d[j], id[j] = float32(math.Inf(1)), math.MaxInt
		}
	}
	return d, id
}

// sameBits reports whether a and b hold the same float32 bits.
func sameBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestTopKSelectors feeds rows of keys, in tiles, to the heap (the
// selection used up to heapMaxK, as before the threshold selection) and to
// the threshold selection, with both metrics' scans, the scans of this
// build, dense and sparse, and checks the same bits and indices, and the
// brute force.
func TestTopKSelectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, kind := range []string{"quantized", "uniform", "special"} {
		ns := []int{1, 2, 3, 17, 100, 1000, 2500}
		if testing.Short() || raceEnabled {
			ns = ns[:5]
		}
		for _, n := range ns {
			for _, k := range []int{1, 2, 3, 10, 100, 1000, n - 1, n} {
				if k < 1 || k > n {
					continue
				}
				for _, tile := range []int{n, 7, 1024} {
					row := keyRow(rng, kind, n)
					rnorm := make([]float32, n)
					for j := range rnorm {
						rnorm[j] = float32(rng.IntN(3))
					}
					qn := float32(rng.IntN(3))
					for mode := range 6 {
						l2, scans := mode%2 == 1, mode/2 // scans: 0 sparse, 1 dense, 2 alternating
						name := fmt.Sprintf("%s/n=%d/k=%d/tile=%d/l2=%v/scans=%d", kind, n, k, tile, l2, scans)
						keys, idx := make([]float32, k), make([]int, k)
						for j := range keys {
							keys[j], idx[j] = float32(math.Inf(1)), math.MaxInt
						}
						buf := make([]uint64, bufSize(k, n))
						cnt, bound := 0, float32(math.Inf(1))
						for r0 := 0; r0 < n; r0 += tile {
							r1 := min(n, r0+tile)
							dense := scans == 1 || scans == 2 && r0/tile%2 == 0
							if l2 {
								scanL2(row[r0:r1], rnorm[r0:r1], qn, r0, keys, idx)
								cnt, bound, _ = bufL2Fn(row[r0:r1], rnorm[r0:r1], qn, r0, buf, cnt, bound, k, dense)
							} else {
								scanKeys(row[r0:r1], r0, keys, idx)
								cnt, bound, _ = bufKeysFn(row[r0:r1], r0, buf, cnt, bound, k, dense)
							}
						}
						sortHeap(keys, idx)
						gotK, gotI := make([]float32, k), make([]int, k)
						finish(buf[:cnt], make([]uint64, cnt), gotK, gotI)
						if !sameBits(gotK, keys) || !slices.Equal(gotI, idx) {
							t.Fatalf("%s: threshold selection\n%v %v\nheap\n%v %v", name, gotI, gotK, idx, keys)
						}
						all := row
						if l2 {
							all = make([]float32, n)
							for j := range all {
								all[j] = qn + rnorm[j] + row[j]
							}
						}
						wantK, wantI := bruteTopK(all, k, l2)
						if !slices.Equal(wantK, keys) || !slices.Equal(wantI, idx) {
							t.Fatalf("%s: heap\n%v %v\nbrute force\n%v %v", name, idx, keys, wantI, wantK)
						}
					}
				}
			}
		}
	}
}

// TestPackOrder checks that entries order as (key, index), −0 equal to
// +0, and unpack to the same bits, and that packL2 is pack for keys ≥ +0.
func TestPackOrder(t *testing.T) {
	keys := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32,
		float32(math.Copysign(0, -1)), 0, math.SmallestNonzeroFloat32, 1, math.MaxFloat32, float32(math.Inf(1))}
	ids := []int{0, 1, 2, maxPackedIndex - 1, maxPackedIndex}
	for _, a := range keys {
		for _, ia := range ids {
			pa := pack(a, ia)
			if a >= 0 && !math.Signbit(float64(a)) && packL2(a, ia) != pa {
				t.Fatalf("packL2(%v, %d) = %#x, pack %#x", a, ia, packL2(a, ia), pa)
			}
			if d, id := unpack(pa); math.Float32bits(d) != math.Float32bits(a) || id != ia {
				t.Fatalf("unpack(pack(%v, %d)) = %v, %d", a, ia, d, id)
			}
			for _, b := range keys {
				for _, ib := range ids {
					if a == b && ia == ib {
						continue // one reference has one key
					}
					want := a < b || a == b && ia < ib
					if got := pa < pack(b, ib); got != want {
						t.Fatalf("pack(%v, %d) < pack(%v, %d) = %v, want %v", a, ia, b, ib, got, want)
					}
				}
			}
		}
	}
}

// TestSelectSmallest checks the partial selection on adversarial orders.
func TestSelectSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	orders := map[string]func(n int) []uint64{
		"random":     func(n int) []uint64 { return randPerm(rng, n) },
		"ascending":  func(n int) []uint64 { a := randPerm(rng, n); slices.Sort(a); return a },
		"descending": func(n int) []uint64 { a := randPerm(rng, n); slices.Sort(a); slices.Reverse(a); return a },
		"organ pipe": func(n int) []uint64 {
			a := make([]uint64, n)
			for i := range a {
				a[i] = uint64(min(i, n-1-i))<<20 | uint64(i)
			}
			return a
		},
	}
	for name, gen := range orders {
		for _, n := range []int{1, 2, 16, 17, 100, 2000} {
			for _, k := range []int{1, 2, n / 2, n - 1, n} {
				if k < 1 || k > n {
					continue
				}
				a := gen(n)
				want := slices.Sorted(slices.Values(a))
				selectSmallest(a, k)
				if a[k-1] != want[k-1] {
					t.Fatalf("%s n=%d k=%d: a[k-1] = %d, want %d", name, n, k, a[k-1], want[k-1])
				}
				got := slices.Clone(a[:k])
				slices.Sort(got)
				if !slices.Equal(got, want[:k]) {
					t.Fatalf("%s n=%d k=%d: not the k smallest", name, n, k)
				}
			}
		}
	}
}

func randPerm(rng *rand.Rand, n int) []uint64 {
	a := make([]uint64, n)
	for i, p := range rng.Perm(n) {
		a[i] = uint64(p) * 0x9e3779b97f4a7c15
	}
	return a
}

// quantized returns rows×cols values that are small multiples of 1/2, so
// that many distances and inner products tie exactly.
func quantized(rng *rand.Rand, rows, cols int) gometric.Matrix {
	m := gometric.Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for i := range m.Data {
		m.Data[i] = float32(rng.IntN(5)-2) / 2
	}
	return m
}

// TestThresholdSelectionEquivalence checks that Search gives the same
// bits with the heap for every k (the selection before the threshold one)
// and with the threshold selection for every k, over k from 1 to the
// number of references, quantized data with many ties and uniform data,
// both metrics, GOMAXPROCS 1 and 4 and small tiles; and that k above the
// number of references is refused alike.
func TestThresholdSelectionEquivalence(t *testing.T) {
	type shape struct{ nq, nr, dim int }
	shapes := []shape{{3, 1, 2}, {40, 300, 3}, {600, 1100, 4}, {70, 2500, 8}}
	if testing.Short() || raceEnabled {
		shapes = shapes[:2] // the race build runs the small shapes only
	}
	rng := rand.New(rand.NewPCG(35, 36))
	for _, sh := range shapes {
		for _, data := range []string{"quantized", "uniform"} {
			var query, ref gometric.Matrix
			if data == "quantized" {
				query, ref = quantized(rng, sh.nq, sh.dim), quantized(rng, sh.nr, sh.dim)
			} else {
				query, ref = testkit.UniformMatrix(rng, sh.nq, sh.dim), testkit.UniformMatrix(rng, sh.nr, sh.dim)
			}
			n := sh.nr
			for _, metric := range []Metric{L2, InnerProduct} {
				for _, k := range []int{1, 2, 10, 100, 1000, n - 1, n, n + 1} {
					if k < 1 || (k > n+1) || (k > 100 && k < n-1 && k != 1000) {
						continue
					}
					for _, procs := range []int{1, 4} {
						for _, tiles := range [][2]int{{512, 1024}, {7, 13}} {
							name := fmt.Sprintf("%dx%dx%d/%s/%v/k=%d/procs=%d/tiles=%v", sh.nq, sh.nr, sh.dim, data, metric, k, procs, tiles)
							var heap, thr Result
							var errH, errT error
							old := runtime.GOMAXPROCS(procs)
							withTiles(tiles[0], tiles[1], func() {
								withHeapMaxK(math.MaxInt, func() { heap, errH = Search(query, ref, k, metric) })
								withHeapMaxK(0, func() { thr, errT = Search(query, ref, k, metric) })
							})
							runtime.GOMAXPROCS(old)
							if k > n {
								if errH == nil || errT == nil || errH.Error() != errT.Error() {
									t.Fatalf("%s: errors %v and %v, want the same error", name, errH, errT)
								}
								continue
							}
							if errH != nil || errT != nil {
								t.Fatalf("%s: %v, %v", name, errH, errT)
							}
							if thr.K != heap.K || !slices.Equal(thr.Indices, heap.Indices) || !sameBits(thr.Distances, heap.Distances) {
								t.Fatalf("%s: the threshold selection differs from the heap", name)
							}
						}
					}
				}
			}
		}
	}
}

// TestThresholdSelectionNoAllocPerElement checks that a single-threaded
// search with the threshold selection allocates what the same search with
// the heap does (TestExactNoAllocPerElement bounds that) plus the worker
// state (the state and its five slices, and the slice of states),
// however many references it scans.
func TestThresholdSelectionNoAllocPerElement(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop workspaces")
	}
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	rng := rand.New(rand.NewPCG(37, 38))
	query := testkit.UniformMatrix(rng, 50, 16)
	for _, m := range []int{1000, 5000} {
		ref := testkit.UniformMatrix(rng, m, 16)
		idx := NewExact(16, L2)
		if err := idx.Add(ref); err != nil {
			t.Fatal(err)
		}
		count := func(h int) (allocs float64) {
			withHeapMaxK(h, func() {
				allocs = testing.AllocsPerRun(10, func() {
					if _, err := idx.Search(query, 500); err != nil {
						t.Fatal(err)
					}
				})
			})
			return allocs
		}
		heap, thr := count(math.MaxInt), count(0)
		// One more for the GEMM's pooled workspaces, which a run may
		// have to renew.
		if thr > heap+7+1 {
			t.Errorf("%d references: %v allocations per search, want at most the heap's %v + 7", m, thr, heap)
		}
	}
}

// FuzzTopK feeds arbitrary keys (raw float32 bits: NaN, ±Inf, ±0,
// subnormals, exact ties) in tiles to the heap and to the threshold
// selection, dense, sparse or alternating, with both metrics' scans, and
// checks that both give the brute force's bits and indices.
func FuzzTopK(f *testing.F) {
	f.Add([]byte{3, 2, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x7f})
	f.Add([]byte{1, 7, 1, 0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x80, 0xff})
	f.Add([]byte{40, 3, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 3 {
			return
		}
		vals := b[3:]
		n := len(vals) / 4
		if b[0]&0x80 != 0 {
			n = int(b[0]&0x7f) * 16 // long rows of repeated values: shrinks
		}
		if n == 0 || len(vals) < 4 {
			return
		}
		k := int(b[1])%n + 1
		tile := int(b[2]>>2)%37 + 1
		l2, scans := b[2]&1 == 1, int(b[2]>>1&1)+int(b[0]&1)
		row := make([]float32, n)
		for j := range row {
			o := 4 * (j % (len(vals) / 4))
			row[j] = math.Float32frombits(uint32(vals[o]) | uint32(vals[o+1])<<8 | uint32(vals[o+2])<<16 | uint32(vals[o+3])<<24)
		}
		rnorm := make([]float32, n) // zero norms: the L2 key is the clamped row
		keys, idx := make([]float32, k), make([]int, k)
		for j := range keys {
			keys[j], idx[j] = float32(math.Inf(1)), math.MaxInt
		}
		buf := make([]uint64, bufSize(k, n))
		cnt, bound := 0, float32(math.Inf(1))
		for r0 := 0; r0 < n; r0 += tile {
			r1 := min(n, r0+tile)
			dense := scans == 1 || scans == 2 && r0/tile%2 == 0
			if l2 {
				scanL2(row[r0:r1], rnorm[r0:r1], 0, r0, keys, idx)
				cnt, bound, _ = bufL2Fn(row[r0:r1], rnorm[r0:r1], 0, r0, buf, cnt, bound, k, dense)
			} else {
				scanKeys(row[r0:r1], r0, keys, idx)
				cnt, bound, _ = bufKeysFn(row[r0:r1], r0, buf, cnt, bound, k, dense)
			}
		}
		sortHeap(keys, idx)
		gotK, gotI := make([]float32, k), make([]int, k)
		finish(buf[:cnt], make([]uint64, cnt), gotK, gotI)
		all := row
		if l2 {
			all = make([]float32, n)
			for j := range all {
				all[j] = 0 + rnorm[j] + row[j]
			}
		}
		wantK, wantI := bruteTopK(all, k, l2)
		if !sameBits(keys, gotK) || !slices.Equal(idx, gotI) {
			t.Fatalf("n=%d k=%d tile=%d l2=%v scans=%d: threshold %v %v, heap %v %v", n, k, tile, l2, scans, gotI, gotK, idx, keys)
		}
		if !slices.Equal(wantI, idx) || !slices.EqualFunc(wantK, keys, func(a, b float32) bool { return a == b || a != a && b != b }) {
			t.Fatalf("n=%d k=%d tile=%d l2=%v: heap %v %v, brute force %v %v", n, k, tile, l2, idx, keys, wantI, wantK)
		}
	})
}
