package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/check"
)

// IDX is the content of an IDX file (the format of the MNIST and
// Fashion-MNIST distributions) of unsigned bytes: its dimensions, first
// the number of items, and the data in row-major order.
//
// The zero value has no dimensions, which the IDX format does not allow:
// WriteIDX and NewImagesFromIDX refuse it with an error wrapping
// gometric.ErrShape. An IDX is plain data, safe for concurrent reads.
type IDX struct {
	Dims []int
	Data []uint8
}

// idxUnsignedByte is the IDX type code of unsigned bytes, the only one the
// MNIST family uses.
const idxUnsignedByte = 0x08

// MaxIDXBytes bounds the data an IDX file may declare: 1 GiB, twenty
// times the Fashion-MNIST training images (47 MB) and twice EMNIST's
// largest file. ReadIDX refuses a header declaring more before reading
// any data, and WriteIDX refuses to write what ReadIDX would refuse.
const MaxIDXBytes = 1 << 30

// headerSize is the size of the IDX header: magic number and dimensions.
func (x *IDX) headerSize() int64 { return 4 + 4*int64(len(x.Dims)) }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadIDX reads an IDX file of unsigned bytes from r, gzip-compressed or
// not (it looks for the gzip magic number). Offsets in its errors count
// bytes of the uncompressed data. It returns a *FileError (wrapping
// ErrFormat) for a bad magic number, zero dimensions, dimensions declaring
// more than MaxIDXBytes, an unsupported element type, truncated data,
// trailing bytes or a corrupt gzip stream.
//
// Memory follows the bytes that actually arrive, not the header: the data
// buffer starts at 1 MiB at most and grows as the data is read, so a
// short file that declares a gigabyte fails at its end having allocated
// about its own size.
func ReadIDX(r io.Reader) (*IDX, error) {
	return readIDX("datasets.ReadIDX", r)
}

func readIDX(comp string, r io.Reader) (*IDX, error) {
	if check.Nil(r) {
		return nil, check.Settingf(comp, "nil io.Reader")
	}
	br := bufio.NewReader(r)
	src := io.Reader(br)
	compressed := ""
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &FileError{Component: comp, Offset: 0, Msg: "reading the gzip header: " + err.Error(), Err: gometric.ErrShape}
		}
		zr.Multistream(true)
		src = zr
		compressed = " of the uncompressed data"
	}
	cr := &countingReader{r: src}
	fail := func(off int64, err error, format string, args ...any) *FileError {
		msg := fmt.Sprintf(format, args...) + compressed
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			msg += ": " + err.Error()
		}
		return &FileError{Component: comp, Offset: off, Msg: msg, Err: gometric.ErrShape}
	}

	var magic [4]byte
	if n, err := io.ReadFull(cr, magic[:]); err != nil {
		return nil, fail(int64(n), err, "the file ends after %d bytes, inside the 4-byte magic number", n)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fail(0, nil, "bad magic number % x: an IDX file starts with two zero bytes", magic)
	}
	if magic[2] != idxUnsignedByte {
		return nil, &FileError{Component: comp, Offset: 2, Msg: fmt.Sprintf("element type 0x%02x: only unsigned bytes (0x08) are supported", magic[2]), Err: gometric.ErrUnsupported}
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fail(3, nil, "zero dimensions")
	}
	x := &IDX{Dims: make([]int, nd)}
	var dim [4]byte
	for i := range x.Dims {
		off := cr.n
		if n, err := io.ReadFull(cr, dim[:]); err != nil {
			return nil, fail(off+int64(n), err, "the file ends inside dimension %d of %d", i+1, nd)
		}
		x.Dims[i] = int(binary.BigEndian.Uint32(dim[:]))
	}
	total, ok := idxSize(x.Dims)
	if !ok {
		return nil, fail(4, nil, "dimensions %v declare more than MaxIDXBytes = %d data bytes", x.Dims, int64(MaxIDXBytes))
	}
	start := cr.n
	data, n, err := binio.ReadFull(cr, total)
	if err != nil {
		return nil, fail(start+n, err, "dimensions %v declare %d data bytes but the file ends after %d", x.Dims, total, n)
	}
	var one [1]byte
	if k, err := io.ReadFull(cr, one[:]); k > 0 {
		return nil, fail(start+total, nil, "trailing data after the %d data bytes declared by dimensions %v", total, x.Dims)
	} else if err != nil && !errors.Is(err, io.EOF) {
		return nil, fail(start+total, err, "after the data")
	}
	x.Data = data
	return x, nil
}

// idxSize returns the number of data bytes dims declare, and false when
// a dimension is outside [0, 2^32) or the product exceeds MaxIDXBytes (a
// zero dimension makes any others valid).
func idxSize(dims []int) (int64, bool) {
	for _, d := range dims {
		if d < 0 || int64(d) > math.MaxUint32 {
			return 0, false
		}
	}
	if slices.Contains(dims, 0) {
		return 0, true
	}
	total := int64(1)
	for _, d := range dims {
		if total > MaxIDXBytes/int64(d) {
			return 0, false
		}
		total *= int64(d)
	}
	return total, true
}

// ReadIDXFile reads the IDX file at path (gzip-compressed or not) with
// ReadIDX; errors name the path.
func ReadIDXFile(path string) (*IDX, error) {
	return readIDXFile("datasets.ReadIDXFile", osFS{}, path, path)
}

// osFS opens operating-system paths as they are (absolute or relative),
// without fs.ValidPath's restrictions; the package uses it wherever it
// takes a path rather than an fs.FS.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }

// readIDXFile reads name from fsys, reporting errors under display.
func readIDXFile(comp string, fsys fs.FS, name, display string) (*IDX, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", comp, pathErr(err, display))
	}
	defer f.Close()
	x, err := readIDX(comp, f)
	if err != nil {
		return nil, withPath(err, display)
	}
	return x, nil
}

// pathErr replaces the path of an *fs.PathError with display.
func pathErr(err error, display string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: display, Err: pe.Err}
	}
	return err
}

// WriteIDX writes x to w as an uncompressed IDX file of unsigned bytes;
// wrap w in a gzip.Writer for a .gz file. It checks that Data holds
// exactly the product of Dims bytes.
func WriteIDX(w io.Writer, x *IDX) error {
	const comp = "datasets.WriteIDX"
	if check.Nil(w) {
		return check.Settingf(comp, "nil io.Writer")
	}
	if x == nil || len(x.Dims) == 0 || len(x.Dims) > 255 {
		return fmt.Errorf("%s: want 1 to 255 dimensions: %w", comp, gometric.ErrShape)
	}
	total, ok := idxSize(x.Dims)
	if !ok {
		return fmt.Errorf("%s: dimensions %v: want each in [0, 2^32) and at most MaxIDXBytes = %d data bytes: %w", comp, x.Dims, int64(MaxIDXBytes), gometric.ErrShape)
	}
	if int64(len(x.Data)) != total {
		return fmt.Errorf("%s: %d data bytes for dimensions %v (%d): %w", comp, len(x.Data), x.Dims, total, gometric.ErrShape)
	}
	hdr := make([]byte, 4+4*len(x.Dims))
	hdr[2] = idxUnsignedByte
	hdr[3] = byte(len(x.Dims))
	for i, d := range x.Dims {
		binary.BigEndian.PutUint32(hdr[4+4*i:], uint32(d))
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("%s: %w", comp, err)
	}
	if _, err := w.Write(x.Data); err != nil {
		return fmt.Errorf("%s: %w", comp, err)
	}
	return nil
}

// NewImagesFromIDX pairs an IDX file of N×H×W images with an IDX file of
// N labels (as MNIST and Fashion-MNIST ship them) into one-channel Images.
// classes, when not nil, names the classes; every label must then be below
// len(classes). Errors are *FileErrors: the image file must have three
// dimensions, the label file one, with the same N, and a label out of
// range is reported at its byte offset in the label file.
func NewImagesFromIDX(images, labels *IDX, classes []string) (*Images, error) {
	return imagesFromIDX("datasets.NewImagesFromIDX", images, labels, "", "", classes)
}

func imagesFromIDX(comp string, images, labels *IDX, imagesPath, labelsPath string, classes []string) (*Images, error) {
	if images == nil || labels == nil {
		return nil, fmt.Errorf("%s: nil IDX: %w", comp, gometric.ErrShape)
	}
	if len(images.Dims) != 3 {
		return nil, &FileError{Component: comp, Path: imagesPath, Offset: 3, Msg: fmt.Sprintf("images have dimensions %v, want 3 (N, H, W)", images.Dims), Err: gometric.ErrShape}
	}
	if len(labels.Dims) != 1 {
		return nil, &FileError{Component: comp, Path: labelsPath, Offset: 3, Msg: fmt.Sprintf("labels have dimensions %v, want 1 (N)", labels.Dims), Err: gometric.ErrShape}
	}
	for _, x := range []struct {
		idx  *IDX
		path string
	}{{images, imagesPath}, {labels, labelsPath}} {
		size, ok := idxSize(x.idx.Dims)
		if !ok {
			return nil, &FileError{Component: comp, Path: x.path, Offset: 4, Msg: fmt.Sprintf("dimensions %v: want each in [0, 2^32) and at most MaxIDXBytes = %d data bytes", x.idx.Dims, int64(MaxIDXBytes)), Err: gometric.ErrShape}
		}
		if int64(len(x.idx.Data)) != size {
			return nil, &FileError{Component: comp, Path: x.path, Offset: -1, Msg: fmt.Sprintf("%d data bytes for dimensions %v (%d)", len(x.idx.Data), x.idx.Dims, size), Err: gometric.ErrShape}
		}
	}
	n, h, w := images.Dims[0], images.Dims[1], images.Dims[2]
	if n != labels.Dims[0] {
		return nil, &FileError{Component: comp, Path: labelsPath, Offset: 4, Msg: fmt.Sprintf("%d labels for %d images (%s)", labels.Dims[0], n, imagesPath), Err: gometric.ErrShape}
	}
	if n == 0 || h == 0 || w == 0 {
		return nil, &FileError{Component: comp, Path: imagesPath, Offset: 4, Msg: fmt.Sprintf("empty images %v", images.Dims), Err: gometric.ErrShape}
	}
	lab := make([]int, n)
	hs := labels.headerSize()
	for i, v := range labels.Data {
		if classes != nil && int(v) >= len(classes) {
			return nil, &FileError{Component: comp, Path: labelsPath, Offset: hs + int64(i), Msg: fmt.Sprintf("label %d of image %d is outside [0, %d)", v, i, len(classes)), Err: gometric.ErrLabels}
		}
		lab[i] = int(v)
	}
	return &Images{c: 1, h: h, w: w, pix: images.Data, labels: lab, classes: classes}, nil
}

// LoadIDX reads a pair of IDX files — N×H×W images and N labels,
// gzip-compressed or not — into one-channel Images (see NewImagesFromIDX).
// Errors name the file and the byte offset.
func LoadIDX(imagesPath, labelsPath string, classes []string) (*Images, error) {
	return loadIDX("datasets.LoadIDX", osFS{}, imagesPath, labelsPath, imagesPath, labelsPath, classes)
}

func loadIDX(comp string, fsys fs.FS, imagesName, labelsName, imagesDisplay, labelsDisplay string, classes []string) (*Images, error) {
	imgs, err := readIDXFile(comp, fsys, imagesName, imagesDisplay)
	if err != nil {
		return nil, err
	}
	labs, err := readIDXFile(comp, fsys, labelsName, labelsDisplay)
	if err != nil {
		return nil, err
	}
	return imagesFromIDX(comp, imgs, labs, imagesDisplay, labelsDisplay, classes)
}
