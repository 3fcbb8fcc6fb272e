package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/accuracy"
)

// execute runs a small training run into out with the given epochs and
// flags, returning its rows and output.
func execute(t *testing.T, out string, epochs int, set func(*Options)) ([]Row, string, error) {
	t.Helper()
	train, test := blobs(t, 1, 64, 8, 4), blobs(t, 2, 40, 8, 4)
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 16, 8}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	o.Batch, o.M, o.Epochs, o.Out, o.Quiet = 16, 4, epochs, out, true
	if set != nil {
		set(&o)
	}
	var stdout bytes.Buffer
	r := &Run{Options: o, Encoder: enc, Train: train, Test: test, Stdout: &stdout, Stderr: &stdout}
	rows, err := r.Execute(context.Background())
	return rows, stdout.String(), err
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A second run into the same directory refuses to start unless told to
// resume or overwrite, whatever its epochs, and changes no file.
func TestRefusesAnEarlierRun(t *testing.T) {
	out := t.TempDir()
	if _, _, err := execute(t, out, 1, nil); err != nil {
		t.Fatal(err)
	}
	ckpt, csvData := read(t, filepath.Join(out, CheckpointFile)), read(t, filepath.Join(out, CSVFile))
	for _, epochs := range []int{0, 1, 3} {
		_, stdout, err := execute(t, out, epochs, nil)
		if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "-resume") || !strings.Contains(err.Error(), CheckpointFile) {
			t.Errorf("-epochs %d: err = %v, want a refusal naming the checkpoint and -resume\n%s", epochs, err, stdout)
		}
	}
	if !bytes.Equal(ckpt, read(t, filepath.Join(out, CheckpointFile))) || !bytes.Equal(csvData, read(t, filepath.Join(out, CSVFile))) {
		t.Error("a refused run changed the earlier run's files")
	}
	if _, _, err := execute(t, out, 1, func(o *Options) { o.Resume, o.Overwrite = true, true }); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("-resume -overwrite: %v", err)
	}
	// -overwrite starts again.
	rows, stdout, err := execute(t, out, 1, func(o *Options) { o.Overwrite = true })
	if err != nil || len(rows) != 2 || !strings.Contains(stdout, "deleted the earlier run") {
		t.Errorf("-overwrite: %v, %d rows\n%s", err, len(rows), stdout)
	}
}

// -resume continues the recorded run: the record's first lines stay as
// they were and the epochs go on from the last one.
func TestResume(t *testing.T) {
	out := t.TempDir()
	if _, _, err := execute(t, out, 1, nil); err != nil {
		t.Fatal(err)
	}
	before := read(t, filepath.Join(out, CSVFile))
	rows, stdout, err := execute(t, out, 3, func(o *Options) { o.Resume = true })
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rows) != 4 || rows[3].Epoch != 3 || rows[3].Train == nil {
		t.Fatalf("rows after resuming: %+v", rows)
	}
	if !strings.Contains(stdout, "-resume: continuing after epoch 1") || strings.Contains(stdout, "epoch 0 ") {
		t.Errorf("output:\n%s", stdout)
	}
	after := read(t, filepath.Join(out, CSVFile))
	if !bytes.HasPrefix(after, before) {
		t.Errorf("the resumed record does not start with the earlier one:\n%s\n---\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(out, EpochFile(3))); err != nil {
		t.Error(err)
	}
	for _, e := range []int{1, 2} {
		if _, err := os.Stat(filepath.Join(out, EpochFile(e))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s kept: %v", EpochFile(e), err)
		}
	}
	// Nothing left to train.
	rows, stdout, err = execute(t, out, 2, func(o *Options) { o.Resume = true })
	if err != nil || len(rows) != 4 || !strings.Contains(stdout, "nothing to train") {
		t.Errorf("resume past -epochs: %v, %d rows\n%s", err, len(rows), stdout)
	}
	// -resume in an empty directory starts a new run.
	if rows, _, err := execute(t, t.TempDir(), 1, func(o *Options) { o.Resume = true }); err != nil || len(rows) != 2 {
		t.Errorf("-resume on nothing: %v, %d rows", err, len(rows))
	}
}

// Resuming gives the numbers of the uninterrupted run: -epochs 3 against
// -epochs 1 then -epochs 3 -resume, with a plain and a learnable loss
// (whose parameters and optimizer are restored too).
func TestResumeIsExact(t *testing.T) {
	for _, name := range []string{"triplet", "arcface", "withclassifier"} {
		t.Run(name, func(t *testing.T) {
			set := func(o *Options) {
				switch name {
				case "arcface":
					o.Loss, o.Miner = "arcface", "none"
				case "withclassifier":
					o.Trainer, o.ClassifierLossWeight = "withclassifier", 0.5
				}
			}
			whole := t.TempDir()
			want, _, err := execute(t, whole, 3, set)
			if err != nil {
				t.Fatal(err)
			}
			split := t.TempDir()
			if _, _, err := execute(t, split, 1, set); err != nil {
				t.Fatal(err)
			}
			got, stdout, err := execute(t, split, 3, func(o *Options) { set(o); o.Resume = true })
			if err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			// Epochs 0 and 1 come back from the record (10 digits), the
			// later ones are computed again: exactly equal.
			same := func(e int, g, w float64) bool {
				if e <= 1 {
					return strconv.FormatFloat(g, 'g', 10, 64) == strconv.FormatFloat(w, 'g', 10, 64)
				}
				return g == w
			}
			for e := range want {
				for _, m := range Metrics {
					if g, w := got[e].Metrics[m.Name].Scalar, want[e].Metrics[m.Name].Scalar; !same(e, g, w) {
						t.Errorf("epoch %d %s: resumed %v, uninterrupted %v", e, m.Short, g, w)
					}
				}
				if e > 0 && !same(e, got[e].Train.LossMean, want[e].Train.LossMean) {
					t.Errorf("epoch %d loss: resumed %v, uninterrupted %v", e, got[e].Train.LossMean, want[e].Train.LossMean)
				}
			}
			a, b := read(t, filepath.Join(whole, EpochFile(3))), read(t, filepath.Join(split, EpochFile(3)))
			if !bytes.Equal(a, b) {
				t.Error("the resumed run's final weights differ from the uninterrupted run's")
			}
		})
	}
}

// The best checkpoint is never replaced by a worse epoch: a record whose
// epoch 1 scored the maximum keeps its checkpoint through a resumed epoch.
func TestCheckpointKeepsTheBest(t *testing.T) {
	out := t.TempDir()
	rows, _, err := execute(t, out, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows[1].Metrics[PrimaryMetric] = accuracy.Value{Scalar: 1}
	if err := WriteCSV(filepath.Join(out, CSVFile), rows); err != nil {
		t.Fatal(err)
	}
	ckpt := read(t, filepath.Join(out, CheckpointFile))
	if _, stdout, err := execute(t, out, 2, func(o *Options) { o.Resume = true }); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !bytes.Equal(ckpt, read(t, filepath.Join(out, CheckpointFile))) {
		t.Error("a worse epoch replaced the best checkpoint")
	}
}

// A killed run's leftovers — temporary files and the weights of an epoch
// whose record was never written — are cleaned up when the run resumes;
// a record that names an epoch whose weights are missing is an error.
func TestResumeAfterKill(t *testing.T) {
	out := t.TempDir()
	if _, _, err := execute(t, out, 1, nil); err != nil {
		t.Fatal(err)
	}
	strays := []string{
		"." + CheckpointFile + ".tmp-123", "." + EpochFile(2) + ".tmp-9", "." + CSVFile + ".tmp-1",
		EpochFile(2), EpochLossFile(2),
	}
	for _, s := range strays {
		if err := os.WriteFile(filepath.Join(out, s), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(out, ".unrelated.tmp-1")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A refused run cleans the temporary files too (they are never data).
	if _, _, err := execute(t, out, 1, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Fatalf("err = %v", err)
	}
	rows, stdout, err := execute(t, out, 2, func(o *Options) { o.Resume = true })
	if err != nil || len(rows) != 3 {
		t.Fatalf("%v, %d rows\n%s", err, len(rows), stdout)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") && e.Name() != ".unrelated.tmp-1" {
			t.Errorf("temporary file %s survived", e.Name())
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file that is not the run's was removed: %v", err)
	}
	if _, err := models.LoadEncoder(filepath.Join(out, EpochFile(2))); err != nil {
		t.Errorf("epoch 2 was not trained again: %v", err)
	}
	if err := os.Remove(filepath.Join(out, EpochFile(2))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume = true }); err == nil || !strings.Contains(err.Error(), EpochFile(2)) {
		t.Errorf("missing %s: err = %v", EpochFile(2), err)
	}
}

// ReadCSV reads what WriteCSV wrote, and WriteCSV writes it back byte for
// byte; a damaged record is an error.
func TestReadCSV(t *testing.T) {
	out := t.TempDir()
	if _, _, err := execute(t, out, 2, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, CSVFile)
	data := read(t, path)
	rows, err := ReadCSV(path)
	if err != nil || len(rows) != 3 || rows[2].Train.Iterations != 4 {
		t.Fatalf("%v %+v", err, rows)
	}
	again := filepath.Join(out, "again.csv")
	if err := WriteCSV(again, rows); err != nil {
		t.Fatal(err)
	}
	if got := read(t, again); !bytes.Equal(got, data) {
		t.Errorf("round trip:\n%s\n---\n%s", data, got)
	}
	bad := map[string]string{
		"header":  strings.Replace(string(data), "epoch", "epoc", 1),
		"epoch":   strings.Replace(string(data), "\n1,", "\n7,", 1),
		"number":  strings.Replace(string(data), "\n2,4,", "\n2,x,", 1),
		"columns": strings.Replace(string(data), "\n2,4,", "\n2,", 1),
		"empty":   "",
	}
	for name, content := range bad {
		p := filepath.Join(out, name+".csv")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCSV(p); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
