package binio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"testing"
)

func write(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.String("MAGIC")
	w.Uint32(7)
	w.Uint64(1 << 40)
	w.Float32s([]float32{1.5, -2, float32(math.Pi)})
	w.Float64s(make([]float64, 300))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTripAndEveryFlip(t *testing.T) {
	data := write(t)
	read := func(data []byte) error {
		r := NewReader(bytes.NewReader(data))
		if b, err := r.Bytes(5); err != nil || string(b) != "MAGIC" {
			return errors.New("magic")
		}
		if v, err := r.Uint32(); err != nil || v != 7 {
			return errors.New("u32")
		}
		if v, err := r.Uint64(); err != nil || v != 1<<40 {
			return errors.New("u64")
		}
		if f, err := r.Float32s(nil, 3); err != nil || f[2] != float32(math.Pi) {
			return errors.New("f32")
		}
		if f, err := r.Float64s(nil, 300); err != nil || len(f) != 300 {
			return errors.New("f64")
		}
		return r.Verify()
	}
	if err := read(data); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := Open(data); err != nil {
		t.Fatalf("Open: %v", err)
	}
	for i := range data {
		for _, bit := range []byte{1, 0x80} {
			c := bytes.Clone(data)
			c[i] ^= bit
			if read(c) == nil {
				t.Errorf("flip of bit %#x in byte %d accepted", bit, i)
			}
			if _, err := Open(c); err == nil {
				t.Errorf("Open accepted a flip of byte %d", i)
			}
		}
	}
	if err := read(append(bytes.Clone(data), 0)); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing byte: %v", err)
	}
	if err := read(data[:len(data)-1]); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", err)
	}
}

// A declared length far beyond the input fails at the input's end having
// allocated about what the input held.
func TestDeclaredLengthBoundedByInput(t *testing.T) {
	input := make([]byte, 4096)
	cases := []struct {
		name string
		read func(r *Reader) error
	}{
		{"Bytes", func(r *Reader) error { _, err := r.Bytes(1 << 40); return err }},
		{"Float32s", func(r *Reader) error { _, err := r.Float32s(nil, 1<<40); return err }},
		{"Float64s", func(r *Reader) error { _, err := r.Float64s(nil, 1<<40); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := c.read(NewReader(bytes.NewReader(input)))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("allocated %d bytes for a 4 KB input", grew)
			}
		})
	}
	if _, err := NewReader(bytes.NewReader(input)).Bytes(-1); err == nil {
		t.Error("negative length accepted")
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("x"), int64(3))
	f.Fuzz(func(t *testing.T, data []byte, n int64) {
		r := NewReader(bytes.NewReader(data))
		if _, err := r.Float32s(nil, n%(1<<30)); err == nil {
			_ = r.Verify()
		}
		_, _ = Open(data)
	})
}

// Growth never passes the declared length: the buffer ends at exactly
// that capacity, and the doubling steps before it total under twice it.
func TestGrowthStopsAtDeclaredLength(t *testing.T) {
	const n = 3<<20 + 5
	input := make([]byte, 8*n+8)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := NewReader(bytes.NewReader(input)).Float64s(nil, n)
	runtime.ReadMemStats(&after)
	if err != nil || len(f) != n {
		t.Fatal(err, len(f))
	}
	if cap(f) != n {
		t.Errorf("capacity %d, want the declared %d", cap(f), n)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*8*n {
		t.Errorf("allocated %d bytes for %d declared", grew, 8*n)
	}
	b, err := NewReader(bytes.NewReader(input)).Bytes(n)
	if err != nil || cap(b) != n {
		t.Errorf("Bytes: %v, capacity %d, want %d", err, cap(b), n)
	}
}
