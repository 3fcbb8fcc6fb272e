// Package losses mirrors PML's losses: every loss computes PML's sub-losses
// (pairs, triplets or per-element values), reduces them with its reducer
// and returns the scalar with its gradient with respect to the embeddings
// (and the reference embeddings), so a training loop can back-propagate it
// into any encoder.
//
// A call takes a Batch — embeddings, labels, optional reference embeddings
// and labels, optional mined tuples — as PML's forward(embeddings, labels,
// indices_tuple, ref_emb, ref_labels) does. Each loss embeds Base: its
// distance, reducer and embedding regularizer, where nil means PML's
// default for that class. New<Name> returns the loss with PML 2.8.1's
// defaults.
//
// Losses with learnable parameters (ArcFace's W, ProxyAnchor's proxies,
// SoftTriple's centres, Margin's beta, ...) implement Learnable: Params
// returns them with PML's names and shapes, each call returns their
// gradients in Result.ParamGrads, an optimizer updates Param.Value in place,
// and SaveParams / LoadParams keep them between runs. WeightReg adds PML's
// weight regularizer term ("weight_reg_loss"). A parameter matrix (the
// product of a constructor's sizes, e.g. numClasses × embeddingSize) and
// CrossBatchMemory's memory hold at most 2^28 values (2 GiB); larger sizes
// are an error wrapping gometric.ErrSetting that names them and the limit.
// Labels are compared, never used as sizes: a loss that indexes a
// parameter by the label (ArcFace's W, ProxyAnchor's proxies, ...) refuses
// a label outside [0, numClasses) with gometric.ErrLabels.
//
// The wrappers CrossBatchMemory (a ring-buffer memory of past embeddings),
// Multiple (PML's MultipleLosses) and SelfSupervised (PML's
// SelfSupervisedLoss) compose other losses.
//
// A loss is made by its New<Name> constructor and then adjusted by setting
// its exported fields. Its zero value is refused with an error wrapping
// gometric.ErrSetting that names the constructor (see Base), as is a nil
// pointer: no loss computes something other than PML's defaults silently.
//
// Randomness (random triplets, Manifold's meta classes, the initial
// weights drawn by the constructors of losses with parameters) comes from a
// *rand.Rand: a nil one means math/rand/v2's global generator, fresh draws
// at every call and safe for concurrent use, as PML draws from torch's
// global generator; a seeded one makes the draws reproducible and its
// holder unsafe for concurrent use.
//
// Embeddings of any finite magnitude give the right loss and gradient or
// an error wrapping gometric.ErrNonFinite, never zeros or NaN silently:
// the distances normalise every finite row (and the losses that normalise
// themselves do likewise), so a loss on normalised rows is free of the
// embeddings' scale while their norms exceed torch's eps (1e-12; 1e-8 for
// ThresholdConsistentMargin's cosine_similarity), its gradient dividing by
// the scale; below it, torch's clamp applies as in PML. A loss or gradient
// beyond float64's range (a loss on raw embeddings such as VICReg on rows
// ×1e160) is an error.
//
// Each type's doc says whether it is safe for concurrent use: a loss whose
// Compute only reads its settings is, as long as they (and its parameters)
// are not changed meanwhile.
//
// Go names drop the Loss suffix: PML's TripletMarginLoss is
// losses.TripletMargin.
package losses
