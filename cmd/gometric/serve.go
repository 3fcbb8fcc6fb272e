package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/internal/serve"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "-index FILE [-weights FILE] [-addr :8080] [flags]",
		"Serves an index over HTTP JSON (package internal/serve):\n"+
			"  GET  /healthz, GET /readyz (503 until loaded and while shutting down)\n"+
			"  POST /v1/neighbors  {\"vector\": [...], \"k\": 5} or {\"vectors\": [[...], ...]}: labels, distances, match\n"+
			"  POST /v1/match      the same request: whether each query's nearest reference matches (the index's threshold)\n"+
			"  POST /v1/neighbors/image?k=5, /v1/match/image: an image (raw body or multipart field \"image\"), with -weights\n"+
			"  POST /admin/reload  reads -index again and swaps it in without dropping requests (also on SIGHUP)\n"+
			"SIGTERM or Ctrl-C shuts down gracefully: /readyz turns 503, requests under way finish.", stderr)
	index := fs.String("index", "", "the index file (gometric index build)")
	addr := fs.String("addr", "localhost:8080", "the address to listen on")
	var mf runner.ModelFlags
	mf.Register(fs)
	var cfg serve.Config
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", serve.DefaultMaxBodyBytes, "the largest request body, in bytes")
	fs.IntVar(&cfg.MaxQueries, "max-queries", serve.DefaultMaxQueries, "the most vectors per request")
	fs.IntVar(&cfg.MaxK, "max-k", serve.DefaultMaxK, "the largest k")
	fs.DurationVar(&cfg.RequestTimeout, "timeout", serve.DefaultRequestTimeout, "a request's time limit")
	fs.StringVar(&cfg.FaissParams, "faiss-param", "", "with the FAISS index beside -index: search parameters, e.g. nprobe=16")
	grace := fs.Duration("grace", 30*time.Second, "how long requests under way may take to finish at shutdown")
	fs.String(runner.ConfigFlag, "", "a JSON file of flag names and values (the command line wins)")
	if err := runner.ParseArgs(fs, args); err != nil {
		return err
	}
	cfg.Index = *index
	cfg.Log = log.New(stderr, "gometric serve: ", log.LstdFlags)
	if mf.Weights != "" {
		m, err := mf.Open()
		if err != nil {
			return err
		}
		cfg.EmbedImages = func(images [][]byte) (gometric.Matrix, error) { return m.EmbedImages(images, 0) }
	}
	s, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			_ = s.Reload() // logged
		}
	}()
	st := s.Stats()
	fmt.Fprintf(stdout, "serving %s (%d × %d, threshold %.4f, %s) on http://%s\n", *index, st.Vectors, st.Dim, st.Threshold, st.Search, ln.Addr())
	err = s.Serve(ctx, ln, *grace)
	fmt.Fprintln(stdout, "shut down")
	return err
}
