package bench

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

const goOut = `goos: linux
goarch: amd64
pkg: github.com/gometric/gometric/losses
cpu: AMD EPYC 9B14
BenchmarkTripletMarginAll-2   	     200	   1780000 ns/op	    1024 B/op	       3 allocs/op
BenchmarkTripletMarginAll-2   	     200	   1800000 ns/op
BenchmarkTripletMarginAll-2   	     200	   1700000 ns/op
BenchmarkArcFace-2            	     200	    200000 ns/op	  37.0 MB-peak
BenchmarkTripletMarginAll1024 	      10	  24500000 ns/op
PASS
ok  	github.com/gometric/gometric/losses	12.3s
`

func TestParseGo(t *testing.T) {
	lines, err := ParseGo(strings.NewReader(goOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || lines[3].Name != "BenchmarkArcFace" || lines[3].Metrics["MB-peak"] != 37 || lines[4].Name != "BenchmarkTripletMarginAll1024" {
		t.Fatalf("%+v", lines)
	}
	if m, n := Median(lines, "BenchmarkTripletMarginAll"); m != 1780000 || n != 3 {
		t.Errorf("median %v of %d", m, n)
	}
	if m, n := Median(lines, "BenchmarkNone"); !math.IsNaN(m) || n != 0 {
		t.Errorf("median of none %v of %d", m, n)
	}
	for _, bad := range []string{
		"BenchmarkX-2 10 abc ns/op",
		"BenchmarkX-2 10 NaN ns/op",
		"BenchmarkX-2 10 -1 ns/op",
		"BenchmarkX-2 10 1 ns/op 5",
		"x\n" + strings.Repeat("a", MaxLine+1),
	} {
		if _, err := ParseGo(strings.NewReader(bad)); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("%.30q: %v", bad, err)
		}
	}
	if _, err := ParseGo(nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil: %v", err)
	}
}

func TestParsePMLAndTable(t *testing.T) {
	pml, err := ParsePML(strings.NewReader(`{"results": [{"name": "TripletMarginLoss (all triplets)", "median_ms": 18.1}, {"name": "ArcFaceLoss(32,128)", "median_ms": 0.1}]}`))
	if err != nil || pml["TripletMarginLoss (all triplets)"] != 18.1 {
		t.Fatal(pml, err)
	}
	for _, bad := range []string{``, `[`, `{"results": [{"name": "x", "median_ms": -1}]}`, `{"results": 3}`} {
		if _, err := ParsePML(strings.NewReader(bad)); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	lines, _ := ParseGo(strings.NewReader(goOut))
	tab := Table(Cases(), []Column{{Title: "PML", PML: pml}, {Title: "gometric", Go: lines}})
	for _, want := range []string{
		"| benchmark | PML | gometric | gometric vs PML |",
		"| TripletMarginLoss, all triplets (444k) | 18.1 ms | 1.78 ms | 10× faster |",
		"| ArcFaceLoss(32, 128) | 0.10 ms | 0.20 ms | 2.0× slower |",
		"| NTXentLoss | — | — | — |",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func FuzzParseGo(f *testing.F) {
	f.Add([]byte(goOut))
	f.Add([]byte("BenchmarkX-2 10 1e3 ns/op 5 B/op\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := ParseGo(strings.NewReader(string(b)))
		if err != nil {
			if !errors.Is(err, gometric.ErrShape) {
				t.Fatal(err)
			}
			return
		}
		for _, l := range lines {
			if !(l.NsPerOp >= 0) || math.IsInf(l.NsPerOp, 0) {
				t.Fatalf("%+v", l)
			}
		}
		Table(Cases(), []Column{{Title: "Go", Go: lines}})
	})
}

func FuzzParsePML(f *testing.F) {
	f.Add([]byte(`{"results": [{"name": "ContrastiveLoss", "median_ms": 1.2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePML(strings.NewReader(string(b)))
		if err != nil {
			if !errors.Is(err, gometric.ErrShape) {
				t.Fatal(err)
			}
			return
		}
		Table(Cases(), []Column{{Title: "PML", PML: m}})
	})
}

func TestConcurrencyDocs(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
}
