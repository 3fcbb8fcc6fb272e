package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
)

var loadTest = flag.Bool("serve.load", false, "run the 30 s load test at 200 requests/s against a 100k×128 index")

// writeIndex writes an index of n random unit vectors of dim with labels
// i%10 and threshold th, and returns its path and vectors.
func writeIndex(t testing.TB, dir string, n, dim int, seed uint64, th float64) (string, gometric.Matrix) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	x := gometric.Matrix{Rows: n, Cols: dim, Data: make([]float32, n*dim)}
	labels := make([]int, n)
	for i := range n {
		row := x.Data[i*dim : (i+1)*dim]
		var s float64
		for j := range row {
			row[j] = float32(rng.NormFloat64())
			s += float64(row[j]) * float64(row[j])
		}
		for j := range row {
			row[j] /= float32(math.Sqrt(s))
		}
		labels[i] = i % 10
	}
	path := filepath.Join(dir, fmt.Sprintf("index-%d.gmidx", seed))
	if err := inference.WriteIndexFile(path, inference.IndexFile{Metric: knn.L2, Vectors: x, Labels: labels,
		Threshold: &inference.Threshold{Measure: inference.MeasureCosine, Value: th}}); err != nil {
		t.Fatal(err)
	}
	return path, x
}

func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)
	return s, ts
}

func post(t *testing.T, url, ctype string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("status %d: body not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func vecJSON(v []float32, k int) []byte {
	b, _ := json.Marshal(Request{Vector: v, K: k})
	return b
}

func TestHappyPaths(t *testing.T) {
	dir := t.TempDir()
	path, x := writeIndex(t, dir, 200, 8, 1, 0.9)
	// Images: an embedder that maps any image to reference 7's vector.
	embed := func(images [][]byte) (gometric.Matrix, error) {
		if string(images[0]) != "IMG" {
			return gometric.Matrix{}, fmt.Errorf("image: unknown image format: %w", gometric.ErrUnsupported)
		}
		return gometric.Matrix{Rows: 1, Cols: 8, Data: append([]float32(nil), x.Data[7*8:8*8]...)}, nil
	}
	_, ts := newTestServer(t, Config{Index: path, EmbedImages: embed})

	for _, route := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(ts.URL + route)
		if err != nil {
			t.Fatal(err)
		}
		code, m := decode(t, resp)
		resp.Body.Close()
		if code != 200 {
			t.Errorf("%s: %d %v", route, code, m)
		}
		if route == "/readyz" && (m["vectors"] != 200.0 || m["dim"] != 8.0 || m["status"] != "ready") {
			t.Errorf("/readyz: %v", m)
		}
	}
	// Reference 3 finds itself first, a match (distance ~0, cosine 1).
	code, m := post(t, ts.URL+"/v1/neighbors", "application/json", vecJSON(x.Data[3*8:4*8], 4))
	if code != 200 {
		t.Fatalf("neighbors: %d %v", code, m)
	}
	res := m["results"].([]any)
	ns := res[0].(map[string]any)["neighbors"].([]any)
	first := ns[0].(map[string]any)
	if len(ns) != 4 || first["index"] != 3.0 || first["label"] != 3.0 || first["match"] != true || first["distance"].(float64) > 1e-5 {
		t.Errorf("neighbors: %v", ns)
	}
	// Several vectors, default k.
	b, _ := json.Marshal(Request{Vectors: [][]float32{x.Data[:8], x.Data[8:16]}})
	code, m = post(t, ts.URL+"/v1/neighbors", "", b)
	if res := m["results"].([]any); code != 200 || len(res) != 2 || len(res[1].(map[string]any)["neighbors"].([]any)) != DefaultK {
		t.Errorf("two queries: %d %v", code, m)
	}
	// Match: itself matches; a vector far from everything does not.
	code, m = post(t, ts.URL+"/v1/match", "application/json", vecJSON(x.Data[5*8:6*8], 0))
	if r0 := m["results"].([]any)[0].(map[string]any); code != 200 || r0["match"] != true || r0["nearest"].(map[string]any)["index"] != 5.0 {
		t.Errorf("match: %d %v", code, m)
	}
	far := make([]float32, 8)
	for j := range far {
		far[j] = -x.Data[5*8+j]
	}
	code, m = post(t, ts.URL+"/v1/match", "application/json", vecJSON(far, 0))
	if r0 := m["results"].([]any)[0].(map[string]any); code != 200 || r0["match"] != false {
		t.Errorf("no match: %d %v", code, m)
	}
	// An image, raw and multipart.
	code, m = post(t, ts.URL+"/v1/neighbors/image?k=2", "image/jpeg", []byte("IMG"))
	if ns := m["results"].([]any)[0].(map[string]any)["neighbors"].([]any); code != 200 || len(ns) != 2 || ns[0].(map[string]any)["index"] != 7.0 {
		t.Errorf("image: %d %v", code, m)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "x.jpg")
	fw.Write([]byte("IMG"))
	mw.Close()
	code, m = post(t, ts.URL+"/v1/match/image", mw.FormDataContentType(), buf.Bytes())
	if r0 := m["results"].([]any)[0].(map[string]any); code != 200 || r0["match"] != true {
		t.Errorf("multipart image: %d %v", code, m)
	}
}

func TestClientErrors(t *testing.T) {
	path, x := writeIndex(t, t.TempDir(), 50, 4, 2, 0.9)
	embed := func(images [][]byte) (gometric.Matrix, error) {
		return gometric.Matrix{}, fmt.Errorf("image 0: unknown image format: %w", gometric.ErrUnsupported)
	}
	_, ts := newTestServer(t, Config{Index: path, MaxBodyBytes: 1024, MaxQueries: 3, MaxK: 10, EmbedImages: embed})
	big, _ := json.Marshal(Request{Vectors: [][]float32{make([]float32, 1000)}})
	cases := []struct {
		name, method, route, ctype string
		body                       string
		code                       int
		msg                        string
	}{
		{"malformed JSON", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2,`, 400, "malformed JSON"},
		{"not an object", "POST", "/v1/neighbors", "application/json", `[1, 2, 3, 4]`, 400, "malformed JSON"},
		{"string values", "POST", "/v1/neighbors", "application/json", `{"vector": ["a", 1, 2, 3]}`, 400, "malformed JSON"},
		{"unknown field", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4], "kk": 3}`, 400, "unknown field"},
		{"trailing data", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4]} {}`, 400, "after the request"},
		{"empty body", "POST", "/v1/neighbors", "application/json", ``, 400, "malformed JSON"},
		{"no query", "POST", "/v1/neighbors", "application/json", `{"k": 3}`, 400, "no query"},
		{"both", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4], "vectors": [[1, 2, 3, 4]]}`, 400, "not both"},
		{"wrong dimension", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3]}`, 400, "dimension 3, the index has 4"},
		{"wrong dimension of one", "POST", "/v1/match", "application/json", `{"vectors": [[1, 2, 3, 4], [1]]}`, 400, "vector 1 has dimension 1"},
		{"empty vectors", "POST", "/v1/neighbors", "application/json", `{"vectors": []}`, 400, "0 vectors"},
		{"too many vectors", "POST", "/v1/neighbors", "application/json", `{"vectors": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}`, 400, "want 1 to 3"},
		{"k too large", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4], "k": 11}`, 400, "k 11"},
		{"k negative", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4], "k": -1}`, 400, "k -1"},
		{"k huge", "POST", "/v1/neighbors", "application/json", `{"vector": [1, 2, 3, 4], "k": 1e30}`, 400, "malformed JSON"},
		{"NaN", "POST", "/v1/neighbors", "application/json", `{"vector": [NaN, 2, 3, 4]}`, 400, "malformed JSON"},
		{"overflow", "POST", "/v1/neighbors", "application/json", `{"vector": [1e39, 2, 3, 4]}`, 400, "malformed JSON"},
		{"oversized body", "POST", "/v1/neighbors", "application/json", string(big), 413, "larger than 1024 bytes"},
		{"wrong content type", "POST", "/v1/neighbors", "text/plain", `{"vector": [1, 2, 3, 4]}`, 415, "want application/json"},
		{"unknown route", "POST", "/v2/neighbors", "application/json", `{}`, 404, "no route POST /v2/neighbors"},
		{"unknown route GET", "GET", "/", "", ``, 404, "no route GET /"},
		{"wrong method", "GET", "/v1/neighbors", "", ``, 405, "method GET not allowed for /v1/neighbors: use POST"},
		{"wrong method GET route", "DELETE", "/readyz", "", ``, 405, "use GET"},
		{"bad image", "POST", "/v1/neighbors/image", "image/png", `not an image`, 400, "unknown image format"},
		{"empty image", "POST", "/v1/neighbors/image", "image/png", ``, 400, "empty image"},
		{"image k", "POST", "/v1/neighbors/image?k=x", "image/png", `x`, 400, "not an integer"},
		{"image k range", "POST", "/v1/match/image?k=0", "image/png", `x`, 400, ""},
		{"oversized image", "POST", "/v1/neighbors/image", "image/png", strings.Repeat("x", 2000), 413, "larger than 1024"},
		{"multipart without image", "POST", "/v1/neighbors/image", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", 400, "without an \"image\" field"},
		{"malformed multipart", "POST", "/v1/neighbors/image", "multipart/form-data", "--b", 400, "multipart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.route, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			code, m := decode(t, resp)
			msg, _ := m["error"].(string)
			if code != tc.code || msg == "" || !strings.Contains(msg, tc.msg) {
				t.Errorf("%d %q, want %d with %q", code, msg, tc.code, tc.msg)
			}
		})
	}
	// The server still answers after every bad request.
	if code, m := post(t, ts.URL+"/v1/neighbors", "application/json", vecJSON(x.Data[:4], 1)); code != 200 {
		t.Errorf("after the bad requests: %d %v", code, m)
	}
}

func TestNoImageModel(t *testing.T) {
	path, _ := writeIndex(t, t.TempDir(), 20, 4, 3, 0.9)
	_, ts := newTestServer(t, Config{Index: path})
	code, m := post(t, ts.URL+"/v1/neighbors/image", "image/png", []byte("x"))
	if code != 501 || !strings.Contains(m["error"].(string), "-weights") {
		t.Errorf("%d %v", code, m)
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeIndex(t, dir, 20, 4, 3, 0.9)
	for _, cfg := range []Config{{}, {Index: filepath.Join(dir, "missing")}, {Index: path, MaxK: -1}, {Index: path, MaxBodyBytes: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	var s *Server
	if err := s.Reload(); err == nil {
		t.Error("nil Reload: no error")
	}
	if s.Stats() != (Stats{}) {
		t.Error("nil Stats")
	}
	if err := s.Serve(context.Background(), nil, 0); err == nil {
		t.Error("nil Serve: no error")
	}
	if _, err := Load(context.Background(), LoadConfig{}); err == nil {
		t.Error("Load of nothing: no error")
	}
}

// TestReloadUnderLoad swaps the index back and forth under load: no
// request fails, and answers come from one index or the other.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	a, x := writeIndex(t, dir, 2000, 16, 4, 0.9)
	b, _ := writeIndex(t, dir, 3000, 16, 5, 0.8)
	live := filepath.Join(dir, "live.gmidx")
	copyFile(t, a, live)
	s, ts := newTestServer(t, Config{Index: live})
	dur, rate := 3*time.Second, 200.0
	if testing.Short() {
		dur = time.Second
	}
	var reloads atomic.Int64
	res, err := Load(context.Background(), LoadConfig{
		URL: ts.URL + "/v1/neighbors", Rate: rate, Duration: dur,
		Body: func(i int) []byte { return vecJSON(x.Data[(i%2000)*16:(i%2000+1)*16], 5) },
		During: func(ctx context.Context) error {
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(100 * time.Millisecond):
				}
				copyFile(t, []string{b, a}[i%2], live)
				resp, err := http.Post(ts.URL+"/admin/reload", "", nil)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("reload: %s", resp.Status)
				}
				reloads.Add(1)
			}
		},
	})
	if err != nil || res.DuringErr != nil {
		t.Fatal(err, res.DuringErr)
	}
	t.Logf("%v, %d reloads", res, reloads.Load())
	if res.Errors != 0 || res.Requests == 0 || reloads.Load() < 3 {
		t.Errorf("%v (first error %s), %d reloads", res, res.FirstError, reloads.Load())
	}
	if st := s.Stats(); st.Reloads < 4 {
		t.Errorf("stats %+v", st)
	}
	// A damaged file keeps the current index.
	if err := writeFile(live, []byte("GMKNNIDX junk")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.URL+"/admin/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	code, m := decode(t, resp)
	resp.Body.Close()
	if code != 500 || !strings.Contains(m["error"].(string), "current index is kept") {
		t.Errorf("damaged reload: %d %v", code, m)
	}
	if code, _ := post(t, ts.URL+"/v1/neighbors", "application/json", vecJSON(x.Data[:16], 1)); code != 200 {
		t.Errorf("after a failed reload: %d", code)
	}
}

// TestGracefulShutdown cancels Serve while requests are under way: they
// complete, /readyz turned 503, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	path, x := writeIndex(t, t.TempDir(), 5000, 32, 6, 0.9)
	s, err := New(Config{Index: path})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 10*time.Second) }()
	url := "http://" + ln.Addr().String()
	res, err := Load(context.Background(), LoadConfig{
		URL: url + "/v1/neighbors", Rate: 100, Duration: 500 * time.Millisecond,
		Body: func(i int) []byte { return vecJSON(x.Data[i*32:(i+1)*32], 10) },
	})
	if err != nil || res.Errors != 0 {
		t.Fatalf("%v %v %s", err, res, res.FirstError)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if st := s.Stats(); st.Status != "shutting down" {
		t.Errorf("after shutdown: %+v", st)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// TestLoad is the bounded load test: 30 s at 200 requests/s against a
// 100k×128 index with a reload every 5 s: go test ./internal/serve -run
// TestLoad -serve.load (the package before the flag).
func TestLoad(t *testing.T) {
	if !*loadTest {
		t.Skip("the 30 s load test runs with -serve.load")
	}
	dir := t.TempDir()
	path, x := writeIndex(t, dir, 100000, 128, 7, 0.9)
	s, ts := newTestServer(t, Config{Index: path})
	_ = s
	rng := rand.New(rand.NewPCG(8, 8))
	res, err := Load(context.Background(), LoadConfig{
		URL: ts.URL + "/v1/neighbors", Rate: 200, Duration: 30 * time.Second,
		Body: func(i int) []byte {
			r := rng.IntN(100000)
			return vecJSON(x.Data[r*128:(r+1)*128], 10)
		},
		During: func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(5 * time.Second):
				}
				if err := s.Reload(); err != nil {
					return err
				}
			}
		},
	})
	if err != nil || res.DuringErr != nil {
		t.Fatal(err, res.DuringErr)
	}
	t.Logf("100k×128 index, k 10, 200 requests/s for 30 s, reload every 5 s: %v", res)
	if res.Errors != 0 {
		t.Errorf("%d errors, first %s", res.Errors, res.FirstError)
	}
	if res.HeapAfter > res.HeapBefore+64<<20 {
		t.Errorf("heap grew from %d to %d bytes", res.HeapBefore, res.HeapAfter)
	}
}

func copyFile(t testing.TB, from, to string) {
	f, err := readFile(from)
	if err != nil {
		t.Error(err)
		return
	}
	if err := writeFile(to, f); err != nil {
		t.Error(err)
	}
}

func TestConcurrencyDocs(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
}

var _ = io.Discard

// TestTimeout: a request whose time limit passes while it waits answers
// 503 with a JSON message, and the server goes on.
func TestTimeout(t *testing.T) {
	path, x := writeIndex(t, t.TempDir(), 50, 4, 10, 0.9)
	s, ts := newTestServer(t, Config{Index: path, RequestTimeout: time.Nanosecond})
	code, m := post(t, ts.URL+"/v1/neighbors", "application/json", vecJSON(x.Data[:4], 1))
	if code != http.StatusServiceUnavailable || !strings.Contains(m["error"].(string), "timed out") {
		t.Errorf("%d %v", code, m)
	}
	s.Close()
	s2, ts2 := newTestServer(t, Config{Index: path})
	s2.Close() // searchers stopped: requests answer 503, never hang
	code, m = post(t, ts2.URL+"/v1/neighbors", "application/json", vecJSON(x.Data[:4], 1))
	if code != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d %v", code, m)
	}
	if resp, err := http.Get(ts2.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz after Close: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}
