package datasets

import (
	"bufio"
	"bytes"
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
	"github.com/gometric/gometric/internal/check"
)

// FeaturesMagic starts a binary feature file.
const FeaturesMagic = "GMFEATS1"

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
// Binary, all little-endian:
//
//	offset 0       8 bytes   "GMFEATS1"
//	offset 8       uint32    N, the number of samples (≥ 1)
//	offset 12      uint32    D, the dimension (≥ 1)
//	offset 16      N int32   labels (≥ 0)
//	offset 16+4N   N·D float32 features, sample after sample
//
// and nothing after. NumPy writes it with
//
//	with open(path, "wb") as f:
//	    f.write(b"GMFEATS1")
//	    f.write(np.array([N, D], "<u4").tobytes())
//	    f.write(labels.astype("<i4").tobytes())
//	    f.write(X.astype("<f4").tobytes())
//
// CSV: one sample per line, "label,f1,f2,...,fD", every line with the
// same D; blank lines and lines starting with '#' are ignored; no header.
//
// Features must be finite. Errors in a file give a *FileError with the
// path and the byte offset (binary) or line (CSV).
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

// WriteBinary writes f in the binary format (see Features).
func (f *Features) WriteBinary(w io.Writer) error {
	const comp = "datasets.Features.WriteBinary"
	if err := f.ready(comp); err != nil {
		return err
	}
	if w == nil {
		return check.Settingf(comp, "nil io.Writer")
	}
	if int64(f.Len()) > math.MaxUint32 || int64(f.dim) > math.MaxUint32 {
		return check.Errorf(comp, gometric.ErrShape, "%d samples of dimension %d do not fit the format", f.Len(), f.dim)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(FeaturesMagic)
	var b [4]byte
	for _, v := range []uint32{uint32(f.Len()), uint32(f.dim)} {
		binary.LittleEndian.PutUint32(b[:], v)
		bw.Write(b[:])
	}
	for _, l := range f.labels {
		if l > math.MaxInt32 {
			return check.Errorf(comp, gometric.ErrLabels, "label %d does not fit an int32", l)
		}
		binary.LittleEndian.PutUint32(b[:], uint32(int32(l)))
		bw.Write(b[:])
	}
	for _, v := range f.data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
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
	if w == nil {
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

// ReadFeatures reads a feature file from r, binary when it starts with
// FeaturesMagic, CSV otherwise (see Features).
func ReadFeatures(r io.Reader) (*Features, error) {
	return readFeatures("datasets.ReadFeatures", r)
}

func readFeatures(comp string, r io.Reader) (*Features, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(FeaturesMagic)); string(head) == FeaturesMagic {
		return readFeaturesBinary(comp, br)
	}
	return readFeaturesCSV(comp, br)
}

func readFeaturesBinary(comp string, r io.Reader) (*Features, error) {
	cr := &countingReader{r: r}
	fail := func(off int64, sentinel error, format string, args ...any) error {
		return &FileError{Component: comp, Offset: off, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	}
	var hdr [16]byte
	if n, err := io.ReadFull(cr, hdr[:]); err != nil {
		return nil, fail(int64(n), gometric.ErrShape, "the file ends inside the 16-byte header")
	}
	n := int64(binary.LittleEndian.Uint32(hdr[8:]))
	d := int64(binary.LittleEndian.Uint32(hdr[12:]))
	if n == 0 || d == 0 {
		return nil, fail(8, gometric.ErrShape, "N = %d samples of dimension D = %d: want both positive", n, d)
	}
	if n*(d+1) > maxFeatureBytes/4 {
		return nil, fail(8, gometric.ErrShape, "N = %d samples of dimension D = %d: larger than %d bytes", n, d, int64(maxFeatureBytes))
	}
	read := func(count int64, what string) ([]byte, error) {
		var buf bytes.Buffer
		buf.Grow(int(min(count, 1<<16)))
		start := cr.n
		got, err := io.CopyN(&buf, cr, count)
		if err != nil {
			msg := fmt.Sprintf("the file ends after %d of the %d bytes of the %s (N = %d, D = %d)", got, count, what, n, d)
			if !errors.Is(err, io.EOF) {
				msg += ": " + err.Error()
			}
			return nil, fail(start+got, gometric.ErrShape, "%s", msg)
		}
		return buf.Bytes(), nil
	}
	lb, err := read(4*n, "labels")
	if err != nil {
		return nil, err
	}
	labels := make([]int, n)
	for i := range labels {
		l := int32(binary.LittleEndian.Uint32(lb[4*i:]))
		if l < 0 {
			return nil, fail(16+4*int64(i), gometric.ErrLabels, "label %d of sample %d is negative", l, i)
		}
		labels[i] = int(l)
	}
	start := cr.n
	fb, err := read(4*n*d, "features")
	if err != nil {
		return nil, err
	}
	data := make([]float32, n*d)
	for i := range data {
		v := math.Float32frombits(binary.LittleEndian.Uint32(fb[4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fail(start+4*int64(i), gometric.ErrNonFinite, "feature %d of sample %d is %v", int64(i)%d, int64(i)/d, v)
		}
		data[i] = v
	}
	var one [1]byte
	if k, _ := io.ReadFull(cr, one[:]); k > 0 {
		return nil, fail(cr.n-1, gometric.ErrShape, "trailing data after the %d samples", n)
	}
	return &Features{dim: int(d), data: data, labels: labels}, nil
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
		fields := strings.Split(text, ",")
		if f.dim == 0 {
			if len(fields) < 2 {
				return nil, fail(line, gometric.ErrShape, "want \"label,f1,...,fD\" with D >= 1, got %d field(s)", len(fields))
			}
			f.dim = len(fields) - 1
		} else if len(fields)-1 != f.dim {
			return nil, fail(line, gometric.ErrShape, "%d features, earlier lines have %d", len(fields)-1, f.dim)
		}
		l, err := strconv.Atoi(strings.TrimSpace(fields[0]))
		if err != nil {
			return nil, fail(line, gometric.ErrShape, "label %q is not an integer", fields[0])
		}
		if l < 0 {
			return nil, fail(line, gometric.ErrLabels, "label %d is negative", l)
		}
		for j, s := range fields[1:] {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, fail(line, gometric.ErrShape, "feature %d: %q is not a number", j+1, s)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fail(line, gometric.ErrNonFinite, "feature %d is %q", j+1, s)
			}
			f.data = append(f.data, float32(v))
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
