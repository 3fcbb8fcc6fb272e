package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// gm runs the command with args in dir and returns its stdout.
func gm(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

// TestReadmeLines runs the README's lines (on the embedded Fashion-MNIST
// sample, 2 iterations) in one directory, in order.
func TestReadmeLines(t *testing.T) {
	dir := t.TempDir()
	sample := "-data=" + filepath.Join(dir, "absent") // the embedded sample
	lines := []struct {
		args []string
		want string
	}{
		{[]string{"train", "-dataset", "fashionmnist", sample, "-iters", "2", "-quiet", "-out", "run1"}, "wrote run1/run.csv"},
		{[]string{"eval", "-dataset", "fashionmnist", sample, "-weights", "run1/checkpoint.gmw", "-scatter", "run1/plots", "-quiet"}, "wrote the scatter plot into run1/plots"},
		{[]string{"embed", "-dataset", "fashionmnist", sample, "-weights", "run1/checkpoint.gmw", "-split", "train", "-o", "train.gmfeats", "-quiet"}, "extracted 2000 × 64 features"},
		{[]string{"embed", "-dataset", "fashionmnist", sample, "-weights", "run1/checkpoint.gmw", "-split", "test", "-o", "test.gmfeats", "-quiet"}, "extracted 1000 × 64 features"},
		{[]string{"index", "build", "-features", "train.gmfeats", "-o", "train.gmidx", "-calibrate", "test.gmfeats"}, "wrote train.gmidx: 2000 × 64 unit vectors"},
		{[]string{"index", "search", "-index", "train.gmidx", "-query", "test.gmfeats", "-k", "3"}, "P@1 of the query labels"},
		{[]string{"index", "build", "-dataset", "fashionmnist", sample, "-weights", "run1/checkpoint.gmw", "-o", "test.gmidx", "-quiet"}, "wrote test.gmidx: 1000 × 64"},
		{[]string{"train", "-dataset", "features", "-data", "train.gmfeats", "-embedding", "16", "-hidden", "32", "-batch", "40", "-iters", "2", "-quiet", "-out", "head"}, "feature file: "},
		{[]string{"train", "-config", "run2.json", "-lr", "1e-4"}, "Adam lr 0.0001"},
	}
	if err := os.WriteFile(filepath.Join(dir, "run2.json"), []byte(`{"dataset": "fashionmnist", "data": "absent", "iters": 1, "quiet": true, "out": "run2", "lr": 0.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		out, err := gm(t, dir, l.args...)
		if err != nil || !strings.Contains(out, l.want) {
			t.Fatalf("gometric %s: %v\n%s\nwant %q", strings.Join(l.args, " "), err, out, l.want)
		}
	}
	out, err := gm(t, dir, "index", "build", "-features", "train.gmfeats", "-o", "f.gmidx", "-faiss", "IVF16,Flat", "-faiss-param", "nprobe=4", "-calibrate", "test.gmfeats")
	switch {
	case !knn.FaissBuilt && !errors.Is(err, gometric.ErrUnsupported):
		t.Errorf("-faiss without FAISS: %v", err)
	case knn.FaissBuilt && (err != nil || !strings.Contains(out, "recall@10 of FAISS IVF16,Flat against exact search")):
		t.Errorf("-faiss: %v\n%s", err, out)
	}
	out, err = gm(t, dir, "index", "search", "-index", "train.gmidx", "-query", "test.gmfeats", "-k", "2", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var first struct {
		Query     int `json:"query"`
		Neighbors []struct {
			Index int  `json:"index"`
			Label *int `json:"label"`
		} `json:"neighbors"`
	}
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&first); err != nil || len(first.Neighbors) != 2 || first.Neighbors[0].Label == nil {
		t.Errorf("-json: %v %+v", err, first)
	}

	// serve, on a free port, until cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-index", filepath.Join(dir, "train.gmidx"), "-addr", addr}, io.Discard, io.Discard)
	}()
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get("http://" + addr + "/readyz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want error
	}{
		{nil, gometric.ErrSetting},
		{[]string{"frobnicate"}, gometric.ErrSetting},
		{[]string{"index"}, gometric.ErrSetting},
		{[]string{"train", "-h"}, flag.ErrHelp},
		{[]string{"train", "extra"}, gometric.ErrSetting},
		{[]string{"train", "-dataset", "mnist"}, gometric.ErrSetting},
		{[]string{"train", "-config", "/nonexistent.json"}, os.ErrNotExist},
		{[]string{"eval", "-dataset", "fashionmnist"}, gometric.ErrSetting},
		{[]string{"embed", "-dataset", "fashionmnist", "-weights", "x.gmw"}, gometric.ErrSetting},
		{[]string{"index", "build", "-o", "x"}, gometric.ErrSetting},
		{[]string{"index", "build", "-features", "x", "-o", "y", "-metric", "cos"}, gometric.ErrSetting},
		{[]string{"index", "search"}, gometric.ErrSetting},
		{[]string{"serve"}, gometric.ErrSetting},
		{[]string{"bench", "-count", "0"}, gometric.ErrSetting},
		{[]string{"bench", "serve", "-n", "0"}, gometric.ErrSetting},
	} {
		if _, err := gm(t, dir, tc.args...); !errors.Is(err, tc.want) {
			t.Errorf("gometric %v: %v, want %v", tc.args, err, tc.want)
		}
	}
	if out, err := gm(t, dir, "help"); err != nil || !strings.Contains(out, "serve") {
		t.Errorf("help: %v %s", err, out)
	}
}
