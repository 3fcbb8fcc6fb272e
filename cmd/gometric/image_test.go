package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeImage: a model trained on an image folder, an index of every
// image built through it, served with the model: an uploaded image finds
// itself.
func TestServeImage(t *testing.T) {
	dir := t.TempDir()
	var first []byte
	for c, class := range []string{"a", "b", "c", "d"} {
		os.MkdirAll(filepath.Join(dir, "imgs", class), 0o755)
		for k := range 3 {
			m := image.NewRGBA(image.Rect(0, 0, 10, 9))
			for i := range m.Pix {
				m.Pix[i] = uint8(50*c + 7*k + i%11)
			}
			var buf bytes.Buffer
			png.Encode(&buf, m)
			if first == nil {
				first = buf.Bytes()
			}
			os.WriteFile(filepath.Join(dir, "imgs", class, fmt.Sprintf("%d.png", k)), buf.Bytes(), 0o644)
		}
	}
	for _, args := range [][]string{
		{"train", "-dataset", "folder", "-data", "imgs", "-size", "8", "-blocks", "4", "-embedding", "6", "-batch", "4", "-m", "2", "-iters", "1", "-quiet", "-out", "run"},
		{"train", "-dataset", "folder", "-data", "imgs", "-trunk", "resnet18", "-trunk-size", "32", "-embedder", "4", "-batch", "4", "-m", "2", "-iters", "1", "-quiet", "-out", "r18"},
		{"eval", "-dataset", "folder", "-data", "imgs", "-weights", "r18/checkpoint.gmw", "-quiet", "-out", "r18eval"},
		{"index", "build", "-dataset", "folder", "-data", "imgs", "-weights", "run/checkpoint.gmw", "-split", "all", "-o", "all.gmidx", "-quiet"},
	} {
		out, err := gm(t, dir, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if args[0] == "eval" {
			// The evaluation of the checkpoint is the run's best epoch's.
			run, _ := os.ReadFile(filepath.Join(dir, "r18", "run.csv"))
			ev, _ := os.ReadFile(filepath.Join(dir, "r18eval", "run.csv"))
			lines := strings.Split(strings.TrimSpace(string(run)), "\n")
			evl := strings.Split(strings.TrimSpace(string(ev)), "\n")
			if len(evl) != 2 || !strings.Contains(string(run), metricsOf(evl[1])) {
				t.Errorf("eval %q is not a row of the run %q", evl, lines)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-index", filepath.Join(dir, "all.gmidx"), "-weights", filepath.Join(dir, "run", "checkpoint.gmw"), "-addr", addr}, io.Discard, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var resp *http.Response
	for range 100 {
		if resp, err = http.Post("http://"+addr+"/v1/neighbors/image?k=2", "image/png", bytes.NewReader(first)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Neighbors []struct {
				Index    int     `json:"index"`
				Label    int     `json:"label"`
				Distance float32 `json:"distance"`
				Match    bool    `json:"match"`
			} `json:"neighbors"`
		} `json:"results"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	n := body.Results[0].Neighbors[0]
	if n.Index != 0 || n.Label != 0 || n.Distance > 1e-5 || !n.Match {
		t.Errorf("the image's nearest reference: %+v (%s)", n, b)
	}
	resp2, err := http.Post("http://"+addr+"/v1/match/image", "image/png", strings.NewReader("not an image"))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 400 {
		t.Errorf("not an image: %d", resp2.StatusCode)
	}
}

// metricsOf is the metrics columns of a run.csv line (precision_at_1,
// r_precision, mean_average_precision_at_r: the 9th to 11th).
func metricsOf(line string) string {
	f := strings.Split(line, ",")
	if len(f) < 11 {
		return line
	}
	return "," + strings.Join(f[8:11], ",") + ","
}
