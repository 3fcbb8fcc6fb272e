package testers_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
)

// Stanford Online Products read by package datasets carries its super
// class as label level 1, and the tester evaluates both levels under PML's
// keys.
func TestSOPLevels(t *testing.T) {
	dir := t.TempDir()
	var images []testkit.SOPImage
	for c := 1; c <= 4; c++ {
		for k := range 3 {
			img := image.NewRGBA(image.Rect(0, 0, 8, 8))
			for i := range img.Pix {
				img.Pix[i] = uint8(40*c + k)
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, nil); err != nil {
				t.Fatal(err)
			}
			super := 1 + (c-1)/2 // classes 1, 2 in super 1; 3, 4 in super 2
			images = append(images, testkit.SOPImage{ID: len(images) + 1, Class: c, SuperClass: super,
				Rel: fmt.Sprintf("%s/%d_%d.JPG", testkit.SOPSuperDirs[super-1], c, k), JPEG: buf.Bytes()})
		}
	}
	testkit.WriteSOP(t, dir, images)
	ds, err := datasets.NewSOP(dir, datasets.SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	ds.Width, ds.Height = 8, 8
	// The embedding is the image's mean value: classes are separated.
	embed := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		out := gometric.Matrix{Rows: x.Rows, Cols: 2, Data: make([]float32, 2*x.Rows)}
		for i := range x.Rows {
			var s float32
			for _, v := range x.Row(i) {
				s += v
			}
			out.Data[2*i], out.Data[2*i+1] = s/float32(x.Cols), 1
		}
		return out, nil
	})
	tester := testers.NewGlobalEmbeddingSpace()
	tester.Normalize = false
	tester.AllLevels = true
	res, err := tester.Evaluate(context.Background(), embed, map[string]datasets.Dataset{"train": ds})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"precision_at_1_level0", "precision_at_1_level1", "AVERAGE_precision_at_1"} {
		v, ok := res["train"][key]
		if !ok || v.Scalar != 1 {
			t.Errorf("%s = %+v (present %v), want 1", key, v, ok)
		}
	}
}
