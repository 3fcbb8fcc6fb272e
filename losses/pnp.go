package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// PNPVariant names a variant of the PNP loss, spelt as PML's variant
// argument. Its zero value "" names none: PNP.Compute refuses it with an
// error wrapping gometric.ErrSetting (NewPNP sets PNPO, PML's default). A
// PNPVariant is a string, safe for concurrent use.
type PNPVariant string

// The five variants of PML's PNPLoss: the function f applied to the soft
// count R of negatives ranked above a positive.
const (
	// PNPDs is PNP-D_s: f(R) = log(1 + R).
	PNPDs PNPVariant = "Ds"
	// PNPDq is PNP-D_q: f(R) = 1/(1 + R)^Alpha, and the loss is 1 minus
	// the mean.
	PNPDq PNPVariant = "Dq"
	// PNPIu is PNP-I_u: f(R) = (1 + R)·log(1 + R).
	PNPIu PNPVariant = "Iu"
	// PNPIb is PNP-I_b: f(R) = (B·R - log(1 + B·R))/B².
	PNPIb PNPVariant = "Ib"
	// PNPO is PNP-O (PML's default): f(R) = R.
	PNPO PNPVariant = "O"
)

// PNP mirrors PML's PNPLoss (Li et al., 2022, "Rethinking the optimization
// of average precision"). For every query i with at least one positive,
// let P_i be the elements with i's label, i itself included, and for each
// j in P_i let
//
//	R_ij = Σ_{k: label k ≠ label i} σ((s_ik - s_ij)/Anneal)
//
// be the soft number of negatives more similar to i than j, with σ PML's
// sigmoid whose exponent is clamped to [-50, 50] (no gradient beyond).
// The loss is the mean over those queries of Σ_{j∈P_i} f(R_ij)/|P_i|, f
// set by Variant (for PNPDq, 1 minus that mean). A single
// "already_reduced" sub-loss "loss".
//
// Labels are required; ref embeddings and mined tuples are not supported
// (as in PML). The distance must be a *distances.CosineSimilarity (PML
// asserts it), which is also the default; the default reducer is Mean.
// PML builds N×N×N tensors; this port needs O(N²) memory and
// O(Σ_i |P_i|·(N-|P_i|)) time.
//
// Make it with NewPNP(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type PNP struct {
	Base
	// B is PML's b (default 2), used by PNPIb; it must be finite and
	// non-zero.
	B float64
	// Alpha is PML's alpha (default 1), the exponent of PNPDq; it must be
	// finite.
	Alpha float64
	// Anneal is PML's anneal (default 0.01), the sigmoid's temperature; it
	// must be finite and non-zero.
	Anneal float64
	// Variant is PML's variant (default PNPO).
	Variant PNPVariant
}

// NewPNP returns a PNP loss with PML's defaults (PNPLoss(): b 2, alpha 1,
// anneal 0.01, variant "O", CosineSimilarity, MeanReducer).
func NewPNP() *PNP {
	return &PNP{Base: defaultBase(), B: 2, Alpha: 1, Anneal: 0.01, Variant: PNPO}
}

const pnpName = "losses.PNP"

var pnpDecl = decl{
	name:          pnpName,
	ctor:          "NewPNP()",
	needLabels:    true,
	noRef:         true,
	noTuples:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: requireCosine,
}

// Compute implements Loss.
func (l *PNP) Compute(b Batch) (Result, error) { return run(&pnpDecl, l, b) }

func (l *PNP) validate(name string) error {
	switch l.Variant {
	case PNPDs, PNPDq, PNPIu, PNPIb, PNPO:
	default:
		return check.Settingf(name, "Variant = %q, want one of Ds, Dq, Iu, Ib, O", string(l.Variant))
	}
	if l.B == 0 || math.IsNaN(l.B) || math.IsInf(l.B, 0) {
		return check.Settingf(name, "B = %v, want finite and non-zero", l.B)
	}
	if math.IsNaN(l.Alpha) || math.IsInf(l.Alpha, 0) {
		return check.Settingf(name, "Alpha = %v, want finite", l.Alpha)
	}
	if l.Anneal == 0 || math.IsNaN(l.Anneal) || math.IsInf(l.Anneal, 0) {
		return check.Settingf(name, "Anneal = %v, want finite and non-zero", l.Anneal)
	}
	return nil
}

// f returns the variant's f(r) and f'(r), with PML's operation order.
func (l *PNP) f(r float64) (float64, float64) {
	switch l.Variant {
	case PNPDs:
		return math.Log(1 + r), 1 / (1 + r)
	case PNPDq:
		p := math.Pow(1+r, l.Alpha)
		return 1 / p, -l.Alpha * math.Pow(1+r, -l.Alpha-1)
	case PNPIu:
		lg := math.Log(1 + r)
		return (1 + r) * lg, lg + 1
	case PNPIb:
		b := l.B
		c := 1 / (b * b)
		return c * (b*r - math.Log(1+b*r)), c * (b - b/(1+b*r))
	}
	return r, 1
}

// pnpSigmoid is PML's PNPLoss.sigmoid: 1/(1 + exp(clamp(-x/temp, -50,
// 50))), and its derivative in x (0 where the clamp is active).
func pnpSigmoid(x, temp float64) (float64, float64) {
	z := -x / temp
	clamped := false
	switch {
	case z < -50:
		z, clamped = -50, true
	case z > 50:
		z, clamped = 50, true
	}
	e := math.Exp(z)
	y := 1 / (1 + e)
	if clamped {
		return y, 0
	}
	return y, e * y * y / temp
}

func (l *PNP) compute(in *input) (*term, error) {
	n, labels := in.n, in.labels
	// same[i] holds the elements with i's label, ascending (i among them:
	// ref is query).
	same := in.sameLabels()
	var safe []int
	for i, s := range same {
		if len(s) > 1 {
			safe = append(safe, i)
		}
	}
	if len(safe) == 0 {
		return nil, nil
	}
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	raw := m.RawMatrix()
	neg := make([]int, 0, n)
	negatives := func(i int) []int {
		neg = neg[:0]
		for k, v := range labels {
			if v != labels[i] {
				neg = append(neg, k)
			}
		}
		return neg
	}
	// rk[i] holds R_ij for j in the group of i, in group order.
	rk := make([][]float64, n)
	var total float64
	for _, i := range safe {
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		pos := same[i]
		ng := negatives(i)
		r := make([]float64, len(pos))
		var rowSum float64
		for pj, j := range pos {
			var s float64
			for _, k := range ng {
				y, _ := pnpSigmoid(row[k]-row[j], l.Anneal)
				s += y
			}
			r[pj] = s
			v, _ := l.f(s)
			rowSum += v
		}
		rk[i] = r
		total += rowSum / float64(len(pos))
	}
	loss := total / float64(len(safe))
	sign := 1.0
	if l.Variant == PNPDq {
		loss, sign = 1-loss, -1
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{loss}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			up := sign * dv[0][0] / float64(len(safe))
			if up == 0 {
				return nil
			}
			gm := mat.NewDense(n, n, nil)
			graw := gm.RawMatrix()
			for _, i := range safe {
				row := raw.Data[i*raw.Stride : i*raw.Stride+n]
				grow := graw.Data[i*graw.Stride : i*graw.Stride+n]
				pos := same[i]
				ng := negatives(i)
				c := up / float64(len(pos))
				for pj, j := range pos {
					_, df := l.f(rk[i][pj])
					gr := c * df
					if gr == 0 {
						continue
					}
					var gj float64
					for _, k := range ng {
						_, dy := pnpSigmoid(row[k]-row[j], l.Anneal)
						grow[k] += gr * dy
						gj -= gr * dy
					}
					grow[j] += gj
				}
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
