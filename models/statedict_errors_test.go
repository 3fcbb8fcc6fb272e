package models_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
)

// pk builds pickle bytes (protocol 2) for the error table.
type pk struct{ b []byte }

func (p *pk) op(b ...byte) *pk { p.b = append(p.b, b...); return p }
func (p *pk) str(s string) *pk {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) int(n int32) *pk {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(n))
	return p
}
func (p *pk) global(module, name string) *pk {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}
func (p *pk) ints(ns ...int32) *pk {
	p.op('(')
	for _, n := range ns {
		p.int(n)
	}
	return p.op('t')
}

// tensor pushes _rebuild_tensor_v2(storage key of class cls and numel,
// offset, size, stride, False, OrderedDict()).
func (p *pk) tensor(cls, key string, numel, offset int32, size, stride []int32) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", cls).str(key).str("cpu").int(numel).op('t', 'Q')
	p.int(offset).ints(size...).ints(stride...).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

func newPK() *pk { return (&pk{}).op(0x80, 2) }

// statePickle is an OrderedDict pickle with the entries add pushes
// (key, value pairs) and STOP.
func statePickle(add func(p *pk)) []byte {
	p := newPK().global("collections", "OrderedDict").op(')', 'R', '(')
	add(p)
	return p.op('u', '.').b
}

// zipRecord is one record of a crafted torch zip file.
type zipRecord struct {
	name   string
	data   []byte
	method uint16
}

func torchZip(t testing.TB, records ...zipRecord) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range records {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: r.method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(r.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32Bytes(xs ...float32) []byte {
	var b []byte
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// legacyFile is torch's legacy format: magic, protocol, sys info, the
// pickle, the storage keys and each storage (numel, bytes).
func legacyFile(pickle []byte, keys []string, storages ...[]byte) []byte {
	b := []byte{0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'}
	b = append(b, 0x80, 2, 'M', 0xe9, 0x03, '.')
	b = append(b, newPK().op('}', '(').str("little_endian").op(0x88, 'u', '.').b...)
	b = append(b, pickle...)
	kp := newPK().op('(')
	for _, k := range keys {
		kp.str(k)
	}
	b = append(b, kp.op('l', '.').b...)
	for _, s := range storages {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(s)/4))
		b = append(b, s...)
	}
	return b
}

// safetensorsFile builds a safetensors file from a raw header and data.
func safetensorsFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// TestStateDictErrors: malformed, truncated, hostile and unsupported
// files are errors wrapping ErrStateDictFile and the right sentinel, with
// a message naming the problem, never a panic or a large allocation.
func TestStateDictErrors(t *testing.T) {
	one := func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1}) }
	goodPickle := statePickle(one)
	goodZip := torchZip(t, zipRecord{name: "a/data.pkl", data: goodPickle}, zipRecord{name: "a/data/0", data: f32Bytes(1, 2)})
	if sd, err := models.ReadPTH(bytes.NewReader(goodZip), int64(len(goodZip))); err != nil || len(sd["w"].Data) != 2 {
		t.Fatalf("crafted zip: %v %v", sd, err)
	}
	goodLegacy := legacyFile(goodPickle, []string{"0"}, f32Bytes(1, 2))
	if sd, err := models.ReadPTH(bytes.NewReader(goodLegacy), int64(len(goodLegacy))); err != nil || len(sd["w"].Data) != 2 {
		t.Fatalf("crafted legacy file: %v %v", sd, err)
	}
	zipWith := func(pickle []byte, storage []byte) []byte {
		return torchZip(t, zipRecord{name: "a/data.pkl", data: pickle}, zipRecord{name: "a/data/0", data: storage})
	}
	pth := func(add func(p *pk), storage []byte) []byte { return zipWith(statePickle(add), storage) }
	big := make([]byte, 4000)
	manyViews := func(p *pk) {
		p.str("w0").tensor("FloatStorage", "0", 1000, 0, []int32{1000}, []int32{1}).op('q', 0)
		for i := 1; i < 200; i++ {
			p.str(fmt.Sprintf("w%d", i)).op('h', 0)
		}
	}
	str8 := newPK().op(0x8d)
	str8.b = binary.LittleEndian.AppendUint64(str8.b, 1<<62)
	long4 := newPK().op(0x8b, 0xff, 0xff, 0xff, 0x7f)
	frame := newPK().op(0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f).op('N', '.')

	type pthCase struct {
		name string
		file []byte
		want error
		msg  string
	}
	cases := []pthCase{
		{"empty", nil, gometric.ErrUnsupported, "not a torch.save file"},
		{"wrong magic", []byte("GIF89a...."), gometric.ErrUnsupported, "not a torch.save file"},
		{"zip without data.pkl", torchZip(t, zipRecord{name: "a/x", data: []byte("x")}), gometric.ErrShape, "data.pkl"},
		{"torchscript", torchZip(t, zipRecord{name: "a/data.pkl", data: goodPickle}, zipRecord{name: "a/constants.pkl"}), gometric.ErrUnsupported, "TorchScript"},
		{"compressed record", torchZip(t, zipRecord{name: "a/data.pkl", data: goodPickle, method: zip.Deflate}, zipRecord{name: "a/data/0", data: f32Bytes(1, 2)}), gometric.ErrUnsupported, "compressed"},
		{"big endian", torchZip(t, zipRecord{name: "a/byteorder", data: []byte("big")}, zipRecord{name: "a/data.pkl", data: goodPickle}, zipRecord{name: "a/data/0", data: f32Bytes(1, 2)}), gometric.ErrUnsupported, "byte order"},
		{"missing storage record", torchZip(t, zipRecord{name: "a/data.pkl", data: goodPickle}), gometric.ErrShape, `storage "0": no record`},
		{"storage smaller than declared", pth(one, f32Bytes(1)), gometric.ErrShape, `storage "0" of 2`},
		{"tensor beyond storage", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 1, []int32{2}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrShape, `tensor "w": size [2] with strides [1] at offset 1`},
		{"strided beyond storage", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 4, 0, []int32{2, 2}, []int32{1, 4}) }, f32Bytes(1, 2, 3, 4)), gometric.ErrShape, `tensor "w"`},
		{"offset beyond storage", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 5, []int32{0}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrShape, "storage offset 5"},
		{"negative stride", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 1, []int32{2}, []int32{-1}) }, f32Bytes(1, 2)), gometric.ErrShape, "strides [-1]"},
		{"negative size", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{-2}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrShape, "size [-2]"},
		{"size and stride ranks differ", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1, 1}) }, f32Bytes(1, 2)), gometric.ErrShape, "strides"},
		{"huge size", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{1 << 30, 1 << 30}, []int32{0, 0}) }, f32Bytes(1, 2)), gometric.ErrShape, "more values than the file can hold"},
		{"huge storage numel", pth(func(p *pk) { p.str("w").tensor("FloatStorage", "0", math.MaxInt32, 0, []int32{2}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrShape, `storage "0" of 2147483647`},
		{"one storage under many names", zipWith(statePickle(manyViews), big), gometric.ErrShape, "more values than the file can hold"},
		{"complex dtype", pth(func(p *pk) { p.str("w").tensor("ComplexFloatStorage", "0", 1, 0, []int32{1}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrUnsupported, `tensor "w": dtype complex64`},
		{"storage declared twice differently", pth(func(p *pk) {
			p.str("w").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1})
			p.str("v").tensor("HalfStorage", "0", 2, 0, []int32{2}, []int32{1})
		}, f32Bytes(1, 2)), gometric.ErrShape, "declared as"},
		{"duplicate name", pth(func(p *pk) { one(p); one(p) }, f32Bytes(1, 2)), gometric.ErrShape, `duplicate key "w"`},
		{"forbidden global", zipWith(newPK().global("os", "system").str("echo hi").op(0x85, 'R', '.').b, nil), gometric.ErrUnsupported, "forbidden global os.system"},
		{"forbidden global builtins.eval", zipWith(newPK().global("builtins", "eval").op('.').b, nil), gometric.ErrUnsupported, "forbidden global builtins.eval"},
		{"forbidden stack global", zipWith(newPK().str("subprocess").str("call").op(0x93, '.').b, nil), gometric.ErrUnsupported, "forbidden global subprocess.call"},
		{"forbidden global in legacy", legacyFile(newPK().global("posix", "system").op('.').b, nil), gometric.ErrUnsupported, "forbidden global posix.system"},
		{"not a dict", zipWith(newPK().op(']', '.').b, nil), gometric.ErrUnsupported, "a list, not a state dict"},
		{"checkpoint", zipWith(newPK().op('}').str("epoch").int(3).op('s', '.').b, nil), gometric.ErrUnsupported, `value of "epoch" is a int`},
		{"int key", zipWith(newPK().op('}').int(3).int(3).op('s', '.').b, nil), gometric.ErrUnsupported, "key 3"},
		{"string claiming 2^62 bytes", zipWith(str8.b, nil), gometric.ErrShape, "beyond the"},
		{"long4 claiming 2 GiB", zipWith(long4.b, nil), gometric.ErrShape, "integer of"},
		{"frame claiming 2^63 bytes", zipWith(frame.b, nil), gometric.ErrUnsupported, "None, not a state dict"},
		{"unknown opcode", zipWith(newPK().op('i').b, nil), gometric.ErrShape, "opcode 0x69"},
		{"invalid UTF-8 name", pth(func(p *pk) { p.str("w\xff").tensor("FloatStorage", "0", 2, 0, []int32{2}, []int32{1}) }, f32Bytes(1, 2)), gometric.ErrShape, "not valid UTF-8"},
		{"stack underflow", zipWith(newPK().op('t').b, nil), gometric.ErrShape, "MARK"},
		{"pop past mark", zipWith(newPK().op('N', '(', 's').b, nil), gometric.ErrShape, "underflow"},
		{"memo not set", zipWith(newPK().op('h', 9).b, nil), gometric.ErrShape, "memo 9"},
		{"no STOP", zipWith(newPK().op('N').b, nil), gometric.ErrShape, "unexpected EOF"},
		{"items left at STOP", zipWith(newPK().op('N', 'N', '.').b, nil), gometric.ErrShape, "left on the stack"},
		{"legacy: wrong magic", append([]byte{0x80, 2, 'K', 1, '.'}, goodLegacy[15:]...), gometric.ErrUnsupported, "magic number"},
		{"legacy: missing storage", legacyFile(goodPickle, nil), gometric.ErrShape, `storage "0" is missing`},
		{"legacy: unknown storage key", legacyFile(goodPickle, []string{"0", "1"}, f32Bytes(1, 2), f32Bytes(1, 2)), gometric.ErrShape, `storage key "1"`},
		{"legacy: storage count mismatch", legacyFile(goodPickle, []string{"0"}, f32Bytes(1, 2, 3)), gometric.ErrShape, "holds 3 elements"},
		{"legacy: view metadata", legacyFile(newPK().global("collections", "OrderedDict").op(')', 'R', '(').str("w").
			global("torch._utils", "_rebuild_tensor_v2").op('(', '(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(2).op('(').str("1").int(0).int(2).op('t', 't', 'Q').
			int(0).ints(2).ints(1).op(0x89, 'N', 't', 'R', 'u', '.').b, []string{"0"}, f32Bytes(1, 2)), gometric.ErrUnsupported, "a view of another storage"},
	}
	// F64 beyond float32's range, and a tensor name in every refusal.
	f64 := binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e300))
	cases = append(cases, pthCase{"float64 beyond float32", pth(func(p *pk) { p.str("big").tensor("DoubleStorage", "0", 1, 0, nil, nil) }, f64), gometric.ErrNonFinite, `tensor "big": element 0: float64 value 1e+300 beyond float32's range`})
	for _, tc := range cases {
		t.Run("pth/"+tc.name, func(t *testing.T) {
			_, err := models.ReadPTH(bytes.NewReader(tc.file), int64(len(tc.file)))
			checkStateDictErr(t, err, tc.want, "models.ReadPTH: ", tc.msg)
			t.Log(err)
		})
	}

	sf := func(h string, data []byte) []byte { return safetensorsFile(h, data) }
	huge := binary.LittleEndian.AppendUint64(nil, math.MaxUint64)
	stCases := []pthCase{
		{"empty", nil, gometric.ErrShape, "shorter than the 8-byte header length"},
		{"header length beyond file", sf(`{}`, nil)[:9], gometric.ErrShape, "header length 2 beyond"},
		{"header length 2^64-1", append(huge, '{', '}'), gometric.ErrShape, "header length 18446744073709551615"},
		{"header length beyond the limit", append(binary.LittleEndian.AppendUint64(nil, 200_000_000), make([]byte, 100)...), gometric.ErrShape, "limit"},
		{"bad JSON", sf(`{"w":`, nil), gometric.ErrShape, "header"},
		{"invalid UTF-8 header", sf("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", f32Bytes(1)), gometric.ErrShape, "not valid UTF-8"},
		{"not an object", sf(`[1,2]`, nil), gometric.ErrShape, "not a JSON object"},
		{"trailing bytes after JSON", sf(`{} x`, nil), gometric.ErrShape, "bytes after the JSON object"},
		{"duplicate name", sf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32Bytes(1, 2)), gometric.ErrShape, `name "w" twice`},
		{"missing field", sf(`{"w":{"dtype":"F32","shape":[1]}}`, f32Bytes(1)), gometric.ErrShape, "missing"},
		{"bad metadata", sf(`{"__metadata__":{"a":1}}`, nil), gometric.ErrShape, "__metadata__"},
		{"unknown dtype", sf(`{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), gometric.ErrUnsupported, `tensor "w": dtype F8_E4M3`},
		{"garbage dtype", sf(`{"w":{"dtype":"XYZ","shape":[1],"data_offsets":[0,1]}}`, []byte{1}), gometric.ErrUnsupported, "dtype XYZ"},
		{"offsets out of range", sf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,400]}}`, f32Bytes(1)), gometric.ErrShape, "outside the 4 data bytes"},
		{"negative offsets", sf(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32Bytes(1)), gometric.ErrShape, "outside"},
		{"overlapping offsets", sf(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32Bytes(1, 2)), gometric.ErrShape, "overlap"},
		{"gap", sf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32Bytes(1, 2, 3)), gometric.ErrShape, "gap"},
		{"data after the tensors", sf(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32Bytes(1, 2)), gometric.ErrShape, "end at data byte 4"},
		{"shape × dtype larger than the span", sf(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}}`, f32Bytes(1, 2)), gometric.ErrShape, `tensor "w": shape [2 3] of F32 needs 24 bytes`},
		{"huge shape", sf(`{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, f32Bytes(1, 2)), gometric.ErrShape, "more than 2^63"},
		{"negative shape", sf(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32Bytes(1)), gometric.ErrShape, "shape [-1]"},
		{"F64 beyond float32", sf(`{"w":{"dtype":"F64","shape":[],"data_offsets":[0,8]}}`, f64), gometric.ErrNonFinite, `tensor "w": element 0: float64 value 1e+300`},
		{"U64 beyond int64", sf(`{"w":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}`, huge), gometric.ErrUnsupported, `tensor "w": element 0: uint64 value`},
	}
	for _, tc := range stCases {
		t.Run("safetensors/"+tc.name, func(t *testing.T) {
			_, err := models.ReadSafetensors(bytes.NewReader(tc.file), int64(len(tc.file)))
			checkStateDictErr(t, err, tc.want, "models.ReadSafetensors: ", tc.msg)
			t.Log(err)
		})
	}

	// Writer refusals.
	for _, tc := range []struct {
		name string
		sd   models.StateDict
		msg  string
	}{
		{"no values", models.StateDict{"w": {Shape: []int{1}}}, `tensor "w": exactly one of Data`},
		{"both", models.StateDict{"w": {Shape: []int{1}, Data: []float32{1}, Ints: []int64{1}}}, "exactly one"},
		{"count", models.StateDict{"w": {Shape: []int{2, 2}, Data: []float32{1}}}, "needs 4 values, it has 1"},
		{"negative dim", models.StateDict{"w": {Shape: []int{-1}, Data: []float32{}}}, "shape [-1]"},
		{"overflow", models.StateDict{"w": {Shape: []int{math.MaxInt, 4}, Data: []float32{}}}, "overflows"},
		{"metadata name", models.StateDict{"__metadata__": {Shape: []int{}, Data: []float32{1}}}, "metadata key"},
		{"invalid UTF-8 name", models.StateDict{"w\xff": {Shape: []int{}, Data: []float32{1}}}, "not valid UTF-8"},
	} {
		var buf bytes.Buffer
		err := models.WriteSafetensors(&buf, tc.sd)
		if !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), tc.msg) || buf.Len() != 0 {
			t.Errorf("write %s: %v (wrote %d bytes), want %q", tc.name, err, buf.Len(), tc.msg)
		}
	}
}

func checkStateDictErr(t *testing.T, err error, want error, prefix, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted")
	}
	if !errors.Is(err, want) || !errors.Is(err, models.ErrStateDictFile) || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("err = %v\nwant %v and ErrStateDictFile, prefix %q, containing %q", err, want, prefix, msg)
	}
}

// TestStateDictTruncated: every fixture cut at every length is refused
// (never a panic), and every byte flipped either reads or is an error.
func TestStateDictTruncated(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(stateDictDir, "*.pth"))
	st, _ := filepath.Glob(filepath.Join(stateDictDir, "*.safetensors"))
	for _, path := range append(files, st...) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		read := models.ReadPTH
		if strings.HasSuffix(path, ".safetensors") {
			read = models.ReadSafetensors
		}
		for n := range len(b) {
			_, err := read(bytes.NewReader(b[:n]), int64(n))
			if err == nil {
				t.Fatalf("%s cut to %d of %d bytes: accepted", path, n, len(b))
			}
			checkContentError(t, err)
		}
		for i := range b {
			c := bytes.Clone(b)
			c[i] ^= 0xff
			if _, err := read(bytes.NewReader(c), int64(len(c))); err != nil {
				checkContentError(t, err)
			}
		}
	}
}

// TestStateDictAllocationBounded: a small file declaring huge sizes
// allocates about what it holds.
func TestStateDictAllocationBounded(t *testing.T) {
	hostile := []struct {
		read func(io.ReaderAt, int64) (models.StateDict, error)
		file []byte
	}{
		{models.ReadSafetensors, safetensorsFile(`{"w":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}`, nil)},
		{models.ReadPTH, legacyFile(statePickle(func(p *pk) {
			p.str("w").tensor("FloatStorage", "0", math.MaxInt32, 0, []int32{math.MaxInt32}, []int32{1})
		}), []string{"0"})},
		{models.ReadPTH, torchZip(t, zipRecord{name: "a/data.pkl", data: statePickle(func(p *pk) {
			p.str("w").tensor("FloatStorage", "0", math.MaxInt32, 0, []int32{math.MaxInt32}, []int32{1})
		})}, zipRecord{name: "a/data/0", data: f32Bytes(1)})},
	}
	for i, h := range hostile {
		var err error
		alloc := testkit.Allocated(func() { _, err = h.read(bytes.NewReader(h.file), int64(len(h.file))) })
		if err == nil || alloc > 1<<20 {
			t.Errorf("hostile %d: err %v, allocated %d bytes", i, err, alloc)
		}
	}
}

// TestReadPTHChecksum: a byte changed in a stored tensor of a torch zip
// file is found by the record's CRC-32, not read as a wrong weight.
func TestReadPTHChecksum(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(stateDictDir, "mixed.pth"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "mixed/data/0" {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		c := bytes.Clone(b)
		c[off+5] ^= 1
		_, err = models.ReadPTH(bytes.NewReader(c), int64(len(c)))
		checkStateDictErr(t, err, gometric.ErrShape, "models.ReadPTH: ", `zip record "mixed/data/0": CRC-32`)
		return
	}
	t.Fatal("no record mixed/data/0")
}
