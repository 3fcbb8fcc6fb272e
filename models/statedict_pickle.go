package models

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"
)

// This file is a restricted unpickler for the pickles torch.save writes
// (protocols 2 to 5). It builds plain values — int64, *pyBigInt,
// float64, bool, nil, string, []byte, pyTuple, *pyList, *pyDict — and only
// the few torch objects a state dict holds: storages (through the
// persistent-load hook), tensors (torch._utils._rebuild_tensor_v2 and
// _rebuild_tensor), parameters (_rebuild_parameter*) and OrderedDicts. Any
// other global is refused when it is named; nothing is ever called. Every
// length read from the stream is checked against the bytes left before
// anything is allocated, so memory grows with the pickle's size only.

// pickleMaxString bounds one string or bytes object of a pickle.
const pickleMaxString = 64 << 20

type (
	pyTuple  []any
	pyList   struct{ items []any }
	pyBigInt struct{ le []byte } // little-endian two's complement (LONG1/LONG4)
	pyGlobal struct{ module, name string }
	// pyDict is a dict or OrderedDict in insertion order. Keys are
	// strings, integers, floats, bools or None; a repeated key is refused.
	pyDict struct {
		keys  []any
		vals  []any
		index map[any]int
	}
	// pyStorage is a torch storage named by the persistent-load hook.
	pyStorage struct {
		key   string
		dtype stDType
		numel int64
		// filled when the storage's bytes are located
		off   int64 // byte offset of element 0 in the file
		known bool
	}
	// pyTensor is a tensor rebuilt by _rebuild_tensor_v2: a strided view
	// into a storage.
	pyTensor struct {
		storage *pyStorage
		offset  int64
		size    []int64
		stride  []int64
	}
)

func newPyDict() *pyDict { return &pyDict{index: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, float64, bool, nil:
	default:
		return fmt.Errorf("unsupported dict key of type %s", pyTypeName(k))
	}
	if _, dup := d.index[k]; dup {
		return fmt.Errorf("duplicate key %s", pyRepr(k))
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// pyTypeName names the Python type of v in errors.
func pyTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case int64, *pyBigInt:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case *pyGlobal:
		return v.module + "." + v.name
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// pyRepr shows a scalar key in errors.
func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%v", v)
}

// errPickle marks a malformed pickle; the caller adds the file's context.
var errPickle = errors.New("pickle")

// unpickler reads one pickle from r.
type unpickler struct {
	r     *bufio.Reader
	left  int64 // bytes left in the input
	stack []any
	marks []int
	memo  map[int64]any
	// persistentLoad resolves BINPERSID's saved id (torch's storages).
	persistentLoad func(pid any) (any, error)
}

func newUnpickler(r io.Reader, size int64) *unpickler {
	return &unpickler{r: bufio.NewReaderSize(r, 1<<16), left: size, memo: map[int64]any{}}
}

func (u *unpickler) byte() (byte, error) {
	if u.left < 1 {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, unexpected(err)
	}
	u.left--
	return b, nil
}

// bytes reads n bytes; n is checked against what is left first.
func (u *unpickler) bytes(n int64) ([]byte, error) {
	if n < 0 || n > u.left {
		return nil, fmt.Errorf("length %d beyond the %d bytes left: %w", n, u.left, io.ErrUnexpectedEOF)
	}
	if n > pickleMaxString {
		return nil, fmt.Errorf("length %d beyond the limit %d", n, pickleMaxString)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(u.r, b); err != nil {
		return nil, unexpected(err)
	}
	u.left -= n
	return b, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.bytes(int64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// line reads a newline-terminated line (GLOBAL's module and name),
// without the newline, of at most 1 KiB.
func (u *unpickler) line() (string, error) {
	var b []byte
	for {
		c, err := u.byte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) >= 1024 {
			return "", errors.New("line longer than 1024 bytes")
		}
		b = append(b, c)
	}
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items above the last MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

// load runs the pickle to its STOP and returns its value.
func (u *unpickler) load() (any, error) {
	v, err := u.run()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errPickle, err)
	}
	return v, nil
}

func (u *unpickler) run() (any, error) {
	for {
		op, err := u.byte()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x80: // PROTO
			p, err := u.byte()
			if err != nil {
				return nil, err
			}
			if p > 5 {
				return nil, fmt.Errorf("pickle protocol %d (at most 5 is read)", p)
			}
		case 0x95: // FRAME: a length hint only
			if _, err := u.uint(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			if len(u.stack) != 0 || len(u.marks) != 0 {
				return nil, errors.New("items left on the stack at STOP")
			}
			return v, nil
		case '(': // MARK
			u.marks = append(u.marks, len(u.stack))
		case '0': // POP
			if len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1] {
				u.marks = u.marks[:len(u.marks)-1] // pops the mark, as Python
			} else if _, err := u.pop(); err != nil {
				return nil, err
			}
		case '1': // POP_MARK
			if _, err := u.popMark(); err != nil {
				return nil, err
			}
		case '2': // DUP
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'N':
			u.push(nil)
		case 0x88:
			u.push(true)
		case 0x89:
			u.push(false)
		case 'J', 'K', 'M': // BININT, BININT1, BININT2
			n := map[byte]int{'J': 4, 'K': 1, 'M': 2}[op]
			v, err := u.uint(n)
			if err != nil {
				return nil, err
			}
			if op == 'J' {
				u.push(int64(int32(uint32(v))))
			} else {
				u.push(int64(v))
			}
		case 0x8a, 0x8b: // LONG1, LONG4
			var n uint64
			if op == 0x8a {
				b, err := u.byte()
				if err != nil {
					return nil, err
				}
				n = uint64(b)
			} else if n, err = u.uint(4); err != nil {
				return nil, err
			}
			if n > 1<<16 {
				return nil, fmt.Errorf("integer of %d bytes", n)
			}
			b, err := u.bytes(int64(n))
			if err != nil {
				return nil, err
			}
			u.push(longValue(b))
		case 'G': // BINFLOAT (big-endian)
			b, err := u.bytes(8)
			if err != nil {
				return nil, err
			}
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c, 0x8d, 'T', 'U', 'B', 'C', 0x8e: // strings and bytes
			var n uint64
			switch op {
			case 0x8c, 'U', 'C':
				b, err := u.byte()
				if err != nil {
					return nil, err
				}
				n = uint64(b)
			case 'X', 'T', 'B':
				if n, err = u.uint(4); err != nil {
					return nil, err
				}
			default:
				if n, err = u.uint(8); err != nil {
					return nil, err
				}
			}
			if n > math.MaxInt64 {
				return nil, fmt.Errorf("length %d", n)
			}
			b, err := u.bytes(int64(n))
			if err != nil {
				return nil, err
			}
			switch op {
			case 'X', 0x8c, 0x8d, 'T', 'U': // str (BINSTRING decodes as str in torch.load)
				if !utf8.Valid(b) {
					return nil, fmt.Errorf("string %q is not valid UTF-8", b)
				}
				u.push(string(b))
			default:
				u.push(b)
			}
		case ')':
			u.push(pyTuple{})
		case 't':
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(pyTuple(items))
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op-0x85) + 1
			items := make([]any, n)
			for i := n - 1; i >= 0; i-- {
				if items[i], err = u.pop(); err != nil {
					return nil, err
				}
			}
			u.push(pyTuple(items))
		case ']':
			u.push(&pyList{})
		case 'l':
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(&pyList{items: items})
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				items = []any{v}
			} else if items, err = u.popMark(); err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			l, ok := t.(*pyList)
			if !ok {
				return nil, fmt.Errorf("APPEND to a %s", pyTypeName(t))
			}
			l.items = append(l.items, items...)
		case '}':
			u.push(newPyDict())
		case 'd':
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			d := newPyDict()
			if err := setItems(d, items); err != nil {
				return nil, err
			}
			u.push(d)
		case 's', 'u': // SETITEM, SETITEMS
			var items []any
			if op == 's' {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				k, err := u.pop()
				if err != nil {
					return nil, err
				}
				items = []any{k, v}
			} else if items, err = u.popMark(); err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, fmt.Errorf("SETITEM on a %s", pyTypeName(t))
			}
			if err := setItems(d, items); err != nil {
				return nil, err
			}
		case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
			var idx uint64
			switch op {
			case 'q':
				b, err := u.byte()
				if err != nil {
					return nil, err
				}
				idx = uint64(b)
			case 'r':
				if idx, err = u.uint(4); err != nil {
					return nil, err
				}
			default:
				idx = uint64(len(u.memo))
			}
			v, err := u.top()
			if err != nil {
				return nil, err
			}
			u.memo[int64(idx)] = v
		case 'h', 'j': // BINGET, LONG_BINGET
			var idx uint64
			if op == 'h' {
				b, err := u.byte()
				if err != nil {
					return nil, err
				}
				idx = uint64(b)
			} else if idx, err = u.uint(4); err != nil {
				return nil, err
			}
			v, ok := u.memo[int64(idx)]
			if !ok {
				return nil, fmt.Errorf("memo %d not set", idx)
			}
			u.push(v)
		case 'c': // GLOBAL
			module, err := u.line()
			if err != nil {
				return nil, err
			}
			name, err := u.line()
			if err != nil {
				return nil, err
			}
			g, err := findGlobal(module, name)
			if err != nil {
				return nil, err
			}
			u.push(g)
		case 0x93: // STACK_GLOBAL
			n, err := u.pop()
			if err != nil {
				return nil, err
			}
			m, err := u.pop()
			if err != nil {
				return nil, err
			}
			module, ok1 := m.(string)
			name, ok2 := n.(string)
			if !ok1 || !ok2 {
				return nil, errors.New("STACK_GLOBAL of non-strings")
			}
			g, err := findGlobal(module, name)
			if err != nil {
				return nil, err
			}
			u.push(g)
		case 'R': // REDUCE
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			f, err := u.pop()
			if err != nil {
				return nil, err
			}
			t, ok := args.(pyTuple)
			if !ok {
				return nil, fmt.Errorf("REDUCE with %s arguments", pyTypeName(args))
			}
			v, err := callGlobal(f, t)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'b': // BUILD: only a dict's state (OrderedDict's _metadata), dropped
			state, err := u.pop()
			if err != nil {
				return nil, err
			}
			t, err := u.top()
			if err != nil {
				return nil, err
			}
			if _, ok := t.(*pyDict); !ok {
				return nil, fmt.Errorf("BUILD of a %s", pyTypeName(t))
			}
			if _, ok := state.(*pyDict); !ok && state != nil {
				return nil, fmt.Errorf("BUILD with a %s state", pyTypeName(state))
			}
		case 'Q': // BINPERSID
			pid, err := u.pop()
			if err != nil {
				return nil, err
			}
			if u.persistentLoad == nil {
				return nil, errors.New("persistent id outside a torch file")
			}
			v, err := u.persistentLoad(pid)
			if err != nil {
				return nil, err
			}
			u.push(v)
		default:
			return nil, fmt.Errorf("opcode 0x%02x not supported (not one torch.save writes)", op)
		}
	}
}

func setItems(d *pyDict, items []any) error {
	if len(items)%2 != 0 {
		return errors.New("odd number of items for a dict")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// longValue is LONG1/LONG4's little-endian two's complement integer: an
// int64 when it fits, else a *pyBigInt.
func longValue(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if b[len(b)-1]&0x80 != 0 { // sign-extend
			v |= ^uint64(0) << (8 * len(b)) // 0 for len(b) == 8
		}
		return int64(v)
	}
	return &pyBigInt{le: b}
}

// torchGlobals are the globals torch.save writes for a state dict; nothing
// else is loaded.
var torchGlobals = map[string]bool{
	"collections.OrderedDict":                    true,
	"torch._utils._rebuild_tensor":               true,
	"torch._utils._rebuild_tensor_v2":            true,
	"torch._utils._rebuild_parameter":            true,
	"torch._utils._rebuild_parameter_with_state": true,
}

func findGlobal(module, name string) (*pyGlobal, error) {
	if torchGlobals[module+"."+name] || (module == "torch" && storageDTypes[name] != "") {
		return &pyGlobal{module, name}, nil
	}
	return nil, pickleRefusal(fmt.Sprintf("forbidden global %s.%s (only torch.save's tensors, storages and OrderedDicts are loaded, nothing is executed: save model.state_dict(), not the model)", module, name))
}

// pickleRefusal is a well-formed pickle construct that is not read (a
// forbidden global, an old storage view): ErrUnsupported, not ErrShape.
type pickleRefusal string

func (e pickleRefusal) Error() string { return string(e) }

// callGlobal applies an allowed global to its arguments.
func callGlobal(f any, args pyTuple) (any, error) {
	g, ok := f.(*pyGlobal)
	if !ok {
		return nil, fmt.Errorf("REDUCE of a %s", pyTypeName(f))
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		if len(args) != 0 {
			return nil, fmt.Errorf("OrderedDict with %d arguments", len(args))
		}
		return newPyDict(), nil
	case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
		if len(args) < 4 {
			return nil, fmt.Errorf("%s with %d arguments", g.name, len(args))
		}
		st, ok := args[0].(*pyStorage)
		if !ok {
			return nil, fmt.Errorf("%s of a %s, not a storage", g.name, pyTypeName(args[0]))
		}
		off, ok := args[1].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: storage offset is a %s", g.name, pyTypeName(args[1]))
		}
		size, err := intTuple(args[2])
		if err != nil {
			return nil, fmt.Errorf("%s: size: %w", g.name, err)
		}
		stride, err := intTuple(args[3])
		if err != nil {
			return nil, fmt.Errorf("%s: stride: %w", g.name, err)
		}
		return &pyTensor{storage: st, offset: off, size: size, stride: stride}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, fmt.Errorf("%s without arguments", g.name)
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s of a %s", g.name, pyTypeName(args[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s.%s cannot be called", g.module, g.name)
}

func intTuple(v any) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("a %s, not a tuple", pyTypeName(v))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("element %d is a %s", i, pyTypeName(x))
		}
		out[i] = n
	}
	return out, nil
}
