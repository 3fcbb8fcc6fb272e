// Package binio reads and writes gometric's own binary formats (feature
// files, weight files, parameter files, index files) through one framing:
// little-endian fields, a CRC-32 (IEEE) of every preceding byte closing the
// file, and reads whose allocations are bounded by the bytes the input
// actually holds, never by a count a header declares.
//
// A Writer hashes what it writes and appends the checksum on Close. A
// Reader hashes what it reads, tracks the byte offset for error messages,
// reads declared lengths in chunks (so a 4 KB file that declares gigabytes
// fails at its end after allocating about 4 KB), and Verify checks the
// checksum and that nothing follows it.
package binio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// ChecksumSize is the length of the trailing CRC-32.
const ChecksumSize = 4

// chunk bounds a single allocation made for a declared length before the
// bytes behind it have been read.
const chunk = 1 << 20

// ErrChecksum is returned by Verify when the stored checksum differs from
// the content's.
var ErrChecksum = errors.New("checksum mismatch")

// ErrTrailing is returned by Verify when bytes follow the checksum.
var ErrTrailing = errors.New("bytes after the checksum")

// Sum returns the CRC-32 (IEEE) the framing uses, for formats that hold
// their bytes in memory.
func Sum(data []byte) uint32 { return crc32.ChecksumIEEE(data) }

// Seal appends the checksum of data to data.
func Seal(data []byte) []byte { return binary.LittleEndian.AppendUint32(data, Sum(data)) }

// Open checks the checksum that closes data and returns the bytes before
// it. It returns io.ErrUnexpectedEOF when data is shorter than a checksum
// and an error wrapping ErrChecksum on a mismatch.
func Open(data []byte) ([]byte, error) {
	if len(data) < ChecksumSize {
		return nil, io.ErrUnexpectedEOF
	}
	body := len(data) - ChecksumSize
	if got, want := binary.LittleEndian.Uint32(data[body:]), Sum(data[:body]); got != want {
		return nil, fmt.Errorf("stored %08x, content %08x: %w", got, want, ErrChecksum)
	}
	return data[:body], nil
}

// Writer writes little-endian fields and hashes every byte. The first
// error sticks: later writes do nothing and Close returns it. A Writer is
// not safe for concurrent use.
type Writer struct {
	w   *bufio.Writer
	h   hash.Hash32
	buf [8]byte
	err error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<16), h: crc32.NewIEEE()}
}

// Write writes p (io.Writer).
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.err = err
	return n, err
}

// String writes s.
func (w *Writer) String(s string) { _, _ = w.Write([]byte(s)) }

// Uint32 writes v.
func (w *Writer) Uint32(v uint32) {
	binary.LittleEndian.PutUint32(w.buf[:4], v)
	_, _ = w.Write(w.buf[:4])
}

// Uint64 writes v.
func (w *Writer) Uint64(v uint64) {
	binary.LittleEndian.PutUint64(w.buf[:], v)
	_, _ = w.Write(w.buf[:])
}

// Float32s writes the IEEE bits of xs.
func (w *Writer) Float32s(xs []float32) {
	var b [4 * 256]byte
	for len(xs) > 0 && w.err == nil {
		n := min(len(xs), 256)
		for i, v := range xs[:n] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		_, _ = w.Write(b[:4*n])
		xs = xs[n:]
	}
}

// Float64s writes the IEEE bits of xs.
func (w *Writer) Float64s(xs []float64) {
	var b [8 * 128]byte
	for len(xs) > 0 && w.err == nil {
		n := min(len(xs), 128)
		for i, v := range xs[:n] {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		_, _ = w.Write(b[:8*n])
		xs = xs[n:]
	}
}

// Close appends the checksum of everything written and flushes. It does
// not close the underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	binary.LittleEndian.PutUint32(w.buf[:4], w.h.Sum32())
	if _, err := w.w.Write(w.buf[:4]); err != nil {
		return err
	}
	return w.w.Flush()
}

// Reader reads little-endian fields, hashes every byte and counts them.
// Its errors are io.ErrUnexpectedEOF for a short input (the caller names
// the offset and the field) or the underlying reader's. A Reader is not
// safe for concurrent use.
type Reader struct {
	r   *bufio.Reader
	h   hash.Hash32
	off int64
	buf [8]byte
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<16), h: crc32.NewIEEE()}
}

// Offset returns the number of bytes read so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) full(p []byte) error {
	n, err := io.ReadFull(r.r, p)
	r.h.Write(p[:n])
	r.off += int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Read reads into p (io.Reader), hashing what it reads.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.off += int64(n)
	return n, err
}

// Uint32 reads a uint32.
func (r *Reader) Uint32() (uint32, error) {
	if err := r.full(r.buf[:4]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(r.buf[:4]), nil
}

// Uint64 reads a uint64.
func (r *Reader) Uint64() (uint64, error) {
	if err := r.full(r.buf[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(r.buf[:]), nil
}

// Bytes reads n bytes (see ReadFull).
func (r *Reader) Bytes(n int64) ([]byte, error) {
	b, _, err := ReadFull(r, n)
	return b, err
}

// ReadFull reads n bytes from r into a buffer that starts at 1 MiB at
// most and doubles (never beyond n) only once the bytes already read fill
// it, so a short input fails having allocated about twice what it held,
// whatever n declares. It returns the bytes, or how many arrived and the
// error that stopped them (io.ErrUnexpectedEOF for a short input). It is
// the bounded read for formats that are not framed by this package (IDX).
func ReadFull(r io.Reader, n int64) ([]byte, int64, error) {
	if n < 0 {
		return nil, 0, fmt.Errorf("negative length %d", n)
	}
	buf := make([]byte, 0, min(n, chunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = growTo(buf, len(buf)+1, n)
		}
		k, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, int64(len(buf)), err
		}
	}
	return buf, n, nil
}

// growTo returns b with capacity at least need, doubling, but never
// beyond limit (the declared length).
func growTo[T any](b []T, need int, limit int64) []T {
	c := int(min(int64(max(need, 2*cap(b))), max(limit, int64(need))))
	nb := make([]T, len(b), c)
	copy(nb, b)
	return nb
}

// Float32s reads n float32 values into dst (grown as needed, in bounded
// steps as the bytes arrive) and returns it.
func (r *Reader) Float32s(dst []float32, n int64) ([]float32, error) {
	return readFloats(r, dst, n, 4, func(b []byte) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	})
}

// Uint32s reads n uint32 values into dst (grown as needed, in bounded
// steps as the bytes arrive) and returns it.
func (r *Reader) Uint32s(dst []uint32, n int64) ([]uint32, error) {
	return readFloats(r, dst, n, 4, binary.LittleEndian.Uint32)
}

// Float64s reads n float64 values into dst (grown as needed, in bounded
// steps as the bytes arrive) and returns it.
func (r *Reader) Float64s(dst []float64, n int64) ([]float64, error) {
	return readFloats(r, dst, n, 8, func(b []byte) float64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	})
}

func readFloats[T uint32 | float32 | float64](r *Reader, dst []T, n int64, size int, conv func([]byte) T) ([]T, error) {
	if n < 0 {
		return nil, fmt.Errorf("negative length %d", n)
	}
	dst = dst[:0]
	if int64(cap(dst)) < n {
		dst = make([]T, 0, min(n, int64(chunk/size)))
	}
	var b [4096]byte
	per := len(b) / size
	for int64(len(dst)) < n {
		k := int(min(n-int64(len(dst)), int64(per)))
		if err := r.full(b[:k*size]); err != nil {
			return nil, err
		}
		if cap(dst)-len(dst) < k {
			dst = growTo(dst, len(dst)+k, n)
		}
		for i := range k {
			dst = append(dst, conv(b[i*size:]))
		}
	}
	return dst, nil
}

// Verify reads the checksum that follows the content read so far and
// checks it, then checks that the input ends there. It returns
// io.ErrUnexpectedEOF for a missing checksum and errors wrapping
// ErrChecksum or ErrTrailing.
func (r *Reader) Verify() error {
	want := r.h.Sum32()
	var b [4]byte
	n, err := io.ReadFull(r.r, b[:])
	r.off += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if got := binary.LittleEndian.Uint32(b[:]); got != want {
		return fmt.Errorf("stored %08x, content %08x: %w", got, want, ErrChecksum)
	}
	if _, err := r.r.ReadByte(); err == nil {
		return ErrTrailing
	} else if !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
