// Package models holds the encoders that metric learning trains: the
// trunk/embedder models of PML's examples, in Gorgonia (gorgonia.org/gorgonia)
// and float32.
//
//   - Encoder is the interface a trainer and a tester use: Embed (inference),
//     TrainStep (forward, loss, backward), Params, ZeroGrad, Step, Save, Load.
//   - ConvNet is a configurable CNN for C×H×W images: blocks of conv3×3
//     (padding 1) → ReLU → max-pool 2×2, then a dense layer to the embedding.
//     ReferenceConvNetConfig is the Fashion-MNIST benchmark's network.
//   - MLP is a dense head for precomputed feature vectors, or PML's
//     embedder after a trunk, with torch's Dropout after each hidden ReLU
//     in training if MLPConfig.Dropout is set (masks reproducible from
//     the Seed and the step count, which the weight file keeps).
//   - ResNet is torchvision's ResNet-18, -34, -50 and -101 (v1.5), with
//     BatchNorm in train and eval modes and PML's freeze_trunk_batchnorm,
//     written directly on the package's GEMM (no Gorgonia graph); without
//     fc it is PML's pretrained trunk. StateDict and LoadStateDict use
//     torchvision's names; ReadStateDict reads torch.save's .pth files
//     (the pickle is never executed) and .safetensors, and
//     WriteSafetensorsFile writes the latter.
//   - Optimizer applies torch.optim's update rules (SGD, Adam, AdamW,
//     RMSprop), made by name with torch's defaults (NewOptimizer), its
//     rate set between steps by a scheduler (StepLR, MultiStepLR,
//     ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau), and applied with
//     Encoder.Step, or to a loss's learnable parameters (ArcFace's W,
//     ProxyAnchor's proxies, ...) with losses.Objective.StepParams, as PML's
//     loss_optimizer. NewDenseParam wraps one float64 parameter by hand.
//   - LossNode puts a pure-Go loss into a Gorgonia graph of your own, as
//     one node: the op TrainStep uses.
//
// # A training iteration
//
// The loss is pure Go and float64 (package losses); the encoder is a Gorgonia
// graph in float32. losses.Objective joins them at the float32 boundary
// (embeddings in, gradient out: PML's miner and loss_func calls), and its
// Compute, with the batch's labels bound, is the LossFunc that TrainStep
// calls on the embeddings:
//
//	enc, _ := models.NewConvNet(models.ReferenceConvNetConfig(seed))
//	opt, _ := models.NewOptimizer("adam", 1e-3)
//	lossOpt, _ := models.NewOptimizer("adam", 1e-2) // the loss's parameters, if any
//	obj := &losses.Objective{Loss: loss, Miner: miners.NewMultiSimilarity()}
//	for each batch x, labels {
//		_, err := enc.TrainStep(x, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
//			return obj.Compute(e, labels) // miner, loss, d(loss)/d(emb)
//		})
//		err = enc.Step(opt)            // optimizer.step(); gradients back to 0
//		err = obj.StepParams(lossOpt)  // loss_optimizer.step(); nothing without parameters
//	}
//	emb, err := enc.Embed(testBatch) // N×E, for the tester
//
// trainers.MetricLossOnly runs this loop for you. A network of your own in
// Gorgonia takes the loss as a node of its graph with LossNode (see its
// example): one forward pass, the loss, one backward pass.
//
// TrainStep is one run of a Gorgonia graph: the network, then a custom op
// (gorgonia.Op and gorgonia.SDOp; also gorgonia.ADOp) whose Do calls the
// LossFunc and caches d(loss)/d(embeddings), and whose symbolic derivative
// returns that cache times the incoming gradient, so gorgonia.Grad
// backpropagates the pure-Go loss through the network in the same forward
// pass. Each parameter's gradient is then read into the Param (set, not
// accumulated) and the tape machine is reset, so no gradient or state
// carries over between iterations: there is nothing to forget to zero. A
// failed TrainStep leaves the gradients at 0.
//
// An encoder compiles one graph per batch size and mode (training or
// inference) and keeps the last few; the weights are shared by all of them.
// Embed runs batches of more than 256 samples in chunks.
//
// # Layers
//
// The layers are Gorgonia ops written for this package, with torch's
// semantics and parameter layouts (conv weight out×in×3×3, dense weight
// out×in):
//
//   - a conv block, Conv2d(3, padding=1) → ReLU → MaxPool2d(2), is one op:
//     im2col and one GEMM for the whole batch give the pre-activations
//     channel by channel, then one pass adds the bias, pools (floor mode,
//     first maximum of a window, NaN propagating) and applies the ReLU,
//     writing NCHW directly; its gradient ops route each output gradient to
//     its window's argmax (0 where the ReLU is off, as torch's
//     threshold_backward), then two GEMMs and col2im give the weight and
//     input gradients;
//   - a dense layer (torch's Linear) is one GEMM plus the bias; ReLU (MLP) is
//     its own op, which in a training graph of an MLP with Dropout also
//     applies the dropout mask in the same pass (no tensor of its own); its
//     gradient op masks and scales the gradient the same way.
//
// Composing Gorgonia's generic ops (Conv2d, Rectify, MaxPool2D, Mul,
// BroadcastAdd) instead costs a transpose of every activation, broadcast
// copies of the biases and separate ReLU passes, and gorgonia.Mul treats a
// 1×k matrix as a vector; the fused op avoids all of that. Every product
// goes through the BLAS Gorgonia uses (gorgonia.WhichBLAS). The ops are
// checked against a loop-by-loop transcription of torch's semantics on
// small integers (exact, with ties everywhere), the gradients against
// finite differences (in float64 networks), and the float32 encoders
// against those networks.
//
// # Initialisation
//
// Weights and biases are drawn as torch initialises Conv2d and Linear:
// kaiming_uniform_(a=√5) for a weight, which is U(−1/√fan_in, 1/√fan_in),
// and U(−1/√fan_in, 1/√fan_in) for a bias, fan_in being in·3·3 for a
// convolution and in for a dense layer. The draws come from math/rand/v2's
// PCG seeded with (Seed, 0x676f6d6574726963), parameter by parameter in the
// order of Params, each row-major, as float64 values rounded to float32. The
// same seed gives the same weights on every platform; they are not torch's
// draws (a different generator), only the same distribution. An MLP's
// dropout masks come from PCGs seeded by the Seed, the hidden layer and the
// training step (see MLP), also not torch's draws.
//
// # Weight files
//
// Save writes, and Load and LoadEncoder read, this format (all integers and
// floats little-endian):
//
//	offset  size  content
//	0       8     magic "GMWEIGHT"
//	8       4     format version, uint32 = 1
//	12      4     header length L, uint32
//	16      L     header, JSON: {"kind": "ConvNet"|"MLP"|"ResNet", "config": the
//	              ConvNetConfig, MLPConfig or ResNetConfig (with the
//	              BatchNorms' num_batches_tracked), "params": [{"name",
//	              "shape"}, ...]: a ResNet's running statistics are
//	              params too, and for an MLP with Dropout,
//	              "dropout_steps": its count of training steps (absent
//	              when 0; MLPConfig.Dropout is absent when 0, so an MLP
//	              without dropout writes the format of earlier releases)}
//	16+L    4·P   the parameters in header order, each row-major float32
//	              (P values in all)
//	end−4   4     CRC-32 (IEEE) of every preceding byte
//
// Parameter names and shapes are torch's state_dict keys and shapes
// ("conv1.weight" [16 1 3 3], "conv1.bias" [16], ..., "fc.weight" [64 1568],
// "fc.bias" [64] for the reference network; "fc1.weight", "fc1.bias", ... for
// an MLP). An architecture holds at most 2^28 parameter values (1 GiB of
// float32 weights): NewConvNet, NewMLP and the readers refuse larger ones.
//
// Save writes a temporary file "."+base+".tmp-*" in the target's
// directory (mode 0644), syncs it, renames it over the target and syncs
// the directory, so a checkpoint is either the old file or the new one,
// even after a crash or a power loss. A process killed during a Save
// leaves its temporary file; the next Save of the same path removes it
// (so two saves of one path must not run at the same time).
//
// Reading is a stream (the framing is internal/binio's): the fixed fields
// and the header (at most 1 MiB) first, checked against the expected
// architecture and, for a regular file, the file's length; then the
// weights, read in bounded steps, so memory grows with the bytes that
// actually arrive; then the checksum and the end of the input. A FIFO or a
// device works; /dev/zero, a short file whose header claims a huge
// network, or valid content followed by more bytes fail without
// allocating more than the input held. Everything (magic, version,
// header, sizes, checksum, architecture, finite values) is checked before
// a weight changes; errors name the path and the byte offset and wrap
// ErrWeightFile. A header that does not describe the expected encoder is
// reported as damage when the checksum of the file does not match. The
// optimizer's state is not saved.
//
// # BLAS
//
// Importing the package installs the library's GEMM (internal/gemm, with its
// AVX2/FMA kernels on a CPU that has them) as
// Gorgonia's BLAS with gorgonia.Use. Set GOMETRIC_BLAS=gonum to keep gonum's
// pure-Go BLAS (Gorgonia's default); UseFastBLAS and UseGonumBLAS switch at
// run time and BLASName reports the current one.
//
// # Differences from torch
//
// Optimizer "rmsprop" is Gorgonia's, which divides by √(v+ε) where torch
// divides by √v + ε. The random draws of the initialisation differ (see
// above). Everything else is computed as torch does, in float32.
package models
