package distances_test

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/distances"
	"gonum.org/v1/gonum/mat"
)

func ExampleLp() {
	emb := mat.NewDense(3, 2, []float64{
		3, 4,
		0, 2,
		-1, 0,
	})
	d := distances.NewLp() // PML's LpDistance(): normalised rows, p = 2
	d.NormalizeEmbeddings = false
	m, err := d.Matrix(emb, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", mat.Formatted(m))
	// Output:
	// ⎡0.0000  3.6056  5.6569⎤
	// ⎢3.6056  0.0000  2.2361⎥
	// ⎣5.6569  2.2361  0.0000⎦
}

func ExampleLp_MatrixVJP() {
	query := mat.NewDense(2, 2, []float64{0, 0, 3, 4})
	ref := mat.NewDense(1, 2, []float64{0, 4})
	d := &distances.Lp{P: 2, Power: 1} // no normalisation
	// loss = sum of the matrix entries, so grad is all ones.
	grad := mat.NewDense(2, 1, []float64{1, 1})
	dq, dr, err := d.MatrixVJP(query, ref, nil, grad)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("dQuery:\n%.4f\ndRef:\n%.4f\n", mat.Formatted(dq), mat.Formatted(dr))
	// Output:
	// dQuery:
	// ⎡ 0.0000  -1.0000⎤
	// ⎣ 1.0000   0.0000⎦
	// dRef:
	// [-1.0000   1.0000]
}

func ExampleCosineSimilarity() {
	query := mat.NewDense(2, 2, []float64{1, 0, 1, 1})
	ref := mat.NewDense(2, 2, []float64{0, 2, -3, 0})
	d := distances.NewCosineSimilarity()
	m, err := d.Matrix(query, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", mat.Formatted(m))
	// The closest reference row of each query is the largest similarity.
	for i := 0; i < 2; i++ {
		v, j, err := distances.Smallest(d, m.RawRowView(i))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("query %d: ref %d (%.4f)\n", i, j, v)
	}
	// Output:
	// ⎡ 0.0000  -1.0000⎤
	// ⎣ 0.7071  -0.7071⎦
	// query 0: ref 0 (0.0000)
	// query 1: ref 0 (0.7071)
}

func ExampleDotProductSimilarity() {
	x := mat.NewDense(2, 3, []float64{1, 2, 3, 0, 1, 0})
	y := mat.NewDense(2, 3, []float64{1, 1, 1, 0, 5, 0})
	d := distances.NewDotProductSimilarity()
	// Pairwise mirrors PML's pairwise_distance: no normalisation.
	v, err := d.Pairwise(x, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v)
	// Output:
	// [6 5]
}

func ExampleSNR() {
	query := mat.NewDense(1, 4, []float64{1, 2, 3, 4})
	ref := mat.NewDense(2, 4, []float64{1, 2, 3, 4.5, 11, 12, 13, 14})
	d := &distances.SNR{P: 2, Power: 1} // no normalisation
	m, err := d.Matrix(query, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	// var(q − r) / var(q): a constant shift has no noise at all.
	fmt.Printf("%.4f\n", mat.Formatted(m))
	// Output:
	// [0.0375  0.0000]
}

func ExampleBatched() {
	emb := mat.NewDense(5, 2, []float64{
		0, 0,
		1, 0,
		0, 1,
		5, 5,
		1, 1,
	})
	b := distances.NewBatched(&distances.Lp{P: 2, Power: 1}, 2)
	// Find each row's nearest other row, two query rows at a time.
	err := b.Each(emb, nil, func(block *mat.Dense, start, end int) error {
		for i := start; i < end; i++ {
			row := append([]float64(nil), block.RawRowView(i-start)...)
			row[i] = 1e300 // skip the row itself
			v, j, err := distances.Smallest(b, row)
			if err != nil {
				return err
			}
			fmt.Printf("row %d: nearest %d at %.3f\n", i, j, v)
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// row 0: nearest 1 at 1.000
	// row 1: nearest 0 at 1.000
	// row 2: nearest 0 at 1.000
	// row 3: nearest 4 at 5.657
	// row 4: nearest 1 at 1.000
}

// A session computes the distance matrix once and back-propagates through
// it, here for a gradient given by its non-zero entries.
func ExampleNewSession() {
	x := mat.NewDense(3, 2, []float64{3, 0, 0, 4, 0, -2})
	s, err := distances.NewSession(distances.NewLp(), x, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Release()
	fmt.Printf("%.4f\n", mat.Formatted(s.Matrix()))
	dx := mat.NewDense(3, 2, nil)
	// d(loss)/d(entry (0, 1)) = 1: on the symmetric matrix it stands for
	// (1, 0) too.
	if err := s.BackwardEntries([]distances.Entry{{I: 0, J: 1, G: 1}}, dx, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Symmetric())
	for i := range 3 {
		// Rounded, and + 0 to print -0 as 0.
		r := func(v float64) float64 { return math.Round(v*1e4)/1e4 + 0 }
		fmt.Printf("%.4f %.4f\n", r(dx.At(i, 0)), r(dx.At(i, 1)))
	}
	// Output:
	// ⎡0.0000  1.4142  1.4142⎤
	// ⎢1.4142  0.0000  2.0000⎥
	// ⎣1.4142  2.0000  0.0000⎦
	// true
	// 0.0000 -0.2357
	// -0.1768 0.0000
	// 0.0000 0.0000
}
