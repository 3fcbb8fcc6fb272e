// Package trainers runs training loops, the Go counterpart of PML's
// pytorch_metric_learning.trainers.
//
// MetricLossOnly mirrors PML's MetricLossOnly trainer (a BaseTrainer whose
// only loss is the metric loss): at every iteration it takes the next batch
// from a sampler, embeds it with a models.Encoder, lets an optional miner
// pick pairs or triplets from the embeddings, computes the loss on them
// (package losses, float64) and back-propagates its gradient through the
// encoder in the same forward pass (Encoder.TrainStep), then applies the
// optimizers: the encoder's and, when the loss has learnable parameters
// (losses.Learnable), the loss's. The miner and the loss run through a
// losses.Objective, exactly as in a training loop of one's own (see package
// models).
//
//	t := trainers.NewMetricLossOnly(enc, opt, 64, loss, trainSet)
//	t.Miner = miners.NewMultiSimilarity()
//	t.Sampler = &samplers.MPerClass{Labels: trainSet.Labels(), M: 8, BatchSize: 64, LengthBeforeNewIter: trainSet.Len()}
//	t.EndOfEpochHook = func(t *trainers.MetricLossOnly, ep trainers.EpochInfo) error {
//		// test, save a checkpoint: an error fails the run;
//		// trainers.ErrStopTraining stops it cleanly
//		return nil
//	}
//	epochs, err := t.Train(ctx, 1, 10)
//
// As in PML, the batches come from the sampler through a loader that drops
// the last incomplete batch (torch's DataLoader with drop_last=True) and
// restarts the sampler when a pass runs out, so an epoch is
// IterationsPerEpoch iterations whatever the sampler's length; without a
// sampler the data set is shuffled at every pass (shuffle=True).
//
// Training is reproducible: the sampler's random draws come from a PCG
// generator seeded with Seed and the number of the pass over the sampler,
// so the same Seed, encoder initialisation and settings give the same
// batches, losses and weights, and a run resumed at a later start epoch
// draws the batches a continuous run would have drawn. Random miners and
// losses (DistanceWeighted, UniformHistogram, TripletMargin with random
// triplets) draw from their own Rand field, which the caller seeds.
//
// Train stops cleanly between two iterations when its context is cancelled
// (returning ctx.Err()) or when a hook returns ErrStopTraining (returning
// nil), stops with the hook's error when a hook fails, shows a progress bar
// with the loss, the miner's counts and the speed when Progress is set, and
// reports every epoch (mean and last loss, iterations whose loss was 0, mean
// miner counts, wall time) as an EpochInfo.
//
// PML's model roles: Encoder is the trunk and Embedder an optional
// embedder after it (nil is PML's Identity), each with its own optimizer;
// they are chained without merging their Gorgonia graphs, through
// models.InputGradStepper (the embedder's step returns the gradient with
// respect to its input, which becomes the trunk's). LossWeights,
// FreezeThese, GradientClippers, LRSchedulersByIteration and
// LRSchedulersByEpoch and SetMinLabelToZero are PML's loss_weights,
// freeze_these, gradient_clippers, lr_schedulers and
// set_min_label_to_zero.
//
// TrainWithClassifier mirrors PML's TrainWithClassifier: MetricLossOnly
// plus a classifier on the embeddings (any models.InputGradStepper; an MLP
// of two Sizes is torch's nn.Linear) trained with losses.CrossEntropy,
// each loss weighted by LossWeights ("metric_loss", "classifier_loss").
// The classifier runs inside the metric loss's function, so the gradient
// that reaches the embedder and the trunk is the sum of both losses'.
//
// TwoStreamMetricLoss mirrors PML's TwoStreamMetricLoss: a
// MetricLossOnly on a datasets.TwoStream (anchor, positive, label), whose
// loss takes the 2N embeddings [anchors; positives] with the tuples mined
// from the anchors against the positives, as PML's.
//
// CascadedEmbeddings mirrors PML's CascadedEmbeddings: the embeddings
// are cut into consecutive blocks of columns (EmbeddingSizes), each with
// its own metric loss, miner and classifier ("metric_loss_i",
// "tuple_miner_i", "classifier_i", "classifier_loss_i"); an HDC miner
// filters the previous block's tuples, as PML's cascade does.
//
// LabelHierarchyLevel (PML's label_hierarchy_level) trains on one level
// of a data set with labels at several levels (LabelsAtLevel; Stanford
// Online Products' super class is level 1), and SubsetBatchMiner (PML's
// subset_batch_miner) picks the rows of each batch to train on from its
// embeddings.
//
// DeepAdversarialMetricLearning mirrors PML's DeepAdversarialMetricLearning
// (DAML): TrainWithClassifier (the classifier optional) plus a generator
// that maps random (anchor, positive, negative) triplets of trunk outputs
// to synthetic negatives, trained with the adversarial g_adv_loss (a
// TripletMargin on a negated Lp distance), g_hard_loss and g_reg_loss,
// while the metric also learns from the synthetic triplets (synth_loss);
// MetricAloneEpochs and GAloneEpochs schedule PML's three phases. It runs
// the embedder itself, once per iteration on the real and synthetic rows
// stacked, so every loss's gradient reaches the generator, the embedder
// and the trunk.
//
// Base mirrors PML's BaseTrainer: the loop every trainer runs. A trainer of
// one's own is a Base whose CalculateLoss (PML's calculate_loss) returns
// the loss of a batch and its gradient with respect to the embeddings, and
// whose StepOptimizers steps whatever else it trained.
//
// PML's BaseTrainer roles, miners and options are all here; PML's
// label_hierarchy_level "all" is not (see LabelHierarchyLevel).
package trainers
