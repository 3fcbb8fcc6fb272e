package runner

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/gometric/gometric/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// CSVHeader is the first line of the run's CSV.
var CSVHeader = []string{
	"epoch", "iterations", "loss_mean", "loss_last", "zero_loss_iterations",
	"mean_pos_pairs", "mean_neg_pairs", "mean_triplets",
	"precision_at_1", "r_precision", "mean_average_precision_at_r",
	"train_seconds", "eval_seconds", "warnings",
}

// WriteCSV writes the rows to path atomically: one line per epoch (epoch 0
// is before training, its training columns empty; an epoch that was not
// evaluated, under -val-every, has its metric and eval_seconds columns
// empty). The last
// column holds the metrics' warnings (accuracy.Results.Warnings: what PML
// would log, and why a value is NaN), joined by "; ".
func WriteCSV(path string, rows []Row) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	for _, r := range rows {
		rec := []string{strconv.Itoa(r.Epoch)}
		if t := r.Train; t != nil {
			rec = append(rec, strconv.Itoa(t.Iterations), f(t.LossMean), f(t.LossLast), strconv.Itoa(t.ZeroLossIterations),
				f(t.MeanPosPairs), f(t.MeanNegPairs), f(t.MeanTriplets))
		} else {
			rec = append(rec, "0", "", "", "", "", "", "")
		}
		for _, m := range Metrics {
			if r.Metrics == nil { // not evaluated (-val-every)
				rec = append(rec, "")
				continue
			}
			rec = append(rec, f(r.Metrics[m.Name].Scalar))
		}
		train := ""
		if r.Train != nil {
			train = strconv.FormatFloat(r.Train.Duration.Seconds(), 'f', 3, 64)
		}
		warnings := strings.Join(r.Metrics.Warnings(), "; ")
		if r.fromFile {
			warnings = r.warnings
		}
		eval := strconv.FormatFloat(r.EvalSeconds, 'f', 3, 64)
		if r.Metrics == nil {
			eval = ""
		}
		rec = append(rec, train, eval, warnings)
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}

// WritePNG draws the run — the mean training loss per epoch on the left,
// the retrieval metrics per epoch on the right, non-finite values left out
// — and writes it to path atomically.
func WritePNG(path string, rows []Row) error {
	lossPlot := plot.New()
	lossPlot.Title.Text = "training loss (epoch mean)"
	lossPlot.X.Label.Text = "epoch"
	lossPlot.Y.Label.Text = "loss"
	var lossXY plotter.XYs
	for _, r := range rows {
		if r.Train != nil {
			if v := r.Train.LossMean; !math.IsNaN(v) && !math.IsInf(v, 0) {
				lossXY = append(lossXY, plotter.XY{X: float64(r.Epoch), Y: v})
			}
		}
	}
	if len(lossXY) > 0 {
		l, pts, err := plotter.NewLinePoints(lossXY)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color, pts.Color = color.RGBA{R: 200, A: 255}, color.RGBA{R: 200, A: 255}
		lossPlot.Add(l, pts)
	}
	lossPlot.X.Min = 0
	lossPlot.Y.Min, lossPlot.Y.Max = 0, 0
	for _, p := range lossXY {
		lossPlot.Y.Min = min(lossPlot.Y.Min, p.Y)
		lossPlot.Y.Max = max(lossPlot.Y.Max, 1.1*p.Y)
	}
	if lossPlot.Y.Max == lossPlot.Y.Min {
		lossPlot.Y.Max = lossPlot.Y.Min + 1
	}
	lossPlot.Add(plotter.NewGrid())

	metricPlot := plot.New()
	metricPlot.Title.Text = "test retrieval"
	metricPlot.X.Label.Text = "epoch"
	metricPlot.Y.Min, metricPlot.Y.Max = 0, 1
	metricPlot.Legend.Top = false
	metricPlot.Legend.Left = false
	colors := []color.Color{
		color.RGBA{B: 200, A: 255},
		color.RGBA{G: 150, A: 255},
		color.RGBA{R: 150, B: 150, A: 255},
	}
	for i, m := range Metrics {
		var xy plotter.XYs
		for _, r := range rows {
			// A NaN metric (explained in the CSV's warnings) has no point,
			// nor has an epoch that was not evaluated.
			if r.Metrics == nil {
				continue
			}
			if v := r.Metrics[m.Name].Scalar; !math.IsNaN(v) && !math.IsInf(v, 0) {
				xy = append(xy, plotter.XY{X: float64(r.Epoch), Y: v})
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color, pts.Color = colors[i], colors[i]
		metricPlot.Add(l, pts)
		metricPlot.Legend.Add(m.Short, l, pts)
	}
	metricPlot.Add(plotter.NewGrid())

	const w, h = 10 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{lossPlot, metricPlot}}, tiles, dc)
	lossPlot.Draw(canvases[0][0])
	metricPlot.Draw(canvases[0][1])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return atomicfile.WriteFile(path, buf.Bytes())
}
