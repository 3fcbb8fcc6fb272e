package datasets

import (
	"fmt"
	"image"
	"image/color"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Images is an in-memory labelled image set: N images of C×H×W unsigned
// byte pixels (channel-major within an image, as torch's CHW), one label
// per image and optional class names. It is what LoadFashionMNIST returns
// (torchvision.datasets.FashionMNIST's data and targets; PML has no
// Fashion-MNIST module) and what ImageFiles.Load decodes image files into.
//
// Batch turns images into the float32 NCHW batch an encoder takes,
// normalised by Norm (torchvision's ToTensor then Normalize). Images is
// read-only once built, so it is safe for concurrent use as long as Norm
// is not changed meanwhile.
//
// Make Images with NewImages, NewImagesFromIDX, LoadIDX, LoadFashionMNIST,
// FashionMNISTSample or ImageFiles.Load: the zero value holds no images,
// and its methods that return an error refuse it (an error wrapping
// gometric.ErrSetting that names the constructors).
type Images struct {
	// Norm is the normalisation Batch applies; LoadFashionMNIST sets it to
	// FashionMNISTNormalize(). It is checked at each call.
	Norm Normalize

	c, h, w int
	pix     []uint8
	labels  []int
	classes []string
}

// NewImages builds Images of c×h×w images from pix (N·c·h·w bytes, image
// after image, each in CHW order) and labels (N non-negative labels).
// classes, when not nil, names the classes by label; every label must then
// be below len(classes). The slices are kept, not copied. Norm starts as
// the zero Normalize (pixels scaled to [0,1]).
func NewImages(c, h, w int, pix []uint8, labels []int, classes []string) (*Images, error) {
	const comp = "datasets.NewImages"
	if c <= 0 || h <= 0 || w <= 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "image shape %d×%d×%d, want positive sizes", c, h, w)
	}
	if len(labels) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "no images")
	}
	size := c * h * w
	if size/c/h != w {
		return nil, check.Errorf(comp, gometric.ErrShape, "image shape %d×%d×%d is too large", c, h, w)
	}
	if len(pix)/size != len(labels) || len(pix)%size != 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "%d pixel bytes for %d images of %d×%d×%d", len(pix), len(labels), c, h, w)
	}
	for i, l := range labels {
		if l < 0 || (classes != nil && l >= len(classes)) {
			hi := "∞"
			if classes != nil {
				hi = fmt.Sprint(len(classes))
			}
			return nil, check.Errorf(comp, gometric.ErrLabels, "labels[%d] = %d is outside [0, %s)", i, l, hi)
		}
	}
	return &Images{c: c, h: h, w: w, pix: pix, labels: labels, classes: classes}, nil
}

// imagesMakers names the constructors in errors about a zero value.
const imagesMakers = "NewImages, NewImagesFromIDX, LoadIDX, LoadFashionMNIST or ImageFiles.Load"

// ready returns an error for a nil or zero-value m.
func (m *Images) ready(comp string) error {
	if m == nil || m.c == 0 {
		return notMade(comp, m == nil, "*Images", imagesMakers)
	}
	return nil
}

// Len returns the number of images (0 for a nil m).
func (m *Images) Len() int {
	if m == nil {
		return 0
	}
	return len(m.labels)
}

// Shape returns the size of one image: channels, height, width (zeros for
// a nil m).
func (m *Images) Shape() (c, h, w int) {
	if m == nil {
		return 0, 0, 0
	}
	return m.c, m.h, m.w
}

// SampleShape returns [C, H, W] (nil for a nil m).
func (m *Images) SampleShape() []int {
	if m == nil {
		return nil
	}
	return []int{m.c, m.h, m.w}
}

// Labels returns the labels, one per image (shared: do not modify).
func (m *Images) Labels() []int {
	if m == nil {
		return nil
	}
	return m.labels
}

// Classes returns the class names indexed by label, or nil when the
// classes have no names (shared: do not modify).
func (m *Images) Classes() []string {
	if m == nil {
		return nil
	}
	return m.classes
}

// ClassName returns the name of class label, or its number when it has no
// name ("" for a nil m).
func (m *Images) ClassName(label int) string {
	if m == nil {
		return ""
	}
	return className(m.classes, label)
}

func className(classes []string, label int) string {
	if label >= 0 && label < len(classes) && classes[label] != "" {
		return classes[label]
	}
	return fmt.Sprint(label)
}

// ClassCounts returns the number of images of each label, by label (nil
// for a nil m).
func (m *Images) ClassCounts() map[int]int {
	if m == nil {
		return nil
	}
	return classCounts(m.labels)
}

// Pix returns all pixel bytes, N·C·H·W of them (shared: do not modify).
func (m *Images) Pix() []uint8 {
	if m == nil {
		return nil
	}
	return m.pix
}

// Pixels returns the C·H·W pixel bytes of image i (shared: do not
// modify), or nil when i is outside [0, Len()) or m is nil.
func (m *Images) Pixels(i int) []uint8 {
	if m == nil || i < 0 || i >= len(m.labels) {
		return nil
	}
	s := m.c * m.h * m.w
	return m.pix[i*s : (i+1)*s : (i+1)*s]
}

// Image returns image i as an image.Image (*image.Gray for one channel,
// *image.RGBA for three), sharing nothing with m, for saving or viewing.
// It returns an error for an index out of range or a channel count other
// than 1 or 3.
func (m *Images) Image(i int) (image.Image, error) {
	const comp = "datasets.Images.Image"
	if err := m.ready(comp); err != nil {
		return nil, err
	}
	if i < 0 || i >= m.Len() {
		return nil, check.Errorf(comp, gometric.ErrIndex, "image %d is outside [0, %d)", i, m.Len())
	}
	p := m.Pixels(i)
	hw := m.h * m.w
	switch m.c {
	case 1:
		g := image.NewGray(image.Rect(0, 0, m.w, m.h))
		copy(g.Pix, p)
		return g, nil
	case 3:
		img := image.NewRGBA(image.Rect(0, 0, m.w, m.h))
		for k := range hw {
			img.Set(k%m.w, k/m.w, color.RGBA{p[k], p[hw+k], p[2*hw+k], 255})
		}
		return img, nil
	}
	return nil, check.Errorf(comp, gometric.ErrUnsupported, "%d channels, want 1 or 3", m.c)
}

// Subset returns the images idx, in that order (repeats allowed), with
// their labels, the class names and Norm; the pixels are copied.
func (m *Images) Subset(idx []int) (*Images, error) {
	if err := m.ready("datasets.Images.Subset"); err != nil {
		return nil, err
	}
	if err := subsetIndices("datasets.Images.Subset", idx, m.Len()); err != nil {
		return nil, err
	}
	return m.subset(idx), nil
}

func (m *Images) subset(idx []int) *Images {
	s := m.c * m.h * m.w
	out := &Images{Norm: m.Norm, c: m.c, h: m.h, w: m.w, classes: m.classes,
		pix: make([]uint8, 0, len(idx)*s), labels: make([]int, len(idx))}
	for k, i := range idx {
		out.pix = append(out.pix, m.pix[i*s:(i+1)*s]...)
		out.labels[k] = m.labels[i]
	}
	return out
}

// FilterClasses keeps the images whose label is in classes, in their
// order, with their labels unchanged (as PML's CUB keeps class numbers
// 1–100 for its training split); see Relabel for labels 0..k-1. Every
// class must have at least one image.
func (m *Images) FilterClasses(classes []int) (*Images, error) {
	if err := m.ready("datasets.Images.FilterClasses"); err != nil {
		return nil, err
	}
	idx, err := classFilter("datasets.Images.FilterClasses", m.labels, classes)
	if err != nil {
		return nil, err
	}
	return m.subset(idx), nil
}

// FirstPerClass keeps the first k images of each class, in dataset order:
// a balanced, deterministic subset (the embedded Fashion-MNIST sample is
// FirstPerClass(200) of the training set and FirstPerClass(100) of the
// test set).
func (m *Images) FirstPerClass(k int) (*Images, error) {
	if err := m.ready("datasets.Images.FirstPerClass"); err != nil {
		return nil, err
	}
	idx, err := firstPerClass("datasets.Images.FirstPerClass", m.labels, k)
	if err != nil {
		return nil, err
	}
	return m.subset(idx), nil
}

// Relabel returns a copy whose labels are 0..k-1, numbered in increasing
// order of the original labels, and the original label of each new one.
// Losses with one weight per class (ArcFace, ProxyAnchor, ...) need such
// labels. The pixels are shared with m, the class names follow the
// relabelling (nil, nil for a nil m).
func (m *Images) Relabel() (*Images, []int) {
	if m == nil {
		return nil, nil
	}
	lab, orig := relabel(m.labels)
	out := *m
	out.labels = lab
	out.classes = relabelNames(m.classes, orig)
	return &out, orig
}

// Batch returns images idx, normalised by Norm, as the rows of an
// N×(C·H·W) matrix, with their labels (see Dataset).
func (m *Images) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	if err := m.ready("datasets.Images.Batch"); err != nil {
		return gometric.Matrix{}, nil, err
	}
	return batchOf(m, idx, dst, m.fill)
}

// fill writes images idx as a float32 N×C×H×W block normalised by Norm
// into dst (reallocated when too small) and returns it.
func (m *Images) fill(idx []int, dst []float32) ([]float32, error) {
	const comp = "datasets.Images.Batch"
	if err := check.Indices(comp, "idx", idx, m.Len()); err != nil {
		return dst, err
	}
	t, err := m.Norm.table(comp, m.c)
	if err != nil {
		return dst, err
	}
	s := m.c * m.h * m.w
	hw := m.h * m.w
	dst = growF32(dst, len(idx)*s)
	for k, i := range idx {
		src := m.pix[i*s : (i+1)*s]
		out := dst[k*s : (k+1)*s]
		for ch := range m.c {
			t.apply(ch, src[ch*hw:(ch+1)*hw], out[ch*hw:(ch+1)*hw])
		}
	}
	return dst, nil
}

// ToFloat32 returns every image as one float32 N×C×H×W block normalised
// by Norm (4·N·C·H·W bytes: 188 MB for the Fashion-MNIST training set).
func (m *Images) ToFloat32() ([]float32, error) {
	if err := m.ready("datasets.Images.ToFloat32"); err != nil {
		return nil, err
	}
	idx := make([]int, m.Len())
	for i := range idx {
		idx[i] = i
	}
	out, err := m.fill(idx, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Equal reports whether m and o hold the same shape, pixels, labels and
// class names (Norm is not compared). Two nil pointers are equal; a nil
// one equals no other.
func (m *Images) Equal(o *Images) bool {
	if m == nil || o == nil {
		return m == o
	}
	return m.c == o.c && m.h == o.h && m.w == o.w && slices.Equal(m.pix, o.pix) &&
		slices.Equal(m.labels, o.labels) && slices.Equal(m.classes, o.classes)
}
