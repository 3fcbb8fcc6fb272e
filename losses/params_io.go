package losses

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
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
// PML users save a loss's state_dict with torch.save; this format is
// gometric's own and independent of torch.
const (
	paramsMagic   = "GMPARAMS"
	paramsVersion = 1
)

// SaveParams writes the parameters of l (names, shapes and values) to path
// in the format documented above. The file is written to a temporary file
// in the same directory and renamed over path, so a reader never sees a
// partial file. A non-finite value is an ErrNonFinite error and nothing is
// written.
func SaveParams(path string, l Learnable) error {
	const name = "losses.SaveParams"
	if l == nil {
		return check.Settingf(name, "loss is nil")
	}
	ps := l.Params()
	buf := []byte(paramsMagic)
	buf = binary.LittleEndian.AppendUint32(buf, paramsVersion)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(ps)))
	for _, p := range ps {
		if p == nil || p.Value == nil {
			return check.Settingf(name, "a parameter of %T is nil", l)
		}
		if err := check.Matrix(name, "parameter "+p.Name, p.Value); err != nil {
			return err
		}
		r, c := p.Value.Dims()
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p.Name)))
		buf = append(buf, p.Name...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(r))
		buf = binary.LittleEndian.AppendUint32(buf, uint32(c))
		for i := range r {
			for _, v := range p.Value.RawRowView(i) {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
			}
		}
	}
	buf = binary.LittleEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))

	if err := atomicfile.WriteFile(path, buf); err != nil {
		return check.Errorf(name, gometric.ErrSetting, "%s: %v", path, err)
	}
	return nil
}

// LoadParams reads a file written by SaveParams into the parameters of l.
// The file must hold exactly l's parameters, by name in the order of
// Params() and with the same shapes; otherwise, or when the file is
// truncated, corrupt (bad magic, version or checksum) or holds a
// non-finite value, it returns an error naming the path and the byte offset
// and l is left unchanged. Shape and name mismatches and truncation wrap
// ErrShape, a bad magic, version or checksum ErrUnsupported, a non-finite
// value ErrNonFinite, an unreadable file ErrSetting.
func LoadParams(path string, l Learnable) error {
	const name = "losses.LoadParams"
	if l == nil {
		return check.Settingf(name, "loss is nil")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return check.Errorf(name, gometric.ErrSetting, "%s: %v", path, err)
	}
	bad := func(sentinel error, off int, format string, args ...any) error {
		return check.Errorf(name, sentinel, "%s: byte %d: "+format, append([]any{path, off}, args...)...)
	}
	off := 0
	u32 := func(what string) (uint32, error) {
		if len(data)-off < 4 {
			return 0, bad(gometric.ErrShape, off, "file ends inside %s", what)
		}
		v := binary.LittleEndian.Uint32(data[off:])
		off += 4
		return v, nil
	}
	if len(data) < len(paramsMagic)+12 || string(data[:len(paramsMagic)]) != paramsMagic {
		if len(data) < len(paramsMagic) || string(data[:len(paramsMagic)]) != paramsMagic {
			return bad(gometric.ErrUnsupported, 0, "not a gometric parameter file (magic %q missing)", paramsMagic)
		}
		return bad(gometric.ErrShape, len(data), "file too short (%d bytes)", len(data))
	}
	body := len(data) - 4
	if got, want := binary.LittleEndian.Uint32(data[body:]), crc32.ChecksumIEEE(data[:body]); got != want {
		return bad(gometric.ErrUnsupported, body, "checksum %08x, want %08x: the file is corrupt or truncated", got, want)
	}
	data = data[:body]
	off = len(paramsMagic)
	ver, _ := u32("the version")
	if ver != paramsVersion {
		return bad(gometric.ErrUnsupported, off-4, "format version %d, want %d", ver, paramsVersion)
	}
	ps := l.Params()
	count, err := u32("the parameter count")
	if err != nil {
		return err
	}
	if int(count) != len(ps) {
		return bad(gometric.ErrShape, off-4, "%d parameters, %T has %d", count, l, len(ps))
	}
	values := make([][]float64, len(ps))
	for k, p := range ps {
		start := off
		n, err := u32("a name length")
		if err != nil {
			return err
		}
		if uint64(len(data)-off) < uint64(n) {
			return bad(gometric.ErrShape, off, "file ends inside a name of %d bytes", n)
		}
		got := string(data[off : off+int(n)])
		off += int(n)
		if got != p.Name {
			return bad(gometric.ErrShape, start, "parameter %d is %q, %T's is %q", k, got, l, p.Name)
		}
		rr, err := u32("the row count of " + got)
		if err != nil {
			return err
		}
		cc, err := u32("the column count of " + got)
		if err != nil {
			return err
		}
		pr, pc := p.Value.Dims()
		if int64(rr) != int64(pr) || int64(cc) != int64(pc) {
			return bad(gometric.ErrShape, off-8, "parameter %q is %d×%d, %T's is %d×%d", got, rr, cc, l, pr, pc)
		}
		size := pr * pc
		if (len(data)-off)/8 < size {
			return bad(gometric.ErrShape, off, "file ends inside the values of %q", got)
		}
		v := make([]float64, size)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[off:]))
			if math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
				return bad(gometric.ErrNonFinite, off, "parameter %q value %d is %v", got, i, v[i])
			}
			off += 8
		}
		values[k] = v
	}
	if off != len(data) {
		return bad(gometric.ErrShape, off, "%d unexpected bytes after the last parameter", len(data)-off)
	}
	for k, p := range ps {
		_, c := p.Value.Dims()
		for i := range values[k] {
			p.Value.Set(i/c, i%c, values[k][i])
		}
	}
	return nil
}
