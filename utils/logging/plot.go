package logging

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Smooth returns the exponential moving average of xs that the loss plot
// draws: s₀ = x₀, sᵢ = sᵢ₋₁ + α·(xᵢ − sᵢ₋₁) with α = 2/(span+1), the
// span being len(xs)/20 clamped to [1, 100] iterations (pandas'
// ewm(span=span, adjust=False)). Non-finite values are skipped (they keep
// the previous average).
func Smooth(xs []float64) []float64 {
	span := min(max(len(xs)/20, 1), 100)
	alpha := 2 / float64(span+1)
	out := make([]float64, len(xs))
	s, started := 0.0, false
	for i, x := range xs {
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
		case !started:
			s, started = x, true
		default:
			s += alpha * (x - s)
		}
		out[i] = s
		if !started {
			out[i] = math.NaN()
		}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// palette colours the metric lines.
var palette = []color.Color{
	color.RGBA{B: 200, A: 255},
	color.RGBA{G: 150, A: 255},
	color.RGBA{R: 150, B: 150, A: 255},
	color.RGBA{R: 200, G: 120, A: 255},
	color.RGBA{G: 150, B: 150, A: 255},
	color.RGBA{R: 90, G: 90, B: 90, A: 255},
}

// WritePlot draws a run and writes the PNG to w: on the
// left the loss of every iteration (light) and its Smooth curve (dark),
// by global iteration (or, without iterations, the epochs' mean loss by
// epoch); on the right each metric of metrics per evaluated epoch, labelled
// by short (the metric's name where short has none). Non-finite values
// are left out.
func WritePlot(w io.Writer, records []EpochRecord, iterLoss []float64, metrics []string, short map[string]string) error {
	if check.Nil(w) {
		return fmt.Errorf("logging.WritePlot: nil writer: %w", gometric.ErrSetting)
	}
	lossPlot := plot.New()
	lossPlot.Y.Label.Text = "loss"
	lossPlot.Legend.Top = true
	var raw plotter.XYs
	if len(iterLoss) > 0 {
		lossPlot.Title.Text = "training loss per iteration"
		lossPlot.X.Label.Text = "iteration"
		var sm plotter.XYs
		for i, v := range iterLoss {
			if finite(v) {
				raw = append(raw, plotter.XY{X: float64(i), Y: v})
			}
		}
		for i, v := range Smooth(iterLoss) {
			if finite(v) {
				sm = append(sm, plotter.XY{X: float64(i), Y: v})
			}
		}
		if len(raw) > 0 {
			l, err := plotter.NewLine(raw)
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			l.Color = color.RGBA{R: 240, G: 170, B: 170, A: 255}
			s, err := plotter.NewLine(sm)
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			s.Color, s.Width = color.RGBA{R: 180, A: 255}, vg.Points(1.5)
			lossPlot.Add(l, s)
			lossPlot.Legend.Add("loss", l)
			lossPlot.Legend.Add("smoothed (EMA)", s)
		}
	} else {
		lossPlot.Title.Text = "training loss (epoch mean)"
		lossPlot.X.Label.Text = "epoch"
		for _, r := range records {
			if r.Train != nil && finite(r.Train.LossMean) {
				raw = append(raw, plotter.XY{X: float64(r.Epoch), Y: r.Train.LossMean})
			}
		}
		if len(raw) > 0 {
			l, pts, err := plotter.NewLinePoints(raw)
			if err != nil {
				return fmt.Errorf("plot: %w", err)
			}
			l.Color, pts.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
			lossPlot.Add(l, pts)
		}
	}
	lossPlot.X.Min = 0
	lossPlot.Y.Min, lossPlot.Y.Max = 0, 0
	for _, p := range raw {
		lossPlot.Y.Min = min(lossPlot.Y.Min, p.Y)
		lossPlot.Y.Max = max(lossPlot.Y.Max, 1.1*p.Y)
	}
	if lossPlot.Y.Max == lossPlot.Y.Min {
		lossPlot.Y.Max = lossPlot.Y.Min + 1
	}
	lossPlot.Add(plotter.NewGrid())

	metricPlot := plot.New()
	metricPlot.Title.Text = "validation metrics"
	metricPlot.X.Label.Text = "epoch"
	metricPlot.Y.Min, metricPlot.Y.Max = 0, 1
	metricPlot.Legend.Top = false
	metricPlot.Legend.Left = false
	for i, m := range metrics {
		var xy plotter.XYs
		for _, r := range records {
			if v, ok := r.Primary(m); ok {
				xy = append(xy, plotter.XY{X: float64(r.Epoch), Y: v})
				metricPlot.Y.Min, metricPlot.Y.Max = min(metricPlot.Y.Min, v), max(metricPlot.Y.Max, v)
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		c := palette[i%len(palette)]
		l.Color, pts.Color = c, c
		metricPlot.Add(l, pts)
		label := short[m]
		if label == "" {
			label = m
		}
		metricPlot.Legend.Add(label, l, pts)
	}
	metricPlot.Add(plotter.NewGrid())

	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{lossPlot, metricPlot}}, tiles, dc)
	lossPlot.Draw(canvases[0][0])
	metricPlot.Draw(canvases[0][1])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}
