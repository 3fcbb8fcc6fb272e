package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/bench"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/internal/serve"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "serve" {
		return runBenchServe(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("bench", "[-count N] [-pml DIR] [flags] | serve [flags]",
		"Prints the README's benchmark table: the go test benchmarks of the losses, a miner and the\n"+
			"AccuracyCalculator (batch 256×128, 32 classes × 8) in the default build and with GOEXPERIMENT=simd,\n"+
			"each the median of -count figures, beside PML 2.8.1's (pml_bench.py, float32, 2 threads, run first\n"+
			"in the same run) when -pml gives PML's source (PMLPATH), and the recorded PML figures (-recorded).\n"+
			"Needs the go command and the module's source (-dir). \"gometric bench serve\" load-tests the server.", stderr)
	count := fs.Int("count", 5, "figures per benchmark (the table shows their median)")
	dir := fs.String("dir", ".", "the gometric module's source directory")
	pml := fs.String("pml", os.Getenv("PMLPATH"), "PML's source directory (its src/ with pytorch_metric_learning), to measure PML side by side (default $PMLPATH)")
	python := fs.String("python", "/usr/bin/python3", "the Python with torch for -pml")
	script := fs.String("pml-script", "", "pml_bench.py (default: ../shared/tools/pml_bench.py beside -dir)")
	recorded := fs.String("recorded", "", "a pml_bench.py --json file of recorded PML figures (default: ../shared/bench/pml-cpu-2threads.json beside -dir, if present)")
	simd := fs.Bool("simd", true, "also run the GOEXPERIMENT=simd build")
	goCmd := fs.String("go", "go", "the go command")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	if *count < 1 {
		return fmt.Errorf("-count %d: want at least 1: %w", *count, gometric.ErrSetting)
	}
	fmt.Fprintf(stdout, "load average: %s\n", loadavg())
	var cols []bench.Column
	if *pml != "" {
		path := *script
		if path == "" {
			path = filepath.Join(*dir, "..", "shared", "tools", "pml_bench.py")
		}
		tmp, err := os.MkdirTemp("", "gometric-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, "pml.json")
		fmt.Fprintf(stdout, "== PML (side by side): %s %s --json %s\n", *python, path, out)
		cmd := exec.CommandContext(ctx, *python, path, "--json", out)
		cmd.Env = append(os.Environ(), "PMLPATH="+*pml)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("PML's benchmark: %w", err)
		}
		m, err := readPML(out)
		if err != nil {
			return err
		}
		cols = append(cols, bench.Column{Title: "PML, this run", PML: m})
	}
	rec := *recorded
	if rec == "" {
		if p := filepath.Join(*dir, "..", "shared", "bench", "pml-cpu-2threads.json"); fileExists(p) {
			rec = p
		}
	}
	if rec != "" {
		m, err := readPML(rec)
		if err != nil {
			return err
		}
		cols = append(cols, bench.Column{Title: "PML, recorded", PML: m})
	}
	builds := []string{""}
	if *simd {
		builds = append(builds, "simd")
	}
	for _, exp := range builds {
		title := "gometric default build"
		if exp != "" {
			title = "gometric GOEXPERIMENT=" + exp
		}
		fmt.Fprintf(stdout, "== %s\n", title)
		var lines []bench.Line
		for _, c := range bench.Cases() {
			cmd := exec.CommandContext(ctx, *goCmd, "test", "-run=^$", "-bench="+c.Pattern(), "-benchtime="+c.Benchtime,
				fmt.Sprintf("-count=%d", *count), c.Package)
			cmd.Dir = *dir
			cmd.Env = append(os.Environ(), "GOEXPERIMENT="+exp)
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("go test -bench %s %s: %w\n%s", c.Bench, c.Package, err, buf.String())
			}
			ls, err := bench.ParseGo(&buf)
			if err != nil {
				return err
			}
			for _, l := range ls {
				fmt.Fprintf(stdout, "%s %.0f ns/op\n", l.Name, l.NsPerOp)
			}
			lines = append(lines, ls...)
		}
		cols = append(cols, bench.Column{Title: title, Go: lines})
	}
	fmt.Fprintf(stdout, "load average: %s\n\n%s", loadavg(), bench.Table(bench.Cases(), cols))
	return nil
}

func readPML(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := bench.ParsePML(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// runBenchServe load-tests the server on loopback: an index of random unit
// vectors (or -index), -rate requests per second for -duration, with a
// reload every -reload-every.
func runBenchServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench serve", "[-n 100000] [-dim 128] [-rate 200] [-duration 30s] [flags]",
		"Load-tests gometric serve in this process on loopback: POST /v1/neighbors at a fixed rate (open loop)\n"+
			"against an index of -n random unit vectors of -dim (or -index), reloading it every -reload-every;\n"+
			"prints the latency percentiles, the errors and the live heap before and after.", stderr)
	n := fs.Int("n", 100000, "vectors in the random index")
	dim := fs.Int("dim", 128, "their dimension")
	index := fs.String("index", "", "an index file to serve instead of a random one")
	rate := fs.Float64("rate", 200, "requests per second")
	dur := fs.Duration("duration", 30*time.Second, "how long")
	k := fs.Int("k", 10, "neighbours per request")
	reload := fs.Duration("reload-every", 5*time.Second, "reload the index this often (0: never)")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	path := *index
	var queries gometric.Matrix
	if path == "" {
		if *n < 1 || *dim < 1 || *n > 1<<24 || *dim > 1<<16 || *n**dim > 1<<30 {
			return fmt.Errorf("-n %d -dim %d: want 1 ≤ n ≤ 2^24, 1 ≤ dim ≤ 2^16, n·dim ≤ 2^30: %w", *n, *dim, gometric.ErrSetting)
		}
		tmp, err := os.MkdirTemp("", "gometric-bench-serve-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		path = filepath.Join(tmp, "random.gmidx")
		queries = randomUnit(*n, *dim, 1)
		if err := inference.WriteIndexFile(path, inference.IndexFile{Metric: knn.L2, Vectors: queries, Labels: make([]int, *n),
			Threshold: &inference.Threshold{Measure: inference.MeasureCosine, Value: inference.DefaultThreshold}}); err != nil {
			return err
		}
	} else {
		f, err := inference.ReadIndexFile(path)
		if err != nil {
			return err
		}
		queries = f.Vectors
	}
	s, err := serve.New(serve.Config{Index: path})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, ln, 10*time.Second) }()
	st := s.Stats()
	fmt.Fprintf(stdout, "serving %d × %d on %s; %g requests/s for %v, k %d, reload every %v\n", st.Vectors, st.Dim, ln.Addr(), *rate, *dur, *k, *reload)
	rng := rand.New(rand.NewPCG(2, 2))
	reloads := 0
	res, err := serve.Load(ctx, serve.LoadConfig{
		URL: "http://" + ln.Addr().String() + "/v1/neighbors", Rate: *rate, Duration: *dur,
		Body: func(int) []byte {
			r := rng.IntN(queries.Rows)
			b, _ := json.Marshal(serve.Request{Vector: queries.Data[r*queries.Cols : (r+1)*queries.Cols], K: *k})
			return b
		},
		During: func(ctx context.Context) error {
			if *reload <= 0 {
				return nil
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(*reload):
				}
				if err := s.Reload(); err != nil {
					return err
				}
				reloads++
			}
		},
	})
	stop()
	if serr := <-done; err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%v; %d reloads\n", res, reloads)
	if res.Errors > 0 {
		return fmt.Errorf("%d of %d requests failed; the first: %s", res.Errors, res.Requests, res.FirstError)
	}
	if res.DuringErr != nil {
		return fmt.Errorf("reload: %w", res.DuringErr)
	}
	return nil
}

// randomUnit is n random unit vectors of dim, drawn from seed.
func randomUnit(n, dim int, seed uint64) gometric.Matrix {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := gometric.Matrix{Rows: n, Cols: dim, Data: make([]float32, n*dim)}
	for i := range n {
		row := x.Data[i*dim : (i+1)*dim]
		var s float64
		for j := range row {
			row[j] = float32(rng.NormFloat64())
			s += float64(row[j]) * float64(row[j])
		}
		inv := float32(1 / math.Sqrt(s))
		for j := range row {
			row[j] *= inv
		}
	}
	return x
}
