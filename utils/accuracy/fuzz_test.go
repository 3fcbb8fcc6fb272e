package accuracy_test

import (
	"math"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// fuzzReader hands out bytes, then zeros.
type fuzzReader struct {
	data []byte
	pos  int
}

func (r *fuzzReader) next() byte {
	if r.pos >= len(r.data) {
		return 0
	}
	b := r.data[r.pos]
	r.pos++
	return b
}

// float maps a byte to a float32: mostly small values (with many exact
// ties), sometimes NaN or ±Inf.
func (r *fuzzReader) float() float32 {
	switch b := r.next(); b {
	case 255:
		return float32(math.NaN())
	case 254:
		return float32(math.Inf(1))
	default:
		return float32(int(b)-128) / 16
	}
}

func (r *fuzzReader) matrix(rows, cols int) gometric.Matrix {
	m := gometric.Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for i := range m.Data {
		m.Data[i] = r.float()
	}
	return m
}

func (r *fuzzReader) labels(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = int(r.next()%4) - 1
	}
	return l
}

// FuzzCalculator drives Accuracy, SelfAccuracy, FromKNN, NMI and AMI with
// arbitrary sizes, values, labels, k and settings. Nothing may panic; a
// successful call must give kNN metrics in [0, 1] (or NaN when undefined),
// NMI in [0, 1] and AMI ≤ 1.
func FuzzCalculator(f *testing.F) {
	f.Add([]byte{5, 3, 1, 0x11, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 1, 2, 3, 0, 1})
	f.Add([]byte{3, 2, 0, 0x10, 0, 128, 128, 129, 130, 140, 1, 1, 1, 2, 2})
	f.Add([]byte{7, 5, 2, 0x22, 3, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200, 210, 220, 0, 0, 1, 1, 2, 2, 3})
	f.Add([]byte{4, 4, 1, 0x0f, 1, 255, 1, 2, 3, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 3, 0x31, 200, 1, 2, 3, 4, 5, 6, 0, 0})
	f.Add([]byte{6, 1, 1, 0x53, 9, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{data: data}
		nq := int(r.next() % 7) // 0 is an empty query
		extra := int(r.next() % 6)
		d := int(r.next()%3) + 1
		flags := r.next()
		kByte := int8(r.next())
		selfRef := flags&1 != 0
		c := &accuracy.Calculator{
			AvgOfAvgs:      flags&2 != 0,
			ReturnPerClass: flags&4 != 0,
		}
		switch (flags >> 4) & 3 {
		case 0:
			c.K = accuracy.KAll()
		case 1:
			c.K = accuracy.KMaxBinCount()
		default:
			c.K = accuracy.KInt(int(kByte))
		}
		if flags&8 != 0 {
			c.Compare = func(a, b int) bool { return a-b <= 1 && b-a <= 1 }
			c.Exclude = []string{accuracy.NameNMI, accuracy.NameAMI}
		}
		if flags&64 != 0 {
			c.Include = []string{accuracy.NamePrecisionAt1, accuracy.NameAMI}
		}
		query := r.matrix(nq, d)
		ql := r.labels(nq)
		var res accuracy.Results
		var err error
		if selfRef {
			ref := gometric.Matrix{Rows: nq + extra, Cols: d, Data: append(append([]float32{}, query.Data...), r.matrix(extra, d).Data...)}
			rl := append(append([]int{}, ql...), r.labels(extra)...)
			if flags&128 != 0 {
				res, err = c.SelfAccuracy(query, ql)
			} else {
				res, err = c.Accuracy(query, ql, ref, rl, true)
			}
		} else {
			nr := extra + 1
			res, err = c.Accuracy(query, ql, r.matrix(nr, d), r.labels(nr), false)
		}
		if err == nil {
			checkFuzzResults(t, res)
		}

		// FromKNN with arbitrary (possibly invalid) neighbours.
		nr := int(r.next()%6) + 1
		k := int(r.next() % 4)
		idx := make([]int, nq*k)
		for i := range idx {
			idx[i] = int(r.next()%8) - 1
		}
		clusters := make([]int, nq)
		for i := range clusters {
			clusters[i] = int(r.next() % 3)
		}
		pre := accuracy.Precomputed{
			QueryLabels: ql, ReferenceLabels: r.labels(nr),
			KNN: knn.Result{K: k, Indices: idx}, ClusterLabels: clusters,
		}
		// Arbitrary neighbours (repeated indices) can push MAP above 1, as
		// in PML: only NMI and AMI have bounds here.
		if res, err := c.FromKNN(pre); err == nil {
			bounded := accuracy.Results{}
			for _, name := range []string{accuracy.NameNMI, accuracy.NameAMI} {
				if v, ok := res[name]; ok {
					bounded[name] = v
				}
			}
			checkFuzzResults(t, bounded)
		}
		nmi, err1 := accuracy.NMI(ql, clusters)
		ami, err2 := accuracy.AMI(ql, clusters)
		if err1 != nil || err2 != nil || nmi < 0 || nmi > 1+1e-12 || math.IsNaN(nmi) || ami > 1+1e-12 || math.IsNaN(ami) {
			t.Errorf("NMI %v (%v), AMI %v (%v) for %v / %v", nmi, err1, ami, err2, ql, clusters)
		}
	})
}

func checkFuzzResults(t *testing.T, res accuracy.Results) {
	t.Helper()
	for name, v := range res {
		vals := append([]float64{v.Scalar}, v.PerClass...)
		for _, x := range vals {
			switch name {
			case accuracy.NameAMI:
				if math.IsNaN(x) || x > 1+1e-12 {
					t.Errorf("%s = %v", name, x)
				}
			case accuracy.NameNMI:
				if math.IsNaN(x) || x < 0 || x > 1+1e-12 {
					t.Errorf("%s = %v", name, x)
				}
			default:
				if !math.IsNaN(x) && (x < 0 || x > 1+1e-12) {
					t.Errorf("%s = %v outside [0, 1]", name, x)
				}
			}
		}
	}
}
