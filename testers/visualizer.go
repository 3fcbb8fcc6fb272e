package testers

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/atomicfile"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxLegend is the most classes a scatter plot names in its legend.
const maxLegend = 20

// ScatterPNG writes a PNG scatter plot of embeddings reduced to 2-D,
// coloured by label, to path (atomically, through a temporary file): the
// plot PML's visualizer_hook draws from its visualizer's output. PML's
// visualizer is any object with fit_transform, typically umap.UMAP; here
// the reduction is PCA (the centred embeddings projected on their two
// principal directions; one-dimensional embeddings are drawn on a line),
// as no UMAP or t-SNE library is kept in Go. The legend names the labels
// when there are at most 20. Non-finite or mis-shaped embeddings, or
// labels of another length, are errors wrapping gometric's sentinels.
func ScatterPNG(path string, embeddings gometric.Matrix, labels []int) error {
	const who = "testers.ScatterPNG"
	if err := embeddings.Validate(who, "embeddings"); err != nil {
		return err
	}
	if embeddings.Rows < 1 {
		return fmt.Errorf("%s: no embedding to plot: %w", who, gometric.ErrShape)
	}
	if len(labels) != embeddings.Rows {
		return fmt.Errorf("%s: %d embeddings but %d labels: %w", who, embeddings.Rows, len(labels), gometric.ErrLabels)
	}
	if path == "" {
		return fmt.Errorf("%s: empty path: %w", who, gometric.ErrSetting)
	}
	xy, err := reduce2D(embeddings)
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	classes := slices.Clone(labels)
	slices.Sort(classes)
	classes = slices.Compact(classes)
	pts := make([]plotter.XYs, len(classes))
	for i, l := range labels {
		c, _ := slices.BinarySearch(classes, l)
		pts[c] = append(pts[c], plotter.XY{X: xy[2*i], Y: xy[2*i+1]})
	}
	p := plot.New()
	p.Title.Text = "embeddings (PCA)"
	p.X.Label.Text = "PC 1"
	p.Y.Label.Text = "PC 2"
	for c, xs := range pts {
		s, err := plotter.NewScatter(xs)
		if err != nil {
			return fmt.Errorf("%s: %w: %w", who, err, gometric.ErrNonFinite)
		}
		s.GlyphStyle.Color = hue(c, len(classes))
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		s.GlyphStyle.Radius = vg.Points(2)
		p.Add(s)
		if len(classes) <= maxLegend {
			p.Legend.Add(strconv.Itoa(classes[c]), s)
		}
	}
	wt, err := p.WriterTo(6*vg.Inch, 6*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	}); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return nil
}

// PNGVisualizer returns a function for GlobalEmbeddingSpace.Visualize
// that writes each split's scatter plot at each label level with
// ScatterPNG to dir/<split>_PCA_level<L>.png (PML's keyname for its
// visualizer, accuracies_keyname(visualizer_name, L)); characters of the
// split name other than letters, digits, '.', '-' and '_' become '_'. The
// function is safe for concurrent use (calls for the same split and level
// replace the file atomically).
func PNGVisualizer(dir string) func(split string, level int, embeddings gometric.Matrix, labels []int) error {
	return func(split string, level int, embeddings gometric.Matrix, labels []int) error {
		if dir == "" {
			return fmt.Errorf("testers.PNGVisualizer: empty directory: %w", gometric.ErrSetting)
		}
		clean := strings.Map(func(r rune) rune {
			if r == '.' || r == '-' || r == '_' || r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return r
			}
			return '_'
		}, split)
		if strings.Trim(clean, ".") == "" {
			clean = strings.Repeat("_", len(clean)+1)
		}
		return ScatterPNG(filepath.Join(dir, fmt.Sprintf("%s_PCA_level%d.png", clean, level)), embeddings, labels)
	}
}

// reduce2D returns the embeddings as 2-D points (x0, y0, x1, y1, ...).
func reduce2D(m gometric.Matrix) ([]float64, error) {
	out := make([]float64, 2*m.Rows)
	if m.Cols == 1 {
		for i, v := range m.Data {
			out[2*i] = float64(v)
		}
		return out, nil
	}
	z := mat.NewDense(m.Rows, m.Cols, nil)
	for i := range m.Rows {
		for j, v := range m.Row(i) {
			z.Set(i, j, float64(v))
		}
	}
	p, err := project(z, 2)
	if err != nil {
		return nil, err
	}
	for i, v := range p.Data {
		out[i] = float64(v)
	}
	return out, nil
}

// hue returns the colour of class c of k: evenly spaced hues.
func hue(c, k int) color.Color {
	h := 6 * float64(c) / float64(k)
	x := 1 - math.Abs(math.Mod(h, 2)-1)
	var r, g, b float64
	switch int(h) {
	case 0:
		r, g = 1, x
	case 1:
		r, g = x, 1
	case 2:
		g, b = 1, x
	case 3:
		g, b = x, 1
	case 4:
		r, b = x, 1
	default:
		r, b = 1, x
	}
	const v = 0.85
	return color.RGBA{uint8(255 * v * r), uint8(255 * v * g), uint8(255 * v * b), 255}
}
