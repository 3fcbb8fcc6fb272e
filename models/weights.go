package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"github.com/gometric/gometric/internal/binio"
)

// ErrWeightFile is wrapped (with a gometric sentinel: ErrShape for a
// malformed, damaged or mismatched file, ErrUnsupported for an unknown
// version or kind, ErrNonFinite for a NaN or ±Inf weight) by every error
// about the content of a weight file.
var ErrWeightFile = errors.New("bad weight file")

// weightMagic opens every weight file.
const weightMagic = "GMWEIGHT"

// weightVersion is the format version this package writes and reads.
const weightVersion = 1

// maxHeader bounds the JSON header of a weight file.
const maxHeader = 1 << 20

// weightFixed is the length of the fixed fields before the JSON header:
// magic, version and header length.
const weightFixed = len(weightMagic) + 8

// fileHeader is the JSON header of a weight file.
type fileHeader struct {
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config"`
	Params []fileParam     `json:"params"`
	// DropoutSteps is an MLP with dropout's count of training steps (the
	// index of its next masks); absent when 0 and in every other file.
	DropoutSteps uint64 `json:"dropout_steps,omitempty"`
}

type fileParam struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Save writes the encoder's architecture and weights to path in the
// package's weight format (see the package doc), atomically: it writes a
// temporary file "."+base+".tmp-*" in the same directory with mode 0644,
// syncs it, renames it over path and syncs the directory, so an
// interrupted Save leaves the previous file intact. Save first removes the
// temporary files that an interrupted Save of the same path left behind,
// so saves of one path by different encoders or processes must not run at
// the same time (one may then fail, leaving the other's complete file);
// an encoder's own Saves are serialised. Embed and TrainStep are not held
// up while the file is written.
func (m *ConvNet) Save(path string) error {
	nw, err := m.net("Save")
	if err != nil {
		return err
	}
	return save(nw, "ConvNet", m.cfg, path)
}

// Load reads weights that Save wrote for the same architecture (kind,
// configuration, seed aside, and parameter shapes) into the encoder. The
// file is read as a stream and checked completely (framing, header,
// architecture, checksum, finite values) before any weight changes; the
// gradients are then set to 0. Memory grows with the bytes actually read,
// never with what a header claims.
func (m *ConvNet) Load(path string) error {
	nw, err := m.net("Load")
	if err != nil {
		return err
	}
	return loadFile(nw, path, func(r io.Reader, size int64) error { return m.load(path, r, size) })
}

func (m *ConvNet) load(path string, r io.Reader, size int64) error {
	return load(m.nw, "ConvNet", func(raw json.RawMessage) error {
		var c ConvNetConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		c.Seed = m.cfg.Seed
		if c.Channels != m.cfg.Channels || c.Height != m.cfg.Height || c.Width != m.cfg.Width ||
			!slices.Equal(c.Blocks, m.cfg.Blocks) || c.Embedding != m.cfg.Embedding {
			return fmt.Errorf("the file's ConvNet is %+v, this one %+v", c, m.cfg)
		}
		return nil
	}, path, r, size)
}

// Save writes the encoder's architecture and weights to path (see
// ConvNet.Save); with dropout, also its count of training steps, the
// index of its next dropout masks.
func (m *MLP) Save(path string) error {
	nw, err := m.net("Save")
	if err != nil {
		return err
	}
	return save(nw, "MLP", m.cfg, path)
}

// Load reads weights that Save wrote for the same architecture (see
// ConvNet.Load); the file's Dropout and Seed may differ. An MLP with
// dropout also takes the file's count of training steps (0 when the file
// has none), so that its next masks are those that followed the save.
func (m *MLP) Load(path string) error {
	nw, err := m.net("Load")
	if err != nil {
		return err
	}
	return loadFile(nw, path, func(r io.Reader, size int64) error { return m.load(path, r, size) })
}

func (m *MLP) load(path string, r io.Reader, size int64) error {
	return load(m.nw, "MLP", func(raw json.RawMessage) error {
		var c MLPConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		if !slices.Equal(c.Sizes, m.cfg.Sizes) {
			return fmt.Errorf("the file's MLP has sizes %v, this one %v", c.Sizes, m.cfg.Sizes)
		}
		return nil
	}, path, r, size)
}

// openWeights opens path for reading and returns its size, or -1 when it
// is not a regular file (a FIFO, a device): such a file is read as a
// stream whose length is learnt only at its end.
func openWeights(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, nil
}

func loadFile[T float](nw *network[T], path string, read func(r io.Reader, size int64) error) error {
	f, size, err := openWeights(path)
	if err != nil {
		return fmt.Errorf("%s.Load: %w", nw.component, err)
	}
	defer f.Close()
	return read(f, size)
}

// LoadEncoder builds the encoder that a weight file describes (a *ConvNet
// or an *MLP) and loads its weights. The file is read as a stream: its
// header is checked (magic, version, a known kind, a valid architecture
// within the package's limits, and, for a regular file, a length that
// matches the architecture) before the encoder is made, so neither a
// short file claiming a huge network nor an endless stream (a FIFO,
// /dev/zero) can make it allocate more than the file holds.
func LoadEncoder(path string) (Encoder, error) {
	f, size, err := openWeights(path)
	if err != nil {
		return nil, fmt.Errorf("models.LoadEncoder: %w", err)
	}
	defer f.Close()
	return decodeEncoder(path, f, size)
}

// decodeEncoder is LoadEncoder on r, which holds size bytes (-1:
// unknown).
func decodeEncoder(path string, r io.Reader, size int64) (Encoder, error) {
	const c = "models.LoadEncoder"
	wr := newWeightReader(path, r, size)
	h, err := wr.header()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	var (
		specs []paramSpec
		build func() (Encoder, []*Param, error)
	)
	switch h.Kind {
	case "ConvNet":
		var cfg ConvNetConfig
		if err := json.Unmarshal(h.Config, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "ConvNet configuration: %v", err))
		}
		specs, _, err = convSpecs(cfg)
		if err == nil && h.DropoutSteps != 0 {
			err = fmt.Errorf("dropout_steps %d in a ConvNet file (only an MLP has dropout)", h.DropoutSteps)
		}
		build = func() (Encoder, []*Param, error) {
			m, err := NewConvNet(cfg)
			if err != nil {
				return nil, nil, err
			}
			return m, m.nw.params, nil
		}
	case "MLP":
		var cfg MLPConfig
		if err := json.Unmarshal(h.Config, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "MLP configuration: %v", err))
		}
		specs, err = mlpSpecs(cfg)
		if err == nil && h.DropoutSteps != 0 && cfg.Dropout == 0 {
			err = fmt.Errorf("dropout_steps %d in the file of an MLP without dropout", h.DropoutSteps)
		}
		build = func() (Encoder, []*Param, error) {
			m, err := NewMLP(cfg)
			if err != nil {
				return nil, nil, err
			}
			if m.nw.dropout != nil {
				m.nw.dropout.step = h.DropoutSteps
			}
			return m, m.nw.params, nil
		}
	case "ResNet":
		return decodeResNet(c, path, wr, h)
	default:
		return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrUnsupported, "unknown encoder kind %q", h.Kind))
	}
	if err == nil {
		err = sameParams(h.Params, specs)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%v", err))
	}
	if err := wr.fits(specs); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if size >= 0 {
		// The file holds the weights: make the encoder and decode
		// straight into it.
		enc, params, err := build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%v", err))
		}
		dst := make([][]float32, len(params))
		for i, p := range params {
			dst[i], _ = p.Float32s()
		}
		if _, err := wr.values(h, dst); err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		return enc, nil
	}
	// A stream: read (and check) the weights, in buffers that grow with
	// the bytes that arrive, before making the encoder.
	vals, err := wr.values(h, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	enc, params, err := build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, corrupt(path, int64(weightFixed), gometric.ErrShape, "%v", err))
	}
	for i, p := range params {
		v, _ := p.Float32s()
		copy(v, vals[i])
	}
	return enc, nil
}

// sameParams checks that a file's parameter list is an architecture's
// (checked before the encoder, and its memory, is made).
func sameParams(file []fileParam, specs []paramSpec) error {
	if len(file) != len(specs) {
		return fmt.Errorf("%d parameters, the configuration has %d", len(file), len(specs))
	}
	for i, s := range specs {
		if file[i].Name != s.name || !slices.Equal(file[i].Shape, s.shape) {
			return fmt.Errorf("parameter %d is %q %v, the configuration's is %q %v", i, file[i].Name, file[i].Shape, s.name, s.shape)
		}
	}
	return nil
}

// save snapshots the weights under the network's lock (checking that they
// are finite) and writes them outside it, so that a slow disk does not
// hold up Embed and TrainStep.
func save[T float](nw *network[T], kind string, config any, path string) error {
	c := nw.component + ".Save"
	nw.saveMu.Lock() // one Save of this encoder at a time: they may share a path
	defer nw.saveMu.Unlock()
	cfg, err := json.Marshal(config)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c, path, err)
	}
	h := fileHeader{Kind: kind, Config: cfg}
	nw.mu.Lock()
	if nw.dropout != nil {
		h.DropoutSteps = nw.dropout.step
	}
	vals := make([][]float32, len(nw.params))
	for i, p := range nw.params {
		h.Params = append(h.Params, fileParam{Name: p.name, Shape: slices.Clone(p.shape)})
		src := p.value.Data().([]T)
		v := make([]float32, len(src))
		for j, x := range src {
			f := float32(x)
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				nw.mu.Unlock()
				return fmt.Errorf("%s: %s: parameter %s has %v at index %d: %w", c, path, p.name, f, j, gometric.ErrNonFinite)
			}
			v[j] = f
		}
		vals[i] = v
	}
	nw.mu.Unlock()
	return writeWeights(c, path, h, vals)
}

// writeWeights writes a weight file atomically: the magic, the version,
// the header h, the values in its order and the checksum (the format of
// the package doc). c names the caller in errors.
func writeWeights(c, path string, h fileHeader, vals [][]float32) error {
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c, path, err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error {
		bw := binio.NewWriter(w)
		bw.String(weightMagic)
		bw.Uint32(weightVersion)
		bw.Uint32(uint32(len(hj)))
		_, _ = bw.Write(hj)
		for _, v := range vals {
			bw.Float32s(v)
		}
		return bw.Close()
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// corrupt builds an error about a weight file at a byte offset.
func corrupt(path string, off int64, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: offset %d: %s: %w: %w", path, off, fmt.Sprintf(format, args...), ErrWeightFile, sentinel)
}

// weightReader reads one weight file as a stream through binio: the
// framing and the JSON header first (bounded by maxHeader), then the
// declared weights in bounded steps, then the checksum and the end of the
// input.
type weightReader struct {
	path string
	size int64 // the file's length, or -1 when unknown
	br   *binio.Reader
	hl   int64 // the JSON header's length, once read
}

func newWeightReader(path string, r io.Reader, size int64) *weightReader {
	return &weightReader{path: path, size: size, br: binio.NewReader(r)}
}

// short turns a read error into a weight-file error at the current offset.
func (wr *weightReader) short(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt(wr.path, wr.br.Offset(), gometric.ErrShape, "file ends inside the %s (truncated)", what)
	}
	return fmt.Errorf("%s: offset %d: reading the %s: %w", wr.path, wr.br.Offset(), what, err)
}

// header reads and checks the magic, the version, the header length and
// the JSON header.
func (wr *weightReader) header() (fileHeader, error) {
	var h fileHeader
	magic, err := wr.br.Bytes(int64(len(weightMagic)))
	if err != nil {
		return h, wr.short(err, "magic")
	}
	if string(magic) != weightMagic {
		return h, corrupt(wr.path, 0, gometric.ErrShape, "magic is %q, want %q (not a weight file)", magic, weightMagic)
	}
	v, err := wr.br.Uint32()
	if err != nil {
		return h, wr.short(err, "format version")
	}
	if v != weightVersion {
		return h, corrupt(wr.path, 8, gometric.ErrUnsupported, "format version %d, want %d", v, weightVersion)
	}
	hl32, err := wr.br.Uint32()
	if err != nil {
		return h, wr.short(err, "header length")
	}
	hl := int64(hl32)
	if hl > maxHeader {
		return h, corrupt(wr.path, 12, gometric.ErrShape, "header length %d exceeds the limit %d", hl, maxHeader)
	}
	if wr.size >= 0 && hl > wr.size-int64(weightFixed)-binio.ChecksumSize {
		return h, corrupt(wr.path, 12, gometric.ErrShape, "header length %d does not fit a %d-byte file", hl, wr.size)
	}
	hj, err := wr.br.Bytes(hl)
	if err != nil {
		return h, wr.short(err, "header")
	}
	wr.hl = hl
	dec := json.NewDecoder(bytes.NewReader(hj))
	dec.DisallowUnknownFields()
	err = dec.Decode(&h)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = fmt.Errorf("data after the header's JSON object at byte %d of the header", dec.InputOffset())
		}
	}
	if err != nil {
		at := int64(weightFixed)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at += max(0, se.Offset-1) // the offending byte
		}
		return h, wr.mismatchAt(at, gometric.ErrShape, "header: %v", err)
	}
	return h, nil
}

// fits checks that the file's length, when known, is the one the
// architecture's weights need (before they are allocated).
func (wr *weightReader) fits(specs []paramSpec) error {
	if wr.size < 0 {
		return nil
	}
	var total int64
	for _, s := range specs {
		total += int64(shapeLen(s.shape))
	}
	if want := int64(weightFixed) + wr.hl + 4*total + binio.ChecksumSize; wr.size != want {
		return wr.mismatchAt(int64(weightFixed)+wr.hl, gometric.ErrShape, "the file has %d bytes of weights, the header's %d parameters (%d values) need %d",
			wr.size-int64(weightFixed)-wr.hl-binio.ChecksumSize, len(specs), total, 4*total)
	}
	return nil
}

func shapeLen(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// mismatch is an error about the header (the kind, the architecture): at
// the header's offset, unless the file turns out to be damaged.
func (wr *weightReader) mismatch(sentinel error, format string, args ...any) error {
	return wr.mismatchAt(int64(weightFixed), sentinel, format, args...)
}

// mismatchAt reports a header problem at off. A header that fails to
// describe the expected encoder may be damaged rather than another
// encoder's: when the file's length is known, the rest of it is hashed
// (without keeping it) and a checksum mismatch is reported instead.
func (wr *weightReader) mismatchAt(off int64, sentinel error, format string, args ...any) error {
	if wr.size >= 0 {
		if rest := wr.size - wr.br.Offset() - binio.ChecksumSize; rest >= 0 {
			if _, err := io.CopyN(io.Discard, wr.br, rest); err == nil {
				if err := wr.br.Verify(); errors.Is(err, binio.ErrChecksum) {
					return corrupt(wr.path, wr.size-binio.ChecksumSize, gometric.ErrShape, "%v: the file is damaged or truncated (at offset %d: %s)",
						err, off, fmt.Sprintf(format, args...))
				}
			}
		}
	}
	return corrupt(wr.path, off, sentinel, format, args...)
}

// values reads the weights the header declares, into dst[i] when given
// (of the parameter's length) or into new slices, then checks the
// checksum, the end of the input and that every weight is finite.
func (wr *weightReader) values(h fileHeader, dst [][]float32) ([][]float32, error) {
	out := make([][]float32, len(h.Params))
	badAt, badParam, badIndex, badVal := int64(-1), "", 0, float32(0)
	for i, p := range h.Params {
		n := int64(shapeLen(p.Shape))
		start := wr.br.Offset()
		var d []float32
		if dst != nil {
			d = dst[i]
		}
		v, err := wr.br.Float32s(d, n)
		if err != nil {
			return nil, wr.short(err, "weights of "+p.Name)
		}
		if badAt < 0 {
			for j, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					badAt, badParam, badIndex, badVal = start+4*int64(j), p.Name, j, x
					break
				}
			}
		}
		out[i] = v
	}
	crcAt := wr.br.Offset()
	switch err := wr.br.Verify(); {
	case err == nil:
	case errors.Is(err, binio.ErrChecksum):
		return nil, corrupt(wr.path, crcAt, gometric.ErrShape, "%v (file damaged or truncated)", err)
	case errors.Is(err, binio.ErrTrailing):
		return nil, corrupt(wr.path, crcAt+binio.ChecksumSize, gometric.ErrShape, "data after the checksum (the header's %d parameters end at offset %d)", len(h.Params), crcAt)
	default:
		return nil, wr.short(err, "checksum")
	}
	if badAt >= 0 {
		return nil, corrupt(wr.path, badAt, gometric.ErrNonFinite, "parameter %s has %v at index %d", badParam, badVal, badIndex)
	}
	return out, nil
}

// load reads a weight file from r into nw after checking that it holds
// kind with the same configuration (sameConfig) and parameters; nw is
// changed only when the whole file is good.
func load[T float](nw *network[T], kind string, sameConfig func(json.RawMessage) error, path string, r io.Reader, size int64) error {
	c := nw.component + ".Load"
	wr := newWeightReader(path, r, size)
	h, err := wr.header()
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	if h.Kind != kind {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "the file holds a model of kind %q, not %s", h.Kind, kind))
	}
	if err := sameConfig(h.Config); err != nil {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%v", err))
	}
	if h.DropoutSteps != 0 && kind != "MLP" {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "dropout_steps %d in a %s file (only an MLP has dropout)", h.DropoutSteps, kind))
	}
	// Names and shapes are fixed when the network is made: no lock needed.
	specs := make([]paramSpec, len(nw.params))
	for i, p := range nw.params {
		specs[i] = paramSpec{name: p.name, shape: p.shape}
	}
	if len(h.Params) != len(specs) {
		return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "%d parameters, the encoder has %d", len(h.Params), len(specs)))
	}
	for i, s := range specs {
		if h.Params[i].Name != s.name || !slices.Equal(h.Params[i].Shape, s.shape) {
			return fmt.Errorf("%s: %w", c, wr.mismatch(gometric.ErrShape, "parameter %d is %q %v, the encoder's is %q %v", i, h.Params[i].Name, h.Params[i].Shape, s.name, s.shape))
		}
	}
	// Decode and check everything before touching the weights.
	vals, err := wr.checkedValues(h, specs)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for i, p := range nw.params {
		v := p.value.Data().([]T)
		for j, x := range vals[i] {
			v[j] = T(x)
		}
		p.zeroGrad()
	}
	if nw.dropout != nil {
		nw.dropout.step = h.DropoutSteps
	}
	return nil
}

// checkedValues checks that the file holds exactly the values of specs
// (fits) and reads them all (values), into buffers allocated once when the
// file's size is known, before anything is changed.
func (wr *weightReader) checkedValues(h fileHeader, specs []paramSpec) ([][]float32, error) {
	if err := wr.fits(specs); err != nil {
		return nil, err
	}
	var dst [][]float32
	if wr.size >= 0 { // the file holds them: allocate once
		dst = make([][]float32, len(specs))
		for i, s := range specs {
			dst[i] = make([]float32, shapeLen(s.shape))
		}
	}
	return wr.values(h, dst)
}
