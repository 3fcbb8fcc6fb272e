package models

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"path"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// ReadPTH reads a torch state_dict that torch.save wrote (a .pth or .pt
// file of size bytes read through r, size being what r holds): the zip
// format of torch ≥ 1.6 and the legacy format (torch < 1.6, or
// torch.save(..., _use_new_zipfile_serialization=False)); the tar format
// of torch < 0.4 is not read. The saved object must be a dict or OrderedDict of
// tensors by name, as Module.state_dict() returns (nn.Parameters are read
// as their tensors); a training checkpoint that nests it ({"epoch": ...,
// "state_dict": ...}) is refused with an error naming the first value that
// is not a tensor.
//
// The pickle is read by a restricted unpickler: only the globals torch.save
// writes for tensors (torch._utils._rebuild_tensor_v2, _rebuild_parameter,
// torch.FloatStorage and the other storage classes, collections.OrderedDict)
// are accepted, any other global is refused with an error naming it
// (ErrUnsupported), and nothing is ever executed. Tensors that are views
// into a shared storage (t[1:], t.t(), tied weights) are read through their
// storage offset and strides, each as a new contiguous row-major tensor.
// float32, float16, bfloat16 and float64 tensors are read into Data
// (float16 and bfloat16 exactly, float64 rounded to the nearest float32; a
// finite float64 beyond float32's range is refused, ErrNonFinite; NaN and
// ±Inf are kept as the values they are), int64, int32, int16, int8, uint8,
// uint16, uint32, uint64 (when within int64) and bool tensors into Ints; complex and quantized tensors are refused
// (ErrUnsupported) naming the tensor and its dtype. Zip records must be
// stored uncompressed, as torch writes them, and match their CRC-32.
//
// Every size the file declares is checked against size before anything is
// allocated: the pickle's strings against the bytes left, each storage
// against its record (zip) or the rest of the file (legacy), each tensor
// against its storage, and all the tensors together may hold at most
// 2 × size + 4096 values (a file that names one storage under many names
// is refused). Malformed input of any kind is an error wrapping
// ErrStateDictFile and gometric.ErrShape, never a panic. Values are
// values: NaN and ±Inf are returned as they are; a caller that needs
// finite weights checks them. Calls may run
// concurrently (on readers that allow concurrent ReadAt, as *os.File and
// *bytes.Reader do).
func ReadPTH(r io.ReaderAt, size int64) (StateDict, error) {
	return readPTH("models.ReadPTH", "", r, size)
}

// pthReader holds what one ReadPTH call reads.
type pthReader struct {
	c, where string
	r        io.ReaderAt
	size     int64
	storages map[string]*pyStorage
	crcBuf   []byte
}

func (p *pthReader) errorf(sentinel error, format string, args ...any) error {
	return stateDictErrorf(p.c, p.where, sentinel, format, args...)
}

func readPTH(c, where string, r io.ReaderAt, size int64) (StateDict, error) {
	p := &pthReader{c: c, where: where, r: r, size: size, storages: map[string]*pyStorage{}}
	if check.Nil(r) {
		return nil, fmt.Errorf("%s: nil reader: %w", c, gometric.ErrSetting)
	}
	if size < 0 {
		return nil, fmt.Errorf("%s: negative size %d: %w", c, size, gometric.ErrSetting)
	}
	var head [4]byte
	n, _ := r.ReadAt(head[:min(size, 4)], 0)
	var (
		obj any
		err error
	)
	switch {
	case n == 4 && string(head[:]) == "PK\x03\x04":
		obj, err = p.readZip()
	case n >= 2 && head[0] == 0x80:
		obj, err = p.readLegacy()
	default:
		return nil, p.errorf(gometric.ErrUnsupported, "not a torch.save file: it starts with % x, neither a zip archive nor a pickle", head[:n])
	}
	if err != nil {
		return nil, err
	}
	return p.stateDict(obj)
}

// unpickle reads the pickle of n bytes at off; it returns the value and
// the bytes the pickle took.
func (p *pthReader) unpickle(what string, off, n int64, persistent func(any) (any, error)) (any, int64, error) {
	u := newUnpickler(io.NewSectionReader(p.r, off, n), n)
	u.persistentLoad = persistent
	v, err := u.load()
	if err != nil {
		sentinel := gometric.ErrShape
		var refusal pickleRefusal
		if errors.As(err, &refusal) {
			sentinel = gometric.ErrUnsupported
		}
		return nil, 0, p.errorf(sentinel, "%s: %v", what, err)
	}
	return v, n - u.left, nil
}

// storage is the persistent-load hook: ('storage', class, key, location,
// numel[, view_metadata]).
func (p *pthReader) storage(legacy bool) func(any) (any, error) {
	return func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) == 0 {
			return nil, fmt.Errorf("persistent id is a %s, not a tuple", pyTypeName(pid))
		}
		if kind, _ := t[0].(string); kind != "storage" {
			return nil, pickleRefusal(fmt.Sprintf("persistent id of kind %s (only storages are read)", pyRepr(t[0])))
		}
		if len(t) < 5 {
			return nil, fmt.Errorf("storage persistent id of %d fields", len(t))
		}
		cls, ok1 := t[1].(*pyGlobal)
		key, ok2 := t[2].(string)
		numel, ok3 := t[4].(int64)
		if !ok1 || cls.module != "torch" || storageDTypes[cls.name] == "" || !ok2 || !ok3 {
			return nil, fmt.Errorf("storage persistent id (%s, %s, %s, ..., %s)", pyTypeName(t[0]), pyTypeName(t[1]), pyTypeName(t[2]), pyTypeName(t[4]))
		}
		if numel < 0 {
			return nil, fmt.Errorf("storage %q of %d elements", key, numel)
		}
		if legacy && len(t) > 5 && t[5] != nil {
			return nil, pickleRefusal(fmt.Sprintf("storage %q is a view of another storage (the format of torch < 0.4), not supported", key))
		}
		dt := storageDTypes[cls.name]
		if s, ok := p.storages[key]; ok {
			if s.dtype != dt || s.numel != numel {
				return nil, fmt.Errorf("storage %q declared as %d×%s and as %d×%s", key, s.numel, s.dtype, numel, dt)
			}
			return s, nil
		}
		s := &pyStorage{key: key, dtype: dt, numel: numel}
		p.storages[key] = s
		return s, nil
	}
}

// recordSection returns where the bytes of a stored zip record are.
func (p *pthReader) recordSection(f *zip.File) (off, n int64, err error) {
	if f.Method != zip.Store {
		return 0, 0, p.errorf(gometric.ErrUnsupported, "zip record %q is compressed (method %d); torch stores records uncompressed", f.Name, f.Method)
	}
	if f.CompressedSize64 != f.UncompressedSize64 || f.CompressedSize64 > uint64(p.size) {
		return 0, 0, p.errorf(gometric.ErrShape, "zip record %q declares %d bytes (%d uncompressed) in a file of %d", f.Name, f.CompressedSize64, f.UncompressedSize64, p.size)
	}
	off, err = f.DataOffset()
	if err != nil {
		return 0, 0, p.errorf(gometric.ErrShape, "zip record %q: %v", f.Name, err)
	}
	n = int64(f.CompressedSize64)
	if off < 0 || off > p.size || n > p.size-off {
		return 0, 0, p.errorf(gometric.ErrShape, "zip record %q: %d bytes at %d beyond the file's %d", f.Name, n, off, p.size)
	}
	// The record's CRC-32, as torch's reader checks it.
	h := crc32.NewIEEE()
	if p.crcBuf == nil {
		p.crcBuf = make([]byte, min(p.size, decodeChunk))
	}
	if _, err := io.CopyBuffer(h, io.NewSectionReader(p.r, off, n), p.crcBuf); err != nil {
		return 0, 0, p.errorf(gometric.ErrShape, "zip record %q: %v", f.Name, err)
	}
	if h.Sum32() != f.CRC32 {
		return 0, 0, p.errorf(gometric.ErrShape, "zip record %q: CRC-32 %08x, the archive records %08x (a damaged file)", f.Name, h.Sum32(), f.CRC32)
	}
	return off, n, nil
}

// maxPickle bounds the pickle of a zip file (data.pkl); state dicts of
// the largest vision models take a few MiB.
const maxPickle = 256 << 20

func (p *pthReader) readZip() (any, error) {
	zr, err := zip.NewReader(p.r, p.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, p.errorf(gometric.ErrShape, "zip archive: %v", err)
	}
	records := make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, f := range zr.File {
		if _, dup := records[f.Name]; dup {
			return nil, p.errorf(gometric.ErrShape, "zip record %q twice", f.Name)
		}
		records[f.Name] = f
		switch base := path.Base(f.Name); {
		case base == "constants.pkl":
			return nil, p.errorf(gometric.ErrUnsupported, "a TorchScript archive (torch.jit.save), not a torch.save file")
		case base == "data.pkl" && strings.Count(f.Name, "/") == 1:
			if pkl != nil {
				return nil, p.errorf(gometric.ErrShape, "two data.pkl records (%q and %q)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, p.errorf(gometric.ErrShape, "zip archive without a <dir>/data.pkl record: not a torch.save file")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo := records[prefix+"byteorder"]; bo != nil {
		off, n, err := p.recordSection(bo)
		if err != nil {
			return nil, err
		}
		b := make([]byte, min(n, 16))
		if _, err := p.r.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return nil, p.errorf(gometric.ErrShape, "byteorder record: %v", err)
		}
		if string(b) != "little" {
			return nil, p.errorf(gometric.ErrUnsupported, "byte order %q (only little-endian files are read)", b)
		}
	}
	off, n, err := p.recordSection(pkl)
	if err != nil {
		return nil, err
	}
	if n > maxPickle {
		return nil, p.errorf(gometric.ErrShape, "data.pkl of %d bytes beyond the limit %d", n, int64(maxPickle))
	}
	obj, _, err := p.unpickle("data.pkl", off, n, p.storage(false))
	if err != nil {
		return nil, err
	}
	for key, s := range p.storages {
		f := records[prefix+"data/"+key]
		if f == nil {
			return nil, p.errorf(gometric.ErrShape, "storage %q: no record %q", key, prefix+"data/"+key)
		}
		off, n, err := p.recordSection(f)
		if err != nil {
			return nil, err
		}
		if s.numel > n/s.dtype.elemSizeOr1() {
			return nil, p.errorf(gometric.ErrShape, "storage %q of %d %s elements, but its record holds %d bytes", key, s.numel, s.dtype, n)
		}
		s.off, s.known = off, true
	}
	return obj, nil
}

// elemSizeOr1 is elemSize, or 1 for a dtype that is not read (whose
// tensors are refused later, naming them).
func (d stDType) elemSizeOr1() int64 { return max(d.elemSize(), 1) }

// legacyMagic is torch's legacy magic number 0x1950a86a20f9469cfc6c as
// LONG1's little-endian bytes.
var legacyMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

func (p *pthReader) readLegacy() (any, error) {
	pos := int64(0)
	next := func(what string, persistent func(any) (any, error)) (any, error) {
		v, n, err := p.unpickle(what, pos, p.size-pos, persistent)
		pos += n
		return v, err
	}
	magic, err := next("magic number", nil)
	if err != nil {
		return nil, err
	}
	if b, ok := magic.(*pyBigInt); !ok || !bytes.Equal(b.le, legacyMagic) {
		return nil, p.errorf(gometric.ErrUnsupported, "a pickle without torch's magic number: not a torch.save file")
	}
	version, err := next("protocol version", nil)
	if err != nil {
		return nil, err
	}
	if v, ok := version.(int64); !ok || v != 1001 {
		return nil, p.errorf(gometric.ErrUnsupported, "legacy protocol version %v (only 1001 is read)", version)
	}
	info, err := next("sys info", nil)
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le != true {
			return nil, p.errorf(gometric.ErrUnsupported, "saved on a big-endian machine (only little-endian files are read)")
		}
	}
	obj, err := next("state dict", p.storage(true))
	if err != nil {
		return nil, err
	}
	keysObj, err := next("storage keys", nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysObj.(*pyList)
	if !ok {
		return nil, p.errorf(gometric.ErrShape, "storage keys are a %s, not a list", pyTypeName(keysObj))
	}
	for i, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, p.errorf(gometric.ErrShape, "storage key %d is a %s", i, pyTypeName(k))
		}
		s := p.storages[key]
		if s == nil {
			return nil, p.errorf(gometric.ErrShape, "storage key %q is not used by the pickle", key)
		}
		if s.known {
			return nil, p.errorf(gometric.ErrShape, "storage key %q twice", key)
		}
		if p.size-pos < 8 {
			return nil, p.errorf(gometric.ErrShape, "storage %q: truncated at byte %d of %d", key, pos, p.size)
		}
		var b [8]byte
		if _, err := p.r.ReadAt(b[:], pos); err != nil {
			return nil, p.errorf(gometric.ErrShape, "storage %q: %v", key, err)
		}
		numel := int64(0)
		for j := 7; j >= 0; j-- {
			numel = numel<<8 | int64(b[j])
		}
		es := s.dtype.elemSizeOr1()
		if numel != s.numel {
			return nil, p.errorf(gometric.ErrShape, "storage %q holds %d elements, the pickle declares %d", key, numel, s.numel)
		}
		if numel < 0 || numel > (p.size-pos-8)/es {
			return nil, p.errorf(gometric.ErrShape, "storage %q of %d %s elements at byte %d beyond the file's %d bytes", key, numel, s.dtype, pos+8, p.size)
		}
		s.off, s.known = pos+8, true
		pos += 8 + numel*es
	}
	for key, s := range p.storages {
		if !s.known {
			return nil, p.errorf(gometric.ErrShape, "storage %q is missing from the file", key)
		}
	}
	return obj, nil
}

// stateDict converts the unpickled object to a StateDict.
func (p *pthReader) stateDict(obj any) (StateDict, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, p.errorf(gometric.ErrUnsupported, "the saved object is a %s, not a state dict (a dict of tensors)", pyTypeName(obj))
	}
	budget := 2*min(p.size, math.MaxInt64/4) + 4096
	sd := make(StateDict, len(d.keys))
	var buf []byte
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, p.errorf(gometric.ErrUnsupported, "key %s is a %s, not a tensor name", pyRepr(k), pyTypeName(k))
		}
		t, ok := d.vals[i].(*pyTensor)
		if !ok {
			return nil, p.errorf(gometric.ErrUnsupported, "value of %q is a %s, not a tensor (save model.state_dict() itself, not a checkpoint that holds it)", name, pyTypeName(d.vals[i]))
		}
		st, err := p.tensor(name, t, &budget, &buf)
		if err != nil {
			return nil, err
		}
		sd[name] = st
	}
	return sd, nil
}

// tensor reads one tensor: a strided view into its storage.
func (p *pthReader) tensor(name string, t *pyTensor, budget *int64, buf *[]byte) (StateTensor, error) {
	s := t.storage
	what := fmt.Sprintf("tensor %q", name)
	if p.where != "" {
		what = p.where + ": " + what
	}
	fail := func(sentinel error, format string, args ...any) (StateTensor, error) {
		return StateTensor{}, stateDictErrorf(p.c, what, sentinel, format, args...)
	}
	es := s.dtype.elemSize()
	if es == 0 {
		return fail(gometric.ErrUnsupported, "dtype %s is not read (float32/16/64, bfloat16 and integer tensors are)", s.dtype)
	}
	if len(t.stride) != len(t.size) {
		return fail(gometric.ErrShape, "size %v with strides %v", t.size, t.stride)
	}
	if t.offset < 0 || t.offset > s.numel {
		return fail(gometric.ErrShape, "storage offset %d outside its storage of %d elements", t.offset, s.numel)
	}
	numel := int64(1)
	for k, n := range t.size {
		if n < 0 || t.stride[k] < 0 {
			return fail(gometric.ErrShape, "size %v, strides %v", t.size, t.stride)
		}
		if n == 0 {
			numel = 0
		}
	}
	last := t.offset // the last element's index in the storage
	for k, n := range t.size {
		if numel == 0 {
			break
		}
		if n > *budget/numel {
			return fail(gometric.ErrShape, "size %v: more values than the file can hold (limit %d left)", t.size, *budget)
		}
		numel *= n
		if t.stride[k] > 0 && n-1 > (s.numel-last)/t.stride[k] {
			return fail(gometric.ErrShape, "size %v with strides %v at offset %d reaches beyond its storage of %d elements", t.size, t.stride, t.offset, s.numel)
		}
		last += (n - 1) * t.stride[k]
	}
	if numel > *budget {
		return fail(gometric.ErrShape, "size %v: more values than the file can hold (limit %d left)", t.size, *budget)
	}
	*budget -= numel
	shape := make([]int, len(t.size))
	for k, n := range t.size {
		shape[k] = int(n)
	}
	out := StateTensor{Shape: shape}
	if numel == 0 {
		if s.dtype.isFloat() {
			out.Data = []float32{}
		} else {
			out.Ints = []int64{}
		}
		return out, nil
	}
	if last >= s.numel {
		return fail(gometric.ErrShape, "size %v with strides %v at offset %d reaches beyond its storage of %d elements", t.size, t.stride, t.offset, s.numel)
	}
	span := last - t.offset + 1
	src := io.NewSectionReader(p.r, s.off+t.offset*es, span*es)
	data, ints, err := readElements(src, s.dtype, span, buf)
	if err != nil {
		return StateTensor{}, fmt.Errorf("%s: %s: %w: %w", p.c, what, err, ErrStateDictFile)
	}
	if span == numel && contiguous(t.size, t.stride) {
		out.Data, out.Ints = data, ints
		return out, nil
	}
	if data != nil {
		out.Data = gather(data, t.size, t.stride, numel)
	} else {
		out.Ints = gather(ints, t.size, t.stride, numel)
	}
	return out, nil
}

// contiguous reports row-major strides (dimensions of size 1 aside).
func contiguous(size, stride []int64) bool {
	want := int64(1)
	for k := len(size) - 1; k >= 0; k-- {
		if size[k] != 1 && stride[k] != want {
			return false
		}
		want *= size[k]
	}
	return true
}

// gather copies the strided view of src (element 0 at src[0]) into a new
// row-major slice of numel elements.
func gather[T any](src []T, size, stride []int64, numel int64) []T {
	out := make([]T, numel)
	idx := make([]int64, len(size))
	pos := int64(0)
	for i := range out {
		out[i] = src[pos]
		for k := len(size) - 1; k >= 0; k-- {
			idx[k]++
			pos += stride[k]
			if idx[k] < size[k] {
				break
			}
			pos -= idx[k] * stride[k]
			idx[k] = 0
		}
	}
	return out
}
