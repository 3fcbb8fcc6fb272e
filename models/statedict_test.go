package models_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
	"github.com/nlpodyssey/safetensors"
)

const stateDictDir = "testdata/statedict"

// expectedStateDicts reads testdata/statedict/expected.json (written by
// scripts/torch_statedict_fixtures.py with the fixtures).
func expectedStateDicts(t testing.TB) map[string]models.StateDict {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDictDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]map[string]struct {
		DType  string    `json:"dtype"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]models.StateDict{}
	for stem, tensors := range raw {
		sd := models.StateDict{}
		for name, e := range tensors {
			st := models.StateTensor{Shape: e.Shape}
			if st.Shape == nil {
				st.Shape = []int{}
			}
			switch e.DType {
			case "F32", "F16", "BF16", "F64":
				st.Data = make([]float32, len(e.Values))
				for i, v := range e.Values {
					st.Data[i] = float32(v)
				}
			default:
				st.Ints = make([]int64, len(e.Values))
				for i, v := range e.Values {
					st.Ints[i] = int64(v)
				}
			}
			sd[name] = st
		}
		out[stem] = sd
	}
	return out
}

// sameStateDict reports the first difference between two state dicts,
// comparing float values bit for bit (NaN included).
func sameStateDict(got, want models.StateDict) string {
	for name := range want {
		if _, ok := got[name]; !ok {
			return "missing " + name
		}
	}
	for name, g := range got {
		w, ok := want[name]
		if !ok {
			return "unexpected " + name
		}
		if !slices.Equal(g.Shape, w.Shape) || (g.Shape == nil) != (w.Shape == nil) {
			return name + ": shape " + fmtShape(g.Shape) + ", want " + fmtShape(w.Shape)
		}
		if (g.Data == nil) != (w.Data == nil) || (g.Ints == nil) != (w.Ints == nil) {
			return name + ": Data/Ints kind differs"
		}
		if !slices.EqualFunc(g.Data, w.Data, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			return name + ": Data differs"
		}
		if !slices.Equal(g.Ints, w.Ints) {
			return name + ": Ints differ"
		}
	}
	return ""
}

func fmtShape(s []int) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestReadStateDictFixtures: torch.save's zip and legacy files and the
// safetensors file of each fixture read as the same state dict, the one
// torch holds (expected.json), through the path and the io.ReaderAt forms.
func TestReadStateDictFixtures(t *testing.T) {
	want := expectedStateDicts(t)
	for _, stem := range []string{"mixed", "module"} {
		for _, file := range []string{stem + ".pth", stem + "_legacy.pth", stem + ".safetensors"} {
			t.Run(file, func(t *testing.T) {
				path := filepath.Join(stateDictDir, file)
				got, err := models.ReadStateDict(path)
				if err != nil {
					t.Fatal(err)
				}
				if d := sameStateDict(got, want[stem]); d != "" {
					t.Fatalf("ReadStateDict: %s", d)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				read := models.ReadPTH
				if strings.HasSuffix(file, ".safetensors") {
					read = models.ReadSafetensors
				}
				got2, err := read(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				if d := sameStateDict(got2, got); d != "" {
					t.Fatalf("reader form: %s", d)
				}
			})
		}
	}
	// The scalar's shape is empty (not nil), the zero-size tensor keeps
	// its shape, and the views are their own row-major tensors.
	got, err := models.ReadStateDict(filepath.Join(stateDictDir, "mixed.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if s := got["scalar"]; s.Shape == nil || len(s.Shape) != 0 || len(s.Data) != 1 || s.Data[0] != 3.5 {
		t.Errorf("scalar = %+v", s)
	}
	if s := got["empty"]; !slices.Equal(s.Shape, []int{0, 3}) || s.Data == nil || len(s.Data) != 0 {
		t.Errorf("empty = %+v", s)
	}
	f32, tr := got["f32"], got["f32_t"]
	for i := range 3 {
		for j := range 4 {
			if f32.Data[i*4+j] != tr.Data[j*3+i] {
				t.Fatalf("f32_t[%d][%d] = %v, want %v", j, i, tr.Data[j*3+i], f32.Data[i*4+j])
			}
		}
	}
	if !slices.Equal(got["f32_rows"].Data, f32.Data[4:]) {
		t.Error("f32_rows is not f32[1:]")
	}
	if n := got["module"]; n.Shape != nil {
		t.Error("unexpected key")
	}
	mod, _ := models.ReadStateDict(filepath.Join(stateDictDir, "module.pth"))
	if nb := mod["1.num_batches_tracked"]; len(nb.Shape) != 0 || !slices.Equal(nb.Ints, []int64{1}) {
		t.Errorf("num_batches_tracked = %+v", nb)
	}
}

// edgeStateDict has the values a writer must keep bit for bit.
func edgeStateDict() models.StateDict {
	return models.StateDict{
		"a.nan":   {Shape: []int{2, 3}, Data: []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32}},
		"b.ints":  {Shape: []int{3}, Ints: []int64{math.MinInt64, -1, math.MaxInt64}},
		"scalar":  {Shape: []int{}, Data: []float32{2.5}},
		"iscalar": {Shape: []int{}, Ints: []int64{7}},
		"empty":   {Shape: []int{0, 4}, Data: []float32{}},
		"iempty":  {Shape: []int{2, 0}, Ints: []int64{}},
		"ünï \"q": {Shape: []int{1, 1, 1}, Data: []float32{1}},
	}
}

// TestWriteSafetensorsRoundTrip: WriteSafetensors then ReadSafetensors
// gives the state dict back exactly (NaN, ±Inf, -0, scalars, zero-size
// tensors, int64 extremes), for the fixtures and the edge values; the
// file form writes the same bytes; keys are written in sorted order.
func TestWriteSafetensorsRoundTrip(t *testing.T) {
	dicts := map[string]models.StateDict{"edge": edgeStateDict(), "empty": {}}
	for stem, sd := range expectedStateDicts(t) {
		dicts[stem] = sd
	}
	for name, sd := range dicts {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := models.WriteSafetensors(&buf, sd); err != nil {
				t.Fatal(err)
			}
			got, err := models.ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if d := sameStateDict(got, sd); d != "" {
				t.Fatal(d)
			}
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := models.WriteSafetensorsFile(path, sd); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(b, buf.Bytes()) {
				t.Fatalf("file differs from WriteSafetensors's bytes (%v)", err)
			}
			back, err := models.ReadStateDict(path)
			if err != nil || sameStateDict(back, sd) != "" {
				t.Fatalf("ReadStateDict: %v %s", err, sameStateDict(back, sd))
			}
			// Keys in sorted order, header padded to 8 bytes.
			n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
			if n%8 != 0 {
				t.Errorf("header length %d not a multiple of 8", n)
			}
			dec := json.NewDecoder(bytes.NewReader(b[8 : 8+n]))
			var keys []string
			_, _ = dec.Token()
			for dec.More() {
				tok, _ := dec.Token()
				keys = append(keys, tok.(string))
				var skip json.RawMessage
				_ = dec.Decode(&skip)
			}
			if keys[0] != "__metadata__" || !slices.IsSorted(keys[1:]) || len(keys) != len(sd)+1 {
				t.Errorf("header keys %q", keys)
			}
		})
	}
}

// TestSafetensorsInterop: the files WriteSafetensors writes are read by
// github.com/nlpodyssey/safetensors, and its files by ReadSafetensors.
func TestSafetensorsInterop(t *testing.T) {
	sd := edgeStateDict()
	var buf bytes.Buffer
	if err := models.WriteSafetensors(&buf, sd); err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != len(sd) {
		t.Fatalf("%d tensors, want %d", st.Len(), len(sd))
	}
	views := map[string]safetensors.TensorView{}
	for name, want := range sd {
		tv, ok := st.Tensor(name)
		if !ok {
			t.Fatalf("%q missing", name)
		}
		if len(tv.Shape()) != len(want.Shape) {
			t.Errorf("%q: shape %v, want %v", name, tv.Shape(), want.Shape)
		}
		wantDT := safetensors.F32
		if want.Ints != nil {
			wantDT = safetensors.I64
		}
		if tv.DType() != wantDT {
			t.Errorf("%q: dtype %v", name, tv.DType())
		}
		views[name] = tv
	}
	// Its serialisation of the same views reads back as sd.
	b, err := safetensors.Serialize(views, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := models.ReadSafetensors(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if d := sameStateDict(got, sd); d != "" {
		t.Fatal(d)
	}
}

// TestSafetensorsPython: torch reads what WriteSafetensors writes (the
// safetensors package is not needed: the script parses the format) into
// the fixture module with load_state_dict(strict=True), and its tensors
// equal torch.load of the .pth. It runs only with GOMETRIC_PYTHON_TESTS=1
// and /usr/bin/python3 (Debian's python3-torch).
func TestSafetensorsPython(t *testing.T) {
	if os.Getenv("GOMETRIC_PYTHON_TESTS") != "1" {
		t.Skip("set GOMETRIC_PYTHON_TESTS=1 to run (needs /usr/bin/python3 with torch)")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	sd, err := models.ReadStateDict(filepath.Join(stateDictDir, "module_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "module.safetensors")
	if err := models.WriteSafetensorsFile(path, sd); err != nil {
		t.Fatal(err)
	}
	const script = `
import json, struct, sys, torch
path, pth = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert h.pop("__metadata__") == {"format": "pt"}
dt = {"F32": torch.float32, "I64": torch.int64}
sd = {k: torch.frombuffer(bytearray(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]), dtype=dt[v["dtype"]]).reshape(v["shape"]) for k, v in h.items()}
m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
m.load_state_dict(sd, strict=True)
ref = torch.load(pth)
assert set(ref) == set(sd)
for k in ref:
    assert ref[k].shape == sd[k].shape and torch.equal(ref[k], sd[k]), k
print("ok")
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, path, filepath.Join(stateDictDir, "module.pth")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %v\n%s", err, out)
	}
}

// TestReadStateDictPaths: paths that are not readable state dicts.
func TestReadStateDictPaths(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bin")
	if err := os.WriteFile(junk, []byte("hello world, not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want error
	}{
		{"", gometric.ErrSetting},
		{filepath.Join(dir, "missing.pth"), os.ErrNotExist},
		{dir, gometric.ErrUnsupported},
		{"/dev/zero", gometric.ErrUnsupported},
		{"/dev/null", gometric.ErrUnsupported},
		{junk, gometric.ErrUnsupported},
		{empty, gometric.ErrUnsupported},
	} {
		_, err := models.ReadStateDict(tc.path)
		if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "models.ReadStateDict: ") {
			t.Errorf("ReadStateDict(%q) = %v, want %v", tc.path, err, tc.want)
		}
	}
	// The file form refuses a nil dict and an empty path before creating
	// anything; a bad tensor leaves no file either.
	target := filepath.Join(dir, "out.safetensors")
	for _, sd := range []models.StateDict{nil, {"w": {Shape: []int{2}, Data: []float32{1}}}} {
		if err := models.WriteSafetensorsFile(target, sd); err == nil {
			t.Errorf("WriteSafetensorsFile(%v) accepted", sd)
		}
	}
	if err := models.WriteSafetensorsFile("", models.StateDict{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("empty path: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
	if _, err := models.ReadPTH(nil, 10); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ReadPTH(nil) = %v", err)
	}
	if _, err := models.ReadSafetensors((*bytes.Reader)(nil), 10); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ReadSafetensors(typed nil) = %v", err)
	}
	if err := models.WriteSafetensors(nil, models.StateDict{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("WriteSafetensors(nil) = %v", err)
	}
}

// TestStateDictConcurrent: reads of one file and writes of one StateDict
// may run at the same time (run with -race).
func TestStateDictConcurrent(t *testing.T) {
	sd, err := models.ReadStateDict(filepath.Join(stateDictDir, "module.pth"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(stateDictDir, "mixed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(b)
	testkit.Concurrently(t, 4, 5, func(g int) error {
		var buf bytes.Buffer
		if err := models.WriteSafetensors(&buf, sd); err != nil {
			return err
		}
		if _, err := models.ReadSafetensors(r, int64(len(b))); err != nil {
			return err
		}
		_, err := models.ReadStateDict(filepath.Join(stateDictDir, "mixed_legacy.pth"))
		return err
	})
}

// TestReadStateDictNotAStateDict: real torch.save files that are not
// state dicts are refused with the reason.
func TestReadStateDictNotAStateDict(t *testing.T) {
	for file, msg := range map[string]string{
		"model_pickled.pth": "forbidden global torch.nn.modules.container.Sequential",
		"checkpoint.pth":    `value of "epoch" is a int, not a tensor`,
	} {
		_, err := models.ReadStateDict(filepath.Join(stateDictDir, file))
		if !errors.Is(err, gometric.ErrUnsupported) || !errors.Is(err, models.ErrStateDictFile) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", file, err, msg)
		}
	}
}

// TestTorchvisionResNetPython: a randomly initialised torchvision
// ResNet-18 saved by torch (zip and legacy) reads as the same state dict,
// tensor by tensor as torch's (shapes, and the float64 sums of the values
// within 1e-9 relative), and the safetensors file written from it loads
// into torchvision's resnet18 with load_state_dict(strict=True), every
// tensor equal. It runs only with GOMETRIC_PYTHON_TESTS=1 and /usr/bin/python3
// with torch and torchvision.
func TestTorchvisionResNetPython(t *testing.T) {
	if os.Getenv("GOMETRIC_PYTHON_TESTS") != "1" {
		t.Skip("set GOMETRIC_PYTHON_TESTS=1 to run (needs /usr/bin/python3 with torch and torchvision)")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	dir := t.TempDir()
	const save = `
import json, sys, torch, torchvision
d = sys.argv[1]
torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
torch.save(sd, d + "/r18.pth")
torch.save(sd, d + "/r18_legacy.pth", _use_new_zipfile_serialization=False)
json.dump({k: {"shape": list(v.shape), "sum": float(v.double().sum())} for k, v in sd.items()}, open(d + "/r18.json", "w"))
`
	if out, err := exec.Command("/usr/bin/python3", "-c", save, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var want map[string]struct {
		Shape []int   `json:"shape"`
		Sum   float64 `json:"sum"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "r18.json"))
	if err != nil || json.Unmarshal(b, &want) != nil {
		t.Fatal(err)
	}
	zipSD, err := models.ReadStateDict(filepath.Join(dir, "r18.pth"))
	if err != nil {
		t.Fatal(err)
	}
	legacySD, err := models.ReadStateDict(filepath.Join(dir, "r18_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if d := sameStateDict(legacySD, zipSD); d != "" {
		t.Fatalf("legacy and zip differ: %s", d)
	}
	if len(zipSD) != len(want) {
		t.Fatalf("%d tensors, torch %d", len(zipSD), len(want))
	}
	for name, w := range want {
		g := zipSD[name]
		if !slices.Equal(g.Shape, w.Shape) {
			t.Fatalf("%s: shape %v, torch %v", name, g.Shape, w.Shape)
		}
		sum := 0.0
		for _, v := range g.Data {
			sum += float64(v)
		}
		for _, v := range g.Ints {
			sum += float64(v)
		}
		if math.Abs(sum-w.Sum) > 1e-9*math.Max(1, math.Abs(w.Sum)) {
			t.Fatalf("%s: sum %v, torch %v", name, sum, w.Sum)
		}
	}
	path := filepath.Join(dir, "r18.safetensors")
	if err := models.WriteSafetensorsFile(path, zipSD); err != nil {
		t.Fatal(err)
	}
	const load = `
import json, struct, sys, torch, torchvision
path, pth = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop("__metadata__")
dt = {"F32": torch.float32, "I64": torch.int64}
sd = {k: torch.frombuffer(bytearray(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]), dtype=dt[v["dtype"]]).reshape(v["shape"]) for k, v in h.items()}
torchvision.models.resnet18().load_state_dict(sd, strict=True)
ref = torch.load(pth)
assert set(ref) == set(sd) and all(torch.equal(ref[k], sd[k]) for k in ref)
print("ok")
`
	out, err := exec.Command("/usr/bin/python3", "-c", load, path, filepath.Join(dir, "r18.pth")).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %v\n%s", err, out)
	}
}
