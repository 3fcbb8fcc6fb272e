package datasets

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// jpegFuzzLimit bounds the frames the fuzz target decodes (a 256×256
// image), so that no input allocates more than a few MB.
const jpegFuzzLimit = 1 << 16

// FuzzDecodeJPEG feeds arbitrary bytes (seeded with the fixtures) to
// decodeJPEG: it never panics, an image it returns has the size of the
// frame header and at most the limit's pixels, and every file image/jpeg
// decodes within the limit decodes too, to the same size.
func FuzzDecodeJPEG(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "jpeg", "*.jpg"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no JPEG fixtures: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("\xff\xd8\xff\xd9"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeJPEG(bytes.NewReader(data), jpegFuzzLimit)
		cfg, cerr := jpeg.DecodeConfig(bytes.NewReader(data))
		if err == nil {
			sz := got.Bounds().Size()
			if int64(sz.X)*int64(sz.Y) > jpegFuzzLimit {
				t.Fatalf("decoded %v above the limit %d", sz, jpegFuzzLimit)
			}
			if cerr == nil && (cfg.Width != sz.X || cfg.Height != sz.Y) {
				t.Fatalf("decoded %v, header %d×%d", sz, cfg.Width, cfg.Height)
			}
			if got.Rect.Min != (image.Point{}) || len(got.Pix) != 4*sz.X*sz.Y {
				t.Fatalf("decoded %v with %d bytes", got.Rect, len(got.Pix))
			}
			return
		}
		if cerr != nil || int64(cfg.Width)*int64(cfg.Height) > jpegFuzzLimit {
			return
		}
		if _, gerr := jpeg.Decode(bytes.NewReader(data)); gerr == nil {
			t.Fatalf("image/jpeg decodes the file, decodeJPEG fails: %v", err)
		}
	})
}

// jpegWithSOF returns a fixture with its frame header's height and
// width replaced.
func jpegWithSOF(t testing.TB, name string, w, h int, precision byte) []byte {
	t.Helper()
	b := bytes.Clone(readJPEGFixture(t, name))
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatalf("%s: no SOF0", name)
	}
	b[i+4] = precision
	b[i+5], b[i+6] = byte(h>>8), byte(h)
	b[i+7], b[i+8] = byte(w>>8), byte(w)
	return b
}

// TestDecodeJPEGErrors covers bad input: each case returns an error
// naming the problem and allocates little (a header declaring 4·10^9
// pixels is refused before the image is allocated).
func TestDecodeJPEGErrors(t *testing.T) {
	good := readJPEGFixture(t, "s420_q75")
	cases := []struct {
		name  string
		data  []byte
		limit int64
		want  string
	}{
		{"empty", nil, DefaultMaxPixels, "EOF"},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n"), DefaultMaxPixels, "missing SOI marker"},
		{"SOI only", []byte("\xff\xd8"), DefaultMaxPixels, "EOF"},
		{"no frame", []byte("\xff\xd8\xff\xd9"), DefaultMaxPixels, "missing SOS marker"},
		{"truncated", good[:len(good)/2], DefaultMaxPixels, "short Huffman data"}, // Pillow refuses truncated files too
		{"header too large", jpegWithSOF(t, "s420_q75", 65535, 65535, 8), DefaultMaxPixels, "above the limit"},
		{"above a small limit", good, 300*200 - 1, "300×200 is 60000 pixels, above the limit 59999"},
		{"zero height", jpegWithSOF(t, "s420_q75", 300, 0, 8), DefaultMaxPixels, "DNL"},
		{"zero width", jpegWithSOF(t, "s420_q75", 0, 200, 8), DefaultMaxPixels, "empty frame"},
		{"12-bit", jpegWithSOF(t, "s420_q75", 300, 200, 12), DefaultMaxPixels, "precision"},
		{"arithmetic coding", bytes.Replace(bytes.Clone(good), []byte{0xff, 0xc0}, []byte{0xff, 0xc9}, 1), DefaultMaxPixels, "unknown marker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m *image.RGBA
			var err error
			n := testkit.Allocated(func() { m, err = decodeJPEG(bytes.NewReader(tc.data), tc.limit) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error containing %q", m, err, tc.want)
			}
			if tc.name != "truncated" && n > 1<<20 {
				t.Errorf("allocated %d bytes before failing", n)
			}
		})
	}
}
