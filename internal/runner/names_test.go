package runner

import (
	"math"

	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/logging"
)

// The files of epoch n's checkpoint, as the tests name them (the
// schedulers are the trainer's LRSchedulersByEpoch in the order trunk,
// embedder).
func epochFile(n int, role string, kind trainers.ComponentKind) string {
	return logging.FileName(logging.EpochCheckpoint(n), role, kind)
}
func EpochFile(n int) string { return epochFile(n, "trunk", trainers.ModelComponent) }
func EpochLossFile(n int) string {
	return epochFile(n, "metric_loss", trainers.LossComponent)
}
func EpochOptimizerFile(n int) string {
	return epochFile(n, "trunk_optimizer", trainers.OptimizerComponent)
}
func EpochEmbedderFile(n int) string { return epochFile(n, "embedder", trainers.ModelComponent) }
func EpochEmbedderOptimizerFile(n int) string {
	return epochFile(n, "embedder_optimizer", trainers.OptimizerComponent)
}
func EpochSchedulerFile(n int) string {
	return epochFile(n, "lr_scheduler_by_epoch_0", trainers.SchedulerComponent)
}
func EpochEmbedderSchedulerFile(n int) string {
	return epochFile(n, "lr_scheduler_by_epoch_1", trainers.SchedulerComponent)
}
func EpochClassifierFile(n int) string {
	return epochFile(n, "classifier", trainers.ModelComponent)
}

// bestEpoch returns the best PrimaryMetric of the trained, evaluated rows
// and the first epoch that scored it.
func bestEpoch(rows []Row) (float64, int) {
	b, e := math.Inf(-1), -1
	for _, r := range rows {
		if r.Metrics == nil || r.Epoch < 1 {
			continue
		}
		if v := r.Metrics[PrimaryMetric].Scalar; !math.IsNaN(v) && v > b {
			b, e = v, r.Epoch
		}
	}
	return b, e
}
