package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
)

// data returns n labelled samples of dimension 5 (labels 0..6).
// A nil t panics on an error (TestMain's child has none).
func data(t testing.TB, n int, seed uint64) *datasets.Features {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, 5*n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 7
	}
	f, err := datasets.NewFeatures(5, x, labels)
	if err != nil {
		panic(err)
	}
	return f
}

// encoder is a deterministic 5 → 3 map with a nonlinearity, scaled by s
// (another s is another encoder).
func encoder(s float32) testers.EmbedFunc {
	return func(x gometric.Matrix) (gometric.Matrix, error) {
		y := gometric.Matrix{Rows: x.Rows, Cols: 3, Data: make([]float32, 3*x.Rows)}
		for i := range x.Rows {
			r := x.Data[i*x.Cols : (i+1)*x.Cols]
			for j := range 3 {
				v := float32(0)
				for k, a := range r {
					v += a * s * float32(1+j*k)
				}
				y.Data[3*i+j] = float32(math.Tanh(float64(v)))
			}
		}
		return y, nil
	}
}

// counted counts the Embed calls of enc and cancels after stop calls
// (never when stop is 0).
func counted(enc testers.Embedder, calls *atomic.Int64, stop int64, cancel func()) testers.EmbedFunc {
	return func(x gometric.Matrix) (gometric.Matrix, error) {
		if calls.Add(1) == stop {
			cancel()
		}
		return enc.Embed(x)
	}
}

// reference is the uninterrupted run's file.
func reference(t *testing.T, ds datasets.Dataset, opts Options) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.gmfeats")
	if _, err := Features(context.Background(), encoder(1), ds, path, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExact(t *testing.T) {
	for _, tc := range []struct {
		n     int
		opts  Options
		calls int64
	}{
		{1, Options{}, 1},
		{103, Options{}, 4},
		{103, Options{BatchSize: 4, ChunkSize: 10}, 26},
		{103, Options{BatchSize: 200}, 1},
		{64, Options{BatchSize: 8, ChunkSize: 1, Progress: &bytes.Buffer{}}, 8},
	} {
		t.Run(fmt.Sprintf("n=%d %+v", tc.n, tc.opts), func(t *testing.T) {
			ds := data(t, tc.n, 1)
			g := testers.NewGlobalEmbeddingSpace()
			g.Normalize, g.BatchSize = false, max(tc.opts.BatchSize, 1)
			want, _, err := g.Embeddings(context.Background(), encoder(1), ds)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "f.gmfeats")
			var calls atomic.Int64
			res, err := Features(context.Background(), counted(encoder(1), &calls, 0, nil), ds, path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if calls.Load() != tc.calls || res.Reused || res.Resumed != 0 {
				t.Errorf("%d Embed calls, want %d; result %+v", calls.Load(), tc.calls, res)
			}
			if !slices32Equal(res.Features.Data(), want.Data) || res.Features.Dim() != 3 {
				t.Errorf("features differ from the tester's embeddings")
			}
			f, err := datasets.LoadFeatures(path)
			if err != nil || !slices32Equal(f.Data(), want.Data) || fmt.Sprint(f.Labels()) != fmt.Sprint(ds.Labels()) {
				t.Errorf("file: %v", err)
			}
			if _, err := os.Stat(path + PartialSuffix); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("partial file left: %v", err)
			}
			// A second call reuses the file: one Embed call, the check.
			calls.Store(0)
			res, err = Features(context.Background(), counted(encoder(1), &calls, 0, nil), ds, path, tc.opts)
			if err != nil || !res.Reused || calls.Load() != 1 || !slices32Equal(res.Features.Data(), want.Data) {
				t.Errorf("reuse: %v, %+v, %d calls", err, res, calls.Load())
			}
		})
	}
}

func slices32Equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestResume cancels a run after k Embed calls, for many k, resumes it
// (sometimes several times, sometimes with another chunk size) and checks
// the final file against an uninterrupted run's bytes.
func TestResume(t *testing.T) {
	ds := data(t, 103, 2)
	opts := Options{BatchSize: 4, ChunkSize: 10, Key: "enc-1"}
	want := reference(t, ds, opts)
	for _, stops := range [][]int64{{1}, {2}, {3}, {4}, {7}, {12}, {25}, {26}, {3, 3, 3, 3}, {5, 1, 8}} {
		t.Run(fmt.Sprint(stops), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.gmfeats")
			done := 0
			for i, stop := range stops {
				ctx, cancel := context.WithCancel(context.Background())
				var calls atomic.Int64
				o := opts
				if i%2 == 1 {
					o.ChunkSize = 4
				}
				res, err := Features(ctx, counted(encoder(1), &calls, stop, cancel), ds, path, o)
				cancel()
				if err == nil {
					break // the run ended before the stop
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("stop %d: %v", stop, err)
				}
				_ = res
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("a cancelled run wrote the target: %v", err)
				}
				p := readFile(t, path+PartialSuffix)
				if p.rows < int64(done) {
					t.Fatalf("the partial file went back from %d to %d samples", done, p.rows)
				}
				done = int(p.rows)
			}
			var calls atomic.Int64
			res, err := Features(context.Background(), counted(encoder(1), &calls, 0, nil), ds, path, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Resumed != done {
				t.Errorf("Resumed %d, want %d", res.Resumed, done)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
				t.Errorf("the resumed file differs from the uninterrupted one")
			}
		})
	}
}

// readFile reads a partial file, or an empty partial when there is none.
func readFile(t *testing.T, path string) partial {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return partial{}
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := readPartial(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fullPartial returns the partial file of a whole extraction (every
// chunk), as a run killed just before writing the target leaves it.
func fullPartial(t *testing.T, ds *datasets.Features, opts Options) []byte {
	t.Helper()
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize, g.BatchSize = false, opts.BatchSize
	m, _, err := g.Embeddings(context.Background(), encoder(1), ds)
	if err != nil {
		t.Fatal(err)
	}
	b := encodeHeader(header{n: int64(ds.Len()), dim: 3, batch: int64(opts.BatchSize), labels: labelPrint(ds.Labels()), key: opts.Key})
	for s := 0; s < ds.Len(); s += opts.ChunkSize {
		e := min(s+opts.ChunkSize, ds.Len())
		b = append(b, encodeRecord(int64(s), e-s, m.Data[3*s:3*e])...)
	}
	return b
}

// TestDamagedPartial cuts the partial file at every length and flips each
// of its bytes: each run either refuses the file (a damaged header) or
// gives the uninterrupted run's bytes; with Overwrite every run does.
func TestDamagedPartial(t *testing.T) {
	ds := data(t, 23, 3)
	opts := Options{BatchSize: 4, ChunkSize: 8, Key: "k"}
	want := reference(t, ds, opts)
	full := fullPartial(t, ds, opts)
	hlen := headerFixed + len(opts.Key) + 4
	dir := t.TempDir()
	try := func(name string, b []byte, wantErr bool, o Options) {
		t.Helper()
		path := filepath.Join(dir, "f.gmfeats")
		os.Remove(path)
		if err := os.WriteFile(path+PartialSuffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Features(context.Background(), encoder(1), ds, path, o)
		if wantErr {
			if err == nil || !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), PartialSuffix) {
				t.Errorf("%s: err = %v, want a damaged header", name, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: a target was written", name)
			}
			return
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("%s: the file differs from the uninterrupted run's (resumed %d, %q)", name, res.Resumed, res.Discarded)
		}
	}
	for l := 0; l <= len(full); l++ {
		try(fmt.Sprintf("cut at %d", l), full[:l], l < hlen, opts)
	}
	for i := range full {
		b := bytes.Clone(full)
		b[i] ^= 0x5a
		try(fmt.Sprintf("byte %d flipped", i), b, i < hlen, opts)
		o := opts
		o.Overwrite = true
		try(fmt.Sprintf("byte %d flipped, Overwrite", i), b, false, o)
	}
	try("trailing bytes", append(bytes.Clone(full), 1, 2, 3), false, opts)
}

func TestMismatch(t *testing.T) {
	ds := data(t, 40, 4)
	opts := Options{BatchSize: 4, ChunkSize: 8, Key: "k"}
	partialOf := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "f.gmfeats")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int64
		if _, err := Features(ctx, counted(encoder(1), &calls, 5, cancel), ds, path, opts); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		return path
	}
	other := data(t, 40, 4)
	relabelled, _ := other.Relabel()
	shifted, err := datasets.NewFeatures(5, other.Data(), append(append([]int{}, other.Labels()[1:]...), 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		enc  testers.Embedder
		ds   datasets.Dataset
		opts Options
		want string
	}{
		{"other labels", encoder(1), shifted, opts, "other labels"},
		{"other length", encoder(1), data(t, 41, 4), opts, "40 samples"},
		{"other key", encoder(1), ds, Options{BatchSize: 4, ChunkSize: 8, Key: "k2"}, "Key"},
		{"other batch size", encoder(1), ds, Options{BatchSize: 8, ChunkSize: 8, Key: "k"}, "batches of 4"},
		{"other encoder, same key", encoder(2), ds, opts, "first batch"},
		{"same labels relabelled", encoder(1), relabelled, opts, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := partialOf(t)
			before, _ := os.ReadFile(path + PartialSuffix)
			_, err := Features(context.Background(), tc.enc, tc.ds, path, tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMismatch) || !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a mismatch mentioning %q", err, tc.want)
			}
			if after, _ := os.ReadFile(path + PartialSuffix); !bytes.Equal(before, after) {
				t.Errorf("a refused partial file was changed")
			}
			// Overwrite starts again: the file is a fresh run's.
			o := tc.opts
			o.Overwrite = true
			if _, err := Features(context.Background(), tc.enc, tc.ds, path, o); err != nil {
				t.Fatal(err)
			}
			o.Overwrite = false
			if got, want := mustRead(t, path), reference2(t, tc.enc, tc.ds, o); !bytes.Equal(got, want) {
				t.Errorf("Overwrite: the file differs from a fresh run's")
			}
		})
	}
	// A target of another encoder or data set is refused, then replaced
	// with Overwrite.
	path := filepath.Join(t.TempDir(), "f.gmfeats")
	if _, err := Features(context.Background(), encoder(1), ds, path, opts); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		enc  testers.Embedder
		ds   datasets.Dataset
		want string
	}{{encoder(2), ds, "first batch"}, {encoder(1), data(t, 39, 4), "holds 40 samples"}, {encoder(1), shifted, "labels differ"}} {
		if _, err := Features(context.Background(), tc.enc, tc.ds, path, opts); !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("target: err = %v, want a mismatch mentioning %q", err, tc.want)
		}
	}
	if err := os.WriteFile(path, []byte("GMFEATS2 broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Features(context.Background(), encoder(1), ds, path, opts); err == nil {
		t.Errorf("a damaged target was accepted")
	}
	o := opts
	o.Overwrite = true
	if res, err := Features(context.Background(), encoder(2), ds, path, o); err != nil || res.Reused {
		t.Errorf("Overwrite of a damaged target: %v %+v", err, res)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reference2(t *testing.T, enc testers.Embedder, ds datasets.Dataset, opts Options) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ref.gmfeats")
	if _, err := Features(context.Background(), enc, ds, path, opts); err != nil {
		t.Fatal(err)
	}
	return mustRead(t, path)
}

func TestErrors(t *testing.T) {
	ds := data(t, 10, 5)
	dir := t.TempDir()
	path := filepath.Join(dir, "f.gmfeats")
	nan := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		y, _ := encoder(1)(x)
		y.Data[len(y.Data)-1] = float32(math.NaN())
		return y, nil
	})
	short := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		return gometric.Matrix{Rows: x.Rows, Cols: 2, Data: make([]float32, 1)}, nil
	})
	fails := testers.EmbedFunc(func(gometric.Matrix) (gometric.Matrix, error) { return gometric.Matrix{}, errors.New("boom") })
	var nilEnc testers.EmbedFunc
	var nilDS *datasets.Features
	var nilCtx context.Context
	extreme := &testkit.RawDataset{Dim: 5, Values: make([]float32, 5*len(testkit.ExtremeLabels())), SampleLabels: testkit.ExtremeLabels()}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		enc  testers.Embedder
		ds   datasets.Dataset
		path string
		opts Options
		want error
	}{
		{"nil context", nilCtx, encoder(1), ds, path, Options{}, gometric.ErrSetting},
		{"nil encoder", context.Background(), nil, ds, path, Options{}, gometric.ErrSetting},
		{"nil EmbedFunc", context.Background(), nilEnc, ds, path, Options{}, gometric.ErrSetting},
		{"nil dataset", context.Background(), encoder(1), nil, path, Options{}, gometric.ErrSetting},
		{"nil *Features", context.Background(), encoder(1), nilDS, path, Options{}, gometric.ErrSetting},
		{"zero Features", context.Background(), encoder(1), &datasets.Features{}, path, Options{}, gometric.ErrShape},
		{"empty path", context.Background(), encoder(1), ds, "", Options{}, gometric.ErrSetting},
		{"negative batch", context.Background(), encoder(1), ds, path, Options{BatchSize: -1}, gometric.ErrSetting},
		{"huge batch", context.Background(), encoder(1), ds, path, Options{BatchSize: math.MaxInt}, gometric.ErrSetting},
		{"negative chunk", context.Background(), encoder(1), ds, path, Options{ChunkSize: math.MinInt}, gometric.ErrSetting},
		{"huge chunk", context.Background(), encoder(1), ds, path, Options{ChunkSize: math.MaxInt}, gometric.ErrSetting},
		{"long key", context.Background(), encoder(1), ds, path, Options{Key: strings.Repeat("k", MaxKey+1)}, gometric.ErrSetting},
		{"extreme labels", context.Background(), encoder(1), extreme, path, Options{}, gometric.ErrLabels},
		{"NaN features", context.Background(), nan, ds, path, Options{}, gometric.ErrNonFinite},
		{"wrong shape", context.Background(), short, ds, path, Options{}, gometric.ErrShape},
		{"directory as path", context.Background(), encoder(1), ds, dir, Options{}, nil},
		{"encoder error", context.Background(), fails, ds, path, Options{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Features(tc.ctx, tc.enc, tc.ds, tc.path, tc.opts)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), comp) {
				t.Errorf("err = %v, want it to start with %s", err, comp)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a target was written")
			}
		})
	}
}

// TestAPIConventions: the exported struct types are listed here; their
// zero values are the defaults (Options) or empty results (Result), and
// every type's doc states its concurrency.
func TestAPIConventions(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Options", "Result"})
	testkit.CheckConcurrencyDocs(t, ".")
}

// TestConcurrencyClaims: Options and Result are plain values; Features on
// distinct paths from several goroutines, sharing them, gives each the
// lone call's file.
func TestConcurrencyClaims(t *testing.T) {
	ds := data(t, 30, 6)
	opts := Options{BatchSize: 4, ChunkSize: 8}
	want := reference(t, ds, opts)
	dir := t.TempDir()
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Options", Run: func(t *testing.T) {
			testkit.Concurrently(t, 4, 1, func(g int) error {
				path := filepath.Join(dir, fmt.Sprintf("%d.gmfeats", g))
				if _, err := Features(context.Background(), encoder(1), ds, path, opts); err != nil {
					return err
				}
				if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
					return errors.New("the file differs")
				}
				return nil
			})
		}},
		{Type: "Result", Run: func(t *testing.T) {
			res, err := Features(context.Background(), encoder(1), ds, filepath.Join(dir, "r.gmfeats"), opts)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 1, func(int) error {
				if res.Features.Len() != 30 || res.Features.Row(29) == nil {
					return errors.New("bad result")
				}
				return nil
			})
		}},
	})
}

func FuzzReadPartial(f *testing.F) {
	ds := data(f, 23, 3)
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize, g.BatchSize = false, 4
	m, _, err := g.Embeddings(context.Background(), encoder(1), ds)
	if err != nil {
		f.Fatal(err)
	}
	full := encodeHeader(header{n: 23, dim: 3, batch: 4, labels: labelPrint(ds.Labels()), key: "key"})
	for s := 0; s < 23; s += 8 {
		e := min(s+8, 23)
		full = append(full, encodeRecord(int64(s), e-s, m.Data[3*s:3*e])...)
	}
	f.Add(full)
	f.Add(full[:70])
	f.Add(full[:len(full)-1])
	f.Add(encodeHeader(header{n: 1 << 32, dim: 1 << 20, batch: 1, key: ""}))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := readPartial(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, errHeader) {
				t.Fatalf("error %v does not wrap errHeader", err)
			}
			return
		}
		if p.valid > int64(len(b)) || int64(len(p.data)) != p.rows*p.hdr.dim || p.rows > p.hdr.n || !fits(p.hdr.n, p.hdr.dim) {
			t.Fatalf("valid %d of %d bytes, %d values for %d rows of %d (n %d)", p.valid, len(b), len(p.data), p.rows, p.hdr.dim, p.hdr.n)
		}
		// What was kept reads back the same from the kept prefix.
		q, err := readPartial(bytes.NewReader(b[:p.valid]))
		if err != nil || q.rows != p.rows || q.bad != "" || !slices32Equal(q.data, p.data) {
			t.Fatalf("the kept prefix reads %d rows (%q, %v), want %d", q.rows, q.bad, err, p.rows)
		}
	})
}
