package datasets

import (
	"errors"
	"image"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/gometric/gometric"
)

// toyImages returns 6 one-channel 2×2 images of classes 3,1,3,0,1,3;
// image i has pixels 10i..10i+3.
func toyImages(t testing.TB) *Images {
	t.Helper()
	labels := []int{3, 1, 3, 0, 1, 3}
	pix := make([]uint8, 0, 24)
	for i := range labels {
		pix = append(pix, uint8(10*i), uint8(10*i+1), uint8(10*i+2), uint8(10*i+3))
	}
	m, err := NewImages(1, 2, 2, pix, labels, []string{"zero", "one", "two", "three"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewImagesErrors(t *testing.T) {
	tests := []struct {
		name     string
		c, h, w  int
		pix      []uint8
		labels   []int
		classes  []string
		sentinel error
	}{
		{"zero channels", 0, 2, 2, nil, []int{0}, nil, gometric.ErrShape},
		{"no labels", 1, 1, 1, nil, nil, nil, gometric.ErrShape},
		{"short pixels", 1, 2, 2, make([]uint8, 7), []int{0, 0}, nil, gometric.ErrShape},
		{"long pixels", 1, 2, 2, make([]uint8, 9), []int{0, 0}, nil, gometric.ErrShape},
		{"overflow", 1 << 30, 1 << 30, 1 << 30, make([]uint8, 1), []int{0}, nil, gometric.ErrShape},
		{"negative label", 1, 1, 1, []uint8{1}, []int{-1}, nil, gometric.ErrLabels},
		{"label beyond classes", 1, 1, 1, []uint8{1}, []int{2}, []string{"a", "b"}, gometric.ErrLabels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewImages(tc.c, tc.h, tc.w, tc.pix, tc.labels, tc.classes); !errors.Is(err, tc.sentinel) {
				t.Errorf("%v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestImagesBatchNormalize(t *testing.T) {
	m, err := NewImages(1, 1, 4, []uint8{0, 255, 73, 128}, []int{0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		norm Normalize
		want []float64
	}{
		// ToTensor alone: p/255.
		{"to tensor", Normalize{}, []float64{0, 1, 73.0 / 255, 128.0 / 255}},
		// (p/255 − 0.2860) / 0.3530.
		{"fashion-mnist", FashionMNISTNormalize(), []float64{-0.81019830, 2.02266289, 0.00077765, 0.61178692}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m.Norm = tc.norm
			got, err := batchData(m.Batch([]int{0}, gometric.Matrix{}))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-6 {
					t.Errorf("pixel %d: %v, want %v", i, got[i], tc.want[i])
				}
				// Bit-identical to torch's float32 div(255), sub(mean), div(std).
				v := float32(m.pix[i]) / 255
				if len(tc.norm.Mean) > 0 {
					v = (v - tc.norm.Mean[0]) / tc.norm.Std[0]
				}
				if got[i] != v {
					t.Errorf("pixel %d: %v, want float32 %v", i, got[i], v)
				}
			}
		})
	}
	// Three channels with per-channel statistics.
	rgb, _ := NewImages(3, 1, 1, []uint8{255, 255, 255}, []int{0}, nil)
	rgb.Norm = ImageNetNormalize()
	got, err := batchData(rgb.Batch([]int{0}, gometric.Matrix{Data: make([]float32, 0, 10)}))
	want := []float32{(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225}
	if err != nil || !slices.Equal(got, want) || cap(got) != 10 {
		t.Errorf("ImageNet: %v %v (cap %d), want %v in the given buffer", got, err, cap(got), want)
	}
	bad := []Normalize{
		{Mean: []float32{0.5}},
		{Mean: []float32{0.5, 0.5}, Std: []float32{1, 1}},
		{Mean: []float32{0.5}, Std: []float32{0}},
		{Mean: []float32{float32(math.NaN())}, Std: []float32{1}},
	}
	for i, n := range bad {
		m.Norm = n
		if _, err := batchData(m.Batch([]int{0}, gometric.Matrix{})); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("bad Normalize %d: %v, want ErrSetting", i, err)
		}
	}
	m.Norm = Normalize{}
	if _, err := batchData(m.Batch([]int{1}, gometric.Matrix{})); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("index out of range: %v", err)
	}
}

func TestImagesDerived(t *testing.T) {
	m := toyImages(t)
	tests := []struct {
		name       string
		op         func() (*Images, error)
		wantLabels []int
		wantFirst  uint8 // first pixel of the first image
	}{
		{"subset", func() (*Images, error) { return m.Subset([]int{4, 0, 4}) }, []int{1, 3, 1}, 40},
		{"filter", func() (*Images, error) { return m.FilterClasses([]int{3, 0}) }, []int{3, 3, 0, 3}, 0},
		{"filter one", func() (*Images, error) { return m.FilterClasses([]int{1}) }, []int{1, 1}, 10},
		{"first per class", func() (*Images, error) { return m.FirstPerClass(2) }, []int{3, 1, 3, 0, 1}, 0},
		{"first one per class", func() (*Images, error) { return m.FirstPerClass(1) }, []int{3, 1, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.op()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Labels(), tc.wantLabels) || got.Pixels(0)[0] != tc.wantFirst || len(got.Pix()) != 4*got.Len() {
				t.Errorf("labels %v, first pixel %d; want %v, %d", got.Labels(), got.Pixels(0)[0], tc.wantLabels, tc.wantFirst)
			}
		})
	}
	errTests := []struct {
		name     string
		op       func() (*Images, error)
		sentinel error
	}{
		{"subset empty", func() (*Images, error) { return m.Subset(nil) }, gometric.ErrShape},
		{"subset out of range", func() (*Images, error) { return m.Subset([]int{6}) }, gometric.ErrIndex},
		{"filter no classes", func() (*Images, error) { return m.FilterClasses(nil) }, gometric.ErrSetting},
		{"filter absent class", func() (*Images, error) { return m.FilterClasses([]int{0, 2}) }, gometric.ErrLabels},
		{"first zero", func() (*Images, error) { return m.FirstPerClass(0) }, gometric.ErrSetting},
	}
	for _, tc := range errTests {
		if _, err := tc.op(); !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.sentinel)
		}
	}
	r, orig := m.Relabel()
	if !slices.Equal(r.Labels(), []int{2, 1, 2, 0, 1, 2}) || !slices.Equal(orig, []int{0, 1, 3}) || !slices.Equal(r.Classes(), []string{"zero", "one", "three"}) {
		t.Errorf("Relabel: %v %v %v", r.Labels(), orig, r.Classes())
	}
	if !slices.Equal(m.Labels(), []int{3, 1, 3, 0, 1, 3}) {
		t.Errorf("Relabel changed the original labels: %v", m.Labels())
	}
	if !maps.Equal(m.ClassCounts(), map[int]int{0: 1, 1: 2, 3: 3}) || m.ClassName(3) != "three" || m.ClassName(7) != "7" {
		t.Errorf("ClassCounts %v, names %q %q", m.ClassCounts(), m.ClassName(3), m.ClassName(7))
	}
}

func TestImagesImage(t *testing.T) {
	m := toyImages(t)
	img, err := m.Image(2)
	g, ok := img.(*image.Gray)
	if err != nil || !ok || g.GrayAt(1, 1).Y != 23 || g.GrayAt(1, 0).Y != 21 {
		t.Errorf("Image(2): %v %v", img, err)
	}
	rgb, _ := NewImages(3, 1, 2, []uint8{1, 2, 3, 4, 5, 6}, []int{0}, nil)
	img, err = rgb.Image(0)
	if r, gg, b, _ := img.At(1, 0).RGBA(); err != nil || r>>8 != 2 || gg>>8 != 4 || b>>8 != 6 {
		t.Errorf("RGB Image: %v %v", img.At(1, 0), err)
	}
	if _, err := m.Image(6); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("Image(6): %v", err)
	}
	two, _ := NewImages(2, 1, 1, []uint8{1, 2}, []int{0}, nil)
	if _, err := two.Image(0); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("2 channels: %v", err)
	}
}

func TestClassDisjoint(t *testing.T) {
	m := toyImages(t)
	tr, te, err := ClassDisjoint(m, m, []int{3}, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Labels(), []int{3, 3, 3}) || !slices.Equal(te.Labels(), []int{1, 0, 1}) {
		t.Errorf("got %v / %v", tr.Labels(), te.Labels())
	}
	if _, _, err := ClassDisjoint(m, m, []int{3, 1}, []int{1}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("overlap: %v", err)
	}
	if _, _, err := ClassDisjoint(m, m, []int{3}, []int{2}); !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("absent test class: %v", err)
	}
}

func TestParseClassList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"0-4", []int{0, 1, 2, 3, 4}},
		{"5,6, 7 ,9", []int{5, 6, 7, 9}},
		{"7,0-2,1", []int{0, 1, 2, 7}},
		{"101-103", []int{101, 102, 103}},
		{"3-3", []int{3}},
	}
	for _, tc := range tests {
		got, err := ParseClassList(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", " ", "a", "1,,2", "4-2", "-1", "1-", "0-99999999"} {
		if got, err := ParseClassList(bad); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%q: %v %v, want ErrSetting", bad, got, err)
		}
	}
}

func TestFileErrorFormat(t *testing.T) {
	tests := []struct {
		e    *FileError
		want string
	}{
		{&FileError{Component: "c", Path: "p", Line: 3, Offset: -1, Msg: "m", Err: gometric.ErrShape}, "c: p:3: m: bad shape"},
		{&FileError{Component: "c", Path: "p", Offset: 7, Msg: "m", Err: gometric.ErrLabels}, "c: p: byte 7: m: bad labels"},
		{&FileError{Component: "c", Line: 2, Offset: -1, Msg: "m"}, "c: line 2: m"},
		{&FileError{Component: "c", Offset: -1, Msg: "m"}, "c: m"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
		if !errors.Is(tc.e, ErrFormat) {
			t.Errorf("%q does not wrap ErrFormat", tc.e)
		}
	}
}
