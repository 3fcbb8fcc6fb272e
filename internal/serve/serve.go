// Package serve is the HTTP JSON server of the gometric command (gometric
// serve): the nearest references of a vector or an uploaded image in an
// utils/inference index, with their labels and distances, and whether
// they match under the index's calibrated threshold; health and readiness
// probes; request size limits and timeouts; graceful shutdown; and hot
// reload of the index file without dropping a request.
//
// Routes (every response is JSON; every error a 4xx or 5xx with
// {"error": "message"}):
//
//	GET  /healthz            200 {"status": "ok"} while the process serves
//	GET  /readyz             200 with the index's size, or 503 before an index is loaded and while shutting down
//	POST /v1/neighbors       {"vector": [...]} or {"vectors": [[...], ...]}, optional "k" (default 5)
//	POST /v1/match           the same request; per query whether its nearest reference matches
//	POST /v1/neighbors/image an image (raw body, or multipart field "image"); ?k=5 (needs Config.EmbedImages)
//	POST /v1/match/image     the same for match
//	POST /admin/reload       reads Config.Index again and swaps it in (also Server.Reload, e.g. on SIGHUP)
//
// A neighbours response is {"results": [{"neighbors": [{"index", "label",
// "distance", "match"}, ...]}, ...]}, one result per query, nearest first;
// a match response {"results": [{"match": bool, "nearest": {...}}]}.
// Distances are the index's values (squared L2 distances between unit
// vectors, or inner products) and "match" applies the threshold saved
// with the index in that metric (inference.Threshold.Bound).
//
// The server has no authentication: /admin/reload only rereads the file
// it was started with, but expose the server behind a proxy that
// authenticates, or on a private address (gometric serve listens on
// localhost by default).
package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/inference"
	"github.com/gometric/gometric/utils/knn"
)

// Defaults of Config's limits.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultMaxQueries     = 256
	DefaultMaxK           = 1000
	DefaultK              = 5
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxBatch       = 256
	DefaultQueue          = 4096
)

// Config are the server's settings. The zero value of every field but
// Index means its default, documented per field. Config is a plain value,
// safe for concurrent reads.
type Config struct {
	// Index is the index file (inference.Model.Save's format) that New
	// and Reload read (OpenIndex: with the FAISS index beside it, if any).
	Index string
	// FaissParams are the FAISS search parameters (ParseFaissParams'
	// form) applied to a FAISS index at every load.
	FaissParams string
	// EmbedImages embeds encoded images into one row each (e.g.
	// runner.Model.EmbedImages); nil refuses image requests with 501. It
	// must be safe for concurrent use.
	EmbedImages func(images [][]byte) (gometric.Matrix, error)
	// MaxBodyBytes is the largest request body. If MaxBodyBytes is 0,
	// DefaultMaxBodyBytes (8 MiB) is used.
	MaxBodyBytes int64
	// MaxQueries is the most vectors in one request. If MaxQueries is 0,
	// DefaultMaxQueries (256) is used.
	MaxQueries int
	// MaxK is the largest k. If MaxK is 0, DefaultMaxK (1000) is used.
	MaxK int
	// RequestTimeout bounds a request's handling. If RequestTimeout is 0,
	// DefaultRequestTimeout (30 s) is used.
	RequestTimeout time.Duration
	// MaxBatch is the most query vectors searched together: requests that
	// arrive while a search runs are searched together in the next one
	// (one pass over the references serves them all), up to MaxBatch
	// vectors. If MaxBatch is 0, DefaultMaxBatch (256) is used.
	MaxBatch int
	// Searchers is the number of searches run at once. If Searchers is 0,
	// GOMAXPROCS is used.
	Searchers int
	// Queue is the most requests waiting for a search; more are refused
	// with 503. If Queue is 0, DefaultQueue (4096) is used.
	Queue int
	// Log receives a line per reload and per server error; nil discards
	// them.
	Log *log.Logger
}

// index is one loaded index file, immutable once published.
type index struct {
	model  *inference.Model[[]float32]
	labels []int
	bound  inference.IndexBound
	thresh float64
	dim    int
	loaded time.Time
	search string // OpenIndex's line: exact or FAISS
}

// Server serves one index at a time. Make it with New. It is safe for
// concurrent use: requests, Reload and Shutdown may run at once; a request
// uses the index that was current when it began.
type Server struct {
	cfg      Config
	cur      atomic.Pointer[index]
	reloadMu sync.Mutex
	closing  atomic.Bool
	reloads  atomic.Int64
	queue    chan *pending
	stop     chan struct{}
	stopOnce sync.Once
}

// pending is a request's queries waiting for a search.
type pending struct {
	ix   *index
	vecs [][]float32
	k    int
	done chan searched // buffered: the searcher never blocks on it
}

type searched struct {
	res knn.Result // K = k
	err error
}

// New returns a server of cfg with its index loaded.
func New(cfg Config) (*Server, error) {
	if cfg.Index == "" {
		return nil, fmt.Errorf("serve: no index file: %w", gometric.ErrSetting)
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxQueries < 0 || cfg.MaxK < 0 || cfg.RequestTimeout < 0 || cfg.MaxBatch < 0 || cfg.Searchers < 0 || cfg.Queue < 0 {
		return nil, fmt.Errorf("serve: negative limit in %+v: %w", cfg, gometric.ErrSetting)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxQueries == 0 {
		cfg.MaxQueries = DefaultMaxQueries
	}
	if cfg.MaxK == 0 {
		cfg.MaxK = DefaultMaxK
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Searchers == 0 {
		cfg.Searchers = runtime.GOMAXPROCS(0)
	}
	if cfg.Queue == 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	s := &Server{cfg: cfg, queue: make(chan *pending, cfg.Queue), stop: make(chan struct{})}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	for range cfg.Searchers {
		go s.searcher()
	}
	return s, nil
}

// Close stops the searchers; requests after it answer 503. Serve calls it
// once the HTTP server has shut down.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.closing.Store(true)
	s.stopOnce.Do(func() { close(s.stop) })
}

// searcher runs searches: it takes a waiting request and the ones queued
// behind it (up to MaxBatch vectors, of the same index) and searches
// their vectors in one call, with the largest k among them.
func (s *Server) searcher() {
	var group, rest []*pending
	for {
		var first *pending
		if len(rest) > 0 {
			first = rest[0]
			rest[0] = nil
			rest = rest[1:]
		} else {
			select {
			case first = <-s.queue:
			case <-s.stop:
				return
			}
		}
		group = append(group[:0], first)
		rows := len(first.vecs)
	drain:
		for rows < s.cfg.MaxBatch {
			select {
			case p := <-s.queue:
				if p.ix != first.ix || rows+len(p.vecs) > s.cfg.MaxBatch {
					rest = append(rest, p)
					break drain
				}
				group = append(group, p)
				rows += len(p.vecs)
			default:
				break drain
			}
		}
		s.search(group, rows)
		// The requests, and with them an index a reload replaced, must
		// not stay reachable from the searcher.
		clear(group)
	}
}

// search answers a group of requests on one index with one search, or,
// when it fails, each request with its own.
func (s *Server) search(group []*pending, rows int) {
	ix := group[0].ix
	if len(group) == 1 {
		p := group[0]
		res, err := ix.model.NearestNeighbors(p.vecs, p.k)
		p.done <- searched{res, err}
		return
	}
	all := make([][]float32, 0, rows)
	k := 0
	for _, p := range group {
		all = append(all, p.vecs...)
		k = max(k, p.k)
	}
	res, err := ix.model.NearestNeighbors(all, k)
	if err != nil {
		for _, p := range group {
			s.search([]*pending{p}, len(p.vecs))
		}
		return
	}
	off := 0
	for _, p := range group {
		r := knn.Result{K: p.k, Indices: make([]int, len(p.vecs)*p.k), Distances: make([]float32, len(p.vecs)*p.k)}
		for q := range p.vecs {
			copy(r.Indices[q*p.k:(q+1)*p.k], res.Indices[(off+q)*k:])
			copy(r.Distances[q*p.k:(q+1)*p.k], res.Distances[(off+q)*k:])
		}
		off += len(p.vecs)
		p.done <- searched{r, nil}
	}
}

// load reads the index file.
func load(path, faissParams string) (*index, string, error) {
	m, how, err := OpenIndex(path, faissParams)
	if err != nil {
		return nil, "", err
	}
	th, err := m.MatchFinder.IndexThreshold()
	if err != nil {
		return nil, "", err
	}
	b, err := th.Bound(m.Metric, m.NormalizeEmbeddings)
	if err != nil {
		return nil, "", err
	}
	return &index{model: m, labels: m.Labels(), bound: b, thresh: th.Value, dim: m.Index().Dim(), loaded: time.Now(), search: how}, how, nil
}

// Reload reads Config.Index again and makes it the current index; requests
// under way finish on the index they began with, and new ones use the new
// index. On error the current index stays. Reloads are serialised.
func (s *Server) Reload() error {
	if s == nil {
		return fmt.Errorf("serve: nil Server: %w", gometric.ErrSetting)
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	ix, how, err := load(s.cfg.Index, s.cfg.FaissParams)
	if err != nil {
		s.logf("reload of %s failed, keeping the current index: %v", s.cfg.Index, err)
		return err
	}
	s.cur.Store(ix)
	s.reloads.Add(1)
	s.logf("loaded %s: %d × %d, threshold %.4f, %s", s.cfg.Index, ix.model.Len(), ix.dim, ix.thresh, how)
	return nil
}

func (s *Server) logf(format string, a ...any) { s.cfg.Log.Printf(format, a...) }

// Stats describe the current index (GET /readyz, POST /admin/reload). It is plain data, safe for
// concurrent reads.
type Stats struct {
	Status    string  `json:"status"`
	Index     string  `json:"index"`
	Vectors   int     `json:"vectors"`
	Dim       int     `json:"dim"`
	Threshold float64 `json:"threshold"`
	Labelled  bool    `json:"labelled"`
	Reloads   int64   `json:"reloads"`
	Loaded    string  `json:"loaded"`
	Search    string  `json:"search"`
}

// Stats returns the current index's statistics.
func (s *Server) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	ix := s.cur.Load()
	if ix == nil {
		return Stats{Status: "loading"}
	}
	st := Stats{Status: "ready", Index: s.cfg.Index, Vectors: ix.model.Len(), Dim: ix.dim, Threshold: ix.thresh,
		Labelled: ix.labels != nil, Reloads: s.reloads.Load(), Loaded: ix.loaded.UTC().Format(time.RFC3339), Search: ix.search}
	if s.closing.Load() {
		st.Status = "shutting down"
	}
	return st
}

// Handler returns the server's routes, each under Config.RequestTimeout.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		st := s.Stats()
		code := http.StatusOK
		if st.Status != "ready" {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, st)
	})
	mux.HandleFunc("POST /v1/neighbors", func(w http.ResponseWriter, r *http.Request) { s.vectors(w, r, false) })
	mux.HandleFunc("POST /v1/match", func(w http.ResponseWriter, r *http.Request) { s.vectors(w, r, true) })
	mux.HandleFunc("POST /v1/neighbors/image", func(w http.ResponseWriter, r *http.Request) { s.image(w, r, false) })
	mux.HandleFunc("POST /v1/match/image", func(w http.ResponseWriter, r *http.Request) { s.image(w, r, true) })
	mux.HandleFunc("POST /admin/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reload(); err != nil {
			writeError(w, http.StatusInternalServerError, "reload failed, the current index is kept: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := routes[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed for %s: use %s", r.Method, r.URL.Path, m))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s; the routes are GET /healthz, GET /readyz, POST /v1/neighbors, POST /v1/match, POST /v1/neighbors/image, POST /v1/match/image, POST /admin/reload", r.Method, r.URL.Path))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routes are the server's paths and their methods.
var routes = map[string]string{
	"/healthz": "GET", "/readyz": "GET",
	"/v1/neighbors": "POST", "/v1/match": "POST", "/v1/neighbors/image": "POST", "/v1/match/image": "POST",
	"/admin/reload": "POST",
}

// Request is the body of POST /v1/neighbors and /v1/match: one vector or
// several, and k. It is plain data, safe for
// concurrent reads.
type Request struct {
	Vector  []float32   `json:"vector,omitempty"`
	Vectors [][]float32 `json:"vectors,omitempty"`
	K       int         `json:"k,omitempty"`
}

// Neighbor is one reference found for a query. It is plain data, safe for
// concurrent reads.
type Neighbor struct {
	Index    int     `json:"index"`
	Label    *int    `json:"label,omitempty"`
	Distance float32 `json:"distance"`
	Match    bool    `json:"match"`
}

// Result is one query's answer: its neighbours (neighbors routes) or
// whether its nearest reference matches (match routes). It is plain data, safe for
// concurrent reads.
type Result struct {
	Neighbors []Neighbor `json:"neighbors,omitempty"`
	Match     *bool      `json:"match,omitempty"`
	Nearest   *Neighbor  `json:"nearest,omitempty"`
}

// Response is the body of a successful query. It is plain data, safe for
// concurrent reads.
type Response struct {
	Results []Result `json:"results"`
}

type errorBody struct {
	Error string `json:"error"`
}

// errStatus is an error with its HTTP status.
type errStatus struct {
	code int
	msg  string
}

func (e *errStatus) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &errStatus{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// DecodeRequest reads a query body: one JSON object with "vector" or
// "vectors" (not both) and an optional "k", no unknown field, nothing
// after it; at most maxQueries vectors of dim finite values each, k in
// [1, maxK] (0 means DefaultK). Its errors are messages for the client.
func DecodeRequest(r io.Reader, dim, maxQueries, maxK int) (vectors [][]float32, k int, err error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, 0, &errStatus{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
		}
		return nil, 0, badRequest("malformed JSON: %v (want {\"vector\": [...], \"k\": 5} or {\"vectors\": [[...], ...]})", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, 0, &errStatus{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
		}
		return nil, 0, badRequest("malformed JSON: data after the request object")
	}
	switch {
	case req.Vector != nil && req.Vectors != nil:
		return nil, 0, badRequest("give \"vector\" or \"vectors\", not both")
	case req.Vector != nil:
		vectors = [][]float32{req.Vector}
	case req.Vectors != nil:
		vectors = req.Vectors
	default:
		return nil, 0, badRequest("no query: give \"vector\": [...] or \"vectors\": [[...], ...]")
	}
	if len(vectors) == 0 || len(vectors) > maxQueries {
		return nil, 0, badRequest("%d vectors: want 1 to %d per request", len(vectors), maxQueries)
	}
	for i, v := range vectors {
		if len(v) != dim {
			return nil, 0, badRequest("vector %d has dimension %d, the index has %d", i, len(v), dim)
		}
	}
	if k, err = checkK(req.K, maxK); err != nil {
		return nil, 0, err
	}
	return vectors, k, nil
}

func checkK(k, maxK int) (int, error) {
	if k == 0 {
		k = DefaultK
	}
	if k < 1 || k > maxK {
		return 0, badRequest("k %d: want 1 to %d", k, maxK)
	}
	return k, nil
}

func (s *Server) vectors(w http.ResponseWriter, r *http.Request, match bool) {
	ix := s.cur.Load()
	if ix == nil {
		writeError(w, http.StatusServiceUnavailable, "no index loaded")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise: its body is read as JSON too.
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" && mt != "application/x-www-form-urlencoded" {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json (images go to %s/image)", ct, r.URL.Path))
			return
		}
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	vecs, k, err := DecodeRequest(body, ix.dim, s.cfg.MaxQueries, s.cfg.MaxK)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.answer(w, r, ix, vecs, k, match)
}

func (s *Server) image(w http.ResponseWriter, r *http.Request, match bool) {
	ix := s.cur.Load()
	if ix == nil {
		writeError(w, http.StatusServiceUnavailable, "no index loaded")
		return
	}
	if s.cfg.EmbedImages == nil {
		writeError(w, http.StatusNotImplemented, "this server has no model to embed images (gometric serve -weights FILE); send vectors to /v1/neighbors")
		return
	}
	k := 0
	if q := r.URL.Query().Get("k"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("k %q: not an integer", q))
			return
		}
		k = v
	}
	k, err := checkK(k, s.cfg.MaxK)
	if err != nil {
		writeErr(w, err)
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var data []byte
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		r.Body = body
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed multipart body: "+err.Error())
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				writeErr(w, bodyError(err, "multipart body without an \"image\" field"))
				return
			}
			if p.FormName() == "image" {
				if data, err = io.ReadAll(p); err != nil {
					writeErr(w, bodyError(err, ""))
					return
				}
				break
			}
		}
	} else if data, err = io.ReadAll(body); err != nil {
		writeErr(w, bodyError(err, ""))
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "empty image")
		return
	}
	x, err := s.cfg.EmbedImages([][]byte{data})
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, gometric.ErrUnsupported) && !strings.Contains(err.Error(), "image format") {
			code = http.StatusNotImplemented
		}
		writeError(w, code, "the image: "+err.Error())
		return
	}
	if x.Cols != ix.dim {
		writeError(w, http.StatusConflict, fmt.Sprintf("the model's embeddings have dimension %d, the index %d: serve the index the model made", x.Cols, ix.dim))
		return
	}
	s.answer(w, r, ix, [][]float32{x.Data[:x.Cols]}, k, match)
}

// bodyError is an error reading a body as a client error.
func bodyError(err error, eof string) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &errStatus{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit)}
	}
	if eof != "" && errors.Is(err, io.EOF) {
		return badRequest("%s", eof)
	}
	return badRequest("reading the body: %v", err)
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, ix *index, vecs [][]float32, k int, match bool) {
	if k > ix.model.Len() {
		k = ix.model.Len()
	}
	if match {
		k = 1
	}
	if len(vecs) > s.cfg.MaxBatch {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d vectors: want at most %d per request", len(vecs), s.cfg.MaxBatch))
		return
	}
	p := &pending{ix: ix, vecs: vecs, k: k, done: make(chan searched, 1)}
	select {
	case s.queue <- p:
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("overloaded: %d requests are waiting; retry later", cap(s.queue)))
		return
	}
	var sr searched
	select {
	case sr = <-p.done:
	case <-s.stop:
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "request timed out waiting for a search: "+r.Context().Err().Error())
		return
	}
	res, err := sr.res, sr.err
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, gometric.ErrNonFinite) || errors.Is(err, gometric.ErrShape) {
			code = http.StatusBadRequest
		}
		writeError(w, code, err.Error())
		return
	}
	out := Response{Results: make([]Result, len(vecs))}
	for q := range vecs {
		ns := make([]Neighbor, res.K)
		for j := range ns {
			i, d := res.Indices[q*res.K+j], res.Distances[q*res.K+j]
			ns[j] = Neighbor{Index: i, Distance: d, Match: ix.bound.Match(d)}
			if ix.labels != nil {
				ns[j].Label = &ix.labels[i]
			}
		}
		if match {
			out.Results[q] = Result{Match: &ns[0].Match, Nearest: &ns[0]}
		} else {
			out.Results[q] = Result{Neighbors: ns}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeErr(w http.ResponseWriter, err error) {
	var es *errStatus
	if errors.As(err, &es) {
		writeError(w, es.code, es.msg)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// Serve serves the handler on ln until ctx is cancelled, then shuts down
// gracefully: /readyz answers 503 at once, new connections are refused,
// requests under way finish (for at most grace; 0 means 30 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	if s == nil || ln == nil {
		return fmt.Errorf("serve: nil Server or listener: %w", gometric.ErrSetting)
	}
	if grace <= 0 {
		grace = 30 * time.Second
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.RequestTimeout,
		WriteTimeout:      s.cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 16,
		ErrorLog:          s.cfg.Log,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.closing.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	s.Close()
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
