package knn

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/gemm"
)

// FuzzExact runs Exact, Search and KMeans on arbitrary inputs. The first
// bytes choose the shape, k, the metric, the tiling and how values are
// decoded: small multiples of 1/8 (frequent exact ties) or raw float32 bits
// (NaN, ±Inf, subnormals, huge values). Bad input must give an error that
// wraps a gometric sentinel and names the component; a result must agree
// with the float64 brute force up to rounding and near-ties, and with the
// SIMD GEMM Exact and Search must give the same bits.
func FuzzExact(f *testing.F) {
	f.Add([]byte{3, 10, 4, 2, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte{1, 5, 1, 5, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 4, 2, 0, 0, 1, 0, 255, 1, 128, 3})
	f.Add([]byte{4, 7, 3, 9, 1, 2, 200, 100, 50, 25})
	f.Add([]byte{2, 3, 2, 1, 0, 0x81, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x7f}) // raw bits: NaN, +Inf
	f.Add([]byte{2, 3, 2, 1, 1, 0x81, 0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0}) // raw bits: MaxFloat32, subnormal
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 6 {
			return
		}
		dim, nref, nq := int(b[0])%9, int(b[1])%50, int(b[2])%12 // 0 is an empty shape
		k := int(b[3])%(nref+2) - int(b[4]>>7)                   // -1 … nref+1
		metric := Metric(b[4] & 1)
		raw := b[5]&0x80 != 0
		tiles := [2]int{int(b[5]&7) + 1, int(b[5]>>3&7) + 1}
		if b[5]&0x40 != 0 {
			tiles = [2]int{queryBlock, refTile}
		}
		vals := b[6:]
		fill := func(rows, off int) gometric.Matrix {
			m := gometric.Matrix{Rows: rows, Cols: dim, Data: make([]float32, rows*dim)}
			for i := range m.Data {
				switch {
				case raw && len(vals) >= 4:
					j := (4*(off+i) + off) % (len(vals) - 3)
					m.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(vals[j:]))
				case len(vals) > 0:
					m.Data[i] = float32(int8(vals[(off+i)%len(vals)])) / 8
				}
			}
			return m
		}
		ref, query := fill(nref, 0), fill(nq, 3)
		checkErr := func(err error, component string) {
			t.Helper()
			if !strings.HasPrefix(err.Error(), component+": ") {
				t.Fatalf("error %q does not start with %q", err, component)
			}
			for _, s := range []error{gometric.ErrShape, gometric.ErrNonFinite, gometric.ErrSetting} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error %q wraps no sentinel", err)
		}
		withTiles(tiles[0], tiles[1], func() {
			idx := NewExact(dim, metric)
			addErr := idx.Add(ref)
			if addErr != nil {
				checkErr(addErr, "knn.Exact")
				if idx.Len() != 0 {
					t.Fatalf("failed Add left %d references", idx.Len())
				}
			}
			res, err := idx.Search(query, k)
			direct, directErr := Search(query, ref, k, metric)
			if (err == nil) != (directErr == nil) {
				t.Fatalf("Exact error %v, Search error %v", err, directErr)
			}
			if err != nil {
				checkErr(err, "knn.Exact")
				checkErr(directErr, "knn.Search")
				if addErr == nil && k >= 1 && k <= nref && query.Validate("", "") == nil && len(query.Data) > 0 && dim > 0 {
					// Only an overflowing query norm remains.
					if !errors.Is(err, gometric.ErrNonFinite) {
						t.Fatalf("unexpected error %v", err)
					}
				}
				return
			}
			if addErr != nil {
				t.Fatalf("Search succeeded on an index whose Add failed (%v)", addErr)
			}
			checkAgainstNaive(t, query, ref, k, metric, res)
			checkAgainstNaive(t, query, ref, k, metric, direct)
			if gemm.Impl() == "portable" {
				// Exact searches a copy of ref; gonum's Sgemm may round the
				// products of a row at another alignment differently.
				return
			}
			for i := range res.Indices {
				if res.Indices[i] != direct.Indices[i] || math.Float32bits(res.Distances[i]) != math.Float32bits(direct.Distances[i]) {
					t.Fatalf("Exact and Search differ at %d", i)
				}
			}
		})
		if nref > 0 && k >= 1 {
			assign, cent, err := KMeans(ref, k, KMeansOptions{Iter: 3, Seed: uint64(len(b))})
			if err != nil {
				checkErr(err, "knn.KMeans")
				return
			}
			if len(assign) != nref || cent.Rows != k || len(cent.Data) != k*dim {
				t.Fatalf("KMeans: %d assignments, %d centroids of %d values", len(assign), cent.Rows, len(cent.Data))
			}
			for _, a := range assign {
				if a < 0 || a >= k {
					t.Fatalf("KMeans: cluster %d out of [0, %d)", a, k)
				}
			}
		}
	})
}
