package miners

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// DistanceWeighted mirrors PML's DistanceWeightedMiner (Wu et al.,
// "Sampling Matters in Deep Embedding Learning"). With D the embedding
// size and d = max(distance, Cutoff), each pair gets the log-weight
// (2 − D)·log d − ((D − 3)/2)·log(1 − d²/4), the inverse of the density of
// distances between points on the unit sphere. Same-class pairs, pairs with
// d >= NonzeroLossCutoff and non-finite log-weights get weight 0; the
// others exp(log-weight − max), normalised per anchor.
//
// The triplets are then drawn as PML's get_random_triplet_indices draws
// them (tuples.RandomTriplets with these weights): for each anchor of a
// class with at least one other member (one member with ref embeddings),
// as many triplets as the class has members, each with a uniformly drawn
// positive and a negative drawn with probability proportional to its
// weight. Anchors whose weights are all 0 get none.
//
// The distance must be PML's default LpDistance (normalised, p = 2,
// power 1), as PML asserts. The draws come from Rand; they cannot
// reproduce torch's random stream. Where every log-weight is non-finite
// PML fails (a maximum over nothing); this returns no triplets.
//
// Cutoff and NonzeroLossCutoff of 0 are legal settings, so the zero value
// cannot mean PML's defaults: make a DistanceWeighted with
// NewDistanceWeighted and set its fields; Mine refuses a zero value or a
// literal with an error wrapping gometric.ErrSetting. With a nil Rand (the
// default) Mine is safe for concurrent use, as long as the fields are not
// changed meanwhile; with a seeded Rand it is not.
type DistanceWeighted struct {
	// Distance must be nil (PML's default) or a *distances.Lp with P = 2,
	// Power = 1 and NormalizeEmbeddings.
	Distance distances.Distance
	// Cutoff is PML's cutoff (default 0.5): smaller distances are raised
	// to it.
	Cutoff float64
	// NonzeroLossCutoff is PML's nonzero_loss_cutoff (default 1.4):
	// negatives at this distance or farther are never drawn.
	NonzeroLossCutoff float64
	// Rand draws the triplets. If Rand is nil, math/rand/v2's process-wide
	// generator is used: fresh draws at every call, as PML draws from
	// torch's global generator. A seeded Rand makes the draws
	// reproducible (same seed, same triplets).
	Rand *rand.Rand

	made bool
}

// NewDistanceWeighted returns a DistanceWeighted miner with PML's defaults
// (DistanceWeightedMiner(): cutoff 0.5, nonzero_loss_cutoff 1.4), drawing
// from the process-wide generator; set Rand for reproducible draws.
func NewDistanceWeighted() *DistanceWeighted {
	return &DistanceWeighted{Cutoff: 0.5, NonzeroLossCutoff: 1.4, made: true}
}

// Mine returns the sampled triplets (a *tuples.Triplets).
func (dw *DistanceWeighted) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.DistanceWeighted"
	if dw == nil {
		return nil, nilReceiver(name)
	}
	if !dw.made {
		return nil, notMade(name, "NewDistanceWeighted", "cutoff 0.5, nonzero_loss_cutoff 1.4")
	}
	if err := finiteSetting(name, "Cutoff", dw.Cutoff); err != nil {
		return nil, err
	}
	if math.IsNaN(dw.NonzeroLossCutoff) {
		return nil, check.Settingf(name, "NonzeroLossCutoff is NaN")
	}
	dist, err := requireUnitLp(name, dw.Distance)
	if err != nil {
		return nil, err
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	m, err := b.matrix(name, dist)
	if err != nil {
		return nil, err
	}
	w := dw.weights(b, m)
	t, err := tuples.RandomTriplets(b.labels, b.refArg(), b.self, 0, w, randsrc.Or(dw.Rand))
	if err != nil {
		return nil, wrap(name, err)
	}
	return t, nil
}

// weights computes PML's weight matrix (rows normalised; a row of zeros
// becomes NaN, as 0/0 does in PML, and is then skipped by RandomTriplets).
func (dw *DistanceWeighted) weights(b *batch, m *mat.Dense) *mat.Dense {
	d := float64(b.d)
	w := mat.NewDense(b.n, b.m, nil)
	// Log-weights, masked (same class: 0) as PML multiplies by its mask;
	// their maximum over the finite entries.
	maxLW := math.Inf(-1)
	finite := false
	for i, l := range b.labels {
		src, dst := row(m, i), row(w, i)
		for j, v := range src {
			v = max(v, dw.Cutoff)
			lw := (2-d)*math.Log(v) - ((d-3)/2)*math.Log(1-0.25*(v*v))
			if math.IsNaN(lw) || math.IsInf(lw, 0) {
				dst[j] = math.NaN() // flagged: weight 0 below
				continue
			}
			if l == b.refLabels[j] {
				lw *= 0
			}
			dst[j] = lw
			finite = true
			maxLW = max(maxLW, lw)
		}
	}
	for i, l := range b.labels {
		src, dst := row(m, i), row(w, i)
		sum := 0.0
		for j, lw := range dst {
			v := max(src[j], dw.Cutoff)
			if !finite || math.IsNaN(lw) || l == b.refLabels[j] || !(v < dw.NonzeroLossCutoff) {
				dst[j] = 0
				continue
			}
			dst[j] = math.Exp(lw - maxLW)
			sum += dst[j]
		}
		for j := range dst {
			dst[j] /= sum
		}
	}
	return w
}
