package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/testkit"
	"golang.org/x/image/bmp"
)

// This file holds the tests of issue 12's classes in this package: no
// panic and no allocation by label value (class 1), no allocation sized
// by a header or a setting beyond what the input holds or a documented
// limit (class 3), corruption detected (class 4, see also
// TestFeaturesEveryFlip), and the memory bound.

// hugeLabels are label values that once sized allocations.
var hugeLabels = []int{1e18, math.MaxInt, 1e9, math.MaxInt32, 1 << 40}

// TestLabelValues (class 1): any non-negative label works and costs no
// more than a small one, in every function that groups by label; a
// negative label is refused by every constructor with an error naming it.
func TestLabelValues(t *testing.T) {
	for _, big := range hugeLabels {
		t.Run(fmt.Sprint(big), func(t *testing.T) {
			labels := []int{0, big, 3, big}
			f, err := NewFeatures(1, []float32{1, 2, 3, 4}, slices.Clone(labels))
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewImages(1, 1, 1, []uint8{1, 2, 3, 4}, slices.Clone(labels), nil)
			if err != nil {
				t.Fatal(err)
			}
			files, err := NewImageFolderFS(folderFS(t, 4))
			if err != nil {
				t.Fatal(err)
			}
			files.labels = slices.Clone(labels) // as a derived set may hold
			want := map[int]int{0: 1, 3: 1, big: 2}
			var got map[int]int
			total := testkit.Allocated(func() { got = f.ClassCounts() })
			if !maps.Equal(got, want) || !maps.Equal(m.ClassCounts(), want) || !maps.Equal(files.ClassCounts(), want) {
				t.Errorf("ClassCounts = %v, %v, %v; want %v", got, m.ClassCounts(), files.ClassCounts(), want)
			}
			if total > 1<<16 {
				t.Errorf("ClassCounts allocated %d bytes for label %d", total, big)
			}
			rel, orig := f.Relabel()
			if !slices.Equal(rel.Labels(), []int{0, 2, 1, 2}) || !slices.Equal(orig, []int{0, 3, big}) {
				t.Errorf("Relabel = %v, %v", rel.Labels(), orig)
			}
			if r, o := files.Relabel(); !slices.Equal(r.Labels(), []int{0, 2, 1, 2}) || len(r.Classes()) != 3 || o[2] != big {
				t.Errorf("ImageFiles.Relabel = %v, %v, classes %v", r.Labels(), o, r.Classes())
			}
			if sub, err := m.FilterClasses([]int{big}); err != nil || !slices.Equal(sub.Labels(), []int{big, big}) {
				t.Errorf("FilterClasses(%d) = %v, %v", big, sub, err)
			}
			if first, err := m.FirstPerClass(1); err != nil || !slices.Equal(first.Labels(), []int{0, big, 3}) {
				t.Errorf("FirstPerClass(1) = %v, %v", first, err)
			}
			tr, te, err := ClassDisjoint(f, f, []int{big}, []int{0, 3})
			if err != nil || tr.Len() != 2 || te.Len() != 2 {
				t.Errorf("ClassDisjoint: %v", err)
			}
			if name := m.ClassName(big); name != fmt.Sprint(big) {
				t.Errorf("ClassName(%d) = %q", big, name)
			}
			// A label file and a CSV file carry it too.
			var csv bytes.Buffer
			if err := f.WriteCSV(&csv); err != nil {
				t.Fatal(err)
			}
			if g, err := ReadFeatures(&csv); err != nil || !slices.Equal(g.Labels(), labels) {
				t.Errorf("CSV round trip: %v, %v", g, err)
			}
			var bin bytes.Buffer
			err = f.WriteBinary(&bin)
			if big > math.MaxInt32 {
				if !errors.Is(err, gometric.ErrLabels) || !strings.Contains(err.Error(), fmt.Sprint(big)) {
					t.Errorf("WriteBinary(label %d) = %v, want an ErrLabels error naming it", big, err)
				}
			} else if g, err := ReadFeatures(&bin); err != nil || !slices.Equal(g.Labels(), labels) {
				t.Errorf("binary round trip: %v, %v", g, err)
			}
		})
	}
	// Negative labels are refused, naming the label.
	for _, neg := range []int{-1, math.MinInt, -1e18} {
		labels := []int{0, neg}
		_, errF := NewFeatures(1, []float32{1, 2}, labels)
		_, errI := NewImages(1, 1, 1, []uint8{1, 2}, labels, nil)
		_, errC := ReadFeatures(strings.NewReader(fmt.Sprintf("0,1\n%d,2\n", neg)))
		for name, err := range map[string]error{"NewFeatures": errF, "NewImages": errI, "ReadFeatures": errC} {
			if !errors.Is(err, gometric.ErrLabels) || !strings.Contains(err.Error(), fmt.Sprint(neg)) || !strings.HasPrefix(err.Error(), "datasets.") {
				t.Errorf("%s(label %d) = %v, want an ErrLabels error naming it", name, neg, err)
			}
		}
	}
	// Labels beyond the classes named.
	if _, err := NewImages(1, 1, 1, []uint8{1}, []int{math.MaxInt}, []string{"a"}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("NewImages(label MaxInt, 1 class) = %v", err)
	}
}

// TestIndexAccessors (class 1): Row and Pixels return nil outside
// [0, Len()) rather than panicking.
func TestIndexAccessors(t *testing.T) {
	f := toyFeatures(t)
	m, err := NewImages(1, 1, 2, []uint8{1, 2, 3, 4}, []int{0, 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{-1, math.MinInt, 3, math.MaxInt, 1 << 40} {
		if f.Row(i) != nil || m.Pixels(i) != nil {
			t.Errorf("Row/Pixels(%d) not nil", i)
		}
		if _, err := m.Image(i); !errors.Is(err, gometric.ErrIndex) {
			t.Errorf("Image(%d) = %v", i, err)
		}
	}
	if !slices.Equal(f.Row(2), []float32{1e30, 0, 0.333333343}) || !slices.Equal(m.Pixels(1), []uint8{3, 4}) {
		t.Error("Row/Pixels in range")
	}
}

// TestParseClassListBounds (classes 1 and 3): ranges ending at
// math.MaxInt end, and a list may not name more than 2^20 labels.
func TestParseClassListBounds(t *testing.T) {
	mx := fmt.Sprint(math.MaxInt)
	tests := []struct {
		in   string
		want []int // nil: an ErrSetting error
	}{
		{mx, []int{math.MaxInt}},
		{mx + "-" + mx, []int{math.MaxInt}},
		{fmt.Sprint(math.MaxInt-2) + "-" + mx, []int{math.MaxInt - 2, math.MaxInt - 1, math.MaxInt}},
		{"0-1048575", nil}, // checked for its length only below
		{"0-1048576", nil},
		{"0-600000,1000000-1600000", nil},
		{strings.Repeat("0-1000,", 1100) + "5", nil},
		{"0-" + mx, nil},
		{"99999999999999999999", nil},
		{"-1", nil},
		{"5--1", nil},
		{"1-0", nil},
	}
	for _, tc := range tests {
		name := tc.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			var got []int
			var err error
			total := testkit.Allocated(func() { got, err = ParseClassList(tc.in) })
			if tc.in == "0-1048575" {
				if err != nil || len(got) != 1<<20 {
					t.Errorf("%d labels, %v", len(got), err)
				}
				return
			}
			if total > 64<<20 {
				t.Errorf("allocated %d bytes", total)
			}
			if tc.want == nil {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "datasets.ParseClassList: ") {
					t.Errorf("got %d labels, %v; want an ErrSetting error", len(got), err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestUserIDXDims (classes 1 and 3): IDX values built by hand with
// dimensions that overflow, are negative or do not match the data are
// refused by NewImagesFromIDX and WriteIDX.
func TestUserIDXDims(t *testing.T) {
	lab := &IDX{Dims: []int{1}, Data: []uint8{0}}
	tests := []*IDX{
		{Dims: []int{1 << 62, 4, 1}, Data: nil},
		{Dims: []int{1, 1 << 62, 4}, Data: nil},
		{Dims: []int{-1, -1, 1}, Data: []uint8{1}},
		{Dims: []int{1, math.MaxInt, math.MaxInt}, Data: []uint8{1}},
		{Dims: []int{1, 2, 2}, Data: []uint8{1, 2, 3}},
		{Dims: []int{1, 1 << 16, 1 << 15}, Data: []uint8{1}},
	}
	for _, x := range tests {
		if _, err := NewImagesFromIDX(x, lab, nil); !errors.Is(err, gometric.ErrShape) || !strings.HasPrefix(err.Error(), "datasets.NewImagesFromIDX: ") {
			t.Errorf("NewImagesFromIDX(%v) = %v", x.Dims, err)
		}
		if err := WriteIDX(&bytes.Buffer{}, x); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("WriteIDX(%v) = %v", x.Dims, err)
		}
	}
	// The label file too.
	img := &IDX{Dims: []int{1, 1, 1}, Data: []uint8{7}}
	for _, l := range []*IDX{{Dims: []int{math.MaxInt}, Data: []uint8{1}}, {Dims: []int{-5}, Data: nil}} {
		if _, err := NewImagesFromIDX(img, l, nil); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("labels %v: %v", l.Dims, err)
		}
	}
	// A zero dimension makes the others valid (0 bytes), in a file too.
	x := &IDX{Dims: []int{0, 1 << 31, 1 << 31}, Data: []uint8{}}
	var buf bytes.Buffer
	if err := WriteIDX(&buf, x); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadIDX(&buf); err != nil || !slices.Equal(got.Dims, x.Dims) || len(got.Data) != 0 {
		t.Errorf("ReadIDX(%v) = %v, %v", x.Dims, got, err)
	}
}

// TestManyChannels (class 3): Batch of images with many channels builds
// no lookup table per channel, and gives the values the tables give.
func TestManyChannels(t *testing.T) {
	const c = 1 << 16
	pix := make([]uint8, c)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	m, err := NewImages(c, 1, 1, pix, []int{0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = Normalize{Mean: make([]float32, c), Std: make([]float32, c)}
	for i := range m.Norm.Mean {
		m.Norm.Mean[i], m.Norm.Std[i] = float32(i%5)/10, 0.25+float32(i%3)/10
	}
	var got gometric.Matrix
	total := testkit.Allocated(func() { got, _, err = m.Batch([]int{0}, gometric.Matrix{}) })
	if err != nil {
		t.Fatal(err)
	}
	if total > 4*c+1<<16 {
		t.Errorf("Batch allocated %d bytes for %d channels", total, c)
	}
	// The formula gives exactly what a lookup table gives.
	for _, ch := range []int{0, 1, 2, 3, 4, 5, 100, c - 1} {
		small := Normalize{Mean: []float32{m.Norm.Mean[ch]}, Std: []float32{m.Norm.Std[ch]}}
		tab, err := small.table("test", 1)
		if err != nil || tab.luts == nil {
			t.Fatal(err)
		}
		if want := tab.luts[0][pix[ch]]; got.Data[ch] != want {
			t.Errorf("channel %d: %v, want %v", ch, got.Data[ch], want)
		}
	}
}

// TestImageSettings (class 3): output sizes and MaxPixels beyond the
// documented limits are refused naming the values.
func TestImageSettings(t *testing.T) {
	files, err := NewImageFolderFS(folderFS(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	tests := []func(f *ImageFiles){
		func(f *ImageFiles) { f.Width, f.Height = maxSide+1, 1 },
		func(f *ImageFiles) { f.Width, f.Height = 4096, 4096 },
		func(f *ImageFiles) { f.Width, f.Height = math.MaxInt, math.MaxInt },
		func(f *ImageFiles) { f.Width, f.Height = -1, 5 },
		func(f *ImageFiles) { f.MaxPixels = -1 },
		func(f *ImageFiles) { f.MaxPixels = math.MinInt },
	}
	for i, set := range tests {
		f, _ := files.Subset([]int{0, 1})
		set(f)
		_, _, err := f.Batch([]int{0}, gometric.Matrix{})
		_, errLoad := f.Load(t.Context())
		for _, e := range []error{err, errLoad} {
			if !errors.Is(e, gometric.ErrSetting) {
				t.Errorf("case %d: %v, want ErrSetting", i, e)
			}
		}
	}
	f, _ := files.Subset([]int{0})
	f.Width, f.Height = 2048, 2048
	if _, _, err := f.Batch([]int{0}, gometric.Matrix{}); err != nil {
		t.Errorf("2048×2048: %v", err)
	}
}

// declared returns image files of each decodable format whose headers
// declare w×h pixels but hold a few bytes of data.
func declared(t testing.TB, w, h int) map[string][]byte {
	t.Helper()
	small := image.NewGray(image.Rect(0, 0, 2, 2))
	out := map[string][]byte{}

	var buf bytes.Buffer
	png.Encode(&buf, small)
	b := slices.Clone(buf.Bytes())
	// IHDR: signature (8), length (4), "IHDR" (4), width, height, ..., CRC.
	binary.BigEndian.PutUint32(b[16:], uint32(w))
	binary.BigEndian.PutUint32(b[20:], uint32(h))
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	out["png"] = b

	buf.Reset()
	jpeg.Encode(&buf, small, nil)
	b = slices.Clone(buf.Bytes())
	sof := bytes.Index(b, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(b[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(b[sof+7:], uint16(w))
	out["jpg"] = b

	buf.Reset()
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	gif.Encode(&buf, pal, nil)
	b = slices.Clone(buf.Bytes())
	binary.LittleEndian.PutUint16(b[6:], uint16(w))
	binary.LittleEndian.PutUint16(b[8:], uint16(h))
	out["gif"] = b

	buf.Reset()
	bmp.Encode(&buf, small)
	b = slices.Clone(buf.Bytes())
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	out["bmp"] = b

	// A little-endian TIFF: one 8-bit grey strip of 4 bytes.
	le := binary.LittleEndian
	b = []byte("II*\x00")
	b = le.AppendUint32(b, 8)
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	entries := []entry{{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
		{273, 4, 0}, {278, 4, uint32(h)}, {279, 4, 4}}
	dataOff := 8 + 2 + 12*len(entries) + 4
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		if e.tag == 273 {
			e.val = uint32(dataOff)
		}
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, 1)
		if e.typ == 3 {
			b = le.AppendUint16(b, uint16(e.val))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.val)
		}
	}
	b = le.AppendUint32(b, 0)
	out["tiff"] = append(b, 1, 2, 3, 4)
	return out
}

// imageFolderOf is an image folder of one class holding each file.
func imageFolderOf(t testing.TB, files map[string][]byte) *ImageFiles {
	t.Helper()
	fsys := fstest.MapFS{}
	for ext, b := range files {
		fsys["c/x."+ext] = &fstest.MapFile{Data: b}
	}
	d, err := NewImageFolderFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	d.Width, d.Height = 8, 8
	return d
}

// TestImageDeclaredSize (class 3): an image whose header declares more
// than MaxPixels is refused before it is decoded, naming the file, its
// size and the limit, by Batch and Load, in every format.
func TestImageDeclaredSize(t *testing.T) {
	for _, size := range [][2]int{{30000, 30000}, {65535, 65535}, {1 << 20, 1 << 20}, {5793, 5793}, {1, 1<<25 + 1}} {
		files := declared(t, size[0], size[1])
		if size[0] > 65535 || size[1] > 65535 {
			delete(files, "jpg")
			delete(files, "gif")
		}
		d := imageFolderOf(t, files)
		for i, p := range d.Paths() {
			if strings.HasSuffix(p, ".bmp") && size[1] > math.MaxInt32 {
				continue
			}
			var err error
			total := testkit.Allocated(func() { _, _, err = d.Batch([]int{i}, gometric.Matrix{}) })
			want := fmt.Sprintf("%d×%d", size[0], size[1])
			if !errors.Is(err, gometric.ErrShape) || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), p) ||
				!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "MaxPixels = 33554432") {
				t.Errorf("%s declaring %s: %v; want an error naming the file, the size and the limit", p, want, err)
			}
			if total > 1<<20 {
				t.Errorf("%s declaring %s: allocated %d bytes", p, want, total)
			}
		}
		if _, err := d.Load(t.Context()); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("Load: %v", err)
		}
	}
	// MaxPixels lowers the limit; within it a small image decodes.
	d := imageFolderOf(t, declared(t, 2, 2))
	for i := range d.Paths() {
		if _, _, err := d.Batch([]int{i}, gometric.Matrix{}); err != nil && strings.Contains(err.Error(), "MaxPixels") {
			t.Errorf("%s: %v", d.Paths()[i], err)
		}
	}
	d.MaxPixels = 3
	for i, p := range d.Paths() {
		if _, _, err := d.Batch([]int{i}, gometric.Matrix{}); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), "MaxPixels = 3") {
			t.Errorf("%s with MaxPixels 3: %v", p, err)
		}
	}
}

// pad4K pads b with filler to 4 KB.
func pad4K(b []byte, filler byte) []byte {
	for len(b) < 4096 {
		b = append(b, filler)
	}
	return b
}

// TestMemoryBound is issue 12's memory-bound test: a 4 KB file that
// declares gigabytes — IDX plain and gzip, a binary feature file, a CSV
// feature file, an image — fails fast, having allocated under 64 MB.
func TestMemoryBound(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	// IDX headers declaring exactly MaxIDXBytes (read, then short) and
	// 2^32−1 bytes and more (refused at the header).
	idxMax := pad4K([]byte{0, 0, 8, 3, 0, 0, 0x40, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0}, 7)
	idxHuge := pad4K([]byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff}, 7)
	idxHuger := pad4K([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 7)
	// A gzip stream of 4 KB holding 4 MB of data that declares 1 GiB.
	zeros := make([]byte, 4<<20)
	copy(zeros, idxMax[:16])
	bigGz := gz(zeros)
	if len(bigGz) > 8<<10 {
		t.Fatalf("the gzip case is %d bytes", len(bigGz))
	}
	// Binary feature files declaring N = 2^26 samples of D = 63 (16 GiB)
	// and N = D = 2^32−1.
	featMax := pad4K(unsealed(1<<26, 63, nil, nil), 0)
	featHuge := pad4K(unsealed(math.MaxUint32, math.MaxUint32, nil, nil), 0)
	// A CSV file has no header: its 4 KB hold what they hold.
	csv := []byte("1")
	for len(csv) < 4096 {
		csv = append(csv, ",1"...)
	}
	tests := []struct {
		name string
		read func() error
	}{
		{"IDX 1 GiB", func() error { _, err := ReadIDX(bytes.NewReader(idxMax)); return err }},
		{"IDX 2^32-1", func() error { _, err := ReadIDX(bytes.NewReader(idxHuge)); return err }},
		{"IDX 2^96", func() error { _, err := ReadIDX(bytes.NewReader(idxHuger)); return err }},
		{"IDX gzip 1 GiB", func() error { _, err := ReadIDX(bytes.NewReader(gz(idxMax))); return err }},
		{"IDX gzip 2^32-1", func() error { _, err := ReadIDX(bytes.NewReader(gz(idxHuge))); return err }},
		{"IDX gzip of 4 MB declaring 1 GiB", func() error { _, err := ReadIDX(bytes.NewReader(bigGz)); return err }},
		{"features 16 GiB", func() error { _, err := ReadFeatures(bytes.NewReader(featMax)); return err }},
		{"features 2^64", func() error { _, err := ReadFeatures(bytes.NewReader(featHuge)); return err }},
		{"features CSV", func() error { _, err := ReadFeatures(bytes.NewReader(csv)); return err }},
	}
	for ext, b := range declared(t, 30000, 30000) {
		d := imageFolderOf(t, map[string][]byte{ext: pad4K(b, 0)})
		tests = append(tests, struct {
			name string
			read func() error
		}{"image " + ext + " 30000×30000", func() error { _, _, err := d.Batch([]int{0}, gometric.Matrix{}); return err }})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			start := time.Now()
			total := testkit.Allocated(func() { err = tc.read() })
			if tc.name == "features CSV" {
				if err != nil {
					t.Errorf("CSV: %v", err)
				}
			} else if !errors.Is(err, ErrFormat) || !testkit.WrapsSentinel(err) {
				t.Errorf("%v: want a *FileError wrapping a sentinel", err)
			}
			if total >= 64<<20 {
				t.Errorf("allocated %d MB", total>>20)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
			t.Logf("%d KB allocated: %v", total>>10, err)
		})
	}
}

// TestFeaturesCorrupt (class 4): variants of a corrupted binary feature
// file, each an error naming the fault; in particular the issue's case
// (labels [182 1] loaded for [0 1]) is a checksum error.
func TestFeaturesCorrupt(t *testing.T) {
	f, err := NewFeatures(2, []float32{0.5, -1, 2, 3}, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := func(i int, v byte) []byte { b := slices.Clone(good); b[i] = v; return b }
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"label 0 → 182", flip(16, 182), "checksum"},
		{"N byte", flip(8, 3), "ends"},
		{"D byte", flip(12, 1), "checksum"},
		{"feature byte", flip(30, 0x7f), "checksum"},
		{"checksum byte", flip(len(good)-1, good[len(good)-1]^1), "checksum"},
		{"version byte → 1", flip(7, '1'), "version 1"},
		{"version byte → 3", flip(7, '3'), "GMFEATS3"},
		{"magic byte", flip(0, 'g'), "label"},
		{"cut checksum", good[:len(good)-2], "checksum"},
		{"old file (v1)", append([]byte("GMFEATS1"), good[8:len(good)-4]...), "no longer read"},
		{"resealed v1 body", binio.Seal(append([]byte("GMFEATS1"), good[8:len(good)-4]...)), "no longer read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ReadFeatures(bytes.NewReader(tc.data))
			if err == nil {
				t.Fatalf("loaded labels %v", g.Labels())
			}
			if !errors.Is(err, ErrFormat) || !testkit.WrapsSentinel(err) || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.ReadFeatures: ") {
				t.Errorf("%v: want a *FileError wrapping a sentinel, saying %q", err, tc.msg)
			}
		})
	}
}

// TestIssue12Reproductions runs the reproductions issue 12 gives for this
// package, as given.
func TestIssue12Reproductions(t *testing.T) {
	// Class 1: ClassCounts of labels 1e18, math.MaxInt and 1e9.
	for _, l := range []int{1e18, math.MaxInt, 1e9} {
		f, err := NewFeatures(1, []float32{1, 2}, []int{0, l})
		if err != nil {
			t.Fatal(err)
		}
		var c map[int]int
		if total := testkit.Allocated(func() { c = f.ClassCounts() }); total > 1<<16 || !maps.Equal(c, map[int]int{0: 1, l: 1}) {
			t.Errorf("ClassCounts with label %d: %v, %d bytes", l, c, total)
		}
	}
	// "A 20-byte feature file reaches the same code": as CSV.
	f, err := ReadFeatures(strings.NewReader("0,1\n1000000000000000000,2\n"))
	if err != nil || !maps.Equal(f.ClassCounts(), map[int]int{0: 1, 1e18: 1}) {
		t.Errorf("CSV with label 1e18: %v, %v", f, err)
	}
	// Class 3: a 4 MB gzip IDX declaring 2^32−1 bytes.
	raw := make([]byte, 4<<20)
	for i := range raw {
		raw[i] = byte(i*2654435761>>13) ^ byte(i>>7)
	}
	copy(raw, []byte{0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff})
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	zw.Write(raw)
	zw.Close()
	var errIDX error
	if total := testkit.Allocated(func() { _, errIDX = ReadIDX(&buf) }); total > 4<<20 || !errors.Is(errIDX, gometric.ErrShape) || !strings.Contains(errIDX.Error(), "MaxIDXBytes") {
		t.Errorf("4 MB gzip IDX declaring 2^32-1: %v, %d bytes", errIDX, total)
	}
	// Class 3: a 100-byte PNG declaring 30000×30000 in ImageFiles.Batch.
	d := imageFolderOf(t, map[string][]byte{"png": declared(t, 30000, 30000)["png"]})
	var errPNG error
	if total := testkit.Allocated(func() { _, _, errPNG = d.Batch([]int{0}, gometric.Matrix{}) }); total > 1<<20 || !errors.Is(errPNG, gometric.ErrShape) {
		t.Errorf("PNG declaring 30000×30000: %v, %d bytes", errPNG, total)
	}
	// Class 4: single-byte changes of a WriteBinary file of labels [0 1].
	g, _ := NewFeatures(1, []float32{1, 2}, []int{0, 1})
	buf.Reset()
	g.WriteBinary(&buf)
	good := buf.Bytes()
	for i := range good {
		for _, v := range []byte{182, 0, 0xff} {
			if good[i] == v {
				continue
			}
			b := slices.Clone(good)
			b[i] = v
			if h, err := ReadFeatures(bytes.NewReader(b)); err == nil {
				t.Errorf("byte %d = %d: loaded labels %v", i, v, h.Labels())
			}
		}
	}
}
