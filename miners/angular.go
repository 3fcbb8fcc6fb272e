package miners

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// pairwiseEps is the constant torch's pairwise_distance (which PML's
// LpDistance.pairwise_distance calls) adds to x − y before the norm.
const pairwiseEps = 1e-6

// Angular mirrors PML's AngularMiner (the angle of Wang et al., "Deep
// Metric Learning with Angular Loss"): of all triplets (a, p, n) it keeps
// those whose angle atan(‖a − p‖ / (2‖n − c‖)), c = (a + p)/2, exceeds
// Angle degrees.
//
// As in PML, the norms are LpDistance.pairwise_distance, i.e. torch's
// pairwise_distance on the raw embeddings: ‖x − y + 1e-6‖₂, with no
// normalisation. The triplets are streamed per anchor, never held as an
// N×M×M tensor; ‖n − c‖ comes from precomputed inner products, and is
// recomputed directly wherever that formula could lose precision or the
// angle is near the threshold. The order is PML's (anchor, positive,
// negative).
//
// An Angle of 0 is a legal setting, so the zero value cannot mean PML's
// default of 20: make an Angular with NewAngular and set its fields; Mine
// refuses a zero value or a literal with an error wrapping
// gometric.ErrSetting. Mine is safe for concurrent use as long as the
// fields are not changed meanwhile and Distance is safe for concurrent use.
type Angular struct {
	// Distance must be nil (PML's default) or a *distances.Lp with P = 2,
	// Power = 1 and NormalizeEmbeddings, as PML asserts.
	Distance distances.Distance
	// Angle is PML's angle, in degrees (default 20).
	Angle float64

	made bool
}

// NewAngular returns an Angular miner with PML's defaults (AngularMiner():
// angle 20 degrees).
func NewAngular() *Angular { return &Angular{Angle: 20, made: true} }

// Mine returns the selected triplets (a *tuples.Triplets).
func (am *Angular) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.Angular"
	if am == nil {
		return nil, nilReceiver(name)
	}
	if !am.made {
		return nil, notMade(name, "NewAngular", "angle 20")
	}
	if err := finiteSetting(name, "Angle", am.Angle); err != nil {
		return nil, err
	}
	if _, err := requireUnitLp(name, am.Distance); err != nil {
		return nil, err
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	if count, err := tuples.CountAllTriplets(b.labels, b.refArg(), b.self); err != nil {
		return nil, wrap(name, err)
	} else if count > maxOutput {
		return nil, check.Errorf(name, gometric.ErrShape, "%d triplets, more than the %d this miner examines", count, maxOutput)
	}
	// numpy's radians: x·(π/180).
	threshold := am.Angle * (math.Pi / 180)

	q, r := b.emb, b.refRows()
	d := b.d
	// Inner products of query rows with reference rows (G, N×M) and of
	// reference rows with each other (H, M×M), squared norms and sums of
	// the rows, for ‖n − c + ε‖² = ‖n + ε‖² − (n+ε)·a − (n+ε)·p + ‖c‖².
	g := rawOf(gram(q, r))
	h := g
	if !b.self {
		h = rawOf(gram(r, r))
	}
	qSum, qSq := rowStats(q)
	rSum, rSq := rowStats(r)
	// ‖n + ε‖² for every reference row.
	uSq := make([]float64, b.m)
	for j := range uSq {
		uSq[j] = rSq[j] + 2*pairwiseEps*rSum[j] + float64(d)*pairwiseEps*pairwiseEps
	}
	// The formula's relative error is about d·ε_machine·scale/‖n − c‖²
	// (at most delta once ‖n − c‖² >= guard·scale); below that the value is
	// recomputed directly, and so is every decision closer to the
	// threshold than the error allows.
	const guard = 1e-3
	delta := 64 * float64(d+4) * 0x1p-52 / guard
	window := math.Max(1e-9, delta)
	// For 0 < θ < 1.5 rad the test atan(x) > θ is made as x² > tan²θ,
	// without the arctangent, outside a relative band around tan²θ.
	useTan := threshold > 0 && threshold < 1.5
	tan2 := math.Tan(threshold) * math.Tan(threshold)
	tanBand := 4*delta + 1e-12

	center := make([]float64, d)
	diff := make([]float64, d)
	var out collector
	err = tuples.EachAnchor(b.labels, b.refArg(), b.self, func(a int, pos, neg []int) error {
		if len(pos) == 0 || len(neg) == 0 {
			return nil
		}
		av := q.RawRowView(a)[:d]
		gRow := g.data[a*g.stride : a*g.stride+b.m]
		aShift := pairwiseEps * qSum[a]
		for _, p := range pos {
			pv := r.RawRowView(p)[:d]
			var ap2 float64
			for k := range diff {
				x := av[k] - pv[k] + pairwiseEps
				ap2 += x * x
				center[k] = (av[k] + pv[k]) / 2
			}
			ap := math.Sqrt(ap2)
			if !rownorm.Safe(ap2) {
				// Squares that overflow or underflow: the scaled norm.
				for k := range diff {
					diff[k] = av[k] - pv[k] + pairwiseEps
				}
				ap = rownorm.Norm(diff, 2)
			}
			// ‖c‖² = (‖a‖² + 2a·p + ‖p‖²)/4.
			cSq := (qSq[a] + 2*gRow[p] + rSq[p]) / 4
			hRow := h.data[p*h.stride : p*h.stride+b.m]
			pShift := pairwiseEps * rSum[p]
			for _, n := range neg {
				// (n+ε)·a and (n+ε)·p.
				ua := gRow[n] + aShift
				up := hRow[n] + pShift
				sq := uSq[n] - (ua + up) + cSq
				scale := uSq[n] + math.Abs(ua) + math.Abs(up) + cSq
				// NaN or overflow also takes the direct route.
				direct := !(sq >= guard*scale) || math.IsInf(scale, 0)
				keep := false
				if !direct {
					if useTan {
						x2 := ap2 / (4 * sq)
						keep = x2 > tan2
						direct = math.Abs(x2-tan2) <= tanBand*tan2
					} else {
						angle := math.Atan(ap / (2 * math.Sqrt(sq)))
						keep = angle > threshold
						direct = math.Abs(angle-threshold) <= window*(1+math.Abs(threshold))
					}
				}
				if direct {
					nv := r.RawRowView(n)[:d]
					for k := range diff {
						diff[k] = nv[k] - center[k] + pairwiseEps
					}
					keep = math.Atan(ap/(2*norm2(diff))) > threshold
				}
				if keep {
					out.add(a, p, n)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(name, err)
	}
	return out.triplets(), nil
}

// gram returns x·yᵀ.
func gram(x, y *mat.Dense) *mat.Dense {
	nx, _ := x.Dims()
	ny, _ := y.Dims()
	out := mat.NewDense(nx, ny, nil)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, x.RawMatrix(), y.RawMatrix(), 0, out.RawMatrix())
	return out
}

// rowStats returns each row's sum and squared norm.
func rowStats(x *mat.Dense) (sums, sq []float64) {
	n, d := x.Dims()
	sums, sq = make([]float64, n), make([]float64, n)
	for i := range n {
		for _, v := range x.RawRowView(i)[:d] {
			sums[i] += v
			sq[i] += v * v
		}
	}
	return sums, sq
}

// norm2 returns the Euclidean norm of v, right at any magnitude
// (rownorm.Norm scales where the squares overflow or underflow).
func norm2(v []float64) float64 { return rownorm.Norm(v, 2) }
