package extract

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/testers"
)

// childEnv makes the test binary run one extraction (TestMain) into the
// path it names.
const childEnv = "GOMETRIC_EXTRACT_CHILD"

// killSamples, killOpts and slowEncoder are the killed extraction's data
// set, options and encoder (a few milliseconds per batch, so that the
// process is killed mid-run).
const killSamples = 203

var killOpts = Options{BatchSize: 3, ChunkSize: 7, Key: "kill"}

func slowEncoder() testers.EmbedFunc {
	return func(x gometric.Matrix) (gometric.Matrix, error) {
		time.Sleep(2 * time.Millisecond)
		return encoder(1)(x)
	}
}

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		if _, err := Features(context.Background(), slowEncoder(), data(nil, killSamples, 8), path, killOpts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKill kills a separate process extracting (SIGKILL, at several
// points of its run, several times over one target), then finishes in
// this process: the file is byte for byte the uninterrupted run's.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	want := reference(t, data(t, killSamples, 8), killOpts)
	path := filepath.Join(t.TempDir(), "f.gmfeats")
	kills := 0
	// Each run continues the previous one's partial file: kill them soon
	// after they start, a little later each time, until one finishes.
	for i := range 40 {
		delay := time.Duration(20+3*i) * time.Millisecond
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if err == nil {
			t.Logf("run %d ended before its kill", i)
			break
		}
		if out.Len() > 0 {
			t.Fatalf("run %d: %s", i, out.String())
		}
		kills++
		if _, err := os.Stat(path); err == nil {
			// Killed after writing the target: it must be whole.
			if !bytes.Equal(mustRead(t, path), want) {
				t.Fatalf("run %d: killed after writing the target, which differs from the uninterrupted run's", i)
			}
			break
		}
		t.Logf("run %d killed after %v: %s", i, delay, strconv.Quote(partialState(t, path)))
	}
	if kills == 0 {
		t.Skip("every run ended before it was killed")
	}
	res, err := Features(context.Background(), encoder(1), data(t, killSamples, 8), path, killOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, path); !bytes.Equal(got, want) {
		t.Errorf("after %d kills, the file differs from the uninterrupted run's (resumed %d, %q)", kills, res.Resumed, res.Discarded)
	}
}

// partialState describes the partial file of path.
func partialState(t *testing.T, path string) string {
	b, err := os.ReadFile(path + PartialSuffix)
	if err != nil {
		return "no partial file"
	}
	p, err := readPartial(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("a killed run left a partial file that does not read: %v", err)
	}
	return fmt.Sprintf("%d samples in %d bytes of %d, %s", p.rows, p.valid, len(b), p.bad)
}
