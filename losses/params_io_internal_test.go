package losses

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometric/gometric"
)

// FuzzParamsReader feeds arbitrary bytes to the parameter-file reader
// with the size known (a regular file) and unknown (a FIFO): it must
// never panic, the two must agree, every error must wrap one of
// LoadParams's documented sentinels, and a failed read must leave the
// parameters unchanged.
func FuzzParamsReader(f *testing.F) {
	newLoss := func() *ArcFace {
		l, err := NewArcFace(2, 3, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			f.Fatal(err)
		}
		return l
	}
	path := filepath.Join(f.TempDir(), "seed")
	if err := SaveParams(path, newLoss()); err != nil {
		f.Fatal(err)
	}
	good, err := readAll(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(bytes.Clone(good), 1, 2, 3))
	f.Add([]byte("GMPARAMS\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var errs [2]error
		for i, size := range []int64{int64(len(data)), -1} {
			l := newLoss()
			before := bytes.Clone(encodeValues(l))
			errs[i] = readParams("fuzz", "fuzz", bytes.NewReader(data), size, l, l.Params())
			if err := errs[i]; err != nil {
				if !errors.Is(err, gometric.ErrShape) && !errors.Is(err, gometric.ErrUnsupported) && !errors.Is(err, gometric.ErrNonFinite) {
					t.Fatalf("error %v wraps none of ErrShape, ErrUnsupported, ErrNonFinite", err)
				}
				if !bytes.Equal(before, encodeValues(l)) {
					t.Fatal("a failed read changed the parameters")
				}
			}
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("sized: %v; stream: %v", errs[0], errs[1])
		}
	})
}

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }

// encodeValues returns the bits of l's parameter values.
func encodeValues(l Learnable) []byte {
	var b []byte
	for _, p := range l.Params() {
		r, c := p.Value.Dims()
		for i := range r {
			for j := range c {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Value.At(i, j)))
			}
		}
	}
	return b
}
