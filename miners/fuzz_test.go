package miners_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// fuzzReader hands out the fuzz input's bytes; past the end it gives zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// value decodes an embedding entry: mostly small numbers on a coarse grid
// (ties), sometimes zero, huge, tiny or non-finite.
func (r *fuzzReader) value() float64 {
	switch k := r.byte(); {
	case k < 200:
		return float64(int(k)-100) / 16
	case k < 240:
		var buf [8]byte
		for i := range buf {
			buf[i] = r.byte()
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(buf[:]))
	case k < 250:
		return 0
	default:
		return []float64{math.NaN(), math.Inf(1), 1e300, -1e300, 1e-300, math.MaxFloat64}[int(k)-250]
	}
}

// setting decodes a float setting: usually moderate, sometimes special.
func (r *fuzzReader) setting() float64 {
	k := r.byte()
	switch k {
	case 255:
		return math.NaN()
	case 254:
		return math.Inf(1)
	case 253:
		return math.Inf(-1)
	}
	return float64(int(k)-128) / 32
}

func (r *fuzzReader) matrix(rows, cols int) *mat.Dense {
	m := mat.NewDense(rows, cols, nil)
	for i := range rows {
		for j := range cols {
			m.Set(i, j, r.value())
		}
	}
	return m
}

func (r *fuzzReader) labels(n, classes int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = int(r.byte()) % classes
	}
	return l
}

func (r *fuzzReader) distance() distances.Distance {
	switch r.byte() % 6 {
	case 0:
		return nil
	case 1:
		return distances.NewLp()
	case 2:
		return distances.NewCosineSimilarity()
	case 3:
		return &distances.Lp{P: 1 + float64(r.byte()%4), Power: 1 + float64(r.byte()%2), NormalizeEmbeddings: r.byte()%2 == 0}
	case 4:
		return &distances.DotProductSimilarity{P: 2, Power: 1, NormalizeEmbeddings: r.byte()%2 == 0}
	default:
		return &distances.SNR{P: 2, Power: 1}
	}
}

// unitLpOrOther is usually nil (the required default), sometimes another
// distance (an error unless it is the unit Lp).
func (r *fuzzReader) unitLpOrOther() distances.Distance {
	if r.byte()%2 == 0 {
		return nil
	}
	return r.distance()
}

func (r *fuzzReader) strategy() miners.Strategy {
	return []miners.Strategy{miners.Easy, miners.SemiHard, miners.Hard, miners.All, "bogus"}[int(r.byte())%5]
}

func (r *fuzzReader) rng() *rand.Rand {
	if r.byte() == 0 {
		return nil
	}
	return rand.New(rand.NewPCG(uint64(r.byte()), uint64(r.byte())))
}

func (r *fuzzReader) rangeSetting() *miners.Range {
	if r.byte()%3 == 0 {
		return nil
	}
	return &miners.Range{Low: r.setting(), High: r.setting()}
}

// miner decodes one miner of each kind with fuzzed settings.
func (r *fuzzReader) miner(kind int) miners.Miner {
	switch kind {
	case 0:
		return set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = r.setting() * 30; m.Distance = r.unitLpOrOther() })
	case 1:
		return &miners.BatchEasyHard{Distance: r.distance(), PosStrategy: r.strategy(), NegStrategy: r.strategy(), AllowedPosRange: r.rangeSetting(), AllowedNegRange: r.rangeSetting()}
	case 2:
		return &miners.BatchHard{Distance: r.distance(), AllowedPosRange: r.rangeSetting(), AllowedNegRange: r.rangeSetting()}
	case 3:
		return set(miners.NewDistanceWeighted(), func(m *miners.DistanceWeighted) {
			m.Cutoff = r.setting()
			m.NonzeroLossCutoff = r.setting() * 2
			m.Rand = r.rng()
			m.Distance = r.unitLpOrOther()
		})
	case 4:
		return miners.NewEmbeddingsAlreadyPackagedAsTriplets()
	case 5:
		return set(miners.NewHDC(), func(m *miners.HDC) { m.Distance = r.distance(); m.FilterPercentage = r.setting()/2 + 0.5 })
	case 6:
		return set(miners.NewMultiSimilarity(), func(m *miners.MultiSimilarity) { m.Distance = r.distance(); m.Epsilon = r.setting() })
	case 7:
		return set(miners.NewPairMargin(), func(m *miners.PairMargin) {
			m.Distance = r.distance()
			m.PosMargin = r.setting()
			m.NegMargin = r.setting()
		})
	case 8:
		return set(miners.NewTripletMargin(), func(m *miners.TripletMargin) {
			m.Distance = r.distance()
			m.Margin = r.setting()
			m.TypeOfTriplets = r.strategy()
		})
	default:
		return &miners.UniformHistogram{Distance: r.distance(), NumBins: int(r.byte()) - 2, PosPerBin: int(r.byte()%6) - 1, NegPerBin: int(r.byte()%6) - 1, Rand: r.rng()}
	}
}

const numMinerKinds = 10

func FuzzMine(f *testing.F) {
	f.Add([]byte{4, 2, 0, 3, 100, 116, 132, 84, 0, 1, 1, 0})
	f.Add([]byte{7, 3, 1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 0, 1, 2, 1, 2, 3, 120, 130, 9, 9})
	f.Add([]byte{5, 1, 2, 3, 1, 101, 99, 250, 100, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{9, 2, 0, 2, 90, 110, 100, 120, 130, 140, 0, 0, 1, 1, 12, 3, 3, 1, 1, 2})
	f.Add([]byte{11, 4, 1, 1, 200, 0, 0, 0, 0, 0, 0, 240, 127, 100, 101, 102, 103, 104, 105, 106, 0, 1, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		n := int(r.byte() % 10)
		d := 1 + int(r.byte()%4)
		classes := 1 + int(r.byte()%4)
		var in miners.Input
		if n > 0 {
			in.Embeddings = r.matrix(n, d)
		}
		in.Labels = r.labels(n, classes)
		switch r.byte() % 5 {
		case 0: // ref
			m := 1 + int(r.byte()%8)
			in.Ref = r.matrix(m, d)
			in.RefLabels = r.labels(m, classes)
		case 1: // broken ref
			in.Ref = r.matrix(1+int(r.byte()%3), 1+int(r.byte()%5))
			if r.byte()%2 == 0 {
				in.RefLabels = r.labels(int(r.byte()%4), classes)
			}
		case 2: // broken labels
			in.Labels = r.labels(int(r.byte()%12), classes)
		}
		kind := int(r.byte()) % (numMinerKinds + 1)
		kinds := []int{kind}
		if kind == numMinerKinds {
			kinds = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		}
		for _, k := range kinds {
			m := r.miner(k)
			if h, ok := m.(*miners.HDC); ok && r.byte()%4 == 0 {
				ext := &tuples.Pairs{}
				for range int(r.byte() % 6) {
					ext.A1 = append(ext.A1, int(r.byte()%12))
					ext.P = append(ext.P, int(r.byte()%12))
					ext.A2 = append(ext.A2, int(r.byte()%12))
					ext.N = append(ext.N, int(r.byte()%12))
				}
				if err := h.SetIndicesExternally(ext, in.Labels); err != nil {
					checkFuzzErr(t, err)
				}
			}
			out, err := m.Mine(in)
			if err != nil {
				checkFuzzErr(t, err)
				if out != nil {
					t.Fatalf("%T: result with an error", m)
				}
				continue
			}
			checkFuzzOutput(t, m, in, out)
		}
	})
}

func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "miners.") {
		t.Fatalf("error %q does not start with the miner's name", err)
	}
	if !testkit.WrapsSentinel(err) {
		t.Fatalf("error %q wraps no sentinel", err)
	}
}

// checkFuzzOutput checks what holds for every successful Mine: indices in
// range, and labels respected by every miner that uses them.
func checkFuzzOutput(t *testing.T, m miners.Miner, in miners.Input, out tuples.Tuples) {
	t.Helper()
	if out == nil {
		t.Fatalf("%T: nil result without an error", m)
	}
	n, _ := in.Embeddings.Dims()
	refLabels, self := in.Labels, true
	nRef := n
	if in.Ref != nil {
		nRef, _ = in.Ref.Dims()
		refLabels, self = in.RefLabels, false
	}
	if err := out.Validate(n, nRef); err != nil {
		t.Fatalf("%T: invalid result: %v", m, err)
	}
	switch m.(type) {
	case *miners.EmbeddingsAlreadyPackagedAsTriplets, *miners.HDC:
		return // packaged or external indices need not respect the labels
	}
	if !allValid(out, in.Labels, refLabels, self) {
		t.Fatalf("%T: result breaks the labels: %+v", m, out)
	}
}
