package extract

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gometric/gometric/internal/binio"
)

// partialMagic starts a partial file: "GMFPART" and the format version, 1.
const partialMagic = "GMFPART1"

// MaxKey is the longest Options.Key, in bytes.
const MaxKey = 4096

// maxFeatureBytes is the largest feature file (labels and features) the
// datasets.Features binary format reads: 16 GiB.
const maxFeatureBytes = 1 << 34

// headerFixed is the length of a header before its key.
const headerFixed = 8 + 8 + 4 + 4 + sha256.Size + 4

// recordHead is the length of a chunk record before its features.
const recordHead = 8 + 4

// header is what a partial file is for.
type header struct {
	n      int64    // samples of the data set
	dim    int64    // features per sample
	batch  int64    // batch size the chunks were embedded with
	labels [32]byte // SHA-256 of the labels (labelPrint)
	key    string   // the caller's identity of the encoder
}

// labelPrint is the fingerprint of labels recorded in a partial file: the
// SHA-256 of each label as a little-endian int64.
func labelPrint(labels []int) [32]byte {
	h := sha256.New()
	var b [8 * 512]byte
	for rest := labels; len(rest) > 0; {
		k := min(len(rest), 512)
		for i, l := range rest[:k] {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(int64(l)))
		}
		h.Write(b[:8*k])
		rest = rest[k:]
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// fits says whether n samples of dimension dim fit a feature file.
func fits(n, dim int64) bool {
	return n >= 1 && dim >= 1 && n <= math.MaxUint32 && dim <= math.MaxUint32 && dim+1 <= maxFeatureBytes/4/n
}

// encodeHeader returns the header's bytes, checksum included.
func encodeHeader(h header) []byte {
	b := make([]byte, 0, headerFixed+len(h.key)+binio.ChecksumSize)
	b = append(b, partialMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.n))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.batch))
	b = append(b, h.labels[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h.key)))
	b = append(b, h.key...)
	return binio.Seal(b)
}

// encodeRecord returns the chunk record of rows [start, start+rows) with
// their features, checksum included.
func encodeRecord(start int64, rows int, data []float32) []byte {
	var buf bytes.Buffer
	buf.Grow(recordHead + 4*len(data) + binio.ChecksumSize)
	w := binio.NewWriter(&buf)
	w.Uint64(uint64(start))
	w.Uint32(uint32(rows))
	w.Float32s(data)
	_ = w.Close() // a bytes.Buffer does not fail
	return buf.Bytes()
}

// errHeader marks an unreadable header: the file is not a partial file
// of this version, or it is damaged.
var errHeader = errors.New("not a partial feature file or damaged header")

// partial is what readPartial found: the header, the features of the
// complete chunks (rows samples, rows·dim values) and the length of the
// file's prefix they span.
type partial struct {
	hdr   header
	data  []float32
	rows  int64
	valid int64 // bytes of header and complete chunks
	bad   string
}

// readPartial reads a partial file. An unreadable header is an error
// wrapping errHeader; the chunks are read while they are whole, in order
// and of the header's batch alignment, and their checksums match: the
// first that is not ends what is kept (bad says why; a file cut inside a
// chunk is what a killed run leaves). Memory grows with the bytes read,
// not with the counts the file declares.
func readPartial(r io.Reader) (partial, error) {
	var p partial
	fixed := make([]byte, headerFixed)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return p, fmt.Errorf("%w: the file ends inside the %d-byte header", errHeader, headerFixed)
	}
	if string(fixed[:8]) != partialMagic {
		return p, fmt.Errorf("%w: magic number %q, want %q", errHeader, fixed[:8], partialMagic)
	}
	h := header{
		n:     int64(binary.LittleEndian.Uint64(fixed[8:])),
		dim:   int64(binary.LittleEndian.Uint32(fixed[16:])),
		batch: int64(binary.LittleEndian.Uint32(fixed[20:])),
	}
	copy(h.labels[:], fixed[24:24+sha256.Size])
	keyLen := int64(binary.LittleEndian.Uint32(fixed[headerFixed-4:]))
	if keyLen > MaxKey {
		return p, fmt.Errorf("%w: key of %d bytes, more than %d", errHeader, keyLen, MaxKey)
	}
	rest, _, err := binio.ReadFull(r, keyLen+binio.ChecksumSize)
	if err != nil {
		return p, fmt.Errorf("%w: the file ends inside the header's key and checksum", errHeader)
	}
	if _, err := binio.Open(append(fixed, rest...)); err != nil {
		return p, fmt.Errorf("%w: header %v", errHeader, err)
	}
	h.key = string(rest[:keyLen])
	if !fits(h.n, h.dim) || h.batch < 1 {
		return p, fmt.Errorf("%w: %d samples of dimension %d in batches of %d do not fit a feature file", errHeader, h.n, h.dim, h.batch)
	}
	p.hdr, p.valid = h, headerFixed+keyLen+binio.ChecksumSize
	var head [recordHead]byte
	for p.rows < h.n {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				p.bad = fmt.Sprintf("the chunk at byte %d is cut short", p.valid)
			}
			return p, nil
		}
		start := int64(binary.LittleEndian.Uint64(head[:]))
		rows := int64(binary.LittleEndian.Uint32(head[8:]))
		end := start + rows
		if start != p.rows || rows < 1 || rows > h.n-start || (end != h.n && rows%h.batch != 0) {
			p.bad = fmt.Sprintf("the chunk at byte %d declares samples %d to %d after sample %d", p.valid, start, end, p.rows)
			return p, nil
		}
		body, _, err := binio.ReadFull(r, 4*rows*h.dim+binio.ChecksumSize)
		if err != nil {
			p.bad = fmt.Sprintf("the chunk at byte %d is cut short", p.valid)
			return p, nil
		}
		if _, err := binio.Open(append(head[:], body...)); err != nil {
			p.bad = fmt.Sprintf("the chunk at byte %d is damaged (%v)", p.valid, err)
			return p, nil
		}
		for i := int64(0); i < rows*h.dim; i++ {
			p.data = append(p.data, math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:])))
		}
		p.rows = end
		p.valid += recordHead + int64(len(body))
	}
	return p, nil
}
