package datasets

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/check"
)

// FeaturesMagic starts a binary feature file: "GMFEATS" and the format
// version, 2.
const FeaturesMagic = "GMFEATS2"

// featuresMagicV1 started the files of version 1, which had no checksum
// and are no longer read.
const featuresMagicV1 = "GMFEATS1"

// featuresMagicPrefix is the part of the magic number common to every
// version.
const featuresMagicPrefix = "GMFEATS"

// maxFeatureBytes bounds the size a feature file may declare (16 GiB).
const maxFeatureBytes = 1 << 34

// maxCSVLine bounds the length of a line of a CSV feature file.
const maxCSVLine = 1 << 24

// Features is a labelled set of precomputed feature vectors (N×D float32,
// row-major), such as a pretrained backbone's outputs on CUB-200-2011's
// images, that an MLP head is trained on. It mirrors what PML's examples
// build with a frozen trunk and a torch TensorDataset; PML has no loader
// for such files.
//
// Two file formats are read (ReadFeatures tells them apart by the magic
// number) and written:
//
// Binary, version 2, all little-endian:
//
//	offset 0          8 bytes   "GMFEATS2" (FeaturesMagic)
//	offset 8          uint32    N, the number of samples (≥ 1)
//	offset 12         uint32    D, the dimension (≥ 1)
//	offset 16         N int32   labels (≥ 0)
//	offset 16+4N      N·D float32 features, sample after sample
//	offset 16+4N+4ND  uint32    CRC-32 (IEEE, as zlib.crc32) of every
//	                            preceding byte
//
// and nothing after. A file whose checksum does not match, or that holds
// anything after it, is refused, so a corrupted byte is an error rather
// than a wrong label or feature. The declared N·(D+1)·4 bytes may not
// exceed 16 GiB, and memory grows with the bytes actually read, not with
// the header. NumPy writes it with
//
//	import zlib
//	body = (b"GMFEATS2" + np.array([N, D], "<u4").tobytes()
//	        + labels.astype("<i4").tobytes() + X.astype("<f4").tobytes())
//	with open(path, "wb") as f:
//	    f.write(body + np.array([zlib.crc32(body)], "<u4").tobytes())
//
// Version 1 ("GMFEATS1", the same layout without the checksum) is no
// longer read: 7 of 8 corrupted bytes went unnoticed in it. Write such a
// file again with WriteBinary or Save, or convert it in Python with
//
//	old = open(path, "rb").read()
//	body = b"GMFEATS2" + old[8:]
//	open(path, "wb").write(body + zlib.crc32(body).to_bytes(4, "little"))
//
// CSV: one sample per line, "label,f1,f2,...,fD", every line with the
// same D; blank lines and lines starting with '#' are ignored; no header;
// lines are at most 16 MiB long.
//
// Features must be finite and labels non-negative (any int up to
// math.MaxInt; the binary format holds labels up to 2^31−1). Errors in a
// file give a *FileError with the path and the byte offset (binary) or
// line (CSV).
//
// Make Features with NewFeatures, ReadFeatures or LoadFeatures: the zero
// value holds no samples, and its methods that return an error refuse it
// (an error wrapping gometric.ErrSetting that names the constructors).
// Features is read-only once made, so it is safe for concurrent use.
type Features struct {
	dim    int
	data   []float32
	labels []int
}

// NewFeatures builds Features from data (N·dim values, sample after
// sample) and labels (N non-negative labels). The slices are kept, not
// copied.
func NewFeatures(dim int, data []float32, labels []int) (*Features, error) {
	const comp = "datasets.NewFeatures"
	if dim <= 0 || len(labels) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "dimension %d, %d labels: want both positive", dim, len(labels))
	}
	if len(data)%dim != 0 || len(data)/dim != len(labels) {
		return nil, check.Errorf(comp, gometric.ErrShape, "%d values for %d samples of dimension %d", len(data), len(labels), dim)
	}
	for i, l := range labels {
		if l < 0 {
			return nil, check.Errorf(comp, gometric.ErrLabels, "labels[%d] = %d is negative", i, l)
		}
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, check.Errorf(comp, gometric.ErrNonFinite, "sample %d, feature %d is %v", i/dim, i%dim, v)
		}
	}
	return &Features{dim: dim, data: data, labels: labels}, nil
}

// featuresMakers names the constructors in errors about a zero value.
const featuresMakers = "NewFeatures, ReadFeatures or LoadFeatures"

// ready returns an error for a nil or zero-value f.
func (f *Features) ready(comp string) error {
	if f == nil || f.dim == 0 {
		return notMade(comp, f == nil, "*Features", featuresMakers)
	}
	return nil
}

// Len returns the number of samples (0 for a nil f).
func (f *Features) Len() int {
	if f == nil {
		return 0
	}
	return len(f.labels)
}

// Dim returns the dimension D (0 for a nil f).
func (f *Features) Dim() int {
	if f == nil {
		return 0
	}
	return f.dim
}

// SampleShape returns [D] (nil for a nil f).
func (f *Features) SampleShape() []int {
	if f == nil {
		return nil
	}
	return []int{f.dim}
}

// Labels returns the labels (shared: do not modify).
func (f *Features) Labels() []int {
	if f == nil {
		return nil
	}
	return f.labels
}

// Data returns the N·D features (shared: do not modify).
func (f *Features) Data() []float32 {
	if f == nil {
		return nil
	}
	return f.data
}

// Row returns the features of sample i (shared: do not modify), or nil
// when i is outside [0, Len()) or f is nil.
func (f *Features) Row(i int) []float32 {
	if f == nil || i < 0 || i >= len(f.labels) {
		return nil
	}
	return f.data[i*f.dim : (i+1)*f.dim : (i+1)*f.dim]
}

// ClassCounts returns the number of samples of each label, by label (nil
// for a nil f).
func (f *Features) ClassCounts() map[int]int {
	if f == nil {
		return nil
	}
	return classCounts(f.labels)
}

// Batch returns samples idx as the rows of an N×D matrix, with their
// labels (see Dataset).
func (f *Features) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	if err := f.ready("datasets.Features.Batch"); err != nil {
		return gometric.Matrix{}, nil, err
	}
	return batchOf(f, idx, dst, f.fill)
}

// fill copies samples idx into dst (reallocated when too small) as a
// float32 N×D block and returns it.
func (f *Features) fill(idx []int, dst []float32) ([]float32, error) {
	if err := check.Indices("datasets.Features.Batch", "idx", idx, f.Len()); err != nil {
		return dst, err
	}
	dst = growF32(dst, len(idx)*f.dim)
	for k, i := range idx {
		copy(dst[k*f.dim:(k+1)*f.dim], f.Row(i))
	}
	return dst, nil
}

func (f *Features) subset(idx []int) *Features {
	out := &Features{dim: f.dim, data: make([]float32, 0, len(idx)*f.dim), labels: make([]int, len(idx))}
	for k, i := range idx {
		out.data = append(out.data, f.Row(i)...)
		out.labels[k] = f.labels[i]
	}
	return out
}

// Subset returns samples idx, in that order (copied).
func (f *Features) Subset(idx []int) (*Features, error) {
	if err := f.ready("datasets.Features.Subset"); err != nil {
		return nil, err
	}
	if err := subsetIndices("datasets.Features.Subset", idx, f.Len()); err != nil {
		return nil, err
	}
	return f.subset(idx), nil
}

// FilterClasses keeps the samples whose label is in classes, in their
// order, labels unchanged; every class must have a sample.
func (f *Features) FilterClasses(classes []int) (*Features, error) {
	if err := f.ready("datasets.Features.FilterClasses"); err != nil {
		return nil, err
	}
	idx, err := classFilter("datasets.Features.FilterClasses", f.labels, classes)
	if err != nil {
		return nil, err
	}
	return f.subset(idx), nil
}

// Relabel returns a copy (features shared) whose labels are 0..k-1 in
// increasing order of the original labels, and the original label of each
// new one (nil, nil for a nil f).
func (f *Features) Relabel() (*Features, []int) {
	if f == nil {
		return nil, nil
	}
	lab, orig := relabel(f.labels)
	return &Features{dim: f.dim, data: f.data, labels: lab}, orig
}

// WriteBinary writes f to w in the binary format, version 2, checksum
// included (see Features). To write a file, Save does it atomically.
func (f *Features) WriteBinary(w io.Writer) error {
	const comp = "datasets.Features.WriteBinary"
	if err := f.ready(comp); err != nil {
		return err
	}
	if check.Nil(w) {
		return check.Settingf(comp, "nil io.Writer")
	}
	return f.writeBinary(comp, w)
}

// Save writes f to path in the binary format (see Features) through a
// temporary file renamed over path once complete and synced, so that path
// holds either its old content or the whole new file, never a part.
func (f *Features) Save(path string) error {
	const comp = "datasets.Features.Save"
	if err := f.ready(comp); err != nil {
		return err
	}
	if err := f.binaryFits(comp); err != nil {
		return err
	}
	if path == "" {
		return check.Settingf(comp, "empty path")
	}
	var werr error
	err := atomicfile.Write(path, func(w io.Writer) error {
		werr = f.writeBinary(comp, w)
		return werr
	})
	if err != nil && err != werr {
		return fmt.Errorf("%s: %w", comp, err)
	}
	return err
}

// binaryFits checks that f fits the binary format.
func (f *Features) binaryFits(comp string) error {
	if int64(f.Len()) > math.MaxUint32 || int64(f.dim) > math.MaxUint32 {
		return check.Errorf(comp, gometric.ErrShape, "%d samples of dimension %d do not fit the format", f.Len(), f.dim)
	}
	for i, l := range f.labels {
		if l > math.MaxInt32 {
			return check.Errorf(comp, gometric.ErrLabels, "label %d of sample %d does not fit the format's int32", l, i)
		}
	}
	return nil
}

func (f *Features) writeBinary(comp string, w io.Writer) error {
	if err := f.binaryFits(comp); err != nil {
		return err
	}
	bw := binio.NewWriter(w)
	bw.String(FeaturesMagic)
	bw.Uint32(uint32(f.Len()))
	bw.Uint32(uint32(f.dim))
	var b [4 * 256]byte
	for rest := f.labels; len(rest) > 0; {
		k := min(len(rest), 256)
		for i, l := range rest[:k] {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(l)))
		}
		if _, err := bw.Write(b[:4*k]); err != nil {
			break // Close returns the error
		}
		rest = rest[k:]
	}
	bw.Float32s(f.data)
	if err := bw.Close(); err != nil {
		return fmt.Errorf("%s: %w", comp, err)
	}
	return nil
}

// WriteCSV writes f in the CSV format (see Features), with the shortest
// decimal form that reads back to the same float32.
func (f *Features) WriteCSV(w io.Writer) error {
	if err := f.ready("datasets.Features.WriteCSV"); err != nil {
		return err
	}
	if check.Nil(w) {
		return check.Settingf("datasets.Features.WriteCSV", "nil io.Writer")
	}
	bw := bufio.NewWriter(w)
	buf := make([]byte, 0, 32)
	for i, l := range f.labels {
		bw.WriteString(strconv.Itoa(l))
		for _, v := range f.Row(i) {
			bw.WriteByte(',')
			bw.Write(strconv.AppendFloat(buf[:0], float64(v), 'g', -1, 32))
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datasets.Features.WriteCSV: %w", err)
	}
	return nil
}

// LoadFeatures reads the feature file at path, binary or CSV (see
// Features).
func LoadFeatures(path string) (*Features, error) {
	const comp = "datasets.LoadFeatures"
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", comp, err)
	}
	defer f.Close()
	out, err := readFeatures(comp, f)
	if err != nil {
		return nil, withPath(err, path)
	}
	return out, nil
}

// ReadFeatures reads a feature file from r: binary when it starts with
// FeaturesMagic (its checksum verified), CSV otherwise (see Features). A
// version 1 binary file ("GMFEATS1", without a checksum) or another
// "GMFEATS" version is an error wrapping gometric.ErrUnsupported that says
// how to write it again.
func ReadFeatures(r io.Reader) (*Features, error) {
	return readFeatures("datasets.ReadFeatures", r)
}

func readFeatures(comp string, r io.Reader) (*Features, error) {
	if check.Nil(r) {
		return nil, check.Settingf(comp, "nil io.Reader")
	}
	br := bufio.NewReader(r)
	head, _ := br.Peek(len(FeaturesMagic))
	switch {
	case string(head) == FeaturesMagic:
		return readFeaturesBinary(comp, br)
	case string(head) == featuresMagicV1:
		return nil, &FileError{Component: comp, Offset: 0, Err: gometric.ErrUnsupported,
			Msg: "a version 1 binary feature file (GMFEATS1, without a checksum) is no longer read: " +
				"write it again with Features.WriteBinary or Features.Save (version 2, GMFEATS2), " +
				"or convert it as the documentation of datasets.Features shows"}
	case strings.HasPrefix(string(head), featuresMagicPrefix):
		return nil, &FileError{Component: comp, Offset: 0, Err: gometric.ErrUnsupported,
			Msg: fmt.Sprintf("magic number %q: not a binary feature file version this package reads (%s)", head, FeaturesMagic)}
	}
	return readFeaturesCSV(comp, br)
}

func readFeaturesBinary(comp string, r io.Reader) (*Features, error) {
	br := binio.NewReader(r)
	fail := func(off int64, sentinel error, format string, args ...any) error {
		return &FileError{Component: comp, Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	}
	var hdr [16]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fail(br.Offset(), gometric.ErrShape, "the file ends inside the 16-byte header%s", ioDetail(err))
	}
	n := int64(binary.LittleEndian.Uint32(hdr[8:]))
	d := int64(binary.LittleEndian.Uint32(hdr[12:]))
	if n == 0 || d == 0 {
		return nil, fail(8, gometric.ErrShape, "N = %d samples of dimension D = %d: want both positive", n, d)
	}
	// n*(d+1) may overflow an int64 (2^32·2^32): divide instead.
	if d+1 > maxFeatureBytes/4/n {
		return nil, fail(8, gometric.ErrShape, "N = %d samples of dimension D = %d declare more than the limit of %d bytes (16 GiB) of labels and features", n, d, int64(maxFeatureBytes))
	}
	short := func(start int64, count int64, what string, err error) error {
		return fail(br.Offset(), gometric.ErrShape, "the file ends after %d of the %d bytes of the %s (N = %d, D = %d)%s",
			br.Offset()-start, 4*count, what, n, d, ioDetail(err))
	}
	start := br.Offset()
	raw, err := br.Uint32s(nil, n)
	if err != nil {
		return nil, short(start, n, "labels", err)
	}
	labels := make([]int, n)
	for i, l := range raw {
		labels[i] = int(int32(l))
	}
	start = br.Offset()
	data, err := br.Float32s(nil, n*d)
	if err != nil {
		return nil, short(start, n*d, "features", err)
	}
	end := br.Offset()
	if err := br.Verify(); err != nil {
		switch {
		case errors.Is(err, binio.ErrChecksum):
			return nil, fail(end, gometric.ErrShape, "the file is corrupt: checksum mismatch (%v)", err)
		case errors.Is(err, binio.ErrTrailing):
			return nil, fail(end+binio.ChecksumSize, gometric.ErrShape, "trailing data after the checksum of the %d samples", n)
		}
		return nil, fail(br.Offset(), gometric.ErrShape, "the file ends inside the 4-byte checksum after the %d samples%s", n, ioDetail(err))
	}
	// The checksum matched: what is wrong now was written so.
	for i, l := range labels {
		if l < 0 {
			return nil, fail(16+4*int64(i), gometric.ErrLabels, "label %d of sample %d is negative", l, i)
		}
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fail(16+4*n+4*int64(i), gometric.ErrNonFinite, "feature %d of sample %d is %v", int64(i)%d, int64(i)/d, v)
		}
	}
	return &Features{dim: int(d), data: data, labels: labels}, nil
}

// ioDetail returns ": err" for a read error other than the end of the
// input, which the messages already say.
func ioDetail(err error) string {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ""
	}
	return ": " + err.Error()
}

func readFeaturesCSV(comp string, r io.Reader) (*Features, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxCSVLine)
	fail := func(line int, sentinel error, format string, args ...any) error {
		return &FileError{Component: comp, Line: line, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	}
	f := &Features{}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		first, rest, ok := strings.Cut(text, ",")
		if !ok {
			return nil, fail(line, gometric.ErrShape, "want \"label,f1,...,fD\" with D >= 1, got 1 field")
		}
		l, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fail(line, gometric.ErrLabels, "label %s is outside the range of int", clip(strings.TrimSpace(first)))
			}
			return nil, fail(line, gometric.ErrShape, "label %q is not an integer", clip(first))
		}
		if l < 0 {
			return nil, fail(line, gometric.ErrLabels, "label %d is negative", l)
		}
		before := len(f.data)
		for j := 1; ; j++ {
			field, tail, more := strings.Cut(rest, ",")
			rest = tail
			v, err := strconv.ParseFloat(strings.TrimSpace(field), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fail(line, gometric.ErrShape, "feature %d: %q is not a number", j, clip(field))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fail(line, gometric.ErrNonFinite, "feature %d is %q, not a finite float32", j, clip(field))
			}
			f.data = append(f.data, float32(v))
			if f.dim > 0 && j > f.dim {
				return nil, fail(line, gometric.ErrShape, "more than %d features, earlier lines have %d", f.dim, f.dim)
			}
			if !more {
				break
			}
		}
		got := len(f.data) - before
		if f.dim == 0 {
			f.dim = got
		} else if got != f.dim {
			return nil, fail(line, gometric.ErrShape, "%d features, earlier lines have %d", got, f.dim)
		}
		f.labels = append(f.labels, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fail(line+1, gometric.ErrShape, "line longer than %d bytes", maxCSVLine)
		}
		return nil, fmt.Errorf("%s: %w", comp, err)
	}
	if f.Len() == 0 {
		return nil, &FileError{Component: comp, Offset: -1, Msg: "no samples", Err: gometric.ErrShape}
	}
	f.data = slices.Clip(f.data)
	return f, nil
}

// clip shortens a field quoted in an error message to 40 bytes.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}
