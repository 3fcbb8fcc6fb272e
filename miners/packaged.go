package miners

import (
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/tuples"
)

// EmbeddingsAlreadyPackagedAsTriplets mirrors PML's miner of the same name:
// the batch is laid out as consecutive triplets, rows (3k, 3k+1, 3k+2)
// being (anchor, positive, negative), and it returns exactly those
// triplets. Labels are not used and may be nil; the batch size must be a
// multiple of 3 (PML's output assertion fails otherwise).
//
// The triplets are rows of the batch, so ref embeddings are an error
// wrapping gometric.ErrUnsupported; PML ignores them and returns batch
// rows that a loss would then read as reference rows.
//
// It has no settings: the zero value is the miner NewEmbeddingsAlready-
// PackagedAsTriplets returns. It is safe for concurrent use.
type EmbeddingsAlreadyPackagedAsTriplets struct{}

// NewEmbeddingsAlreadyPackagedAsTriplets returns the miner
// (EmbeddingsAlreadyPackagedAsTriplets()).
func NewEmbeddingsAlreadyPackagedAsTriplets() *EmbeddingsAlreadyPackagedAsTriplets {
	return &EmbeddingsAlreadyPackagedAsTriplets{}
}

// Mine returns the packaged triplets (a *tuples.Triplets).
func (e *EmbeddingsAlreadyPackagedAsTriplets) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.EmbeddingsAlreadyPackagedAsTriplets"
	if e == nil {
		return nil, nilReceiver(name)
	}
	b, err := prepare(name, in, true)
	if err != nil {
		return nil, err
	}
	if !b.self {
		return nil, check.Errorf(name, gometric.ErrUnsupported, "the triplets are rows of the batch; ref embeddings are not supported")
	}
	if b.n%3 != 0 {
		return nil, check.Errorf(name, gometric.ErrShape, "%d embeddings is not a multiple of 3", b.n)
	}
	k := b.n / 3
	out := &tuples.Triplets{A: make([]int, k), P: make([]int, k), N: make([]int, k)}
	for i := range k {
		out.A[i], out.P[i], out.N[i] = 3*i, 3*i+1, 3*i+2
	}
	return out, nil
}
