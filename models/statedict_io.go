package models

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gometric/gometric"
)

// ErrStateDictFile is wrapped, with a gometric sentinel (ErrShape for a
// malformed, truncated or inconsistent file, ErrUnsupported for a format,
// dtype or pickle global that is not read, ErrNonFinite for a float64
// value beyond float32's range), by every error about the content of a
// .pth or .safetensors file (ReadStateDict, ReadPTH, ReadSafetensors).
var ErrStateDictFile = errors.New("bad state dict file")

// stDType names an element type as safetensors does ("F32", "I64", ...).
type stDType string

// elemSize is the byte size of one element of d, 0 for a dtype that is
// not read.
func (d stDType) elemSize() int64 {
	switch d {
	case "F64", "I64", "U64":
		return 8
	case "F32", "I32", "U32":
		return 4
	case "F16", "BF16", "I16", "U16":
		return 2
	case "I8", "U8", "BOOL":
		return 1
	}
	return 0
}

// isFloat reports whether d is read into StateTensor.Data (else Ints).
func (d stDType) isFloat() bool { return d == "F64" || d == "F32" || d == "F16" || d == "BF16" }

// storageDTypes maps torch's storage classes (the globals torch.save
// writes, torch.FloatStorage ...) to their dtypes; the dtypes not read are
// named by torch's name so that the error can say which one it was.
var storageDTypes = map[string]stDType{
	"FloatStorage":           "F32",
	"DoubleStorage":          "F64",
	"HalfStorage":            "F16",
	"BFloat16Storage":        "BF16",
	"LongStorage":            "I64",
	"IntStorage":             "I32",
	"ShortStorage":           "I16",
	"CharStorage":            "I8",
	"ByteStorage":            "U8",
	"BoolStorage":            "BOOL",
	"UInt16Storage":          "U16",
	"UInt32Storage":          "U32",
	"UInt64Storage":          "U64",
	"ComplexHalfStorage":     "complex32",
	"Float8_e5m2Storage":     "float8_e5m2",
	"Float8_e4m3fnStorage":   "float8_e4m3fn",
	"Float8_e5m2fnuzStorage": "float8_e5m2fnuz",
	"Float8_e4m3fnuzStorage": "float8_e4m3fnuz",
	"ComplexFloatStorage":    "complex64",
	"ComplexDoubleStorage":   "complex128",
	"QInt8Storage":           "qint8",
	"QUInt8Storage":          "quint8",
	"QInt32Storage":          "qint32",
	"QUInt4x2Storage":        "quint4x2",
	"QUInt2x4Storage":        "quint2x4",
}

// stateDictErrorf is an error about a file's content: component: what:
// message, wrapping ErrStateDictFile and sentinel.
func stateDictErrorf(component, what string, sentinel error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if what != "" {
		msg = what + ": " + msg
	}
	return fmt.Errorf("%s: %s: %w: %w", component, msg, ErrStateDictFile, sentinel)
}

// decodeChunk is the number of bytes converted at a time.
const decodeChunk = 1 << 20

// readElements reads n little-endian elements of dtype d from r into a new
// StateTensor's Data or Ints. The caller has checked that n elements fit
// in what r can hold; the bytes are read in chunks of at most 1 MiB.
func readElements(r io.Reader, d stDType, n int64, buf *[]byte) (data []float32, ints []int64, err error) {
	es := d.elemSize()
	if d.isFloat() {
		data = make([]float32, n)
	} else {
		ints = make([]int64, n)
	}
	for i := int64(0); i < n; {
		k := min(n-i, decodeChunk/es)
		if int64(cap(*buf)) < k*es {
			*buf = make([]byte, k*es)
		}
		b := (*buf)[:k*es]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, unexpected(err)
		}
		var e error
		if data != nil {
			e = decodeFloats(d, b, data[i:i+k])
		} else {
			e = decodeInts(d, b, ints[i:i+k])
		}
		if ee, ok := e.(elemError); ok {
			sentinel := gometric.ErrNonFinite
			if data == nil {
				sentinel = gometric.ErrUnsupported
			}
			return nil, nil, fmt.Errorf("element %d: %s: %w", i+int64(ee.index), ee.msg, sentinel)
		}
		i += k
	}
	return data, ints, nil
}

// elemError is the index of the element a conversion refused.
type elemError struct {
	index int
	msg   string
}

func (e elemError) Error() string { return e.msg }

// decodeFloats converts len(dst) elements of b. Float16 and bfloat16
// convert exactly; float64 rounds to the nearest float32, and a finite
// value beyond float32's range is refused rather than made ±Inf. NaN and
// ±Inf are kept as they are.
func decodeFloats(d stDType, b []byte, dst []float32) error {
	switch d {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F64":
		for i := range dst {
			x := math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
			f := float32(x)
			if math.IsInf(float64(f), 0) && !math.IsInf(x, 0) {
				return elemError{i, fmt.Sprintf("float64 value %g beyond float32's range", x)}
			}
			dst[i] = f
		}
	}
	return nil
}

func decodeInts(d stDType, b []byte, dst []int64) error {
	switch d {
	case "I64":
		for i := range dst {
			dst[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case "U64":
		for i := range dst {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return elemError{i, fmt.Sprintf("uint64 value %d beyond int64's range", v)}
			}
			dst[i] = int64(v)
		}
	case "I32":
		for i := range dst {
			dst[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "U32":
		for i := range dst {
			dst[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "I16":
		for i := range dst {
			dst[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case "U16":
		for i := range dst {
			dst[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "I8":
		for i := range dst {
			dst[i] = int64(int8(b[i]))
		}
	case "U8":
		for i := range dst {
			dst[i] = int64(b[i])
		}
	case "BOOL":
		for i := range dst {
			if b[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	}
	return nil
}

// halfToFloat32 converts an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// subnormal: mant × 2^-24, exact in float32
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// ReadStateDict reads a torch state_dict from path: a torch.save file
// (.pth, .pt: the zip format of torch ≥ 1.6 or the legacy format) or a
// .safetensors file, told apart by their content (see ReadPTH and
// ReadSafetensors). Only a regular file is read (a state dict needs random
// access); a FIFO or a device is refused without being opened. Errors
// name the file.
//
// A user with torchvision saves ImageNet weights once with
//
//	python3 -c "import torch, torchvision; torch.save(torchvision.models.resnet50(weights='IMAGENET1K_V1').state_dict(), 'resnet50.pth')"
func ReadStateDict(path string) (StateDict, error) {
	const c = "models.ReadStateDict"
	if path == "" {
		return nil, fmt.Errorf("%s: empty path: %w", c, gometric.ErrSetting)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s: not a regular file (%s): %w", c, path, st.Mode().Type(), gometric.ErrUnsupported)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	size := st.Size()
	var head [9]byte
	n, _ := f.ReadAt(head[:], 0)
	var sd StateDict
	switch {
	case n >= 4 && string(head[:4]) == "PK\x03\x04", n >= 2 && head[0] == 0x80 && head[1] <= 5:
		sd, err = readPTH(c, path, f, size)
	case n >= 9 && head[8] == '{':
		sd, err = readSafetensors(c, path, f, size)
	default:
		return nil, stateDictErrorf(c, path, gometric.ErrUnsupported,
			"neither a torch.save file (zip or legacy pickle) nor a safetensors file (first %d bytes % x)", n, head[:n])
	}
	return sd, err
}
