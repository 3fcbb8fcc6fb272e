// Package distributed is PML's utils/distributed (DistributedLossWrapper,
// DistributedMinerWrapper) and the process groups beneath it, for
// data-parallel training and sharded search over several processes or
// machines.
//
// A Communicator is a process group (rank, size, all-gather with varying
// counts, all-reduce sums, broadcast, barrier), what PML reaches through
// torch.distributed. NewLocalGroup makes one of goroutines in one process
// (for tests and for workers on one node); MPI, with the build tag mpi,
// returns this process's Open MPI communicator through a thin cgo layer over
// Debian's libopenmpi-dev 4.1 (pkg-config ompi-c):
//
//	go build -tags mpi ./examples/fashionmnist
//	mpirun -np 2 ./fashionmnist -distributed             # one machine
//	mpirun --hostfile hosts -np 8 ./fashionmnist -distributed
//
// (as root add OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;
// more ranks than cores needs --oversubscribe, and then
// --mca mpi_yield_when_idle 1 keeps a waiting rank, which Open MPI
// otherwise spins, from taking the core of one that works, e.g. while rank
// 0 evaluates). Tests run under MPI with
// go test -tags mpi -exec "mpirun -np 2 --oversubscribe".
//
// LossWrapper and MinerWrapper gather the embeddings (and labels) of every
// rank so that the loss or miner sees the global batch, with PML's
// efficient variant, and give each rank the gradient of its own rows, scaled
// as PML scales them, so that averaging the model gradients over the ranks
// gives the single-process gradient of the concatenated batch. Learnable
// losses get their parameter gradients all-reduced. SearchSharded is exact
// kNN over references split between the ranks: each rank searches its
// shard and the per-shard top-k are merged with utils/knn's tie rule.
//
// # Scaling
//
// With W ranks, B rows per rank, embeddings of E values, P model
// parameters and Q loss parameters, one training step moves, per rank:
//
//   - the loss wrapper's gather: received (W−1)·B·E float64 values and
//     (W−1)·B labels (8·(W−1)·B·(E+1) bytes; the miner wrapper gathers the
//     same again), plus a header of 7 ints per rank;
//   - the learnable loss's parameter gradients: an all-reduce of Q+1
//     float64 values (about 2·8·Q bytes per rank with a ring algorithm);
//   - the model's gradients: an all-reduce of P values, sent as float64
//     (about 2·8·P bytes per rank, whatever W).
//
// The gathers grow linearly with W and the compute of a non-efficient loss
// grows with the global batch (pair losses as (W·B)² on every rank); with
// Efficient each rank computes only B·W·B pairs, a W-th of the
// single-process work. The gradient all-reduce does not grow with W, so it
// dominates while P ≫ W·B·E: for the reference ConvNet of the Fashion-MNIST
// example, P ≈ 105 K parameters (about 1.7 MB moved per rank and step)
// against W·B·E = 2·32·64 ≈ 4 K gathered values (32 KB per rank and
// step). On one machine the ranks talk through shared memory, so the cost is
// the ranks' waiting for the slowest, not the bytes.
package distributed
