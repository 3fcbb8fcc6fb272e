package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/check"
)

// maxSafetensorsHeader bounds a safetensors header, as the reference
// implementation does (100 MB).
const maxSafetensorsHeader = 100_000_000

// safetensorsDTypes are the dtypes ReadSafetensors reads.
var safetensorsDTypes = map[stDType]bool{
	"F64": true, "F32": true, "F16": true, "BF16": true,
	"I64": true, "I32": true, "I16": true, "I8": true,
	"U64": true, "U32": true, "U16": true, "U8": true, "BOOL": true,
}

// ReadSafetensors reads a state dict from a safetensors file of size bytes
// read through r (Hugging Face's format: an 8-byte little-endian header
// length, a JSON header {name: {"dtype", "shape", "data_offsets"}} with
// an optional "__metadata__" of strings, which is ignored, then the
// tensors' bytes, little-endian, row-major). F32, F16, BF16 and F64
// tensors are read into Data (F16 and BF16 exactly, F64 rounded to the
// nearest float32; a finite F64 value beyond float32's range is refused,
// ErrNonFinite; NaN and ±Inf are kept), I64, I32, I16, I8, U8, U16, U32,
// U64 (when within int64) and BOOL tensors into Ints; other dtypes (F8_*,
// complex) are refused naming the tensor and dtype (ErrUnsupported).
//
// The file is checked before any tensor is allocated: the header length
// (at most 100 MB and within the file), the JSON (a repeated name is
// refused), each dtype and shape, and the data offsets, which must tile
// the data section exactly — starting at 0, without gaps or overlaps,
// ending at the file's end — each span holding exactly its shape × dtype
// bytes. So the tensors together never hold more values than the file has
// bytes. Every error wraps ErrStateDictFile and a gometric sentinel and
// names the tensor; no input panics. size must be what r holds. Calls may
// run concurrently (on readers that allow concurrent ReadAt).
func ReadSafetensors(r io.ReaderAt, size int64) (StateDict, error) {
	return readSafetensors("models.ReadSafetensors", "", r, size)
}

// stInfo is one tensor of a safetensors header.
type stInfo struct {
	name  string
	dtype stDType
	shape []int64
	start int64
	end   int64
}

func readSafetensors(c, where string, r io.ReaderAt, size int64) (StateDict, error) {
	if check.Nil(r) {
		return nil, fmt.Errorf("%s: nil reader: %w", c, gometric.ErrSetting)
	}
	if size < 0 {
		return nil, fmt.Errorf("%s: negative size %d: %w", c, size, gometric.ErrSetting)
	}
	fail := func(sentinel error, format string, args ...any) (StateDict, error) {
		return nil, stateDictErrorf(c, where, sentinel, format, args...)
	}
	if size < 8 {
		return fail(gometric.ErrShape, "%d bytes: shorter than the 8-byte header length", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return fail(gometric.ErrShape, "header length: %v", unexpected(err))
	}
	n := binary.LittleEndian.Uint64(lb[:])
	if n > maxSafetensorsHeader || n > uint64(size-8) {
		return fail(gometric.ErrShape, "header length %d beyond the file's %d bytes or the limit %d", n, size, maxSafetensorsHeader)
	}
	head, _, err := binio.ReadFull(io.NewSectionReader(r, 8, int64(n)), int64(n))
	if err != nil {
		return fail(gometric.ErrShape, "header: %v", err)
	}
	if !utf8.Valid(head) {
		return fail(gometric.ErrShape, "header is not valid UTF-8")
	}
	infos, err := parseSafetensorsHeader(head)
	if err != nil {
		return fail(gometric.ErrShape, "header: %v", err)
	}
	base := 8 + int64(n)
	dataLen := size - base
	// Every dtype and shape is valid and the offsets tile [0, dataLen).
	for i := range infos {
		in := &infos[i]
		es := in.dtype.elemSize()
		if !safetensorsDTypes[in.dtype] {
			return fail(gometric.ErrUnsupported, "tensor %q: dtype %s is not read (F32, F16, BF16, F64 and integer tensors are)", in.name, in.dtype)
		}
		if in.start < 0 || in.end < in.start || in.end > dataLen {
			return fail(gometric.ErrShape, "tensor %q: data_offsets [%d, %d] outside the %d data bytes", in.name, in.start, in.end, dataLen)
		}
		numel := int64(1)
		for _, d := range in.shape {
			if d < 0 {
				return fail(gometric.ErrShape, "tensor %q: shape %v", in.name, in.shape)
			}
			if d != 0 && numel > (in.end-in.start)/es/d {
				numel = -1 // more elements than the span holds
				break
			}
			numel *= d
		}
		if slices.Contains(in.shape, 0) {
			numel = 0
		}
		if numel < 0 || numel*es != in.end-in.start {
			return fail(gometric.ErrShape, "tensor %q: shape %v of %s needs %s bytes, data_offsets [%d, %d] hold %d", in.name, in.shape, in.dtype, bytesNeeded(in.shape, es), in.start, in.end, in.end-in.start)
		}
	}
	sorted := slices.Clone(infos)
	slices.SortStableFunc(sorted, func(a, b stInfo) int {
		if a.start != b.start {
			return int(sign(a.start - b.start))
		}
		return int(sign(a.end - b.end))
	})
	at := int64(0)
	for _, in := range sorted {
		if in.start != at {
			if in.start < at {
				return fail(gometric.ErrShape, "tensor %q: data_offsets [%d, %d] overlap the tensor before (which ends at %d)", in.name, in.start, in.end, at)
			}
			return fail(gometric.ErrShape, "tensor %q: data_offsets [%d, %d] leave a gap after byte %d", in.name, in.start, in.end, at)
		}
		at = in.end
	}
	if at != dataLen {
		return fail(gometric.ErrShape, "the tensors end at data byte %d, the file at %d", at, dataLen)
	}
	sd := make(StateDict, len(infos))
	var buf []byte
	for _, in := range infos {
		shape := make([]int, len(in.shape))
		numel := int64(1)
		for k, d := range in.shape {
			shape[k] = int(d)
			numel *= d
		}
		src := io.NewSectionReader(r, base+in.start, in.end-in.start)
		data, ints, err := readElements(src, in.dtype, numel, &buf)
		if err != nil {
			what := fmt.Sprintf("tensor %q", in.name)
			if where != "" {
				what = where + ": " + what
			}
			return nil, fmt.Errorf("%s: %s: %w: %w", c, what, err, ErrStateDictFile)
		}
		sd[in.name] = StateTensor{Shape: shape, Data: data, Ints: ints}
	}
	return sd, nil
}

func sign(x int64) int64 {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// bytesNeeded shows shape × elemSize in errors (saturating at "more than
// 2^63").
func bytesNeeded(shape []int64, es int64) string {
	n := es
	for _, d := range shape {
		if d == 0 {
			return "0"
		}
		if n > math.MaxInt64/d {
			return "more than 2^63"
		}
		n *= d
	}
	return strconv.FormatInt(n, 10)
}

// parseSafetensorsHeader reads the JSON header in file order, refusing a
// repeated name (which encoding/json would silently collapse).
func parseSafetensorsHeader(head []byte) ([]stInfo, error) {
	dec := json.NewDecoder(bytes.NewReader(head))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	seen := map[string]bool{}
	var infos []stInfo
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("key %v", tok)
		}
		if seen[name] {
			return nil, fmt.Errorf("name %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var raw struct {
			DType       *string   `json:"dtype"`
			Shape       *[]int64  `json:"shape"`
			DataOffsets *[2]int64 `json:"data_offsets"`
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if raw.DType == nil || raw.Shape == nil || raw.DataOffsets == nil {
			return nil, fmt.Errorf("tensor %q: dtype, shape or data_offsets missing", name)
		}
		infos = append(infos, stInfo{name: name, dtype: stDType(*raw.DType), shape: *raw.Shape, start: raw.DataOffsets[0], end: raw.DataOffsets[1]})
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	// Only padding (spaces) may follow the object.
	if len(bytes.TrimRight(head[dec.InputOffset():], " \t\r\n\x00")) != 0 {
		return nil, errors.New("bytes after the JSON object")
	}
	return infos, nil
}

// WriteSafetensors writes sd to w in the safetensors format (see
// ReadSafetensors): tensors in name order, Data as F32 and Ints as I64,
// with their shapes (a scalar's empty shape and zero-size tensors kept),
// the header padded with spaces to a multiple of 8 bytes and its
// "__metadata__" {"format": "pt"}, so safetensors.torch.load_file and
// Hugging Face's loaders read it. NaN and ±Inf are written as they are.
// Every tensor is checked before anything is written: exactly one of
// Data and Ints set, as many values as the shape's product, no negative
// dimension, a valid UTF-8 name other than "__metadata__" (ErrShape).
// sd is only read: concurrent writes of one StateDict are safe while
// nothing modifies it.
func WriteSafetensors(w io.Writer, sd StateDict) error {
	return writeSafetensors("models.WriteSafetensors", w, sd)
}

// WriteSafetensorsFile writes sd to path with WriteSafetensors, atomically
// (a temporary file in the same directory, synced, renamed over path, the
// directory synced; see internal/atomicfile). An empty path or a nil sd is
// refused before any file is created.
func WriteSafetensorsFile(path string, sd StateDict) error {
	const c = "models.WriteSafetensorsFile"
	if path == "" {
		return fmt.Errorf("%s: empty path: %w", c, gometric.ErrSetting)
	}
	if sd == nil {
		return fmt.Errorf("%s: nil StateDict: %w", c, gometric.ErrSetting)
	}
	if _, err := safetensorsHeader(c, sd); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return writeSafetensors(c, w, sd) })
}

// safetensorsHeader checks sd and returns the names in order with the
// padded header.
func safetensorsHeader(c string, sd StateDict) ([]byte, error) {
	names := make([]string, 0, len(sd))
	for name := range sd {
		names = append(names, name)
	}
	slices.Sort(names)
	var h bytes.Buffer
	h.WriteString(`{"__metadata__":{"format":"pt"}`)
	off := int64(0)
	for _, name := range names {
		t := sd[name]
		fail := func(format string, args ...any) ([]byte, error) {
			return nil, fmt.Errorf("%s: tensor %q: %s: %w", c, name, fmt.Sprintf(format, args...), gometric.ErrShape)
		}
		if name == "__metadata__" {
			return fail("the name is safetensors' metadata key")
		}
		if !utf8.ValidString(name) {
			return fail("the name is not valid UTF-8")
		}
		if (t.Data == nil) == (t.Ints == nil) {
			return fail("exactly one of Data (%d values) and Ints (%d values) must be set", len(t.Data), len(t.Ints))
		}
		numel := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fail("shape %v", t.Shape)
			}
			if d != 0 && numel > math.MaxInt/d {
				return fail("shape %v overflows", t.Shape)
			}
			numel *= d
		}
		dtype, n := "F32", len(t.Data)
		if t.Ints != nil {
			dtype, n = "I64", len(t.Ints)
		}
		if n != numel {
			return fail("shape %v needs %d values, it has %d", t.Shape, numel, n)
		}
		es := int64(4)
		if t.Ints != nil {
			es = 8
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		key, _ := json.Marshal(name)
		sh, _ := json.Marshal(shape)
		fmt.Fprintf(&h, `,%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, key, dtype, sh, off, off+int64(n)*es)
		off += int64(n) * es
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	return h.Bytes(), nil
}

func writeSafetensors(c string, w io.Writer, sd StateDict) error {
	if check.Nil(w) {
		return fmt.Errorf("%s: nil writer: %w", c, gometric.ErrSetting)
	}
	head, err := safetensorsHeader(c, sd)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(sd))
	for name := range sd {
		names = append(names, name)
	}
	slices.Sort(names)
	buf := binary.LittleEndian.AppendUint64(make([]byte, 0, decodeChunk), uint64(len(head)))
	buf = append(buf, head...)
	for _, name := range names {
		t := sd[name]
		for i := 0; i < len(t.Data) || i < len(t.Ints); {
			if cap(buf)-len(buf) < 8 {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("%s: %w", c, err)
				}
				buf = buf[:0]
			}
			if t.Data != nil {
				k := min(len(t.Data)-i, (cap(buf)-len(buf))/4)
				for _, v := range t.Data[i : i+k] {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
				i += k
			} else {
				k := min(len(t.Ints)-i, (cap(buf)-len(buf))/8)
				for _, v := range t.Ints[i : i+k] {
					buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
				}
				i += k
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}
