package datasets

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// MultiLevel is implemented by a data set whose samples have labels at
// several hierarchy levels (PML's 2-D label tensors, e.g. Stanford Online
// Products' class and super class; *ImageFiles implements it).
// LabelLevels returns the number of levels and LabelsAt the labels of one
// level, one per sample; level 0 must equal Labels(). A data set without
// it has level 0 only. Trainers (LabelHierarchyLevel) and testers read it
// and do not modify what it returns, so an implementation needs to be
// safe for concurrent use only if its reader is used concurrently.
type MultiLevel interface {
	LabelLevels() int
	LabelsAt(level int) ([]int, error)
}

// EpochSetter is a data set whose samples depend on the epoch (a random
// augmentation: ImageFiles with a Transform). The trainers call SetEpoch
// with the epoch number before each epoch, as torch code sets an epoch on
// its sampler or data set; an implementation says whether it may be
// called concurrently with Batch (ImageFiles: not).
type EpochSetter interface {
	SetEpoch(epoch int)
}

// Dataset is a labelled set of fixed-shape samples that a trainer or a
// tester reads in batches: the Go counterpart of a torch Dataset wrapped in
// a DataLoader with a sampler. Images, ImageFiles and Features implement it;
// they are safe for concurrent use as long as their exported fields are
// not changed meanwhile (an implementation outside this package says
// whether it is).
type Dataset interface {
	// Len is the number of samples (PML datasets' __len__).
	Len() int
	// Labels returns one label per sample. The slice is shared with the
	// dataset: read it, do not modify it.
	Labels() []int
	// SampleShape is the shape of one sample as the encoder sees it:
	// [C, H, W] for images, [D] for feature vectors.
	SampleShape() []int
	// Batch returns the samples idx, in that order, as the rows of a
	// len(idx)×prod(SampleShape) matrix — one flattened sample per row,
	// an image's C·H·W values in NCHW order — with their labels. The
	// matrix reuses dst.Data when its capacity suffices (pass the previous
	// batch to recycle it) and is allocated otherwise; the labels are a
	// new slice. An index outside [0, Len()) is an error wrapping
	// gometric.ErrIndex.
	Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error)
}

// notMade is the error of a method called on a nil data set (typ is its
// type, as in "*Features") or on one that no constructor made (its zero
// value); makers lists the constructors.
func notMade(comp string, isNil bool, typ, makers string) error {
	if isNil {
		return check.Settingf(comp, "nil %s", typ)
	}
	return check.Settingf(comp, "not made by %s: the zero value holds no samples", makers)
}

// batchOf is Dataset.Batch for a data set whose fill writes the samples
// idx (validating them) into a reused buffer.
func batchOf(ds Dataset, idx []int, dst gometric.Matrix, fill func(idx []int, dst []float32) ([]float32, error)) (gometric.Matrix, []int, error) {
	data, err := fill(idx, dst.Data)
	if err != nil {
		return gometric.Matrix{}, nil, err
	}
	all := ds.Labels()
	labels := make([]int, len(idx))
	for k, i := range idx {
		labels[k] = all[i]
	}
	per := 1
	for _, d := range ds.SampleShape() {
		per *= d
	}
	return gometric.Matrix{Rows: len(idx), Cols: per, Data: data}, labels, nil
}

// ErrFormat is wrapped, through a *FileError, by every error that reports
// a malformed data file (IDX, CUB index files, feature files). Such errors
// also wrap one of the gometric sentinels: gometric.ErrShape for a broken
// structure (bad magic, truncated data, count mismatch, malformed line),
// gometric.ErrLabels for a label out of range, gometric.ErrUnsupported for
// a valid but unsupported encoding, gometric.ErrNonFinite for NaN or ±Inf
// features.
var ErrFormat = errors.New("malformed data file")

// FileError reports a malformed data file: which component read it, the
// file, where in it (a 1-based line of a text file, or a byte offset of a
// binary one), and what is wrong. The package returns FileErrors with
// their fields filled in; the zero value describes no error and formats
// as "byte 0: " with nothing else. A FileError is not changed after it is
// returned (except that the package sets Path before returning it), so it
// is safe for concurrent use.
type FileError struct {
	Component string // e.g. "datasets.ReadIDX"
	Path      string // the file; "" when read from an io.Reader
	Line      int    // 1-based line of a text file; 0 when not applicable
	Offset    int64  // byte offset in a binary file; -1 when not applicable
	Msg       string // what is wrong
	Err       error  // the gometric sentinel (ErrShape, ErrLabels, ...)
}

// Error formats the error as "component: path:line: msg: sentinel" or
// "component: path: byte N: msg: sentinel". A nil *FileError formats as
// "".
func (e *FileError) Error() string {
	if e == nil {
		return ""
	}
	var b strings.Builder
	if e.Component != "" {
		b.WriteString(e.Component)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Offset >= 0 && e.Line == 0 {
		fmt.Fprintf(&b, "byte %d: ", e.Offset)
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrFormat and the sentinel, so errors.Is works for both
// (nil for a nil *FileError).
func (e *FileError) Unwrap() []error {
	if e == nil {
		return nil
	}
	if e.Err == nil {
		return []error{ErrFormat}
	}
	return []error{ErrFormat, e.Err}
}

// withPath sets the path of a *FileError inside err (if any) that has none.
func withPath(err error, path string) error {
	var fe *FileError
	if errors.As(err, &fe) && fe.Path == "" {
		fe.Path = path
	}
	return err
}

// Normalization constants. Fashion-MNIST's are the values the project's
// protocol uses (mean and standard deviation of the training pixels scaled
// to [0,1]); ImageNet's are torchvision's usual
// Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]).
const (
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3530
)

// Normalize maps a pixel p (0–255) of channel c to
// (p/255 − Mean[c]) / Std[c] in float32, which is torchvision's ToTensor
// followed by Normalize(mean, std), operation for operation. Mean and Std
// hold one value per channel, or one value for every channel. The zero
// value (both empty) is ToTensor alone: pixels scaled to [0,1], which is
// what NewImages sets. A Normalize is a plain value, safe for concurrent
// use as long as its slices are not changed meanwhile.
type Normalize struct {
	Mean, Std []float32
}

// FashionMNISTNormalize returns the Fashion-MNIST normalisation
// (mean 0.2860, std 0.3530).
func FashionMNISTNormalize() Normalize {
	return Normalize{Mean: []float32{FashionMNISTMean}, Std: []float32{FashionMNISTStd}}
}

// ImageNetNormalize returns torchvision's ImageNet normalisation for RGB
// images: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
func ImageNetNormalize() Normalize {
	return Normalize{Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}
}

// maxLUTs bounds the lookup tables a Normalize builds (one per channel
// with its own mean and standard deviation, 1 KB each); beyond it, pixels
// are normalised by the same float32 operations without a table, so no
// allocation grows with the channel count.
const maxLUTs = 16

// normTable normalises the pixels of one channel: by a lookup table of
// the 256 values when it has one, by formula otherwise.
type normTable struct {
	luts      [][256]float32 // one for every channel, or one per channel; nil: by formula
	mean, std []float32      // n.Mean, n.Std for the formula
}

// apply writes the normalised values of the pixels src of channel ch to
// dst (len(dst) >= len(src)).
func (t *normTable) apply(ch int, src []uint8, dst []float32) {
	if t.luts != nil {
		lut := &t.luts[0]
		if len(t.luts) > 1 {
			lut = &t.luts[ch]
		}
		dst = dst[:len(src)]
		for j, p := range src {
			dst[j] = lut[p]
		}
		return
	}
	k := 0
	if len(t.mean) > 1 {
		k = ch
	}
	m, sd := t.mean[k], t.std[k]
	dst = dst[:len(src)]
	for j, p := range src {
		dst[j] = (float32(p)/255 - m) / sd
	}
}

// table checks n for c channels and returns its normTable.
func (n Normalize) table(component string, c int) (normTable, error) {
	if len(n.Mean) != len(n.Std) {
		return normTable{}, check.Settingf(component, "Normalize has %d means and %d standard deviations", len(n.Mean), len(n.Std))
	}
	if len(n.Mean) > 1 && len(n.Mean) != c {
		return normTable{}, check.Settingf(component, "Normalize has %d means for %d channels", len(n.Mean), c)
	}
	for i := range n.Mean {
		m, s := float64(n.Mean[i]), float64(n.Std[i])
		if math.IsNaN(m) || math.IsInf(m, 0) || math.IsNaN(s) || math.IsInf(s, 0) || s <= 0 {
			return normTable{}, check.Settingf(component, "Normalize mean %v, std %v for channel %d: want finite values and std > 0", m, s, i)
		}
	}
	if len(n.Mean) > maxLUTs {
		return normTable{mean: n.Mean, std: n.Std}, nil
	}
	t := normTable{luts: make([][256]float32, max(1, len(n.Mean)))}
	for k := range t.luts {
		for p := range 256 {
			v := float32(p) / 255
			if len(n.Mean) > 0 {
				v = (v - n.Mean[k]) / n.Std[k]
			}
			t.luts[k][p] = v
		}
	}
	return t, nil
}

// classFilter returns the positions of labels whose value is in classes,
// in dataset order. Every class must occur at least once.
func classFilter(component string, labels, classes []int) ([]int, error) {
	if len(classes) == 0 {
		return nil, check.Settingf(component, "no classes to keep")
	}
	want := make(map[int]bool, len(classes))
	for _, c := range classes {
		want[c] = true
	}
	seen := make(map[int]bool, len(classes))
	var idx []int
	for i, l := range labels {
		if want[l] {
			idx = append(idx, i)
			seen[l] = true
		}
	}
	for _, c := range classes {
		if !seen[c] {
			return nil, check.Errorf(component, gometric.ErrLabels, "class %d has no samples", c)
		}
	}
	return idx, nil
}

// relabel maps labels to 0..k-1 in increasing order of the original label
// and returns the new labels and the original label of each new one.
func relabel(labels []int) (newLabels, orig []int) {
	orig = slices.Clone(labels)
	slices.Sort(orig)
	orig = slices.Compact(orig)
	pos := make(map[int]int, len(orig))
	for i, l := range orig {
		pos[l] = i
	}
	newLabels = make([]int, len(labels))
	for i, l := range labels {
		newLabels[i] = pos[l]
	}
	return newLabels, orig
}

// relabelNames returns the class names of the relabelled classes.
func relabelNames(names []string, orig []int) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(orig))
	for i, l := range orig {
		if l >= 0 && l < len(names) {
			out[i] = names[l]
		}
	}
	return out
}

// firstPerClass returns the positions of the first k samples of each class,
// in dataset order.
func firstPerClass(component string, labels []int, k int) ([]int, error) {
	if k <= 0 {
		return nil, check.Settingf(component, "k = %d, want k > 0", k)
	}
	count := map[int]int{}
	var idx []int
	for i, l := range labels {
		if count[l] < k {
			count[l]++
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// classCounts returns the number of samples of each label, by label: a
// map, so that its size is bounded by the number of distinct labels
// whatever their values.
func classCounts(labels []int) map[int]int {
	c := make(map[int]int)
	for _, l := range labels {
		c[l]++
	}
	return c
}

// subsetIndices checks idx against n.
func subsetIndices(component string, idx []int, n int) error {
	if len(idx) == 0 {
		return check.Errorf(component, gometric.ErrShape, "empty subset")
	}
	return check.Indices(component, "idx", idx, n)
}

// growF32 returns dst resized to n values, reallocating when needed.
func growF32(dst []float32, n int) []float32 {
	if cap(dst) < n {
		return make([]float32, n)
	}
	return dst[:n]
}

// ClassFilterer is a dataset that can keep only some classes; Images,
// ImageFiles and Features are ClassFilterers of themselves, and
// FilterClasses is safe for concurrent use on them (it returns a new data
// set).
type ClassFilterer[D any] interface {
	FilterClasses(classes []int) (D, error)
}

// ClassDisjoint returns the class-disjoint pair used in PML's CUB protocol
// (train on classes 1–100, test on classes 101–200): the samples of train
// whose class is in trainClasses, and those of test whose class is in
// testClasses. The two class sets must not overlap. To split one dataset
// by class, pass it as both train and test.
func ClassDisjoint[D ClassFilterer[D]](train, test D, trainClasses, testClasses []int) (D, D, error) {
	const comp = "datasets.ClassDisjoint"
	var zero D
	in := make(map[int]bool, len(trainClasses))
	for _, c := range trainClasses {
		in[c] = true
	}
	for _, c := range testClasses {
		if in[c] {
			return zero, zero, check.Settingf(comp, "class %d is in both the training and the test classes", c)
		}
	}
	tr, err := train.FilterClasses(trainClasses)
	if err != nil {
		return zero, zero, fmt.Errorf("%s: training split: %w", comp, err)
	}
	te, err := test.FilterClasses(testClasses)
	if err != nil {
		return zero, zero, fmt.Errorf("%s: test split: %w", comp, err)
	}
	return tr, te, nil
}

// maxClassList bounds the labels a class list may name (ranges
// included), so that a list cannot allocate more than 8 MiB.
const maxClassList = 1 << 20

// ParseClassList parses a list of class labels such as "0,1,2", "0-4" or
// "0-4,7,9" (the form of the examples' -train-classes and -test-classes
// flags) into sorted, distinct labels. Ranges are inclusive; labels are
// non-negative ints (up to math.MaxInt), and a list may name at most
// 1,048,576 labels in all (counting repeats), an error wrapping
// gometric.ErrSetting beyond.
func ParseClassList(s string) ([]int, error) {
	const comp = "datasets.ParseClassList"
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, check.Settingf(comp, "empty class list")
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return nil, check.Settingf(comp, "%q in %q is not a class label (a non-negative integer) or a range a-b", clip(part), clip(s))
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
			if err != nil || b < a {
				return nil, check.Settingf(comp, "%q in %q is not a range a-b with a <= b", clip(part), clip(s))
			}
		}
		// a >= 0 and b >= a, so b-a does not overflow.
		if b-a >= maxClassList-len(out) {
			return nil, check.Settingf(comp, "%q names more than %d labels, the limit of a class list", clip(s), maxClassList)
		}
		for c := a; ; c++ { // c <= b with b = math.MaxInt would never end
			out = append(out, c)
			if c == b {
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// The data sets implement Dataset and ClassFilterer.
var (
	_ Dataset                    = (*Images)(nil)
	_ Dataset                    = (*ImageFiles)(nil)
	_ Dataset                    = (*Features)(nil)
	_ ClassFilterer[*Images]     = (*Images)(nil)
	_ ClassFilterer[*ImageFiles] = (*ImageFiles)(nil)
	_ ClassFilterer[*Features]   = (*Features)(nil)
)
