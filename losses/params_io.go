package losses

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/check"
)

// The parameter file format written by SaveParams (all integers
// little-endian):
//
//	offset 0   8 bytes  magic "GMPARAMS"
//	offset 8   uint32   format version (1)
//	offset 12  uint32   number of parameters P
//	then P records, in the order of Params():
//	           uint32   name length L, then L bytes of UTF-8 name
//	           uint32   rows R, uint32 columns C (both >= 1)
//	           R*C      float64 (IEEE 754 bits), row-major
//	then       uint32   CRC-32 (IEEE) of every preceding byte
//
// The file ends with the checksum. PML users save a loss's state_dict
// with torch.save; this format is gometric's own and independent of torch.
const (
	paramsMagic   = "GMPARAMS"
	paramsVersion = 1
)

// SaveParams writes the parameters of l (names, shapes and values) to path
// in the format documented above, atomically: a temporary file
// "."+base+".tmp-*" in the same directory (mode 0644) is written, synced
// and renamed over path, and the directory is synced, so a reader never
// sees a partial file and a crash leaves the old file or the new one.
// SaveParams first removes the temporary files that an interrupted
// SaveParams of the same path left behind, so saves of one path must not
// run concurrently (one may then fail, leaving the other's complete file).
// A nil or empty parameter is an ErrSetting or ErrShape error and a
// non-finite value an ErrNonFinite error; nothing is written then.
func SaveParams(path string, l Learnable) error {
	const name = "losses.SaveParams"
	if l == nil {
		return check.Settingf(name, "loss is nil")
	}
	ps := l.Params()
	for _, p := range ps {
		if p == nil || p.Value == nil {
			return check.Settingf(name, "a parameter of %T is nil", l)
		}
		if err := check.Matrix(name, "parameter "+p.Name, p.Value); err != nil {
			return err
		}
		if r, c := p.Value.Dims(); uint64(len(p.Name)) > math.MaxUint32 || uint64(r) > math.MaxUint32 || uint64(c) > math.MaxUint32 {
			return check.Errorf(name, gometric.ErrShape, "parameter %q (%d×%d, a name of %d bytes) does not fit the format's 32-bit fields", p.Name, r, c, len(p.Name))
		}
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := binio.NewWriter(w)
		bw.String(paramsMagic)
		bw.Uint32(paramsVersion)
		bw.Uint32(uint32(len(ps)))
		for _, p := range ps {
			r, c := p.Value.Dims()
			bw.Uint32(uint32(len(p.Name)))
			bw.String(p.Name)
			bw.Uint32(uint32(r))
			bw.Uint32(uint32(c))
			for i := range r {
				bw.Float64s(p.Value.RawRowView(i))
			}
		}
		return bw.Close()
	})
	if err != nil {
		return fmt.Errorf("%s: %w: %w", name, err, gometric.ErrSetting)
	}
	return nil
}

// LoadParams reads a file written by SaveParams into the parameters of l.
// The file must hold exactly l's parameters, by name in the order of
// Params() and with the same shapes; otherwise, or when the file is
// truncated, corrupt (bad magic, version or checksum, bytes after the
// checksum) or holds a non-finite value, it returns an error naming the
// path and the byte offset and l is left unchanged. Shape and name
// mismatches, truncation and data after the checksum wrap ErrShape, a bad
// magic, version or checksum ErrUnsupported, a non-finite value ErrNonFinite, an unreadable
// file ErrSetting.
//
// The file is read as a stream (a FIFO or a device works): every count and
// length it declares is checked against l's own parameters before it is
// read, so memory never exceeds the size of l's parameters, whatever the
// file holds or claims (/dev/zero fails at once).
func LoadParams(path string, l Learnable) error {
	const name = "losses.LoadParams"
	if l == nil {
		return check.Settingf(name, "loss is nil")
	}
	ps := l.Params()
	for _, p := range ps {
		if p == nil || p.Value == nil {
			return check.Settingf(name, "a parameter of %T is nil", l)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", name, err, gometric.ErrSetting)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return readParams(name, path, f, size, l, ps)
}

// paramsReader reads one parameter file through binio.
type paramsReader struct {
	name, path string
	size       int64 // the file's length, or -1 when unknown
	br         *binio.Reader
}

func (pr *paramsReader) bad(sentinel error, off int64, format string, args ...any) error {
	return check.Errorf(pr.name, sentinel, "%s: byte %d: "+format, append([]any{pr.path, off}, args...)...)
}

// short reports a read error at the current offset: the end of the file
// (truncation) or the reader's own error.
func (pr *paramsReader) short(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return pr.bad(gometric.ErrShape, pr.br.Offset(), "file ends inside %s (truncated)", what)
	}
	return fmt.Errorf("%s: %s: byte %d: reading %s: %w: %w", pr.name, pr.path, pr.br.Offset(), what, err, gometric.ErrSetting)
}

// mismatch reports that the file does not hold l's parameters, unless the
// file turns out to be damaged: when its length is known, the rest is
// hashed (without keeping it) and a checksum mismatch is reported instead.
func (pr *paramsReader) mismatch(off int64, format string, args ...any) error {
	if pr.size >= 0 {
		if rest := pr.size - pr.br.Offset() - binio.ChecksumSize; rest >= 0 {
			if _, err := io.CopyN(io.Discard, pr.br, rest); err == nil {
				if err := pr.br.Verify(); errors.Is(err, binio.ErrChecksum) {
					return pr.bad(gometric.ErrUnsupported, pr.size-binio.ChecksumSize, "%v: the file is corrupt or truncated (at byte %d: %s)",
						err, off, fmt.Sprintf(format, args...))
				}
			}
		}
	}
	return pr.bad(gometric.ErrShape, off, format, args...)
}

func (pr *paramsReader) uint32(what string) (uint32, error) {
	v, err := pr.br.Uint32()
	if err != nil {
		return 0, pr.short(err, what)
	}
	return v, nil
}

// readParams reads a parameter file of size bytes (-1: unknown) from r into
// ps, the parameters of l, changing them only when the whole file is good.
func readParams(name, path string, r io.Reader, size int64, l Learnable, ps []*Param) error {
	pr := &paramsReader{name: name, path: path, size: size, br: binio.NewReader(r)}
	magic, err := pr.br.Bytes(int64(len(paramsMagic)))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return pr.short(err, "the magic")
	}
	if string(magic) != paramsMagic {
		return pr.bad(gometric.ErrUnsupported, 0, "not a gometric parameter file (magic %q missing)", paramsMagic)
	}
	ver, err := pr.uint32("the version")
	if err != nil {
		return err
	}
	if ver != paramsVersion {
		return pr.bad(gometric.ErrUnsupported, 8, "format version %d, want %d", ver, paramsVersion)
	}
	count, err := pr.uint32("the parameter count")
	if err != nil {
		return err
	}
	if int64(count) != int64(len(ps)) {
		return pr.mismatch(12, "%d parameters, %T has %d", count, l, len(ps))
	}
	values := make([][]float64, len(ps))
	badAt, badName, badIndex, badVal := int64(-1), "", 0, 0.0
	for k, p := range ps {
		start := pr.br.Offset()
		n, err := pr.uint32("a name length")
		if err != nil {
			return err
		}
		if int64(n) != int64(len(p.Name)) {
			return pr.mismatch(start, "parameter %d has a name of %d bytes, %T's is %q", k, n, l, p.Name)
		}
		got, err := pr.br.Bytes(int64(n))
		if err != nil {
			return pr.short(err, "a name")
		}
		if string(got) != p.Name {
			return pr.mismatch(start, "parameter %d is %q, %T's is %q", k, got, l, p.Name)
		}
		rr, err := pr.uint32("the row count of " + p.Name)
		if err != nil {
			return err
		}
		cc, err := pr.uint32("the column count of " + p.Name)
		if err != nil {
			return err
		}
		pRows, pCols := p.Value.Dims()
		if int64(rr) != int64(pRows) || int64(cc) != int64(pCols) {
			return pr.mismatch(pr.br.Offset()-8, "parameter %q is %d×%d, %T's is %d×%d", p.Name, rr, cc, l, pRows, pCols)
		}
		at := pr.br.Offset()
		v, err := pr.br.Float64s(make([]float64, pRows*pCols), int64(pRows*pCols))
		if err != nil {
			return pr.short(err, "the values of "+p.Name)
		}
		if i := check.NonFinite(v); i >= 0 && badAt < 0 {
			badAt, badName, badIndex, badVal = at+8*int64(i), p.Name, i, v[i]
		}
		values[k] = v
	}
	crcAt := pr.br.Offset()
	switch err := pr.br.Verify(); {
	case err == nil:
	case errors.Is(err, binio.ErrChecksum):
		return pr.bad(gometric.ErrUnsupported, crcAt, "%v: the file is corrupt or truncated", err)
	case errors.Is(err, binio.ErrTrailing):
		return pr.bad(gometric.ErrShape, crcAt+binio.ChecksumSize, "data after the checksum (the file should end at byte %d)", crcAt+binio.ChecksumSize)
	default:
		return pr.short(err, "the checksum")
	}
	if badAt >= 0 {
		return pr.bad(gometric.ErrNonFinite, badAt, "parameter %q value %d is %v", badName, badIndex, badVal)
	}
	for k, p := range ps {
		_, c := p.Value.Dims()
		for i, v := range values[k] {
			p.Value.Set(i/c, i%c, v)
		}
	}
	return nil
}
