package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// folderFS is an image folder of 2×3 grey PNGs in three classes; image k
// (in the folder's order) has pixel value 10k+5 and class k%3.
func folderFS(t testing.TB, n int) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for k := range n {
		img := image.NewGray(image.Rect(0, 0, 3, 2))
		for i := range img.Pix {
			img.Pix[i] = uint8(10*k + 5)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		// Names sort in k order within a class.
		name := string(rune('a'+k%3)) + "/" + string(rune('a'+k/3)) + ".png"
		fsys[name] = &fstest.MapFile{Data: buf.Bytes()}
	}
	return fsys
}

// testSets returns one data set of each kind, each with 9 samples and
// labels that are not sorted.
func testSets(t testing.TB) map[string]Dataset {
	t.Helper()
	labels := []int{7, 2, 7, 0, 2, 2, 9, 0, 7}
	data := make([]float32, 0, 2*len(labels))
	for i := range labels {
		data = append(data, float32(i), float32(-i))
	}
	f, err := NewFeatures(2, data, slices.Clone(labels))
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]uint8, 0, 4*len(labels))
	for i := range labels {
		pix = append(pix, uint8(i), uint8(10+i), uint8(20+i), uint8(30+i))
	}
	m, err := NewImages(1, 2, 2, pix, slices.Clone(labels), nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := NewImageFolderFS(folderFS(t, 9))
	if err != nil {
		t.Fatal(err)
	}
	files.Width, files.Height, files.Norm = 3, 2, Normalize{}
	cached, _ := files.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8})
	cached.CacheSize = 4
	return map[string]Dataset{"Features": f, "Images": m, "ImageFiles": files, "ImageFiles cached": cached}
}

// TestBatch checks Dataset.Batch on every data set: the labels returned
// are those of idx, in order; the rows are the samples asked for; dst's
// memory is reused when it is large enough and left alone otherwise.
func TestBatch(t *testing.T) {
	for name, ds := range testSets(t) {
		per := 1
		for _, d := range ds.SampleShape() {
			per *= d
		}
		// One sample at a time, the reference for the rows.
		rows := make([][]float32, ds.Len())
		for i := range rows {
			b, lab, err := ds.Batch([]int{i}, gometric.Matrix{})
			if err != nil || b.Rows != 1 || b.Cols != per || len(b.Data) != per || !slices.Equal(lab, ds.Labels()[i:i+1]) {
				t.Fatalf("%s: Batch([%d]) = %d×%d, labels %v, %v", name, i, b.Rows, b.Cols, lab, err)
			}
			rows[i] = b.Data
		}
		tests := []struct {
			name  string
			idx   []int
			dstOf func(n int) gometric.Matrix // the dst to pass, for n values
			reuse bool                        // the result must use dst's memory
		}{
			{"all", []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, func(int) gometric.Matrix { return gometric.Matrix{} }, false},
			{"reversed, repeats", []int{8, 3, 3, 0, 6, 3}, func(int) gometric.Matrix { return gometric.Matrix{} }, false},
			{"empty", []int{}, func(int) gometric.Matrix { return gometric.Matrix{} }, false},
			{"dst exact", []int{5, 1, 7}, func(n int) gometric.Matrix { return gometric.Matrix{Rows: 3, Cols: per, Data: make([]float32, n)} }, true},
			{"dst larger", []int{2, 4}, func(n int) gometric.Matrix { return gometric.Matrix{Rows: 9, Cols: per, Data: make([]float32, 9*per)} }, true},
			{"dst spare capacity", []int{6, 0}, func(n int) gometric.Matrix { return gometric.Matrix{Data: make([]float32, 0, n)} }, true},
			{"dst too small", []int{6, 0, 1}, func(n int) gometric.Matrix { return gometric.Matrix{Rows: 1, Cols: per, Data: make([]float32, n-1)} }, false},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				n := len(tc.idx) * per
				dst := tc.dstOf(n)
				for i := range dst.Data {
					dst.Data[i] = -7
				}
				orig := slices.Clone(dst.Data)
				got, labels, err := ds.Batch(tc.idx, dst)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]int, len(tc.idx))
				for k, i := range tc.idx {
					want[k] = ds.Labels()[i]
				}
				if !slices.Equal(labels, want) || labels == nil {
					t.Errorf("labels %v, want %v", labels, want)
				}
				if got.Rows != len(tc.idx) || got.Cols != per || len(got.Data) != n {
					t.Fatalf("result %d×%d with %d values, want %d×%d", got.Rows, got.Cols, len(got.Data), len(tc.idx), per)
				}
				for k, i := range tc.idx {
					if !slices.Equal(got.Data[k*per:(k+1)*per], rows[i]) {
						t.Errorf("row %d is not sample %d", k, i)
					}
				}
				shared := cap(dst.Data) > 0 && cap(got.Data) > 0 && &got.Data[:1][0] == &dst.Data[:1][0]
				if shared != tc.reuse {
					t.Errorf("result shares dst's memory: %v, want %v", shared, tc.reuse)
				}
				if !tc.reuse && !slices.Equal(dst.Data, orig) {
					t.Error("a dst too small was written to")
				}
				// The labels are a new slice: changing them leaves the
				// data set alone.
				if len(labels) > 0 {
					before := slices.Clone(ds.Labels())
					labels[0] = -1
					if !slices.Equal(ds.Labels(), before) {
						t.Error("the returned labels alias the data set's")
					}
				}
			})
		}
		t.Run(name+"/out of range", func(t *testing.T) {
			for _, idx := range [][]int{{9}, {0, -1}, {math.MaxInt}} {
				got, labels, err := ds.Batch(idx, gometric.Matrix{})
				if !errors.Is(err, gometric.ErrIndex) || labels != nil || got.Data != nil {
					t.Errorf("Batch(%v) = %v, %v, %v; want an ErrIndex error", idx, got, labels, err)
				}
			}
		})
	}
}

// TestConcurrentBatch backs the documented claim that the data sets are
// safe for concurrent use (run with -race; the cached ImageFiles shares its
// cache between the goroutines).
func TestConcurrentBatch(t *testing.T) {
	for name, ds := range testSets(t) {
		want, wantLabels, err := ds.Batch([]int{3, 1, 4, 1, 5}, gometric.Matrix{})
		if err != nil {
			t.Fatal(err)
		}
		testkit.Concurrently(t, 4, 1, func(int) error {
			var dst gometric.Matrix
			for range 5 {
				got, labels, err := ds.Batch([]int{3, 1, 4, 1, 5}, dst)
				if err != nil || !slices.Equal(got.Data, want.Data) || !slices.Equal(labels, wantLabels) {
					return fmt.Errorf("%s: %v", name, err)
				}
				dst = got
			}
			if cf, ok := ds.(ClassFilterer[*Features]); ok {
				if _, err := cf.FilterClasses([]int{7}); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// TestLargeLabels: label values far beyond the number of samples (1e18,
// math.MaxInt, 1e9) cost no more memory than small ones.
func TestLargeLabels(t *testing.T) {
	labels := []int{1e18, math.MaxInt, 1e9, 0, 1e18}
	f, err := NewFeatures(1, []float32{1, 2, 3, 4, 5}, labels)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewImages(1, 1, 1, []uint8{1, 2, 3, 4, 5}, labels, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int{1e18: 2, math.MaxInt: 1, 1e9: 1, 0: 1}
	for name, counts := range map[string]map[int]int{"Features": f.ClassCounts(), "Images": m.ClassCounts()} {
		if !maps.Equal(counts, want) {
			t.Errorf("%s.ClassCounts() = %v, want %v", name, counts, want)
		}
	}
	rel, orig := f.Relabel()
	if !slices.Equal(rel.Labels(), []int{2, 3, 1, 0, 2}) || !slices.Equal(orig, []int{0, 1e9, 1e18, math.MaxInt}) {
		t.Errorf("Relabel: %v, %v", rel.Labels(), orig)
	}
	sub, err := m.FilterClasses([]int{math.MaxInt, 1e18})
	if err != nil || !slices.Equal(sub.Labels(), []int{1e18, math.MaxInt, 1e18}) {
		t.Errorf("FilterClasses: %v, %v", sub.Labels(), err)
	}
	first, err := m.FirstPerClass(1)
	if err != nil || first.Len() != 4 {
		t.Errorf("FirstPerClass: %v, %v", first.Labels(), err)
	}
	allocs := testing.AllocsPerRun(10, func() { f.ClassCounts() })
	if allocs > 10 {
		t.Errorf("ClassCounts allocates %v times for 4 classes", allocs)
	}
}

// TestZeroValues checks every exported type of the package (the list is
// read from the source, so a new type cannot be forgotten). Features,
// Images and ImageFiles hold data only their constructors read, so their
// zero values are refused with an error wrapping ErrSetting that names the
// constructors; the other types are plain data whose zero value is
// documented. Every method of a nil pointer returns an error or a zero
// value without panicking.
func TestZeroValues(t *testing.T) {
	refused := map[string]reflect.Type{
		"Features":   reflect.TypeFor[*Features](),
		"ImageFiles": reflect.TypeFor[*ImageFiles](),
		"Images":     reflect.TypeFor[*Images](),
	}
	data := []string{"FileError", "IDX", "Normalize", "Resize", "CenterCropSize", "RandomResizedCrop", "RandomHorizontalFlip", "ColorJitter", "TwoStream"}
	testkit.CheckListed(t, ".", append(slices.Collect(maps.Keys(refused)), data...))
	testkit.CheckConcurrencyDocs(t, ".")
	for name, ty := range refused {
		t.Run(name, func(t *testing.T) {
			for method, err := range testkit.ZeroValue(t, ty) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "datasets."+name+"."+method+": not made by New") {
					t.Errorf("zero value %s: %v; want an ErrSetting error naming the constructors", method, err)
				}
			}
			for method, err := range testkit.NilReceiver(t, ty, "Equal") {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "datasets."+name+"."+method+": nil *"+name) {
					t.Errorf("nil receiver %s: %v; want an ErrSetting error naming the method", method, err)
				}
			}
		})
	}
	var nilImages *Images
	if !nilImages.Equal(nil) || nilImages.Equal(&Images{}) || (&Images{}).Equal(nil) {
		t.Error("Equal with nil pointers")
	}
	testkit.NilReceiver(t, reflect.TypeFor[*FileError]())

	// IDX: the zero value has no dimensions, refused as a bad shape.
	if err := WriteIDX(io.Discard, &IDX{}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("WriteIDX(zero IDX): %v, want ErrShape", err)
	}
	if _, err := NewImagesFromIDX(&IDX{}, &IDX{}, nil); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("NewImagesFromIDX(zero IDXs): %v, want ErrShape", err)
	}
	// Normalize: the zero value is ToTensor alone (p/255).
	m, err := NewImages(1, 1, 2, []uint8{0, 255}, []int{0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = Normalize{}
	if got, _, err := m.Batch([]int{0}, gometric.Matrix{}); err != nil || !slices.Equal(got.Data, []float32{0, 1}) {
		t.Errorf("zero Normalize: %v, %v; want [0 1]", got.Data, err)
	}
	// FileError: the zero value still wraps ErrFormat.
	if err := error(&FileError{Offset: -1}); !errors.Is(err, ErrFormat) || err.Error() != "" {
		t.Errorf("zero FileError: %q", err)
	}
}

// TestConcurrentUse backs, under -race, the claim of every type that says
// it is safe for concurrent use: the methods of Features, Images and
// ImageFiles (reads and derivations), an IDX read by several constructors,
// a FileError formatted by several goroutines, a Normalize shared by two
// Images, and Features.Save racing with LoadFeatures on one path (every
// read sees a whole file).
func TestConcurrentUse(t *testing.T) {
	sets := testSets(t)
	f := sets["Features"].(*Features)
	m := sets["Images"].(*Images)
	files := sets["ImageFiles cached"].(*ImageFiles)
	m2, _ := m.Subset([]int{0, 1, 2})
	shared := Normalize{Mean: []float32{0.5}, Std: []float32{0.25}}
	m.Norm, m2.Norm = shared, shared
	idx := &IDX{Dims: []int{2, 1, 2}, Data: []uint8{1, 2, 3, 4}}
	lab := &IDX{Dims: []int{2}, Data: []uint8{1, 0}}
	fe := &FileError{Component: "c", Path: "p", Line: 3, Offset: -1, Msg: "m", Err: gometric.ErrShape}
	path := filepath.Join(t.TempDir(), "f.bin")
	g, _ := f.Subset([]int{0, 1})
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	wantImages, _ := m.ToFloat32()
	testkit.Concurrently(t, 4, 3, func(k int) error {
		var errs []error
		add := func(err error) { errs = append(errs, err) }
		// Features.
		_, _, err := f.Batch([]int{1, 2}, gometric.Matrix{})
		add(err)
		_ = f.ClassCounts()
		_, _ = f.Relabel()
		_, err = f.FilterClasses([]int{7, 2})
		add(err)
		add(f.WriteCSV(io.Discard))
		add(f.WriteBinary(io.Discard))
		// Images, sharing a Normalize.
		got, err := m.ToFloat32()
		add(err)
		if !slices.Equal(got, wantImages) {
			add(errors.New("Images.ToFloat32 differs"))
		}
		_, _, err = m2.Batch([]int{2, 0}, gometric.Matrix{})
		add(err)
		_, err = m.FirstPerClass(1)
		add(err)
		_, err = m.Image(k % m.Len())
		add(err)
		// ImageFiles with a shared cache.
		_, _, err = files.Batch([]int{k, 8 - k}, gometric.Matrix{})
		add(err)
		_, err = files.Load(t.Context())
		add(err)
		_, _ = files.Relabel()
		// IDX and FileError.
		_, err = NewImagesFromIDX(idx, lab, nil)
		add(err)
		add(WriteIDX(io.Discard, idx))
		if fe.Error() == "" || !errors.Is(fe, ErrFormat) {
			add(errors.New("FileError"))
		}
		// Save and LoadFeatures on one path.
		if k%2 == 0 {
			src := f
			if k == 2 {
				src = g
			}
			add(src.Save(path))
		} else {
			r, err := LoadFeatures(path)
			add(err)
			if err == nil && r.Len() != f.Len() && r.Len() != g.Len() {
				add(fmt.Errorf("read %d samples", r.Len()))
			}
		}
		return errors.Join(errs...)
	})
}
