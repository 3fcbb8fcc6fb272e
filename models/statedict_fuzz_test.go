package models_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
)

// stateDictSeeds adds the fixture files matching pattern and extra to f.
func stateDictSeeds(f *testing.F, pattern string, extra ...[]byte) {
	paths, _ := filepath.Glob(filepath.Join(stateDictDir, pattern))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range extra {
		f.Add(b)
	}
}

// roundTrip checks that an accepted state dict writes as safetensors and
// reads back exactly.
func roundTrip(t *testing.T, sd models.StateDict) {
	var buf bytes.Buffer
	if err := models.WriteSafetensors(&buf, sd); err != nil {
		t.Fatalf("accepted state dict does not write: %v", err)
	}
	back, err := models.ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("written state dict does not read: %v", err)
	}
	if d := sameStateDict(back, sd); d != "" {
		t.Fatalf("round trip: %s", d)
	}
}

// checkContentError: an error about a file's bytes wraps ErrStateDictFile
// and a gometric sentinel.
func checkContentError(t *testing.T, err error) {
	if !errors.Is(err, models.ErrStateDictFile) || !testkit.WrapsSentinel(err) {
		t.Fatalf("error %v does not wrap ErrStateDictFile and a sentinel", err)
	}
}

// FuzzReadPTH reads arbitrary bytes as a torch.save file (zip and legacy):
// no panic, and what is accepted round-trips through safetensors.
func FuzzReadPTH(f *testing.F) {
	one := func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1}) }
	pickle := statePickle(one)
	stateDictSeeds(f, "*.pth",
		torchZip(f, zipRecord{name: "a/data.pkl", data: pickle}, zipRecord{name: "a/data/0", data: f32Bytes(1, 2)}),
		legacyFile(pickle, []string{"0"}, f32Bytes(1, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := models.ReadPTH(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			checkContentError(t, err)
			return
		}
		roundTrip(t, sd)
	})
}

// FuzzReadSafetensors reads arbitrary bytes as a safetensors file: no
// panic, and what is accepted round-trips.
func FuzzReadSafetensors(f *testing.F) {
	stateDictSeeds(f, "*.safetensors",
		safetensorsFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"U64","shape":[],"data_offsets":[4,12]}}`, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := models.ReadSafetensors(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			checkContentError(t, err)
			return
		}
		roundTrip(t, sd)
	})
}
