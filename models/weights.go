package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
)

// ErrWeightFile is wrapped (with a gometric sentinel: ErrShape for a
// malformed or mismatched file, ErrUnsupported for an unknown version or
// kind, ErrNonFinite for a NaN or ±Inf weight) by every error about the
// content of a weight file.
var ErrWeightFile = errors.New("bad weight file")

// weightMagic opens every weight file.
const weightMagic = "GMWEIGHT"

// weightVersion is the format version this package writes and reads.
const weightVersion = 1

// maxHeader bounds the JSON header of a weight file.
const maxHeader = 1 << 20

// fileHeader is the JSON header of a weight file.
type fileHeader struct {
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config"`
	Params []fileParam     `json:"params"`
}

type fileParam struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Save writes the encoder's architecture and weights to path in the
// package's weight format (see the package doc), atomically: it writes a
// temporary file in the same directory, syncs it and renames it over path,
// so an interrupted Save leaves the previous file intact.
func (m *ConvNet) Save(path string) error {
	nw, err := m.net("Save")
	if err != nil {
		return err
	}
	return save(nw, "ConvNet", m.cfg, path)
}

// Load reads weights that Save wrote for the same architecture (kind,
// configuration, seed aside, and parameter shapes) into the encoder. The
// file is checked completely before any weight changes; the gradients are
// set to 0.
func (m *ConvNet) Load(path string) error {
	nw, err := m.net("Load")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s.Load: %w", nw.component, err)
	}
	return m.loadBytes(path, data)
}

func (m *ConvNet) loadBytes(path string, data []byte) error {
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
	}, path, data)
}

// Save writes the encoder's architecture and weights to path (see
// ConvNet.Save).
func (m *MLP) Save(path string) error {
	nw, err := m.net("Save")
	if err != nil {
		return err
	}
	return save(nw, "MLP", m.cfg, path)
}

// Load reads weights that Save wrote for the same architecture (see
// ConvNet.Load).
func (m *MLP) Load(path string) error {
	nw, err := m.net("Load")
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s.Load: %w", nw.component, err)
	}
	return m.loadBytes(path, data)
}

func (m *MLP) loadBytes(path string, data []byte) error {
	return load(m.nw, "MLP", func(raw json.RawMessage) error {
		var c MLPConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		if !slices.Equal(c.Sizes, m.cfg.Sizes) {
			return fmt.Errorf("the file's MLP has sizes %v, this one %v", c.Sizes, m.cfg.Sizes)
		}
		return nil
	}, path, data)
}

// LoadEncoder builds the encoder that a weight file describes (a *ConvNet
// or an *MLP) and loads its weights.
func LoadEncoder(path string) (Encoder, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models.LoadEncoder: %w", err)
	}
	return decodeEncoder(path, data)
}

// decodeEncoder is LoadEncoder on the file's content.
func decodeEncoder(path string, data []byte) (Encoder, error) {
	h, _, err := parseWeights(path, data)
	if err != nil {
		return nil, fmt.Errorf("models.LoadEncoder: %w", err)
	}
	hdr := len(weightMagic) + 8
	switch h.Kind {
	case "ConvNet":
		var c ConvNetConfig
		if err := json.Unmarshal(h.Config, &c); err != nil {
			return nil, fmt.Errorf("models.LoadEncoder: %w", corrupt(path, hdr, gometric.ErrShape, "ConvNet configuration: %v", err))
		}
		specs, _, err := convSpecs(c)
		if err == nil {
			err = sameParams(h.Params, specs)
		}
		if err != nil {
			return nil, fmt.Errorf("models.LoadEncoder: %w", corrupt(path, hdr, gometric.ErrShape, "%v", err))
		}
		m, err := NewConvNet(c)
		if err == nil {
			err = m.loadBytes(path, data)
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	case "MLP":
		var c MLPConfig
		if err := json.Unmarshal(h.Config, &c); err != nil {
			return nil, fmt.Errorf("models.LoadEncoder: %w", corrupt(path, hdr, gometric.ErrShape, "MLP configuration: %v", err))
		}
		specs, err := mlpSpecs(c)
		if err == nil {
			err = sameParams(h.Params, specs)
		}
		if err != nil {
			return nil, fmt.Errorf("models.LoadEncoder: %w", corrupt(path, hdr, gometric.ErrShape, "%v", err))
		}
		m, err := NewMLP(c)
		if err == nil {
			err = m.loadBytes(path, data)
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, fmt.Errorf("models.LoadEncoder: %w", corrupt(path, hdr, gometric.ErrUnsupported, "unknown encoder kind %q", h.Kind))
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

// encodeWeights serialises the header and the weights of nw.
func encodeWeights[T float](nw *network[T], kind string, config any) ([]byte, error) {
	cfg, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	h := fileHeader{Kind: kind, Config: cfg}
	size := 0
	for _, p := range nw.params {
		h.Params = append(h.Params, fileParam{Name: p.name, Shape: slices.Clone(p.shape)})
		size += p.Len()
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(weightMagic) + 8 + len(hj) + 4*size + 4)
	buf.WriteString(weightMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(weightVersion))
	_ = binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	var w [4]byte
	for _, p := range nw.params {
		for i, v := range p.value.Data().([]T) {
			f := float32(v)
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, fmt.Errorf("parameter %s has %v at index %d: %w", p.name, f, i, gometric.ErrNonFinite)
			}
			binary.LittleEndian.PutUint32(w[:], math.Float32bits(f))
			buf.Write(w[:])
		}
	}
	binary.LittleEndian.PutUint32(w[:], crc32.ChecksumIEEE(buf.Bytes()))
	buf.Write(w[:])
	return buf.Bytes(), nil
}

func save[T float](nw *network[T], kind string, config any, path string) error {
	c := nw.component + ".Save"
	nw.mu.Lock()
	data, err := encodeWeights(nw, kind, config)
	nw.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c, path, err)
	}
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// corrupt builds an error about a weight file at a byte offset.
func corrupt(path string, off int, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: offset %d: %s: %w: %w", path, off, fmt.Sprintf(format, args...), ErrWeightFile, sentinel)
}

// parseWeights checks the framing of a weight file (magic, version,
// header, size, checksum) and returns its header and the offset of the
// first weight.
func parseWeights(path string, data []byte) (fileHeader, int, error) {
	var h fileHeader
	const fixed = len(weightMagic) + 8
	if len(data) < fixed+4 {
		return h, 0, corrupt(path, len(data), gometric.ErrShape, "file is %d bytes, shorter than the %d-byte frame", len(data), fixed+4)
	}
	if string(data[:len(weightMagic)]) != weightMagic {
		return h, 0, corrupt(path, 0, gometric.ErrShape, "magic is %q, want %q", data[:len(weightMagic)], weightMagic)
	}
	off := len(weightMagic)
	if v := binary.LittleEndian.Uint32(data[off:]); v != weightVersion {
		return h, 0, corrupt(path, off, gometric.ErrUnsupported, "format version %d, want %d", v, weightVersion)
	}
	off += 4
	hl := int(binary.LittleEndian.Uint32(data[off:]))
	if hl > maxHeader || hl > len(data)-fixed-4 {
		return h, 0, corrupt(path, off, gometric.ErrShape, "header length %d does not fit a %d-byte file", hl, len(data))
	}
	off += 4
	body := len(data) - 4
	if want, got := binary.LittleEndian.Uint32(data[body:]), crc32.ChecksumIEEE(data[:body]); want != got {
		return h, 0, corrupt(path, body, gometric.ErrShape, "checksum %08x, the content's is %08x (file damaged or truncated)", want, got)
	}
	dec := json.NewDecoder(bytes.NewReader(data[off : off+hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		at := off
		var se *json.SyntaxError
		if errors.As(err, &se) {
			at += max(0, int(se.Offset)-1) // the offending byte
		}
		return h, 0, corrupt(path, at, gometric.ErrShape, "header: %v", err)
	}
	total := 0
	for i, p := range h.Params {
		n := 1
		for _, d := range p.Shape {
			if d <= 0 || d > maxDim*maxDim || n > (1<<40)/d {
				return h, 0, corrupt(path, off, gometric.ErrShape, "parameter %d (%q) has shape %v", i, p.Name, p.Shape)
			}
			n *= d
		}
		total += n
		if total > 1<<40 {
			return h, 0, corrupt(path, off, gometric.ErrShape, "parameters too large")
		}
	}
	off += hl
	if got := body - off; got != 4*total {
		return h, 0, corrupt(path, off, gometric.ErrShape, "%d bytes of weights, the header's %d parameters need %d", got, len(h.Params), 4*total)
	}
	return h, off, nil
}

func load[T float](nw *network[T], kind string, sameConfig func(json.RawMessage) error, path string, data []byte) error {
	c := nw.component + ".Load"
	h, off, err := parseWeights(path, data)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	hdr := len(weightMagic) + 8
	if h.Kind != kind {
		return fmt.Errorf("%s: %w", c, corrupt(path, hdr, gometric.ErrShape, "the file holds a model of kind %q, not %s", h.Kind, kind))
	}
	if err := sameConfig(h.Config); err != nil {
		return fmt.Errorf("%s: %w", c, corrupt(path, hdr, gometric.ErrShape, "%v", err))
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if len(h.Params) != len(nw.params) {
		return fmt.Errorf("%s: %w", c, corrupt(path, hdr, gometric.ErrShape, "%d parameters, the encoder has %d", len(h.Params), len(nw.params)))
	}
	for i, p := range nw.params {
		if h.Params[i].Name != p.name || !slices.Equal(h.Params[i].Shape, p.shape) {
			return fmt.Errorf("%s: %w", c, corrupt(path, hdr, gometric.ErrShape, "parameter %d is %q %v, the encoder's is %q %v", i, h.Params[i].Name, h.Params[i].Shape, p.name, p.shape))
		}
	}
	// Decode and check everything before touching the weights.
	vals := make([][]T, len(nw.params))
	pos := off
	for i, p := range nw.params {
		v := make([]T, p.Len())
		for j := range v {
			f := math.Float32frombits(binary.LittleEndian.Uint32(data[pos:]))
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return fmt.Errorf("%s: %w", c, corrupt(path, pos, gometric.ErrNonFinite, "parameter %s has %v at index %d", p.name, f, j))
			}
			v[j] = T(f)
			pos += 4
		}
		vals[i] = v
	}
	for i, p := range nw.params {
		copy(p.value.Data().([]T), vals[i])
		p.zeroGrad()
	}
	return nil
}
