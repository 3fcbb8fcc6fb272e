package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// FuzzLoad feeds arbitrary bytes to the index file parser, of every
// format version. It must never panic; every rejection must wrap
// ErrCorrupt or gometric.ErrUnsupported; the stream reader (size unknown)
// and the sized reader (size known, as for a regular file or a
// *bytes.Reader) must agree; and an accepted file must re-encode (in its
// own format version) to the very same bytes and load into a searchable
// index.
func FuzzLoad(f *testing.F) {
	for _, v := range []uint32{1, 2, 3} {
		for _, labelled := range []bool{false, true} {
			good := validFileVersion(f, labelled, v)
			f.Add(good)
			f.Add(good[:len(good)/2])
			f.Add(append(bytes.Clone(good), 0))
			huge := bytes.Clone(good)
			binary.LittleEndian.PutUint64(huge[24:], 1<<40)
			f.Add(huge)
			flipped := bytes.Clone(good)
			flipped[8] ^= 1 // another version
			f.Add(flipped)
		}
	}
	f.Add([]byte("GMKNNIDX"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		stream, errStream := ReadIndex(io.MultiReader(bytes.NewReader(data)))
		sized, errSized := ReadIndex(bytes.NewReader(data))
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
		if !reflect.DeepEqual(stream, sized) {
			t.Fatalf("readers disagree: %+v, %+v", stream, sized)
		}
		if again := encodeVersion(t, stream, binary.LittleEndian.Uint32(data[8:])); !bytes.Equal(again, data) {
			t.Fatalf("re-encoded file differs from the input")
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
