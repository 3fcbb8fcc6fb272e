package losses_test

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

func newProxyAnchorSeed(t testing.TB, c, d int, seed uint64) *losses.ProxyAnchor {
	l, err := losses.NewProxyAnchor(c, d, wrapRng(seed))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestParamsRoundTrip checks that SaveParams then LoadParams restores
// ArcFace's W, ProxyAnchor's proxies and a Multiple's named parameters bit
// for bit.
func TestParamsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		src, dst losses.Learnable
	}{
		{"ArcFace", newArc(t, 5, 7, 1), newArc(t, 5, 7, 2)},
		{"ProxyAnchor", newProxyAnchorSeed(t, 4, 6, 1), newProxyAnchorSeed(t, 4, 6, 2)},
		{"Multiple", &losses.Multiple{Losses: []losses.Loss{losses.NewContrastive(), newArc(t, 3, 4, 3)}},
			&losses.Multiple{Losses: []losses.Loss{losses.NewContrastive(), newArc(t, 3, 4, 4)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// include values whose bits a text format could lose
			c.src.Params()[0].Value.Set(0, 0, math.Nextafter(1, 2))
			c.src.Params()[0].Value.Set(0, 1, math.Copysign(0, -1))
			c.src.Params()[0].Value.Set(1, 0, 5e-324)
			path := filepath.Join(dir, c.name+".params")
			if err := losses.SaveParams(path, c.src); err != nil {
				t.Fatal(err)
			}
			if err := losses.LoadParams(path, c.dst); err != nil {
				t.Fatal(err)
			}
			for i, p := range c.src.Params() {
				q := c.dst.Params()[i]
				a, b := p.Value.RawMatrix(), q.Value.RawMatrix()
				for k := range a.Data {
					if math.Float64bits(a.Data[k]) != math.Float64bits(b.Data[k]) {
						t.Fatalf("%s[%d]: %v != %v", p.Name, k, a.Data[k], b.Data[k])
					}
				}
			}
			if ents, _ := os.ReadDir(dir); len(ents) != len(cases) && c.name == cases[len(cases)-1].name {
				t.Errorf("temporary files left: %d entries", len(ents))
			}
		})
	}
}

// TestParamsLoadErrors checks that a mismatched or corrupt file is an error
// naming the path and byte offset, and leaves the loss unchanged.
func TestParamsLoadErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "arc.params")
	if err := losses.SaveParams(path, newArc(t, 5, 7, 1)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// resum recomputes the checksum after an edit.
	resum := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
		return b
	}
	flipped := append([]byte(nil), good...)
	flipped[40] ^= 1
	nanFile := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(nanFile[8+4+4+4+1+8:], math.Float64bits(math.NaN()))
	version := append([]byte(nil), good...)
	version[8] = 9
	cases := []struct {
		name     string
		path     string
		into     losses.Learnable
		sentinel error
		offset   string
	}{
		{"other shape", path, newArc(t, 4, 7, 1), gometric.ErrShape, "byte 21"},
		{"other loss", path, newProxyAnchorSeed(t, 5, 7, 1), gometric.ErrShape, "byte 16"},
		{"multiple count", path, losses.NewMultiple(losses.NewContrastive()), gometric.ErrShape, "byte 12"},
		{"truncated", write("trunc", good[:len(good)-9]), newArc(t, 5, 7, 1), gometric.ErrShape, "truncated"},
		{"trailing", write("trailing", append(append([]byte(nil), good...), 0)), newArc(t, 5, 7, 1), gometric.ErrShape, "after the checksum"},
		{"empty", write("empty", nil), newArc(t, 5, 7, 1), gometric.ErrUnsupported, "byte 0"},
		{"count 2^32-1", write("count", resum(append(append([]byte(nil), good[:12]...), append([]byte{0xff, 0xff, 0xff, 0xff}, good[16:]...)...))), newArc(t, 5, 7, 1), gometric.ErrShape, "byte 12"},
		{"bit flip", write("flip", flipped), newArc(t, 5, 7, 1), gometric.ErrUnsupported, "byte"},
		{"nan", write("nan", resum(nanFile)), newArc(t, 5, 7, 1), gometric.ErrNonFinite, "byte 29"},
		{"version", write("version", resum(version)), newArc(t, 5, 7, 1), gometric.ErrUnsupported, "byte 8"},
		{"magic", write("magic", []byte("hello")), newArc(t, 5, 7, 1), gometric.ErrUnsupported, "byte 0"},
		{"missing", filepath.Join(dir, "none"), newArc(t, 5, 7, 1), gometric.ErrSetting, "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before []*mat.Dense
			for _, p := range c.into.Params() {
				before = append(before, mat.DenseCopyOf(p.Value))
			}
			err := losses.LoadParams(c.path, c.into)
			checkErr(t, err, c.sentinel, "losses.LoadParams")
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.offset) {
				t.Errorf("error %q does not name %s and %q", err, c.path, c.offset)
			}
			for i, p := range c.into.Params() {
				if !mat.Equal(before[i], p.Value) {
					t.Error("a failed load changed the parameters")
				}
			}
		})
	}
	if err := losses.SaveParams(filepath.Join(dir, "no", "such", "dir"), newArc(t, 2, 2, 1)); err == nil {
		t.Error("SaveParams into a missing directory succeeded")
	}
}

// FuzzLoadParams feeds arbitrary bytes to LoadParams: it must never panic
// and, when it succeeds, SaveParams must write back the same bytes.
func FuzzLoadParams(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed")
	if err := losses.SaveParams(seed, newArc(f, 2, 3, 1)); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:20])
	f.Add(append(append([]byte(nil), good...), 0))
	f.Add([]byte("GMPARAMS"))
	d := f.TempDir() // one directory per fuzzing process: its calls run one at a time
	f.Fuzz(func(t *testing.T, data []byte) {
		in := filepath.Join(d, "in")
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		l := newArc(t, 2, 3, 1)
		if err := losses.LoadParams(in, l); err != nil {
			return
		}
		out := filepath.Join(d, "out")
		if err := losses.SaveParams(out, l); err != nil {
			t.Fatal(err)
		}
		back, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(back) != string(data) {
			t.Fatalf("load/save changed the bytes")
		}
	})
}
