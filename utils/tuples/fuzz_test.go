package tuples

import (
	"math"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

func checkErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !testkit.WrapsSentinel(err) {
		t.Fatalf("%s: error %v wraps no sentinel", what, err)
	}
}

func fuzzLabels(bs []byte, wide bool) []int {
	if len(bs) > 32 {
		bs = bs[:32]
	}
	out := make([]int, len(bs))
	for i, v := range bs {
		if wide {
			out[i] = int(int8(v)) * 1_000_003
		} else {
			out[i] = int(v%5) - 2
		}
	}
	return out
}

// fuzzTuples cuts idx into pairs or triplets of (possibly invalid) indices.
func fuzzTuples(idx []byte, triplets bool, ragged byte) Tuples {
	if len(idx) == 0 {
		return nil
	}
	if len(idx) > 60 {
		idx = idx[:60]
	}
	v := make([]int, len(idx))
	for i, x := range idx {
		v[i] = int(int8(x))
	}
	if triplets {
		n := len(v) / 3
		t := &Triplets{A: v[:n], P: v[n : 2*n], N: v[2*n : 3*n]}
		if ragged&1 != 0 && n > 0 {
			t.N = t.N[:n-1]
		}
		return t
	}
	n := len(v) / 4
	h := int(ragged) % (n + 1)
	return &Pairs{A1: v[:h], P: v[n : n+h], A2: v[2*n : 3*n], N: v[3*n : 4*n]}
}

func FuzzTuples(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 2}, []byte{}, []byte{0, 1, 1, 0, 2, 3, 1, 0}, uint8(1), int8(2), uint64(1))
	f.Add([]byte{0, 0, 1}, []byte{1, 0, 0, 2}, []byte{0, 1, 2, 0, 3, 1}, uint8(8|16), int8(0), uint64(2))
	f.Add([]byte{3, 3, 3, 4}, []byte{3, 4}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8}, uint8(4|1|32), int8(-1), uint64(3))
	f.Add([]byte{}, []byte{}, []byte{}, uint8(2), int8(5), uint64(4))
	f.Add([]byte{1, 2, 1, 2, 1}, []byte{9, 1}, []byte{255, 1, 2, 0}, uint8(128|64|8), int8(-7), uint64(5))
	f.Fuzz(func(t *testing.T, lab, refb, idx []byte, flags uint8, perAnchor int8, seed uint64) {
		wide := flags&128 != 0
		labels := fuzzLabels(lab, wide)
		self := flags&1 != 0
		var ref []int
		switch {
		case flags&2 != 0:
			ref = nil
		case flags&4 != 0:
			ref = append([]int(nil), labels...)
		default:
			ref = fuzzLabels(refb, wide)
		}
		m := len(ref)
		if self {
			m = len(labels)
		}
		tup := fuzzTuples(idx, flags&8 != 0, flags>>4)

		_, _, err := Masks(labels, ref, self)
		checkErr(t, "Masks", err)
		labelsOK := err == nil

		pairs, err := AllPairs(labels, ref, self)
		checkErr(t, "AllPairs", err)
		if (err == nil) != labelsOK {
			t.Fatalf("AllPairs and Masks disagree on the labels: %v", err)
		}
		if err == nil {
			if verr := pairs.Validate(len(labels), m); verr != nil {
				t.Fatalf("AllPairs gave invalid pairs: %v", verr)
			}
			if pairs.NumPos()+pairs.NumNeg() > len(labels)*m {
				t.Fatal("too many pairs")
			}
		}

		trip, err := AllTriplets(labels, ref, self)
		checkErr(t, "AllTriplets", err)
		count, cerr := CountAllTriplets(labels, ref, self)
		checkErr(t, "CountAllTriplets", cerr)
		if err == nil {
			if cerr != nil || count != trip.Len() {
				t.Fatalf("CountAllTriplets = %d, %v; AllTriplets has %d", count, cerr, trip.Len())
			}
			if verr := trip.Validate(len(labels), m); verr != nil {
				t.Fatalf("AllTriplets gave invalid triplets: %v", verr)
			}
		}
		streamed := 0
		err = EachAnchor(labels, ref, self, func(_ int, pos, neg []int) error {
			streamed += len(pos) * len(neg)
			return nil
		})
		checkErr(t, "EachAnchor", err)
		if err == nil && streamed != count {
			t.Fatalf("EachAnchor streamed %d triplets, want %d", streamed, count)
		}

		tp, err := ToPairs(tup, labels, ref, self)
		checkErr(t, "ToPairs", err)
		if err == nil {
			if verr := tp.Validate(len(labels), m); verr != nil {
				t.Fatalf("ToPairs gave invalid pairs: %v", verr)
			}
		}
		rng := seeded(seed)
		tt, err := ToTriplets(tup, labels, ref, self, int(perAnchor), rng)
		checkErr(t, "ToTriplets", err)
		if err == nil {
			if verr := tt.Validate(len(labels), m); verr != nil {
				t.Fatalf("ToTriplets gave invalid triplets: %v", verr)
			}
		}

		var w *mat.Dense
		if flags&16 != 0 && len(labels) > 0 && m > 0 {
			w = mat.NewDense(len(labels), m, nil)
			r := seeded(seed + 1)
			for i := range len(labels) {
				for j := range m {
					v := r.Float64()
					if flags&32 != 0 {
						switch r.IntN(8) {
						case 0:
							v = -v
						case 1:
							v = 0
						case 2:
							v = math.NaN()
						case 3:
							v = math.Inf(1)
						}
					}
					w.Set(i, j, v)
				}
			}
		}
		rt, err := RandomTriplets(labels, ref, self, int(perAnchor), w, rng)
		checkErr(t, "RandomTriplets", err)
		if err == nil {
			if verr := rt.Validate(len(labels), m); verr != nil {
				t.Fatalf("RandomTriplets gave invalid triplets: %v", verr)
			}
			r := ref
			if self {
				r = labels
			}
			for i, a := range rt.A {
				if labels[a] != r[rt.P[i]] || labels[a] == r[rt.N[i]] || (self && a == rt.P[i]) {
					t.Fatalf("RandomTriplets: invalid triplet (%d, %d, %d)", a, rt.P[i], rt.N[i])
				}
			}
		}

		a, p, err := PosPairsWithUniqueLabels(tup, labels)
		checkErr(t, "PosPairsWithUniqueLabels", err)
		if err == nil && len(a) != len(p) {
			t.Fatal("PosPairsWithUniqueLabels: ragged result")
		}
		_ = Anchors(tup)

		wts, err := Weights(tup, len(labels), flags&64 != 0)
		checkErr(t, "Weights", err)
		if err == nil {
			if len(wts) != len(labels) {
				t.Fatalf("Weights has %d entries, want %d", len(wts), len(labels))
			}
			for _, v := range wts {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("weight %v outside [0, 1]", v)
				}
			}
		}

		refSize := int(flags%9) + int(perAnchor)%3
		var batch []int
		for i := range len(refb) % 6 {
			batch = append(batch, (int(seed%7)+i)%max(refSize, 1))
		}
		rs, err := RemoveSelfComparisons(tup, batch, refSize, flags&64 != 0)
		checkErr(t, "RemoveSelfComparisons", err)
		if err == nil {
			switch v := rs.(type) {
			case *Pairs:
				if len(v.A1) != len(v.P) || len(v.A2) != len(v.N) || len(v.A1) > tup.(*Pairs).NumPos() {
					t.Fatal("RemoveSelfComparisons: bad pairs")
				}
			case *Triplets:
				if len(v.A) != len(v.P) || len(v.A) != len(v.N) || len(v.A) > tup.(*Triplets).Len() {
					t.Fatal("RemoveSelfComparisons: bad triplets")
				}
			default:
				t.Fatalf("RemoveSelfComparisons returned %T", rs)
			}
		}
	})
}
