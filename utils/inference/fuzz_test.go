package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// FuzzLoad feeds arbitrary bytes to the index file parser. It must never
// panic; every rejection must wrap ErrCorrupt or gometric.ErrUnsupported;
// the stream reader (size unknown) and the file reader (size known) must
// agree on acceptance; and an accepted file must re-encode (in its own
// format version) to the very same bytes and load into a searchable index.
func FuzzLoad(f *testing.F) {
	labelled := validFile(f, true)
	plain := validFile(f, false)
	f.Add(labelled)
	f.Add(plain)
	f.Add(validFileVersion(f, true, 1))
	f.Add(validFileVersion(f, false, 1))
	f.Add(labelled[:40])
	f.Add(append(bytes.Clone(plain), 0))
	f.Add([]byte("GMKNNIDX"))
	f.Add([]byte{})
	huge := bytes.Clone(plain)
	binary.LittleEndian.PutUint64(huge[24:], 1<<40)
	f.Add(huge)
	f.Fuzz(func(t *testing.T, data []byte) {
		stream, errStream := ReadIndex(bytes.NewReader(data))
		sized, errSized := readIndex("fuzz", "", bytes.NewReader(data), int64(len(data)))
		for _, err := range []error{errStream, errSized} {
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, gometric.ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrUnsupported", err)
			}
		}
		if (errStream == nil) != (errSized == nil) {
			t.Fatalf("stream reader: %v; sized reader: %v", errStream, errSized)
		}
		if errStream != nil {
			return
		}
		var buf bytes.Buffer
		if err := encodeIndex("fuzz", &buf, stream, binary.LittleEndian.Uint32(data[8:])); err != nil {
			t.Fatalf("re-encoding an accepted file: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("re-encoded file differs from the input")
		}
		if sized.Vectors.Rows != stream.Vectors.Rows || len(sized.Labels) != len(stream.Labels) {
			t.Fatalf("readers disagree: %d/%d rows", sized.Vectors.Rows, stream.Vectors.Rows)
		}
		// An accepted file loads into an exact index that can be searched,
		// unless a vector is too large for float32 distances.
		idx := knn.NewExact(stream.Vectors.Cols, stream.Metric)
		if err := idx.Add(stream.Vectors); err != nil {
			if !errors.Is(err, gometric.ErrNonFinite) {
				t.Fatalf("Add: %v", err)
			}
			return
		}
		if _, err := idx.Search(stream.Vectors, 1); err != nil {
			t.Fatalf("Search: %v", err)
		}
	})
}
