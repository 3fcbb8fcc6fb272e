package datasets

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder for image folders
	_ "image/jpeg" // JPEG headers (image.DecodeConfig); decodeJPEG decodes
	_ "image/png"  // PNG decoder for image folders
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/workers"
	xdraw "golang.org/x/image/draw"

	_ "golang.org/x/image/bmp"  // BMP decoder for image folders
	_ "golang.org/x/image/tiff" // TIFF decoder for image folders
	_ "golang.org/x/image/webp" // WebP decoder for image folders
)

// Fit says how an image is brought to the output size. The zero value is
// CenterCrop, the default. A Fit is a plain value, safe for concurrent
// use.
type Fit int

const (
	// CenterCrop scales the largest centred region of the image that has
	// the output's aspect ratio to the output size: torchvision's
	// Resize(min(H, W)) followed by CenterCrop((H, W)), up to rounding.
	CenterCrop Fit = iota
	// Stretch scales the whole image to the output size, ignoring its
	// aspect ratio: torchvision's Resize((H, W)).
	Stretch
)

// Interpolation selects the golang.org/x/image/draw resampler. CatmullRom
// and BiLinear widen their kernel when shrinking, so they antialias as
// PIL's BICUBIC and BILINEAR resizes (torchvision's) do; ApproxBiLinear and
// NearestNeighbor are faster and do not. The zero value is CatmullRom, the
// default. An Interpolation is a plain value, safe for concurrent use.
type Interpolation int

const (
	CatmullRom      Interpolation = iota // draw.CatmullRom (default): sharpest, slowest
	BiLinear                             // draw.BiLinear
	ApproxBiLinear                       // draw.ApproxBiLinear
	NearestNeighbor                      // draw.NearestNeighbor
)

func (p Interpolation) scaler() (xdraw.Scaler, bool) {
	switch p {
	case CatmullRom:
		return xdraw.CatmullRom, true
	case BiLinear:
		return xdraw.BiLinear, true
	case ApproxBiLinear:
		return xdraw.ApproxBiLinear, true
	case NearestNeighbor:
		return xdraw.NearestNeighbor, true
	}
	return nil, false
}

// Limits of the output size: each side at most maxSide, and at most
// maxOutPixels pixels (a 2048×2048 image takes 48 MiB as float32 CHW).
const (
	maxSide      = 1 << 12
	maxOutPixels = 1 << 22
)

// DefaultMaxPixels is the largest image ImageFiles decodes when its
// MaxPixels is 0: 2^25 = 33,554,432 pixels (width × height), e.g.
// 8192×4096 or 5792×5792, more than a 24-megapixel photograph and every
// image of CUB-200-2011, Cars196 or Stanford Online Products. Decoding
// takes up to about 20 bytes per pixel (a progressive 4:4:4 JPEG: its
// coefficients, its planes and the RGBA result), so 640 MiB at the
// limit. The limit is checked on the size an image's header declares
// before it is decoded, so a small file that declares a huge image costs
// nothing.
const DefaultMaxPixels = 1 << 25

// ImageFiles is a labelled list of image files decoded on demand: the
// datasets NewCUB (PML's datasets.CUB), NewCars196 (PML's
// datasets.Cars196), NewSOP (PML's datasets.StanfordOnlineProducts),
// NewINaturalist2018 (PML's datasets.INaturalist2018) and NewImageFolder
// (torchvision's
// ImageFolder) return. Each image is decoded (JPEG, PNG, GIF, BMP, TIFF,
// WebP), converted to RGB (grey images are replicated, transparency is
// composed over black; JPEGs are decoded to the bytes torchvision's
// loader, Pillow's Image.open(p).convert("RGB") on libjpeg-turbo, gives:
// libjpeg's accurate integer IDCT, "fancy" chroma upsampling and colour
// conversion, CMYK converted as Pillow, the EXIF orientation ignored as
// Pillow does), brought to Width×Height by Fit with the
// Interpolation resampler of golang.org/x/image/draw, and normalised by
// Norm into float32 CHW.
//
// Memory: an image is refused, before it is decoded, when its header
// declares more than MaxPixels pixels (DefaultMaxPixels when 0); decoding
// takes up to about 16 bytes per pixel of the source image. A decoded and
// resized image takes 3·Width·Height bytes (147 KB at 224×224, 12 KB at
// 64×64); Width and Height are at most 4096 and their product at most
// 4,194,304 (2048×2048). Batch decodes the images it is asked for and
// keeps the CacheSize most recently used in an LRU cache (0, the default,
// keeps none: every batch decodes from disk). Load decodes every image
// once into an in-memory Images (3·W·H·N bytes, allocated before the
// first image is decoded: 863 MB for CUB's 5,864 training images at
// 224×224, 72 MB at 64×64), the fastest choice when it fits.
//
// The settings are exported fields, checked at each call; changing the
// size, Fit, Interpolation or MaxPixels empties the cache. An ImageFiles
// is safe for concurrent use as long as its fields are not changed
// meanwhile.
//
// Make an ImageFiles with NewCUB, NewCUBFS, NewCars196, NewCars196FS,
// NewSOP, NewSOPFS, NewINaturalist2018, NewINaturalist2018FS,
// NewImageFolder or
// NewImageFolderFS: the zero value has no images and no file system, and
// its methods that return an error refuse it (an error wrapping
// gometric.ErrSetting that names the constructors).
type ImageFiles struct {
	Width, Height int           // output size; NewCUB and NewImageFolder set 224×224
	Fit           Fit           // default CenterCrop
	Interpolation Interpolation // default CatmullRom
	Norm          Normalize     // NewCUB and NewImageFolder set ImageNetNormalize()
	CacheSize     int           // decoded images kept between batches; 0 keeps none
	Workers       int           // decoding goroutines; 0 means GOMAXPROCS
	// MaxPixels is the largest source image decoded, in pixels (width ×
	// height as its header declares them); a larger one is an error
	// naming the file, its size and the limit. If MaxPixels is 0,
	// DefaultMaxPixels is used.
	MaxPixels int
	// Progress, when not nil, is called by Load after each image with the
	// number decoded so far and the total. Calls are serialised.
	Progress func(done, total int)
	// Transform, when not nil, replaces Fit and Interpolation: each
	// decoded image (RGB, at its own size) goes through it — e.g.
	// EvalTransform(224, 256) or TrainTransform(224), torchvision's
	// ImageNet recipes — and must come out Width×Height; then Norm
	// applies (ToTensor and Normalize). Image i of a Batch or a Load
	// draws its randomness from SampleRand(Seed, Epoch, i), so the
	// augmentation of a sample depends on (Seed, Epoch, i) only, not on
	// the batch, the workers or GOMAXPROCS: set Epoch before each epoch
	// for fresh augmentations (an index asked for twice in one epoch gets
	// the same one). With a Transform the cache keeps the decoded source
	// images (4·w·h bytes each at their own size) and transforms them at
	// every use.
	Transform Transform
	Seed      uint64 // seed of the Transform's draws
	Epoch     int    // epoch of the Transform's draws

	fsys    fs.FS
	paths   []string
	labels  []int
	classes []string
	// upper holds the labels of hierarchy levels 1, 2, ... (nil when the
	// data set has one level); upper[k][i] is image i's label at level
	// k+1.
	upper [][]int

	mu    sync.Mutex
	cache *lruCache
}

// newImageFiles returns ImageFiles with the defaults.
func newImageFiles(fsys fs.FS, paths []string, labels []int, classes []string) *ImageFiles {
	return &ImageFiles{Width: 224, Height: 224, Norm: ImageNetNormalize(), fsys: fsys, paths: paths, labels: labels, classes: classes}
}

// imageFilesMakers names the constructors in errors about a zero value.
const imageFilesMakers = "NewCUB, NewCUBFS, NewCars196, NewCars196FS, NewSOP, NewSOPFS, NewINaturalist2018, NewINaturalist2018FS, NewImageFolder or NewImageFolderFS"

// ready returns an error for a nil or zero-value f.
func (f *ImageFiles) ready(comp string) error {
	if f == nil || f.fsys == nil {
		return notMade(comp, f == nil, "*ImageFiles", imageFilesMakers)
	}
	return nil
}

// Len returns the number of images (0 for a nil f).
func (f *ImageFiles) Len() int {
	if f == nil {
		return 0
	}
	return len(f.labels)
}

// Labels returns the labels, one per image (shared: do not modify).
func (f *ImageFiles) Labels() []int {
	if f == nil {
		return nil
	}
	return f.labels
}

// SampleShape returns [3, Height, Width] (nil for a nil f).
func (f *ImageFiles) SampleShape() []int {
	if f == nil {
		return nil
	}
	return []int{3, f.Height, f.Width}
}

// LabelLevels returns the number of label hierarchy levels: 2 for
// Stanford Online Products (level 0 the class, level 1 the super class),
// 1 for the other data sets (0 for a nil f).
func (f *ImageFiles) LabelLevels() int {
	if f == nil {
		return 0
	}
	return 1 + len(f.upper)
}

// LabelsAt returns the labels of hierarchy level (shared: do not modify),
// one per image: level 0 is Labels, level 1 of Stanford Online Products its
// super classes — the columns of the 2-D labels that PML's testers index
// with label_hierarchy_level. A level outside [0, LabelLevels()) is an
// error wrapping gometric.ErrIndex.
func (f *ImageFiles) LabelsAt(level int) ([]int, error) {
	const comp = "datasets.ImageFiles.LabelsAt"
	if err := f.ready(comp); err != nil {
		return nil, err
	}
	if level < 0 || level > len(f.upper) {
		return nil, check.Errorf(comp, gometric.ErrIndex, "label level %d outside [0, %d)", level, 1+len(f.upper))
	}
	if level == 0 {
		return f.labels, nil
	}
	return f.upper[level-1], nil
}

// Paths returns the image file paths (shared: do not modify).
func (f *ImageFiles) Paths() []string {
	if f == nil {
		return nil
	}
	return f.paths
}

// Classes returns the class names indexed by label (shared: do not
// modify). CUB numbers its classes from 1, so Classes()[0] is "" there.
func (f *ImageFiles) Classes() []string {
	if f == nil {
		return nil
	}
	return f.classes
}

// ClassName returns the name of class label, or its number when it has no
// name ("" for a nil f).
func (f *ImageFiles) ClassName(label int) string {
	if f == nil {
		return ""
	}
	return className(f.classes, label)
}

// ClassCounts returns the number of images of each label, by label (nil
// for a nil f).
func (f *ImageFiles) ClassCounts() map[int]int {
	if f == nil {
		return nil
	}
	return classCounts(f.labels)
}

// derive returns ImageFiles with f's settings over the images idx (all
// when idx is nil), with its own cache.
func (f *ImageFiles) derive(idx []int, labels []int, classes []string) *ImageFiles {
	out := &ImageFiles{Width: f.Width, Height: f.Height, Fit: f.Fit, Interpolation: f.Interpolation,
		Norm: f.Norm, CacheSize: f.CacheSize, Workers: f.Workers, MaxPixels: f.MaxPixels, Progress: f.Progress,
		Transform: f.Transform, Seed: f.Seed, Epoch: f.Epoch,
		fsys: f.fsys, paths: f.paths, labels: labels, classes: classes, upper: f.upper}
	if idx != nil {
		out.paths = make([]string, len(idx))
		out.labels = make([]int, len(idx))
		for k, i := range idx {
			out.paths[k] = f.paths[i]
			out.labels[k] = f.labels[i]
		}
		if f.upper != nil {
			out.upper = make([][]int, len(f.upper))
			for l, lab := range f.upper {
				out.upper[l] = make([]int, len(idx))
				for k, i := range idx {
					out.upper[l][k] = lab[i]
				}
			}
		}
	}
	return out
}

// Subset returns the images idx, in that order, with f's settings and an
// empty cache.
func (f *ImageFiles) Subset(idx []int) (*ImageFiles, error) {
	if err := f.ready("datasets.ImageFiles.Subset"); err != nil {
		return nil, err
	}
	if err := subsetIndices("datasets.ImageFiles.Subset", idx, f.Len()); err != nil {
		return nil, err
	}
	return f.derive(idx, nil, f.classes), nil
}

// FilterClasses keeps the images whose label is in classes, in their
// order, with labels unchanged (PML's CUB split is FilterClasses of
// classes 1–100 and 101–200); every class must have an image.
func (f *ImageFiles) FilterClasses(classes []int) (*ImageFiles, error) {
	if err := f.ready("datasets.ImageFiles.FilterClasses"); err != nil {
		return nil, err
	}
	idx, err := classFilter("datasets.ImageFiles.FilterClasses", f.labels, classes)
	if err != nil {
		return nil, err
	}
	return f.derive(idx, nil, f.classes), nil
}

// Relabel returns a copy whose labels are 0..k-1 in increasing order of
// the original labels, and the original label of each new one (CUB's
// training classes 1–100 become 0–99; nil, nil for a nil f). The labels of
// SetEpoch sets Epoch, the epoch of the Transform's random draws (see
// Transform): the trainers call it before each epoch (EpochSetter), so a
// random augmentation differs from epoch to epoch and a resumed run draws
// what an uninterrupted one did. It is not safe to call during a Batch or
// a Load. A nil receiver does nothing.
func (f *ImageFiles) SetEpoch(epoch int) {
	if f != nil {
		f.Epoch = epoch
	}
}

// the higher hierarchy levels (LabelsAt) are kept as they are.
func (f *ImageFiles) Relabel() (*ImageFiles, []int) {
	if f == nil {
		return nil, nil
	}
	lab, orig := relabel(f.labels)
	return f.derive(nil, lab, relabelNames(f.classes, orig)), orig
}

// decodeSettings are the checked settings of a Batch or a Load.
type decodeSettings struct {
	norm      normTable
	sc        xdraw.Scaler
	maxPixels int64
	key       cacheKey
	tr        Transform // nil: Fit and Interpolation
	seed      uint64
	epoch     int
}

// settings checks the fields and returns what decoding needs.
func (f *ImageFiles) settings(comp string) (decodeSettings, error) {
	var ds decodeSettings
	if f.Width <= 0 || f.Height <= 0 || f.Width > maxSide || f.Height > maxSide || int64(f.Width)*int64(f.Height) > maxOutPixels {
		return ds, check.Settingf(comp, "output size %d×%d, want sides in [1, %d] and at most %d pixels", f.Width, f.Height, maxSide, maxOutPixels)
	}
	if f.Fit != CenterCrop && f.Fit != Stretch {
		return ds, check.Settingf(comp, "Fit %d is neither CenterCrop nor Stretch", f.Fit)
	}
	sc, ok := f.Interpolation.scaler()
	if !ok {
		return ds, check.Settingf(comp, "unknown Interpolation %d", f.Interpolation)
	}
	if f.CacheSize < 0 || f.Workers < 0 || f.MaxPixels < 0 {
		return ds, check.Settingf(comp, "CacheSize %d, Workers %d, MaxPixels %d: want values >= 0", f.CacheSize, f.Workers, f.MaxPixels)
	}
	t, err := f.Norm.table(comp, 3)
	if err != nil {
		return ds, err
	}
	maxPix := int64(f.MaxPixels)
	if maxPix == 0 {
		maxPix = DefaultMaxPixels
	}
	if f.Transform != nil {
		if _, ok := f.Transform.(Compose); !ok && check.Nil(f.Transform) {
			return ds, check.Settingf(comp, "Transform is a nil %T", f.Transform)
		}
		return decodeSettings{norm: t, maxPixels: maxPix, tr: f.Transform, seed: f.Seed, epoch: f.Epoch,
			key: cacheKey{maxPixels: maxPix, source: true}}, nil
	}
	return decodeSettings{norm: t, sc: sc, maxPixels: maxPix,
		key: cacheKey{f.Width, f.Height, f.Fit, f.Interpolation, maxPix, false}}, nil
}

func (f *ImageFiles) workers(n int) int {
	w := f.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return max(1, min(w, n))
}

// Batch decodes images idx (or takes them from the cache) and returns
// them, normalised by Norm, as the rows of an N×(3·Height·Width) matrix
// (each row in CHW order), with their labels (see Dataset). The images are
// decoded in parallel; the result does not depend on the number of
// workers. An unreadable image, or one declaring more than MaxPixels
// pixels, gives an error naming its path.
func (f *ImageFiles) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	if err := f.ready("datasets.ImageFiles.Batch"); err != nil {
		return gometric.Matrix{}, nil, err
	}
	return batchOf(f, idx, dst, f.fill)
}

// fill writes images idx as a float32 N×3×Height×Width block normalised
// by Norm into dst (reallocated when too small) and returns it.
func (f *ImageFiles) fill(idx []int, dst []float32) ([]float32, error) {
	const comp = "datasets.ImageFiles.Batch"
	ds, err := f.settings(comp)
	if err != nil {
		return dst, err
	}
	if err := check.Indices(comp, "idx", idx, f.Len()); err != nil {
		return dst, err
	}
	s := 3 * f.Width * f.Height
	hw := f.Width * f.Height
	dst = growF32(dst, len(idx)*s)
	errs := make([]error, len(idx))
	capacity := f.CacheSize
	workers.Each(f.workers(len(idx)), len(idx), func(_, k int) {
		pix, err := f.get(comp, idx[k], &ds, capacity)
		if err != nil {
			errs[k] = err
			return
		}
		out := dst[k*s : (k+1)*s]
		for ch := range 3 {
			ds.norm.apply(ch, pix[ch*hw:(ch+1)*hw], out[ch*hw:(ch+1)*hw])
		}
	})
	if err := firstErr(errs); err != nil {
		return dst, err
	}
	return dst, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// get returns the CHW bytes of image i, from the cache when possible.
func (f *ImageFiles) get(comp string, i int, ds *decodeSettings, capacity int) ([]uint8, error) {
	if ds.tr != nil {
		return f.transformed(comp, i, ds, capacity)
	}
	key := ds.key
	if capacity > 0 {
		f.mu.Lock()
		if f.cache == nil || f.cache.key != key {
			f.cache = newLRU(key)
		}
		pix, ok := f.cache.get(i)
		f.mu.Unlock()
		if ok {
			return pix, nil
		}
	}
	pix, err := f.decode(comp, i, ds)
	if err != nil {
		return nil, err
	}
	if capacity > 0 {
		f.mu.Lock()
		if f.cache != nil && f.cache.key == key {
			f.cache.put(i, pix, nil, capacity)
		}
		f.mu.Unlock()
	}
	return pix, nil
}

// transformed returns the CHW bytes of image i through ds.tr, the decoded
// source image taken from the cache when possible.
func (f *ImageFiles) transformed(comp string, i int, ds *decodeSettings, capacity int) ([]uint8, error) {
	key := ds.key
	var src *image.RGBA
	if capacity > 0 {
		f.mu.Lock()
		if f.cache == nil || f.cache.key != key {
			f.cache = newLRU(key)
		}
		src = f.cache.getImage(i)
		f.mu.Unlock()
	}
	if src == nil {
		img, err := f.decodeSource(comp, i, ds)
		if err != nil {
			return nil, err
		}
		src = toRGBA(img)
		if capacity > 0 {
			f.mu.Lock()
			if f.cache != nil && f.cache.key == key {
				f.cache.put(i, nil, src, capacity)
			}
			f.mu.Unlock()
		}
	}
	out, err := guardTransform(ds.tr, src, SampleRand(ds.seed, ds.epoch, i))
	if err != nil {
		return nil, fmt.Errorf("%s: image %d (%s): %w", comp, i, f.paths[i], err)
	}
	if b := out.Bounds(); b.Dx() != f.Width || b.Dy() != f.Height {
		return nil, check.Errorf(comp, gometric.ErrShape, "image %d (%s): the Transform made a %d×%d image, want Width×Height %d×%d", i, f.paths[i], b.Dx(), b.Dy(), f.Width, f.Height)
	}
	return chwBytes(out), nil
}

// guardTransform applies tr, returning a panic of a Transform written
// outside the package as an error.
func guardTransform(tr Transform, img *image.RGBA, rng *rand.Rand) (out *image.RGBA, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the Transform panicked: %v", r)
		}
	}()
	out, err = tr.Apply(img, rng)
	if err == nil && out == nil {
		err = errors.New("the Transform returned a nil image")
	}
	return out, err
}

// decode reads image i and returns its 3×Height×Width bytes, through
// ds.tr when it is set.
func (f *ImageFiles) decode(comp string, i int, ds *decodeSettings) ([]uint8, error) {
	if ds.tr != nil {
		return f.transformed(comp, i, ds, 0)
	}
	src, err := f.decodeSource(comp, i, ds)
	if err != nil {
		return nil, err
	}
	return resizeCHW(src, f.Width, f.Height, f.Fit, ds.sc)
}

// decodeSource reads image i. It reads the image's size from its header
// first and refuses one larger than ds.maxPixels before decoding
// anything.
func (f *ImageFiles) decodeSource(comp string, i int, ds *decodeSettings) (image.Image, error) {
	p := f.paths[i]
	fail := func(sentinel error, format string, args ...any) error {
		return &FileError{Component: comp, Path: p, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
	}
	decodeErr := func(err error) error {
		if errors.Is(err, image.ErrFormat) {
			return fail(gometric.ErrUnsupported, "image %d: unknown image format", i)
		}
		return fail(gometric.ErrShape, "image %d: decoding: %v", i, err)
	}
	r, err := f.fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: image %d: %w", comp, i, pathErr(err, p))
	}
	defer r.Close()
	// The header is read through head, then read again by the decoder.
	var head bytes.Buffer
	br := bufio.NewReader(io.TeeReader(r, &head))
	var format string
	cfg, err := guard(func() (image.Config, string, error) {
		c, f, err := image.DecodeConfig(br)
		format = f
		return c, f, err
	})
	if err != nil {
		return nil, decodeErr(err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fail(gometric.ErrShape, "image %d: empty %d×%d image", i, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > ds.maxPixels {
		return nil, fail(gometric.ErrShape, "image %d: %d×%d is %d pixels, above the limit MaxPixels = %d (set ImageFiles.MaxPixels to decode larger images)",
			i, cfg.Width, cfg.Height, px, ds.maxPixels)
	}
	br.Reset(io.MultiReader(&head, r))
	if format == "jpeg" {
		// libjpeg-turbo's output, as torchvision's PIL loader.
		src, err := guard(func() (*image.RGBA, string, error) {
			m, err := decodeJPEG(br, ds.maxPixels)
			return m, format, err
		})
		if err != nil {
			return nil, decodeErr(err)
		}
		return src, nil
	}
	src, err := guard(func() (image.Image, string, error) { return image.Decode(br) })
	if err != nil {
		return nil, decodeErr(err)
	}
	return src, nil
}

// guard calls a decoder of the image files (golang.org/x/image's and the
// standard library's), returning a panic of the decoder on a malformed
// file as an error: the files are input, and input must not crash the
// program.
func guard[T any](decode func() (T, string, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the decoder failed: %v", r)
		}
	}()
	v, _, err = decode()
	return v, err
}

// resizeCHW brings src to w×h RGB by fit with sc and returns CHW bytes.
func resizeCHW(src image.Image, w, h int, fit Fit, sc xdraw.Scaler) ([]uint8, error) {
	sr := src.Bounds()
	sw, sh := sr.Dx(), sr.Dy()
	if sw <= 0 || sh <= 0 {
		return nil, fmt.Errorf("datasets: empty %d×%d image: %w", sw, sh, gometric.ErrShape)
	}
	if fit == CenterCrop {
		// The largest centred region with aspect ratio w:h.
		if int64(sw)*int64(h) > int64(sh)*int64(w) {
			cw := max(1, int((int64(sh)*int64(w)+int64(h)/2)/int64(h)))
			x0 := sr.Min.X + (sw-cw)/2
			sr = image.Rect(x0, sr.Min.Y, x0+cw, sr.Max.Y)
		} else {
			ch := max(1, int((int64(sw)*int64(h)+int64(w)/2)/int64(w)))
			y0 := sr.Min.Y + (sh-ch)/2
			sr = image.Rect(sr.Min.X, y0, sr.Max.X, y0+ch)
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	sc.Scale(dst, dst.Bounds(), src, sr, xdraw.Src, nil)
	hw := w * h
	out := make([]uint8, 3*hw)
	for k := range hw {
		out[k] = dst.Pix[4*k]
		out[hw+k] = dst.Pix[4*k+1]
		out[2*hw+k] = dst.Pix[4*k+2]
	}
	return out, nil
}

// Load decodes every image once into an in-memory Images of 3×Height×Width
// images with f's labels, class names and Norm (memory: 3·W·H bytes per
// image). The images keep f's order, so f.LabelsAt gives the higher
// hierarchy levels of the loaded images too. It decodes in parallel, calls Progress, and stops with ctx's
// error when ctx is cancelled.
func (f *ImageFiles) Load(ctx context.Context) (*Images, error) {
	const comp = "datasets.ImageFiles.Load"
	if err := f.ready(comp); err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, check.Settingf(comp, "nil context.Context")
	}
	ds, err := f.settings(comp)
	if err != nil {
		return nil, err
	}
	n := f.Len()
	s := 3 * f.Width * f.Height
	if n > (1<<62)/s {
		return nil, check.Errorf(comp, gometric.ErrShape, "%d images of %d bytes are too many", n, s)
	}
	pix := make([]uint8, n*s)
	errs := make([]error, n)
	var done atomic.Int64
	var pmu sync.Mutex
	workers.Each(f.workers(n), n, func(_, k int) {
		if ctx.Err() != nil {
			return
		}
		p, err := f.decode(comp, k, &ds)
		if err != nil {
			errs[k] = err
			return
		}
		copy(pix[k*s:], p)
		d := done.Add(1)
		if f.Progress != nil {
			pmu.Lock()
			f.Progress(int(d), n)
			pmu.Unlock()
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", comp, err)
	}
	if err := firstErr(errs); err != nil {
		return nil, err
	}
	return &Images{Norm: Normalize{Mean: slices.Clone(f.Norm.Mean), Std: slices.Clone(f.Norm.Std)},
		c: 3, h: f.Height, w: f.Width, pix: pix, labels: slices.Clone(f.labels), classes: f.classes}, nil
}

// cacheKey identifies the settings decoded images depend on.
type cacheKey struct {
	w, h      int
	fit       Fit
	interp    Interpolation
	maxPixels int64
	source    bool // the cache holds decoded source images (with a Transform)
}

// lruCache keeps the most recently used decoded images.
type lruCache struct {
	key cacheKey
	ll  *list.List // front = most recent; values are *lruEntry
	m   map[int]*list.Element
}

type lruEntry struct {
	i   int
	pix []uint8
	img *image.RGBA // a source image, with a Transform
}

func newLRU(key cacheKey) *lruCache {
	return &lruCache{key: key, ll: list.New(), m: map[int]*list.Element{}}
}

func (c *lruCache) get(i int) ([]uint8, bool) {
	e, ok := c.m[i]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*lruEntry).pix, true
}

// getImage returns the cached source image i, or nil.
func (c *lruCache) getImage(i int) *image.RGBA {
	e, ok := c.m[i]
	if !ok {
		return nil
	}
	c.ll.MoveToFront(e)
	return e.Value.(*lruEntry).img
}

func (c *lruCache) put(i int, pix []uint8, img *image.RGBA, capacity int) {
	if e, ok := c.m[i]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.m[i] = c.ll.PushFront(&lruEntry{i: i, pix: pix, img: img})
	for c.ll.Len() > capacity {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.m, e.Value.(*lruEntry).i)
	}
}
