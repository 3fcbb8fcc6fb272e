// Package logging is the Go counterpart of PML's
// pytorch_metric_learning.utils.logging_presets: HookContainer, the hooks
// that test a trainer every few epochs, keep its latest and best
// checkpoints, record the run and stop it when the validation metric
// stops improving, and LoadLatest, which resumes a run where it stopped.
//
//	trainer := trainers.NewMetricLossOnly(trunk, opt, 64, loss, trainSet)
//	tester := testers.NewGlobalEmbeddingSpace()
//	hooks := logging.NewHookContainer("out", tester, map[string]datasets.Dataset{"val": valSet})
//	hooks.Patience = 5 // PML's patience; 0: none
//	hooks.Resume = true // continue the run in out, if any
//	epochs, err := hooks.Train(ctx, trainer, 100)
//
// Train is PML's
//
//	hooks = logging_presets.get_hook_container(record_keeper)
//	trainer = MetricLossOnly(..., end_of_iteration_hook=hooks.end_of_iteration_hook,
//	        end_of_epoch_hook=hooks.end_of_epoch_hook(tester, dataset_dict, model_folder, patience=5))
//	start_epoch = hooks.load_latest_saved_models(trainer, model_folder)
//	trainer.train(start_epoch, num_epochs=100)
//
// and its steps are there to call one by one: Attach (set the trainer's
// hooks), LoadLatest (the start epoch), the trainer's own Train.
//
// A checkpoint is every trainers.Component of the trainer — each model,
// the learnable loss's parameters, every optimizer's and scheduler's
// state — one file each (FileName): epoch-N.gmw (the trunk),
// epoch-N-embedder.gmw, epoch-N-trunk_optimizer.gms, ... after the last
// epoch N, and checkpoint.gmw, checkpoint-embedder.gmw, ... at the best
// epoch. The record keeper (PML's record_keeper) writes run.csv (one line
// per epoch: training summary, the validation metrics, times, warnings),
// iterations.csv (one line per iteration: loss, sub-losses, miner counts)
// and run.png (the loss of every iteration with an exponential moving
// average, the metrics per epoch).
//
// What PML's HookContainer has and this package does not: the record
// keeper's SQLite database and TensorBoard (CSV and PNG instead), log_freq
// (every iteration is recorded), the records of splits other than the
// validation split (the tester computes them; run.csv holds the
// validation split's), and random miners' and losses' generator states
// (a resumed run restarts them from their seed).
package logging
