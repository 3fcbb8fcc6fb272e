package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
)

// childEnv makes the test binary run the program itself (TestMain).
const childEnv = "GOMETRIC_RUN_FASHIONMNIST"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killSchedule is the kill test's -lr-schedule: the runs have an
// embedder and schedulers, so that every kind of file a run writes is
// killed mid-write.
const killSchedule = "exp:0.9"

// child starts the program as a separate process on the embedded sample.
func child(t *testing.T, out string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	args := append([]string{"-data", filepath.Join(out, "no-data"), "-out", out, "-quiet",
		"-iters", "3", "-eval-batch", "500", "-embedder", "16", "-lr-schedule", killSchedule}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	return cmd, &buf
}

// checkFiles requires every file of the run in out to load and returns
// the names of the temporary files present.
func checkFiles(t *testing.T, out string) (temps []string) {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(out, e.Name())
		switch {
		case strings.Contains(name, ".tmp-"):
			temps = append(temps, name)
		case strings.HasSuffix(name, ".gmw"):
			if _, err := models.LoadEncoder(path); err != nil {
				t.Errorf("%s does not load: %v", name, err)
			}
		case strings.HasSuffix(name, ".gms"):
			opt, err := models.NewOptimizer("adam", 1e-3)
			if err == nil && strings.Contains(name, "sched") {
				var s *models.ExponentialLR
				if s, err = models.NewExponentialLR(opt, 0.9); err == nil {
					err = s.LoadState(path)
				}
			} else if err == nil {
				err = opt.LoadState(path)
			}
			if err != nil {
				t.Errorf("%s does not load: %v", name, err)
			}
		case name == runner.CSVFile:
			if _, err := runner.ReadCSV(path); err != nil {
				t.Errorf("%s does not read: %v", name, err)
			}
		}
	}
	return temps
}

// TestKilledCheckpointing kills the program with SIGKILL at random points
// of a run that resumes from where the previous one was killed: after
// every kill each weight file and the record load, a plain re-run refuses
// to start and changes no checkpoint, and no temporary file survives that
// start. A last -resume run completes.
func TestKilledCheckpointing(t *testing.T) {
	if raceEnabled {
		t.Skip("kills the program at random points of a run; slow under -race (CI runs it without -race)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	out := t.TempDir()
	// One complete run of two epochs measures how long a run takes.
	start := time.Now()
	cmd, buf := child(t, out, "-epochs", "2")
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, buf)
	}
	full := time.Since(start)
	t.Logf("a 2-epoch run takes %v", full)

	const trials = 24
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("kill times drawn with seed %d", seed)
	killedDuring := 0
	for trial := range trials {
		cmd, buf := child(t, out, "-resume", "-epochs", "100000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(rng.Float64() * float64(full))
		time.Sleep(wait)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			killedDuring++
		} else {
			t.Errorf("trial %d: the program ended before the kill after %v: %v\n%s", trial, wait, err, buf)
			continue
		}
		checkFiles(t, out)
		ckpt := filepath.Join(out, runner.CheckpointFile)
		before, _ := os.ReadFile(ckpt)
		// A plain re-run (even -epochs 0) refuses and cleans the
		// temporary files of the killed run.
		re, rebuf := child(t, out, "-epochs", "0")
		if err := re.Run(); err == nil || !strings.Contains(rebuf.String(), "-resume continues that run") {
			t.Errorf("trial %d: a re-run without -resume did not refuse: %v\n%s", trial, err, rebuf)
		}
		if after, _ := os.ReadFile(ckpt); !bytes.Equal(before, after) {
			t.Errorf("trial %d: the re-run changed %s", trial, runner.CheckpointFile)
		}
		if temps := checkFiles(t, out); len(temps) > 0 {
			t.Errorf("trial %d: temporary files survived the next start: %v", trial, temps)
		}
	}
	t.Logf("%d trials killed mid-run", killedDuring)
	rows, err := runner.ReadCSV(filepath.Join(out, runner.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	done := len(rows) - 1
	cmd, buf = child(t, out, "-resume", "-epochs", itoa(done+1))
	if err := cmd.Run(); err != nil {
		t.Fatalf("final resume: %v\n%s", err, buf)
	}
	if !strings.Contains(buf.String(), "-resume: continuing after epoch") {
		t.Errorf("final resume output:\n%s", buf)
	}
	rows, err = runner.ReadCSV(filepath.Join(out, runner.CSVFile))
	if err != nil || len(rows) != done+2 {
		t.Errorf("after the final resume: %v, %d rows, want %d", err, len(rows), done+2)
	}
	t.Logf("the record holds %d epochs after %d kills", len(rows)-1, killedDuring)
	if temps := checkFiles(t, out); len(temps) > 0 {
		t.Errorf("temporary files after the final run: %v", temps)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
