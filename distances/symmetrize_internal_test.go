package distances

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSymmetrizeTiles checks the tiled symmetrize against w + wᵀ bit for
// bit, for sizes around the tile and a stride wider than the matrix.
func TestSymmetrizeTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, symTile - 1, symTile, symTile + 1, 2*symTile + 5, 100} {
		big := mat.NewDense(n+3, n+3, nil)
		for i := range n + 3 {
			for j := range n + 3 {
				big.Set(i, j, rng.NormFloat64())
			}
		}
		var w *mat.Dense
		if n == 0 {
			w = &mat.Dense{}
		} else {
			w = big.Slice(1, n+1, 2, n+2).(*mat.Dense)
		}
		want := mat.NewDense(max(n, 1), max(n, 1), nil)
		for i := range n {
			for j := range n {
				want.Set(i, j, w.At(i, j)+w.At(j, i))
			}
		}
		outside := big.At(0, 0)
		symmetrize(w)
		for i := range n {
			for j := range n {
				if got := w.At(i, j); got != want.At(i, j) {
					t.Fatalf("n %d: (%d, %d) = %v, want %v", n, i, j, got, want.At(i, j))
				}
			}
		}
		if big.At(0, 0) != outside {
			t.Fatalf("n %d: wrote outside the view", n)
		}
	}
}
