package samplers

import (
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// FuzzMPerClass draws epochs for arbitrary labels and settings: it must
// never panic, every error must wrap a sentinel, and when there is no
// error the epoch must satisfy MPerClass's contract.
func FuzzMPerClass(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 2}, int16(2), int16(4), int16(100), false, uint64(1))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6}, int16(1), int16(0), int16(3), false, uint64(2))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 2}, int16(3), int16(6), int16(0), true, uint64(3))
	f.Add([]byte{9, 9, 9, 200, 7, 7}, int16(4), int16(8), int16(50), true, uint64(4))
	f.Add([]byte{}, int16(2), int16(4), int16(100), false, uint64(5))
	f.Add([]byte{1, 2}, int16(2), int16(6), int16(100), false, uint64(6))
	f.Add([]byte{1, 2, 3}, int16(2), int16(5), int16(100), true, uint64(7))
	f.Add([]byte{1, 2, 3}, int16(-1), int16(-5), int16(-100), false, uint64(8))
	f.Fuzz(func(t *testing.T, raw []byte, m, bs, length int16, coverAll bool, seed uint64) {
		if len(raw) > 64 {
			raw = raw[:64]
		}
		labels := make([]int, len(raw))
		for i, b := range raw {
			// Few classes, some large or negative label values.
			labels[i] = int(int8(b)%8) * (1 + int(b>>7)*1_000_003)
		}
		s := NewMPerClass(labels, int(m))
		s.BatchSize, s.LengthBeforeNewIter, s.CoverAll = int(bs), int(length), coverAll
		e, err := s.Epoch(newRNG(seed))
		if err != nil {
			if !testkit.WrapsSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if s.Len() != 0 {
				t.Fatalf("Len() = %d with invalid settings", s.Len())
			}
			return
		}
		if err := verifyMPerClass(s, e); err != nil {
			t.Fatalf("%v\nlabels %v m %d batch %d length %d cover %v", err, labels, m, bs, length, coverAll)
		}
	})
}
