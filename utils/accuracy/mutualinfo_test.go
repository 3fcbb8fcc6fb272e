package accuracy

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

func TestNMIAMIKnownValues(t *testing.T) {
	ln2, ln3, ln6 := math.Ln2, math.Log(3), math.Log(6)
	tests := []struct {
		name     string
		labels   []int
		clusters []int
		nmi, ami float64
	}{
		// Identical partitions up to renaming.
		{"identical", []int{0, 0, 1, 1, 2, 2}, []int{5, 5, 3, 3, 9, 9}, 1, 1},
		{"swapped names", []int{0, 0, 1, 1}, []int{1, 1, 0, 0}, 1, 1},
		// scikit-learn's special cases.
		{"one class, one cluster", []int{4, 4, 4}, []int{7, 7, 7}, 1, 1},
		{"empty", nil, nil, 1, 1},
		// One class split into clusters: MI = 0 (and E[MI] = 0).
		{"split", []int{0, 0, 0, 0}, []int{0, 1, 2, 3}, 0, 0},
		{"one cluster", []int{0, 0, 1, 1}, []int{3, 3, 3, 3}, 0, 0},
		// Independent: MI = 0. By hand, N = 4, a = b = (2, 2): E[MI] =
		// 4 cells × P(nij=2)=1/6 × (2/4)·log(4·2/(2·2)) = ln2/3, so
		// AMI = (0 − ln2/3) / (ln2 − ln2/3) = −1/2.
		{"independent", []int{0, 0, 1, 1}, []int{0, 1, 0, 1}, 0, -0.5},
		// A small table by hand: classes (3, 3), clusters (2, 2, 2),
		// contingency [[2 1 0] [0 1 2]], N = 6.
		//   MI   = 2 × (2/6)·log(6·2/(3·2)) = (2/3)·ln2
		//   H    = ln2 and ln3, mean ln6/2
		//   E[MI]: per cell (a=3, b=2) nij ∈ {1, 2} with P = 9/15, 3/15;
		//          nij=1 adds (1/6)·log(1) = 0, nij=2 adds (1/3)·ln2·(3/15);
		//          6 cells → (2/5)·ln2
		{"table", []int{0, 0, 0, 1, 1, 1}, []int{0, 0, 1, 1, 2, 2},
			(2.0 / 3 * ln2) / ((ln2 + ln3) / 2),
			(2.0/3*ln2 - 2.0/5*ln2) / (ln6/2 - 2.0/5*ln2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nmi, err := NMI(tc.labels, tc.clusters)
			if err != nil || !testkit.Close(nmi, tc.nmi, 0, 1e-14) {
				t.Errorf("NMI = %.17g (%v), want %.17g", nmi, err, tc.nmi)
			}
			ami, err := AMI(tc.labels, tc.clusters)
			if err != nil || !testkit.Close(ami, tc.ami, 0, 1e-14) {
				t.Errorf("AMI = %.17g (%v), want %.17g", ami, err, tc.ami)
			}
		})
	}
	if _, err := NMI([]int{1, 2}, []int{0}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("NMI length mismatch: %v", err)
	}
	if _, err := AMI([]int{1}, []int{0, 1}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("AMI length mismatch: %v", err)
	}
}

// emiDirect computes E[MI] from its definition with exact hypergeometric
// probabilities (big rationals): Σ_ij Σ_nij P(nij) · nij/N · log(N·nij/(a_i b_j)).
func emiDirect(a, b []int64, n int64) float64 {
	binom := func(n, k int64) *big.Int { return new(big.Int).Binomial(n, k) }
	var emi float64
	for _, ai := range a {
		for _, bj := range b {
			for nij := max(1, ai+bj-n); nij <= min(ai, bj); nij++ {
				p := new(big.Rat).SetFrac(new(big.Int).Mul(binom(ai, nij), binom(n-ai, bj-nij)), binom(n, bj))
				pf, _ := p.Float64()
				emi += pf * float64(nij) / float64(n) * math.Log(float64(n*nij)/float64(ai*bj))
			}
		}
	}
	return emi
}

// TestExpectedMutualInfo compares the log-gamma EMI with the definition on
// random labelings, and checks AMI's symmetry and the bounds of NMI.
func TestExpectedMutualInfo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		n := 2 + rng.IntN(60)
		nc, nk := 1+rng.IntN(6), 1+rng.IntN(6)
		labels := make([]int, n)
		clusters := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(nc) * 10
			clusters[i] = rng.IntN(nk) - 2
		}
		ct := newContingency(labels, clusters)
		got := ct.expectedMutualInfo()
		want := 0.0
		if len(ct.a) > 1 && len(ct.b) > 1 {
			want = emiDirect(ct.a, ct.b, ct.n)
		}
		if !testkit.Close(got, want, 0, 1e-12*(1+math.Abs(want))) {
			t.Errorf("trial %d: EMI = %.17g, definition %.17g", trial, got, want)
		}
		// MI from its definition.
		var mi float64
		for _, c := range ct.cells {
			p := float64(c.v) / float64(n)
			mi += p * math.Log(float64(c.v)*float64(n)/float64(ct.a[c.i]*ct.b[c.j]))
		}
		if !testkit.Close(ct.mutualInfo(), max(mi, 0), 0, 1e-12) {
			t.Errorf("trial %d: MI = %.17g, definition %.17g", trial, ct.mutualInfo(), mi)
		}
		ami, _ := AMI(labels, clusters)
		swapped := make([]int, n)
		back := make([]int, n)
		for i := range labels {
			swapped[i], back[i] = clusters[i], labels[i]
		}
		ami2, _ := AMI(swapped, back)
		if !testkit.Close(ami, ami2, 0, 1e-12) || ami > 1+1e-12 {
			t.Errorf("trial %d: AMI %.17g, swapped %.17g", trial, ami, ami2)
		}
		nmi, _ := NMI(labels, clusters)
		if nmi < 0 || nmi > 1+1e-12 {
			t.Errorf("trial %d: NMI %v outside [0, 1]", trial, nmi)
		}
	}
}

// TestAMINearZeroForRandom: independent random labelings have AMI ≈ 0 on
// average (that is what the adjustment is for), while NMI stays positive.
func TestAMINearZeroForRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, trials = 200, 50
	var sumAMI, sumNMI float64
	for range trials {
		labels := make([]int, n)
		clusters := make([]int, n)
		for i := range labels {
			labels[i], clusters[i] = rng.IntN(10), rng.IntN(10)
		}
		ami, _ := AMI(labels, clusters)
		nmi, _ := NMI(labels, clusters)
		sumAMI += ami
		sumNMI += nmi
	}
	t.Logf("mean AMI %.4g, mean NMI %.4g", sumAMI/trials, sumNMI/trials)
	if m := sumAMI / trials; math.Abs(m) > 0.01 {
		t.Errorf("mean AMI of independent labelings = %v, want ≈ 0", m)
	}
	if m := sumNMI / trials; m < 0.03 {
		t.Errorf("mean NMI of independent labelings = %v, want clearly above 0", m)
	}
}
