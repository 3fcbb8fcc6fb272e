package losses_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gometric/gometric/internal/testkit"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/losses"
)

// savedParams returns the bytes SaveParams writes for l.
func savedParams(t testing.TB, l losses.Learnable) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.params")
	if err := losses.SaveParams(path, l); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParamsFileMemoryBound: 4 KB files that declare gigabytes (a count,
// a name length or a shape of 2^32−1, a shape of 65535×65535) and
// /dev/zero fail fast, the heap growing by far less than the claim.
func TestParamsFileMemoryBound(t *testing.T) {
	const limit = 64 << 20
	head := func(fields ...uint32) []byte {
		b := []byte("GMPARAMS")
		for _, f := range fields {
			b = binary.LittleEndian.AppendUint32(b, f)
		}
		return append(b, make([]byte, 4096-len(b))...)
	}
	cases := map[string][]byte{
		"count":       head(1, math.MaxUint32),
		"name-length": head(1, 1, math.MaxUint32),
		"rows":        append(head(1, 1, 1)[:20], append([]byte("W"), head(math.MaxUint32, math.MaxUint32)[8:]...)...)[:4096],
		"shape-64Ki":  append(head(1, 1, 1)[:20], append([]byte("W"), head(65535, 65535)[8:]...)...)[:4096],
	}
	dir := t.TempDir()
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			l := newArc(t, 5, 7, 1)
			var err error
			start := time.Now()
			grew := testkit.Allocated(func() { err = losses.LoadParams(path, l) })
			// (the checksum, of zeros, does not match: reported as damage)
			if !errors.Is(err, gometric.ErrShape) && !errors.Is(err, gometric.ErrUnsupported) {
				t.Errorf("err = %v, want ErrShape or ErrUnsupported", err)
			}
			if grew > limit || time.Since(start) > 5*time.Second {
				t.Errorf("allocated %d MB in %v", grew>>20, time.Since(start))
			}
		})
	}
	t.Run("dev-zero", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		var err error
		grew := testkit.Allocated(func() { err = losses.LoadParams("/dev/zero", newArc(t, 5, 7, 1)) })
		if !errors.Is(err, gometric.ErrUnsupported) || grew > limit {
			t.Errorf("err = %v, allocated %d bytes", err, grew)
		}
	})
}

// TestParamsFileEveryFlip: flipping any byte of a valid parameter file
// (all bits, the lowest, the highest) is an error and leaves the loss
// unchanged.
func TestParamsFileEveryFlip(t *testing.T) {
	src := &losses.Multiple{Losses: []losses.Loss{newArc(t, 2, 3, 1), newProxyAnchorSeed(t, 2, 2, 2)}}
	good := savedParams(t, src)
	dir := t.TempDir()
	path := filepath.Join(dir, "flip")
	dst := &losses.Multiple{Losses: []losses.Loss{newArc(t, 2, 3, 3), newProxyAnchorSeed(t, 2, 2, 4)}}
	before := savedParams(t, dst)
	for i := range good {
		for _, mask := range []byte{0xff, 0x01, 0x80} {
			data := bytes.Clone(good)
			data[i] ^= mask
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := losses.LoadParams(path, dst); err == nil {
				t.Fatalf("byte %d ^ %#x accepted", i, mask)
			}
		}
	}
	if !bytes.Equal(savedParams(t, dst), before) {
		t.Error("a failed load changed the parameters")
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := losses.LoadParams(path, dst); err != nil {
		t.Fatal(err)
	}
}

// TestParamsFileCompatible: SaveParams writes exactly the documented
// layout (built here field by field, the checksum computed separately),
// so files written before the framing moved to internal/binio still load;
// the file's mode is 0644 and leftovers of interrupted saves of the same
// path are removed.
func TestParamsFileCompatible(t *testing.T) {
	l := newArc(t, 2, 3, 1)
	want := []byte("GMPARAMS")
	le := binary.LittleEndian
	ps := l.Params()
	want = le.AppendUint32(le.AppendUint32(want, 1), uint32(len(ps)))
	for _, p := range ps {
		r, c := p.Value.Dims()
		want = append(le.AppendUint32(want, uint32(len(p.Name))), p.Name...)
		want = le.AppendUint32(le.AppendUint32(want, uint32(r)), uint32(c))
		for i := range r {
			for j := range c {
				want = le.AppendUint64(want, math.Float64bits(p.Value.At(i, j)))
			}
		}
	}
	want = le.AppendUint32(want, binio.Sum(want))

	dir := t.TempDir()
	path := filepath.Join(dir, "arc.params")
	leftover := filepath.Join(dir, ".arc.params.tmp-12345")
	testkit.StaleFile(t, leftover)
	if err := losses.SaveParams(path, l); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("SaveParams wrote\n% x\nwant\n% x", got, want)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode().Perm(), err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover of an interrupted save survives: %v", err)
	}
	old := filepath.Join(dir, "old.params")
	if err := os.WriteFile(old, want, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := newArc(t, 2, 3, 9)
	if err := losses.LoadParams(old, dst); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(savedParams(t, dst), want) {
		t.Error("the loaded parameters differ")
	}
}
