package inference

import (
	"bufio"
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
	"github.com/gometric/gometric/utils/knn"
)

// ErrCorrupt reports an index file that cannot be read: truncated, with
// trailing bytes, a bad magic number, impossible header fields or a
// checksum that does not match. Such errors also wrap gometric.ErrShape
// (or gometric.ErrNonFinite for a stored NaN or ±Inf).
var ErrCorrupt = errors.New("corrupt index file")

// IndexVersion is the version of the index file format that WriteIndex
// writes. ReadIndex reads it and version 1 (the format before thresholds
// were saved).
const IndexVersion = 2

const (
	indexMagic = "GMKNNIDX"
	headerSize = 32 // version 1; version 2 adds thresholdSize bytes
	// thresholdSize is the header extension of version 2: uint32
	// measure, uint32 reserved, float64 threshold.
	thresholdSize = 16
	crcSize       = 4
	// maxDim bounds the dimension a file may declare.
	maxDim = 1 << 24
	// flagLabels marks a file that stores one int64 label per vector.
	flagLabels = 1
	// chunkValues is the number of values converted per read or write.
	chunkValues = 1 << 14
)

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

// WriteIndex writes f to w in the index file format (version
// IndexVersion), all integers and floats little-endian:
//
//	offset  size  field
//	0       8     magic "GMKNNIDX"
//	8       4     uint32 format version (2)
//	12      4     uint32 metric: 0 = L2, 1 = inner product
//	16      4     uint32 flags: bit 0 set when labels follow the vectors;
//	              other bits are 0
//	20      4     uint32 dimension D, 1 <= D <= 2^24
//	24      8     uint64 number of vectors N >= 1
//	32      4     uint32 threshold measure: 0 = no threshold, 1 = cosine
//	              similarity (MeasureCosine)
//	36      4     uint32 reserved, 0
//	40      8     float64 threshold (0 when there is none; never NaN)
//	48      4·N·D float32 vectors, row after row
//	...     8·N   int64 labels (only when flag bit 0 is set)
//	end−4   4     uint32 CRC-32C (Castagnoli) of every preceding byte
//
// A file is exactly 52 + 4·N·D (+ 8·N) bytes long. Version 1 lacks bytes
// 32 to 47 (36 + 4·N·D (+ 8·N) bytes); ReadIndex reads both versions. f
// must hold at least one vector, finite values, a known metric, nil labels
// or one per vector and a valid Threshold or nil; otherwise the error
// wraps gometric.ErrShape, ErrNonFinite, ErrSetting or ErrLabels and
// nothing is written.
func WriteIndex(w io.Writer, f IndexFile) error {
	return writeIndex("inference.WriteIndex", w, f)
}

func writeIndex(name string, w io.Writer, f IndexFile) error {
	return encodeIndex(name, w, f, IndexVersion)
}

// encodeIndex writes f in the given format version (1 for tests of old
// files: it cannot hold a threshold).
func encodeIndex(name string, w io.Writer, f IndexFile, version uint32) error {
	if err := f.validate(name); err != nil {
		return err
	}
	if version == 1 && f.Threshold != nil {
		return fmt.Errorf("%s: format version 1 cannot hold a threshold: %w", name, gometric.ErrUnsupported)
	}
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<16)
	var hdr [headerSize + thresholdSize]byte
	copy(hdr[:8], indexMagic)
	binary.LittleEndian.PutUint32(hdr[8:], version)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(f.Metric))
	var flags uint32
	if f.Labels != nil {
		flags |= flagLabels
	}
	binary.LittleEndian.PutUint32(hdr[16:], flags)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(f.Vectors.Cols))
	binary.LittleEndian.PutUint64(hdr[24:], uint64(f.Vectors.Rows))
	size := headerSize
	if version >= 2 {
		size += thresholdSize
		if t := f.Threshold; t != nil {
			binary.LittleEndian.PutUint32(hdr[32:], uint32(t.Measure))
			binary.LittleEndian.PutUint64(hdr[40:], math.Float64bits(t.Value))
		}
	}
	if _, err := bw.Write(hdr[:size]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	buf := make([]byte, 8*chunkValues)
	for data := f.Vectors.Data; len(data) > 0; {
		c := min(len(data), chunkValues)
		for i, v := range data[:c] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := bw.Write(buf[:4*c]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		data = data[c:]
	}
	for labels := f.Labels; len(labels) > 0; {
		c := min(len(labels), chunkValues)
		for i, l := range labels[:c] {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(int64(l)))
		}
		if _, err := bw.Write(buf[:8*c]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		labels = labels[c:]
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	binary.LittleEndian.PutUint32(buf[:4], crc.Sum32())
	if _, err := w.Write(buf[:4]); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// WriteIndexFile writes f to the file at path in WriteIndex's format,
// atomically: it writes a temporary file in the same directory, syncs it
// and renames it over path, so path holds either its old content or the
// complete new file. The file's mode is 0644.
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

// ReadIndex reads an index file written by WriteIndex (format version 1
// or 2) from r, checking every header field, the length and the checksum.
// An unreadable file gives an error naming the byte offset of the problem
// and wrapping ErrCorrupt and gometric.ErrShape (gometric.ErrNonFinite for
// a stored NaN or ±Inf vector value); a file of another format version, or
// a stored label that does not fit this platform's int, wraps
// gometric.ErrUnsupported. Memory grows with the bytes actually read, so a
// header that claims a huge index cannot force a huge allocation.
func ReadIndex(r io.Reader) (IndexFile, error) {
	return readIndex("inference.ReadIndex", "", r, -1)
}

// ReadIndexFile reads the index file at path (see ReadIndex); errors name
// path and the byte offset. The file's size is checked against its header
// before the data is allocated.
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
	return readIndex(name, where, bufio.NewReaderSize(fh, 1<<16), size)
}

func verbPrefix(verb string) string {
	if verb == "" {
		return ""
	}
	return verb + ": "
}

// decoder reads an index file, tracking the offset and the checksum.
type decoder struct {
	name, path string
	r          io.Reader
	crc        hash.Hash32
	off        int64
}

// corrupt returns an error at byte off wrapping ErrCorrupt and sentinel.
func (d *decoder) corrupt(off int64, sentinel error, format string, args ...any) error {
	where := ""
	if d.path != "" {
		where = d.path + ": "
	}
	return fmt.Errorf("%s: %sbyte %d: %s: %w: %w", d.name, where, off, fmt.Sprintf(format, args...), ErrCorrupt, sentinel)
}

// read fills p, hashing it, or reports where the file ended.
func (d *decoder) read(p []byte, what string) error {
	n, err := io.ReadFull(d.r, p)
	d.crc.Write(p[:n])
	d.off += int64(n)
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.corrupt(d.off, gometric.ErrShape, "file ends inside the %s (truncated)", what)
	}
	where := ""
	if d.path != "" {
		where = d.path + ": "
	}
	return fmt.Errorf("%s: %sbyte %d: reading the %s: %w", d.name, where, d.off, what, err)
}

func readIndex(name, path string, r io.Reader, size int64) (IndexFile, error) {
	d := &decoder{name: name, path: path, r: r, crc: crc32.New(castagnoli)}
	var hdr [headerSize]byte
	if err := d.read(hdr[:], "header"); err != nil {
		return IndexFile{}, err
	}
	if string(hdr[:8]) != indexMagic {
		return IndexFile{}, d.corrupt(0, gometric.ErrShape, "magic %q, want %q (not an index file)", hdr[:8], indexMagic)
	}
	version := binary.LittleEndian.Uint32(hdr[8:])
	if version != 1 && version != 2 {
		where := ""
		if path != "" {
			where = path + ": "
		}
		return IndexFile{}, fmt.Errorf("%s: %sbyte 8: format version %d, this build reads versions 1 and %d: %w", name, where, version, IndexVersion, gometric.ErrUnsupported)
	}
	var f IndexFile
	switch m := binary.LittleEndian.Uint32(hdr[12:]); m {
	case 0:
		f.Metric = knn.L2
	case 1:
		f.Metric = knn.InnerProduct
	default:
		return IndexFile{}, d.corrupt(12, gometric.ErrShape, "metric %d, want 0 (L2) or 1 (inner product)", m)
	}
	flags := binary.LittleEndian.Uint32(hdr[16:])
	if flags&^flagLabels != 0 {
		return IndexFile{}, d.corrupt(16, gometric.ErrShape, "flags %#x has unknown bits", flags)
	}
	labelled := flags&flagLabels != 0
	dim := uint64(binary.LittleEndian.Uint32(hdr[20:]))
	if dim < 1 || dim > maxDim {
		return IndexFile{}, d.corrupt(20, gometric.ErrShape, "dimension %d, want 1 to %d", dim, maxDim)
	}
	n := binary.LittleEndian.Uint64(hdr[24:])
	hdrSize := uint64(headerSize)
	if version >= 2 {
		hdrSize += thresholdSize
	}
	perRow := 4 * dim
	if labelled {
		perRow += 8
	}
	// The largest N whose file length fits in an int64 (and whose values
	// fit in an int, for the slices).
	maxN := (uint64(math.MaxInt64) - hdrSize - crcSize) / perRow
	if lim := uint64(math.MaxInt) / dim; lim < maxN {
		maxN = lim
	}
	if n < 1 || n > maxN {
		return IndexFile{}, d.corrupt(24, gometric.ErrShape, "vector count %d, want 1 to %d for dimension %d", n, maxN, dim)
	}
	want := int64(hdrSize + n*perRow + crcSize)
	if size >= 0 && size < want {
		return IndexFile{}, d.corrupt(size, gometric.ErrShape,
			"file ends after %d bytes but its header (N = %d, D = %d, labels %v) needs %d (truncated)", size, n, dim, labelled, want)
	}
	if size > want {
		return IndexFile{}, d.corrupt(want, gometric.ErrShape,
			"file has %d bytes but its header (N = %d, D = %d, labels %v) needs %d (trailing data)", size, n, dim, labelled, want)
	}
	if version >= 2 {
		var ext [thresholdSize]byte
		if err := d.read(ext[:], "header"); err != nil {
			return IndexFile{}, err
		}
		measure := binary.LittleEndian.Uint32(ext[0:])
		if r := binary.LittleEndian.Uint32(ext[4:]); r != 0 {
			return IndexFile{}, d.corrupt(36, gometric.ErrShape, "reserved field %#x, want 0", r)
		}
		value := math.Float64frombits(binary.LittleEndian.Uint64(ext[8:]))
		switch Measure(measure) {
		case 0:
			if value != 0 || math.Signbit(value) {
				return IndexFile{}, d.corrupt(40, gometric.ErrShape, "threshold %v without a measure, want 0", value)
			}
		case MeasureCosine:
			if math.IsNaN(value) {
				return IndexFile{}, d.corrupt(40, gometric.ErrShape, "threshold is NaN")
			}
			f.Threshold = &Threshold{Measure: MeasureCosine, Value: value}
		default:
			return IndexFile{}, d.corrupt(32, gometric.ErrShape, "threshold measure %d, want 0 (none) or 1 (cosine)", measure)
		}
	}

	total := int(n * dim)
	// With the file's size checked against the header, the data is known
	// to be there: allocate it at once. Otherwise grow with what arrives.
	capVals, capLabels := min(total, chunkValues), min(int(n), chunkValues)
	if size >= 0 {
		capVals, capLabels = total, int(n)
	}
	f.Vectors = gometric.Matrix{Rows: int(n), Cols: int(dim), Data: make([]float32, 0, capVals)}
	// The buffer holds one chunk: 4-byte values, or 8-byte labels.
	buf := make([]byte, 8*min(chunkValues, max(total/2+1, int(n))))
	badAt, badVal := int64(-1), float32(0)
	for done := 0; done < total; {
		c := min(total-done, chunkValues)
		start := d.off
		if err := d.read(buf[:4*c], "vectors"); err != nil {
			return IndexFile{}, err
		}
		for i := range c {
			v := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			if badAt < 0 && (v != v || math.IsInf(float64(v), 0)) {
				badAt, badVal = start+int64(4*i), v
			}
			f.Vectors.Data = append(f.Vectors.Data, v)
		}
		done += c
	}
	badLabelAt, badLabel := int64(-1), int64(0)
	if labelled {
		f.Labels = make([]int, 0, capLabels)
		for done := 0; done < int(n); {
			c := min(int(n)-done, chunkValues)
			start := d.off
			if err := d.read(buf[:8*c], "labels"); err != nil {
				return IndexFile{}, err
			}
			for i := range c {
				l := int64(binary.LittleEndian.Uint64(buf[8*i:]))
				if int64(int(l)) != l && badLabelAt < 0 { // only where int has 32 bits
					badLabelAt, badLabel = start+int64(8*i), l
				}
				f.Labels = append(f.Labels, int(l))
			}
			done += c
		}
	}
	sum := d.crc.Sum32()
	var tail [crcSize]byte
	crcAt := d.off
	if err := d.read(tail[:], "checksum"); err != nil {
		return IndexFile{}, err
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != sum {
		return IndexFile{}, d.corrupt(crcAt, gometric.ErrShape, "checksum %#08x, contents give %#08x", got, sum)
	}
	if size < 0 {
		var extra [1]byte
		if k, _ := io.ReadFull(d.r, extra[:]); k > 0 {
			return IndexFile{}, d.corrupt(d.off, gometric.ErrShape, "trailing data after the checksum")
		}
	}
	if badAt >= 0 {
		row := (badAt - int64(hdrSize)) / 4 / int64(dim)
		col := (badAt - int64(hdrSize)) / 4 % int64(dim)
		return IndexFile{}, d.corrupt(badAt, gometric.ErrNonFinite, "vector %d, component %d is %v", row, col, badVal)
	}
	if badLabelAt >= 0 {
		where := ""
		if path != "" {
			where = path + ": "
		}
		return IndexFile{}, fmt.Errorf("%s: %sbyte %d: label %d does not fit this platform's %d-bit int: %w", name, where, badLabelAt, badLabel, strconv.IntSize, gometric.ErrUnsupported)
	}
	return f, nil
}
