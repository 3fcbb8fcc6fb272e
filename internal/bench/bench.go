// Package bench is the benchmark table of the README (gometric bench): the
// go test benchmarks it runs, the parsing of their output and of PML's
// figures (../shared/tools/pml_bench.py --json), and the Markdown table
// that sets them side by side.
package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
)

// Case is one row of the table: a Go benchmark and PML's counterpart. It
// is plain data, safe for concurrent reads.
type Case struct {
	// Label is the row's name.
	Label string
	// Package is the Go package (./losses), Bench the benchmark's name
	// (with a sub-benchmark after a slash) and Benchtime its -benchtime
	// (e.g. 200x).
	Package, Bench, Benchtime string
	// PML is the name of pml_bench.py's result, "" when PML has none.
	PML string
}

// Cases are the README's rows: losses at batch 256×128 (32 classes × 8;
// 200 calls per figure so that the buffer pools' warm-up does not weigh),
// the N = 1024 triplet case, a miner with its loss and the
// AccuracyCalculator on 10k × 128.
func Cases() []Case {
	return []Case{
		{"TripletMarginLoss, all triplets (444k)", "./losses", "BenchmarkTripletMarginAll", "200x", "TripletMarginLoss (all triplets)"},
		{"TripletMarginLoss + MultiSimilarityMiner", "./miners", "BenchmarkMinerThenTripletMarginLoss/MultiSimilarity", "20x", "TripletMarginLoss + MultiSimilarityMiner"},
		{"TripletMarginMiner(\"all\") + TripletMarginLoss", "./miners", "BenchmarkMinerThenTripletMarginLoss/TripletMarginAll", "20x", ""},
		{"ContrastiveLoss", "./losses", "BenchmarkContrastive", "200x", "ContrastiveLoss"},
		{"MultiSimilarityLoss", "./losses", "BenchmarkMultiSimilarity", "200x", "MultiSimilarityLoss"},
		{"NTXentLoss", "./losses", "BenchmarkNTXent", "200x", "NTXentLoss"},
		{"ArcFaceLoss(32, 128)", "./losses", "BenchmarkArcFace", "200x", "ArcFaceLoss(32,128)"},
		{"ProxyAnchorLoss(32, 128)", "./losses", "BenchmarkProxyAnchor", "200x", "ProxyAnchorLoss(32,128)"},
		{"AccuracyCalculator 10k × 128, 7 metrics", "./utils/accuracy", "BenchmarkCalculator10k", "1x", "AccuracyCalculator 10k x 128, all 7 metrics"},
		{"TripletMarginLoss all triplets, N = 1024 (7.3M triplets)", "./losses", "BenchmarkTripletMarginAll1024", "10x", ""},
	}
}

// Pattern is the -bench pattern that runs exactly c's benchmark.
func (c Case) Pattern() string {
	parts := strings.Split(c.Bench, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// Line is one parsed line of go test -bench output. It is plain data,
// safe for concurrent reads.
type Line struct {
	// Name is the benchmark's name without the -GOMAXPROCS suffix.
	Name string
	// NsPerOp is the ns/op figure; Metrics holds the other "value unit"
	// pairs of the line (B/op, allocs/op, custom metrics).
	NsPerOp float64
	Metrics map[string]float64
}

// MaxLine is the longest output line ParseGo reads.
const MaxLine = 1 << 20

// ParseGo reads go test -bench output and returns its benchmark lines in
// order; other lines are skipped. A benchmark line whose figures do not
// parse, or a line longer than MaxLine, is an error wrapping
// gometric.ErrShape naming the line.
func ParseGo(r io.Reader) ([]Line, error) {
	if r == nil {
		return nil, fmt.Errorf("bench.ParseGo: nil reader: %w", gometric.ErrSetting)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	var out []Line
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
			continue // "BenchmarkX" printed by a test, not a result line
		}
		l := Line{Name: f[0], Metrics: map[string]float64{}}
		if i := strings.LastIndexByte(l.Name, '-'); i > 0 {
			if _, err := strconv.Atoi(l.Name[i+1:]); err == nil {
				l.Name = l.Name[:i]
			}
		}
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("bench.ParseGo: line %d: %d fields, want name, count and value–unit pairs: %w", n, len(f), gometric.ErrShape)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("bench.ParseGo: line %d: value %q: %w", n, f[i], gometric.ErrShape)
			}
			if f[i+1] == "ns/op" {
				l.NsPerOp = v
			} else {
				l.Metrics[f[i+1]] = v
			}
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench.ParseGo: %v: %w", err, gometric.ErrShape)
	}
	return out, nil
}

// Median returns the median ns/op of the lines called name, and how many
// there are (0: none, and NaN).
func Median(lines []Line, name string) (float64, int) {
	var v []float64
	for _, l := range lines {
		if l.Name == name {
			v = append(v, l.NsPerOp)
		}
	}
	return median(v), len(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ParsePML reads pml_bench.py's --json file: the median milliseconds of
// every result by name. A file that is not its JSON, or a median that is
// not a finite non-negative number, is an error wrapping gometric.ErrShape.
func ParsePML(r io.Reader) (map[string]float64, error) {
	if r == nil {
		return nil, fmt.Errorf("bench.ParsePML: nil reader: %w", gometric.ErrSetting)
	}
	var doc struct {
		Results []struct {
			Name     string  `json:"name"`
			MedianMS float64 `json:"median_ms"`
		} `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("bench.ParsePML: %v: %w", err, gometric.ErrShape)
	}
	out := map[string]float64{}
	for _, res := range doc.Results {
		if math.IsNaN(res.MedianMS) || math.IsInf(res.MedianMS, 0) || res.MedianMS < 0 {
			return nil, fmt.Errorf("bench.ParsePML: %s: median %v ms: %w", res.Name, res.MedianMS, gometric.ErrShape)
		}
		out[res.Name] = res.MedianMS
	}
	return out, nil
}

// Column is one column of figures of the table: a Go build's benchmark
// lines, or PML's medians in milliseconds. It is plain data, safe for
// concurrent reads.
type Column struct {
	Title string
	Go    []Line
	PML   map[string]float64
}

// Table returns the Markdown table of the cases: a row per case, a
// column per given column ("—" where it has no figure), and, when the
// first PML column and the first Go column both have a figure, how many
// times faster the Go build is.
func Table(cases []Case, cols []Column) string {
	var b strings.Builder
	b.WriteString("| benchmark |")
	for _, c := range cols {
		b.WriteString(" " + c.Title + " |")
	}
	pmlCol, goCol := -1, -1
	for i, c := range cols {
		if c.PML != nil && pmlCol < 0 {
			pmlCol = i
		}
		if c.PML == nil && goCol < 0 {
			goCol = i
		}
	}
	if pmlCol >= 0 && goCol >= 0 {
		fmt.Fprintf(&b, " %s vs %s |", cols[goCol].Title, cols[pmlCol].Title)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	if pmlCol >= 0 && goCol >= 0 {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "| %s |", c.Label)
		ms := make([]float64, len(cols))
		for i, col := range cols {
			ms[i] = math.NaN()
			if col.PML != nil {
				if v, ok := col.PML[c.PML]; ok && c.PML != "" {
					ms[i] = v
				}
			} else if v, n := Median(col.Go, c.Bench); n > 0 {
				ms[i] = v / 1e6
			}
			b.WriteString(" " + formatMS(ms[i]) + " |")
		}
		if pmlCol >= 0 && goCol >= 0 {
			p, g := ms[pmlCol], ms[goCol]
			switch {
			case math.IsNaN(p) || math.IsNaN(g) || g == 0:
				b.WriteString(" — |")
			case p >= g:
				fmt.Fprintf(&b, " %s× faster |", ratio(p/g))
			default:
				fmt.Fprintf(&b, " %s× slower |", ratio(g/p))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func formatMS(ms float64) string {
	switch {
	case math.IsNaN(ms):
		return "—"
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func ratio(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}
