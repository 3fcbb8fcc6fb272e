package trainers

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/distributed"
)

// errOtherRank is the error of a rank whose own step succeeded when
// another rank's failed.
var errOtherRank = errors.New("trainers: another rank failed")

// ranks is the number of ranks Train runs on (1 without a Comm).
func (b *Base) ranks() int {
	if check.Nil(b.Comm) {
		return 1
	}
	return max(b.Comm.Size(), 1)
}

// distributed reports whether Train runs on more than one rank.
func (b *Base) distributed() bool { return b.ranks() > 1 }

// trainedModels are the models whose gradients Train averages over the
// ranks: the trunk unless frozen, the embedder unless frozen.
func (b *Base) trainedModels() []models.Encoder {
	var out []models.Encoder
	if !b.Frozen(roleTrunk) {
		out = append(out, b.Encoder)
	}
	if b.Embedder != nil && !b.Frozen(roleEmbedder) {
		out = append(out, b.Embedder)
	}
	return out
}

// broadcastParams copies rank 0's parameters of the trunk, the embedder and
// the loss to every rank (DDP's broadcast at construction).
func (b *Base) broadcastParams() error {
	if !b.distributed() {
		return nil
	}
	name := b.component()
	ms := []models.Encoder{b.Encoder}
	if b.Embedder != nil {
		ms = append(ms, b.Embedder)
	}
	for _, m := range ms {
		for _, p := range m.Params() {
			v, _ := p.Float32s()
			if v == nil {
				return fmt.Errorf("%s: parameter %q is not a float32 parameter and cannot be broadcast: %w", name, p.Name(), gometric.ErrUnsupported)
			}
			if err := b.Comm.BroadcastFloat32s(v, 0); err != nil {
				return fmt.Errorf("%s: broadcasting %q from rank 0: %w", name, p.Name(), err)
			}
		}
	}
	if b.lossParams == nil {
		return nil
	}
	for i, v := range b.lossParams() {
		r, c := v.Dims()
		raw := v.RawMatrix()
		for j := range r {
			if err := b.Comm.BroadcastFloat64s(raw.Data[j*raw.Stride:j*raw.Stride+c], 0); err != nil {
				return fmt.Errorf("%s: broadcasting the loss's parameter %d from rank 0: %w", name, i, err)
			}
		}
	}
	return nil
}

// reduceGrads replaces the trained models' gradients by their mean over the
// ranks, in one all-reduce that also counts the ranks whose step failed
// (failed is this rank's). It returns an error wrapping errOtherRank when
// another rank failed.
func (b *Base) reduceGrads(failed bool) error {
	ms := b.trainedModels()
	n := 0
	for _, m := range ms {
		for _, p := range m.Params() {
			n += p.Len()
		}
	}
	b.gradBuf = slices.Grow(b.gradBuf[:0], n+1)[:n+1]
	buf := b.gradBuf
	buf[n] = 0
	off := 0
	for _, m := range ms {
		for _, p := range m.Params() {
			_, g := p.Float32s()
			copy(buf[off:off+len(g)], g)
			off += len(g)
		}
	}
	if failed {
		buf[n] = 1
	}
	if err := b.Comm.AllReduceFloat32s(buf); err != nil {
		return fmt.Errorf("averaging the gradients: %w", err)
	}
	if buf[n] != 0 {
		return fmt.Errorf("the step failed on %v rank(s): %w", buf[n], errOtherRank)
	}
	inv := 1 / float32(b.ranks())
	off = 0
	for _, m := range ms {
		for _, p := range m.Params() {
			_, g := p.Float32s()
			for i := range g {
				g[i] = buf[off+i] * inv
			}
			off += len(g)
		}
	}
	return nil
}

// agree makes every rank act on the hooks of all: err is this rank's
// hook's result; the result is an error when any rank's hook failed,
// ErrStopTraining when any asked to stop, nil otherwise.
func (b *Base) agree(err error) error {
	if !b.distributed() {
		return err
	}
	var v [2]float64
	switch {
	case err == nil:
	case isStop(err):
		v[0] = 1
	default:
		v[1] = 1
	}
	if cerr := b.Comm.AllReduceFloat64s(v[:]); cerr != nil {
		if err != nil && !isStop(err) {
			return err
		}
		return cerr
	}
	switch {
	case err != nil && !isStop(err):
		return err
	case v[1] > 0:
		return fmt.Errorf("a hook failed on %v other rank(s): %w", v[1], errOtherRank)
	case v[0] > 0:
		return ErrStopTraining
	}
	return nil
}

// notDistributed refuses a Comm of more than one rank for a trainer whose
// other models (classifier, generator) the data-parallel loop does not
// average.
func notDistributed(component string, c distributed.Communicator) error {
	if !check.Nil(c) && c.Size() > 1 {
		return fmt.Errorf("%s: data-parallel training (Comm of %d ranks) is supported by MetricLossOnly only (this trainer's other models would not be averaged): %w", component, c.Size(), gometric.ErrUnsupported)
	}
	return nil
}
