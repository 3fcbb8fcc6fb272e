package inference

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
)

// ErrCorrupt reports an index file that cannot be read: truncated, with
// trailing bytes, a bad magic number, impossible header fields or a
// checksum that does not match. Such errors also wrap gometric.ErrShape
// (or gometric.ErrNonFinite for a stored NaN or ±Inf).
var ErrCorrupt = errors.New("corrupt index file")

// IndexVersion is the version of the index file format that WriteIndex
// writes. ReadIndex reads it and the earlier versions 1 and 2.
const IndexVersion = 3

const (
	indexMagic = "GMKNNIDX"
	// fixedSize is the header every version starts with: magic, version,
	// metric, flags, dimension, vector count (version 1's whole header).
	fixedSize = 32
	// v2Ext is version 2's header extension: uint32 measure, uint32
	// reserved, float64 threshold.
	v2Ext = 16
	// v3Ext is version 3's header extension: uint32 measure, float64
	// threshold.
	v3Ext   = 12
	crcSize = binio.ChecksumSize
	// maxDim bounds the dimension a file may declare.
	maxDim = 1 << 24
	// flagLabels marks a file that stores one int64 label per vector.
	flagLabels = 1
	// chunkBytes is the size of the buffer values are read and written
	// through.
	chunkBytes = 1 << 16
)

// headerLen is the header length of a format version (1 to 3).
func headerLen(version uint32) int64 {
	switch version {
	case 1:
		return fixedSize
	case 2:
		return fixedSize + v2Ext
	}
	return fixedSize + v3Ext
}

// castagnoli is the checksum of versions 1 and 2 (CRC-32C), which are only
// read; version 3 is framed by internal/binio (CRC-32, IEEE).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// IndexFile is the content of an index file: the reference vectors of an
// index, its metric and, optionally, one label per vector and the match
// threshold to apply to the index's results. It is plain data, safe for
// concurrent reads. Its zero value holds no vectors: WriteIndex refuses
// it with an error wrapping gometric.ErrShape.
type IndexFile struct {
	// Metric is the index's metric.
	Metric knn.Metric
	// Vectors holds the reference vectors, one per row; Vectors.Cols is
	// the index's dimension.
	Vectors gometric.Matrix
	// Labels is nil, or holds one label per vector (stored as int64).
	Labels []int
	// Threshold is nil, or the match threshold saved with the index and
	// what it thresholds (Model.Save stores its MatchFinder's; Model.Load
	// restores it). Version 1 files have none.
	Threshold *Threshold
}

func (f *IndexFile) validate(name string) error {
	if err := f.Vectors.Validate(name, "vectors"); err != nil {
		return err
	}
	if f.Vectors.Cols > maxDim {
		return fmt.Errorf("%s: dimension %d exceeds the format's limit %d: %w", name, f.Vectors.Cols, maxDim, gometric.ErrShape)
	}
	if f.Metric != knn.L2 && f.Metric != knn.InnerProduct {
		return fmt.Errorf("%s: unknown metric %v: %w", name, f.Metric, gometric.ErrSetting)
	}
	if f.Labels != nil && len(f.Labels) != f.Vectors.Rows {
		return fmt.Errorf("%s: %d labels for %d vectors: %w", name, len(f.Labels), f.Vectors.Rows, gometric.ErrLabels)
	}
	if t := f.Threshold; t != nil {
		if err := t.validate(name); err != nil {
			return err
		}
	}
	return nil
}

// WriteIndex writes f to w in the index file format, version
// IndexVersion (3), all integers and floats little-endian:
//
//	offset  size  field
//	0       8     magic "GMKNNIDX"
//	8       4     uint32 format version (3)
//	12      4     uint32 metric: 0 = L2, 1 = inner product
//	16      4     uint32 flags: bit 0 set when labels follow the vectors;
//	              other bits are 0
//	20      4     uint32 dimension D, 1 <= D <= 2^24
//	24      8     uint64 number of vectors N >= 1
//	32      4     uint32 threshold measure: 0 = no threshold, 1 = cosine
//	              similarity (MeasureCosine)
//	36      8     float64 threshold (+0 when there is none; never NaN)
//	44      4·N·D float32 vectors, row after row
//	...     8·N   int64 labels (only when flag bit 0 is set)
//	end−4   4     uint32 CRC-32 (IEEE) of every preceding byte
//
// A file is exactly 48 + 4·N·D (+ 8·N) bytes long and ends with its
// checksum (the framing of all of gometric's binary formats). f must hold
// at least one vector, finite values, a known metric, nil labels or one
// per vector and a valid Threshold or nil; otherwise the error wraps
// gometric.ErrShape, ErrNonFinite, ErrSetting or ErrLabels and nothing is
// written; so does a nil w (ErrSetting).
//
// Earlier versions, which ReadIndex still reads, differ in the header and
// the checksum: version 1 (no threshold) has the 32-byte header alone, 36
// + 4·N·D (+ 8·N) bytes in all; version 2 has a 48-byte header (measure,
// a reserved uint32 that is 0, threshold), 52 + 4·N·D (+ 8·N) bytes; both
// end with a CRC-32C (Castagnoli). The three lengths differ for every N,
// D and flags, and every version's length is checked, so a file of one
// version whose version field is damaged never reads as another: a
// version 3 file with a flipped version byte is too short for version 2
// and too long for version 1. Any other single damaged byte is caught by
// the checksum, which detects every error burst of up to 32 bits.
func WriteIndex(w io.Writer, f IndexFile) error {
	const name = "inference.WriteIndex"
	if check.Nil(w) {
		return fmt.Errorf("%s: nil writer: %w", name, gometric.ErrSetting)
	}
	return writeIndex(name, w, f)
}

func writeIndex(name string, w io.Writer, f IndexFile) error {
	if err := f.validate(name); err != nil {
		return err
	}
	bw := binio.NewWriter(w)
	bw.String(indexMagic)
	bw.Uint32(IndexVersion)
	bw.Uint32(uint32(f.Metric))
	var flags uint32
	if f.Labels != nil {
		flags |= flagLabels
	}
	bw.Uint32(flags)
	bw.Uint32(uint32(f.Vectors.Cols))
	bw.Uint64(uint64(f.Vectors.Rows))
	var measure uint32
	var value float64
	if t := f.Threshold; t != nil {
		measure, value = uint32(t.Measure), t.Value
	}
	bw.Uint32(measure)
	bw.Uint64(math.Float64bits(value))
	bw.Float32s(f.Vectors.Data)
	buf := make([]byte, 0, chunkBytes)
	for labels := f.Labels; len(labels) > 0; {
		c := min(len(labels), chunkBytes/8)
		buf = buf[:0]
		for _, l := range labels[:c] {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(l)))
		}
		if _, err := bw.Write(buf); err != nil {
			break // Close reports it
		}
		labels = labels[c:]
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// WriteIndexFile writes f to the file at path in WriteIndex's format,
// atomically: it writes a temporary file "."+base+".tmp-*" in the same
// directory (mode 0644), syncs it, renames it over path and syncs the
// directory, so path holds either its old content or the complete new
// file, even after a crash. It first removes the temporary files that an
// interrupted write of the same path left behind, so writes of one path
// must not run concurrently (one may then fail, leaving the other's
// complete file).
func WriteIndexFile(path string, f IndexFile) error {
	return writeIndexFile("inference.WriteIndexFile", "", path, f)
}

// writeIndexFile writes f atomically to path; verb, if not empty, starts
// the location in error messages ("Save /path: ...").
func writeIndexFile(name, verb, path string, f IndexFile) (err error) {
	if err := f.validate(name); err != nil {
		return err
	}
	where := path
	if verb != "" {
		where = verb + " " + path
	}
	var werr error // writeIndex's errors name the component already
	err = atomicfile.Write(path, func(w io.Writer) error {
		werr = writeIndex(name+": "+where, w, f)
		return werr
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", name, where, err)
	}
	return nil
}

// ReadIndex reads an index file written by WriteIndex (format version 3,
// or an earlier 1 or 2) from r, checking every header field, the length
// and the checksum, and that r ends with the checksum. An unreadable file
// gives an error naming the byte offset of the problem and wrapping
// ErrCorrupt and gometric.ErrShape (gometric.ErrNonFinite for a stored NaN
// or ±Inf vector value); a file of another format version, or a stored
// label that does not fit this platform's int, wraps
// gometric.ErrUnsupported; a nil r wraps gometric.ErrSetting.
//
// When r tells how many bytes it holds — a regular *os.File, or a reader
// with a Len method such as *bytes.Reader — the header is checked against
// that length first and the data is decoded straight into buffers of the
// final size, so reading takes about the memory of the index itself.
// Otherwise (a pipe, a network stream) the buffers grow, in steps capped
// at the header's sizes, with the bytes that actually arrive; a header
// that claims a huge index cannot force a huge allocation either way.
func ReadIndex(r io.Reader) (IndexFile, error) {
	const name = "inference.ReadIndex"
	if check.Nil(r) {
		return IndexFile{}, fmt.Errorf("%s: nil reader: %w", name, gometric.ErrSetting)
	}
	return readIndex(name, "", r, remaining(r))
}

// remaining returns the number of bytes left in r when r can tell, or -1.
func remaining(r io.Reader) int64 {
	switch v := r.(type) {
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off < 0 || off > st.Size() {
			return -1
		}
		return st.Size() - off
	case interface{ Len() int }:
		return int64(v.Len())
	}
	return -1
}

// ReadIndexFile reads the index file at path (see ReadIndex); errors name
// path and the byte offset. A regular file's size is checked against its
// header before the data is allocated; a FIFO or a device is read as a
// stream.
func ReadIndexFile(path string) (IndexFile, error) {
	return readIndexFile("inference.ReadIndexFile", "", path)
}

// readIndexFile reads the file at path; verb, if not empty, starts the
// location in error messages ("Load /path: byte 12: ...").
func readIndexFile(name, verb, path string) (IndexFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return IndexFile{}, fmt.Errorf("%s: %s%w", name, verbPrefix(verb), err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return IndexFile{}, fmt.Errorf("%s: %s%w", name, verbPrefix(verb), err)
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	where := path
	if verb != "" {
		where = verb + " " + path
	}
	return readIndex(name, where, fh, size)
}

func verbPrefix(verb string) string {
	if verb == "" {
		return ""
	}
	return verb + ": "
}

// decoder reads an index file through binio, tracking the offset; for
// versions 1 and 2 it also computes their CRC-32C.
type decoder struct {
	name, path string
	br         *binio.Reader
	legacy     hash.Hash32 // nil for version 3
}

func (d *decoder) where() string {
	if d.path == "" {
		return ""
	}
	return d.path + ": "
}

// corrupt returns an error at byte off wrapping ErrCorrupt and sentinel.
func (d *decoder) corrupt(off int64, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %sbyte %d: %s: %w: %w", d.name, d.where(), off, fmt.Sprintf(format, args...), ErrCorrupt, sentinel)
}

// short reports a failed read: the end of the input (truncation) or the
// reader's own error.
func (d *decoder) short(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.corrupt(d.br.Offset(), gometric.ErrShape, "file ends inside the %s (truncated)", what)
	}
	return fmt.Errorf("%s: %sbyte %d: reading the %s: %w", d.name, d.where(), d.br.Offset(), what, err)
}

// read fills p, or reports where the file ended.
func (d *decoder) read(p []byte, what string) error {
	n, err := io.ReadFull(d.br, p)
	if d.legacy != nil {
		d.legacy.Write(p[:n])
	}
	if err != nil {
		return d.short(err, what)
	}
	return nil
}

// growTo returns s with room for need elements, at most limit: doubling,
// so that memory follows the bytes that arrive, but never beyond the
// declared size.
func growTo[T any](s []T, need, limit int) []T {
	if need <= cap(s) {
		return s
	}
	c := min(max(need, 2*cap(s)), limit)
	ns := make([]T, len(s), c)
	copy(ns, s)
	return ns
}

// readIndex reads an index file from r, which holds size bytes (-1:
// unknown).
func readIndex(name, path string, r io.Reader, size int64) (IndexFile, error) {
	d := &decoder{name: name, path: path, br: binio.NewReader(r)}
	var hdr [fixedSize + v2Ext]byte
	if err := d.read(hdr[:fixedSize], "header"); err != nil {
		return IndexFile{}, err
	}
	if string(hdr[:8]) != indexMagic {
		return IndexFile{}, d.corrupt(0, gometric.ErrShape, "magic %q, want %q (not an index file)", hdr[:8], indexMagic)
	}
	le := binary.LittleEndian
	version := le.Uint32(hdr[8:])
	if version < 1 || version > IndexVersion {
		return IndexFile{}, fmt.Errorf("%s: %sbyte 8: format version %d, this build reads versions 1 to %d: %w", name, d.where(), version, IndexVersion, gometric.ErrUnsupported)
	}
	if version < 3 {
		d.legacy = crc32.New(castagnoli)
		d.legacy.Write(hdr[:fixedSize])
	}
	var f IndexFile
	switch m := le.Uint32(hdr[12:]); m {
	case 0:
		f.Metric = knn.L2
	case 1:
		f.Metric = knn.InnerProduct
	default:
		return IndexFile{}, d.corrupt(12, gometric.ErrShape, "metric %d, want 0 (L2) or 1 (inner product)", m)
	}
	flags := le.Uint32(hdr[16:])
	if flags&^flagLabels != 0 {
		return IndexFile{}, d.corrupt(16, gometric.ErrShape, "flags %#x has unknown bits", flags)
	}
	labelled := flags&flagLabels != 0
	dim := uint64(le.Uint32(hdr[20:]))
	if dim < 1 || dim > maxDim {
		return IndexFile{}, d.corrupt(20, gometric.ErrShape, "dimension %d, want 1 to %d", dim, maxDim)
	}
	n := le.Uint64(hdr[24:])
	hlen := uint64(headerLen(version))
	perRow := 4 * dim
	if labelled {
		perRow += 8
	}
	// The largest N whose file length fits in an int64 (and whose values
	// fit in an int, for the slices).
	maxN := (uint64(math.MaxInt64) - hlen - crcSize) / perRow
	if lim := uint64(math.MaxInt) / dim; lim < maxN {
		maxN = lim
	}
	if n < 1 || n > maxN {
		return IndexFile{}, d.corrupt(24, gometric.ErrShape, "vector count %d, want 1 to %d for dimension %d", n, maxN, dim)
	}
	want := int64(hlen + n*perRow + crcSize)
	if size >= 0 && size < want {
		return IndexFile{}, d.corrupt(size, gometric.ErrShape,
			"file ends after %d bytes but its header (version %d, N = %d, D = %d, labels %v) needs %d (truncated)", size, version, n, dim, labelled, want)
	}
	if size > want {
		return IndexFile{}, d.corrupt(want, gometric.ErrShape,
			"file has %d bytes but its header (version %d, N = %d, D = %d, labels %v) needs %d (trailing data)", size, version, n, dim, labelled, want)
	}
	if version >= 2 {
		ext := hdr[fixedSize:hlen]
		if err := d.read(ext, "header"); err != nil {
			return IndexFile{}, err
		}
		measure, valueAt := le.Uint32(ext), int64(fixedSize+4)
		if version == 2 {
			if r := le.Uint32(ext[4:]); r != 0 {
				return IndexFile{}, d.corrupt(fixedSize+4, gometric.ErrShape, "reserved field %#x, want 0", r)
			}
			valueAt += 4
		}
		value := math.Float64frombits(le.Uint64(hdr[valueAt:]))
		switch Measure(measure) {
		case 0:
			if value != 0 || math.Signbit(value) {
				return IndexFile{}, d.corrupt(valueAt, gometric.ErrShape, "threshold %v without a measure, want 0", value)
			}
		case MeasureCosine:
			if math.IsNaN(value) {
				return IndexFile{}, d.corrupt(valueAt, gometric.ErrShape, "threshold is NaN")
			}
			f.Threshold = &Threshold{Measure: MeasureCosine, Value: value}
		default:
			return IndexFile{}, d.corrupt(fixedSize, gometric.ErrShape, "threshold measure %d, want 0 (none) or 1 (cosine)", measure)
		}
	}

	total, rows := int(n*dim), int(n)
	// With the input's size checked against the header, the data is known
	// to be there: allocate it at once and decode straight into it.
	// Otherwise grow with what arrives.
	var vec []float32
	if size >= 0 {
		vec = make([]float32, 0, total)
	}
	buf := make([]byte, min(chunkBytes, want))
	badAt, badVal := int64(-1), float32(0)
	for len(vec) < total {
		c := min(total-len(vec), len(buf)/4)
		start := d.br.Offset()
		if err := d.read(buf[:4*c], "vectors"); err != nil {
			return IndexFile{}, err
		}
		vec = growTo(vec, len(vec)+c, total)
		for i := range c {
			v := math.Float32frombits(le.Uint32(buf[4*i:]))
			if badAt < 0 && (v != v || math.IsInf(float64(v), 0)) {
				badAt, badVal = start+int64(4*i), v
			}
			vec = append(vec, v)
		}
	}
	f.Vectors = gometric.Matrix{Rows: rows, Cols: int(dim), Data: vec}
	badLabelAt, badLabel := int64(-1), int64(0)
	if labelled {
		if size >= 0 {
			f.Labels = make([]int, 0, rows)
		}
		for len(f.Labels) < rows {
			c := min(rows-len(f.Labels), len(buf)/8)
			start := d.br.Offset()
			if err := d.read(buf[:8*c], "labels"); err != nil {
				return IndexFile{}, err
			}
			f.Labels = growTo(f.Labels, len(f.Labels)+c, rows)
			for i := range c {
				l := int64(le.Uint64(buf[8*i:]))
				if int64(int(l)) != l && badLabelAt < 0 { // only where int has 32 bits
					badLabelAt, badLabel = start+int64(8*i), l
				}
				f.Labels = append(f.Labels, int(l))
			}
		}
	}
	if err := d.checksum(want); err != nil {
		return IndexFile{}, err
	}
	if badAt >= 0 {
		row := (badAt - int64(hlen)) / 4 / int64(dim)
		col := (badAt - int64(hlen)) / 4 % int64(dim)
		return IndexFile{}, d.corrupt(badAt, gometric.ErrNonFinite, "vector %d, component %d is %v", row, col, badVal)
	}
	if badLabelAt >= 0 {
		return IndexFile{}, fmt.Errorf("%s: %sbyte %d: label %d does not fit this platform's %d-bit int: %w", name, d.where(), badLabelAt, badLabel, strconv.IntSize, gometric.ErrUnsupported)
	}
	return f, nil
}

// checksum reads and checks the checksum that ends a file of want bytes,
// and that nothing follows it.
func (d *decoder) checksum(want int64) error {
	crcAt := d.br.Offset()
	if d.legacy == nil {
		switch err := d.br.Verify(); {
		case err == nil:
			return nil
		case errors.Is(err, binio.ErrChecksum):
			return d.corrupt(crcAt, gometric.ErrShape, "%v", err)
		case errors.Is(err, binio.ErrTrailing):
			return d.corrupt(want, gometric.ErrShape, "trailing data after the checksum")
		default:
			return d.short(err, "checksum")
		}
	}
	sum := d.legacy.Sum32()
	var tail [crcSize]byte
	if err := d.read(tail[:], "checksum"); err != nil {
		return err
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != sum {
		return d.corrupt(crcAt, gometric.ErrShape, "checksum %08x, contents give %08x (CRC-32C)", got, sum)
	}
	if k, _ := io.ReadFull(d.br, tail[:1]); k > 0 {
		return d.corrupt(want, gometric.ErrShape, "trailing data after the checksum")
	}
	return nil
}
