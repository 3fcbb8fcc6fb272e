package distributed_test

import (
	"fmt"
	"sync"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/distributed"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

// Two ranks (goroutines here; processes under mpirun with
// distributed.MPI) each hold half of a batch; the wrapped loss sees the
// whole batch. As PML's, the returned loss is the number of ranks times
// the loss of the concatenated batch.
func ExampleLossWrapper() {
	emb := [][]float64{{1, 0, 0, 1, 0.9, 0.1}, {0, 1, 0.2, 0.8, 1, 0}}
	labels := [][]int{{0, 1, 0}, {1, 0, 1}}
	group, err := distributed.NewLocalGroup(2)
	if err != nil {
		fmt.Println(err)
		return
	}
	got := make([]float64, 2)
	var wg sync.WaitGroup
	for r, c := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loss := distributed.NewLossWrapper(losses.NewContrastive(), c)
			miner := distributed.NewMinerWrapper(miners.NewMultiSimilarity(), c)
			obj := &losses.Objective{Loss: loss, Miner: miner}
			x := gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{
				float32(emb[r][0]), float32(emb[r][1]), float32(emb[r][2]),
				float32(emb[r][3]), float32(emb[r][4]), float32(emb[r][5])}}
			l, _, err := obj.Compute(x, labels[r])
			if err != nil {
				fmt.Println(err)
				c.Close()
				return
			}
			got[r] = float64(l)
		}()
	}
	wg.Wait()

	all := mat.NewDense(6, 2, append(append([]float64(nil), emb[0]...), emb[1]...))
	tup, _ := miners.NewMultiSimilarity().Mine(miners.Input{Embeddings: all, Labels: []int{0, 1, 0, 1, 0, 1}})
	single, _ := losses.NewContrastive().Compute(losses.Batch{Embeddings: all, Labels: []int{0, 1, 0, 1, 0, 1}, Tuples: tup})
	fmt.Printf("rank 0: %.4f, rank 1: %.4f, 2 × single process: %.4f\n", got[0], got[1], 2*single.Loss)
	// Output: rank 0: 3.8250, rank 1: 3.8250, 2 × single process: 3.8250
}

// Each rank holds a shard of the references; every rank gets the global
// nearest neighbours, indices counted across the shards in rank order.
func ExampleSearchSharded() {
	shards := [][]float32{{0, 0, 1, 0}, {0, 1, 5, 5}} // two 2-D references per rank
	query := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{0.9, 0.1}}
	group, _ := distributed.NewLocalGroup(2)
	res := make([]knn.Result, 2)
	var wg sync.WaitGroup
	for r, c := range group {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shard := knn.NewExact(2, knn.L2)
			if err := shard.Add(gometric.Matrix{Rows: 2, Cols: 2, Data: shards[r]}); err != nil {
				fmt.Println(err)
			}
			var err error
			if res[r], err = distributed.SearchSharded(c, shard, query, 3); err != nil {
				fmt.Println(err)
			}
		}()
	}
	wg.Wait()
	fmt.Println(res[0].Indices, res[1].Indices)
	// Output: [1 0 2] [1 0 2]
}
