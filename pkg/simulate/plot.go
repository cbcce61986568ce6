package simulate

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/scaled-dev/scaled/internal/durfmt"
)

// plotColumns is the most points a plotted series has: longer timelines are
// averaged over buckets of ticks, which keeps files small and lines legible.
const plotColumns = 1500

// PlotFormats are the formats WritePlot draws.
var PlotFormats = []string{"png", "svg"}

var (
	colourDemand    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colourCapacity  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colourRequested = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colourViolating = color.RGBA{R: 214, G: 39, B: 40, A: 255}
)

// A PlotCanvas is what a plot is drawn on and then written out.
type PlotCanvas interface {
	vg.CanvasSizer
	io.WriterTo
}

// NewPlotCanvas is a white canvas of width by height that writes format,
// one of PlotFormats.
func NewPlotCanvas(format string, width, height vg.Length) (PlotCanvas, error) {
	switch strings.ToLower(format) {
	case "png":
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}, nil
	case "svg":
		return vgsvg.New(width, height), nil
	}
	return nil, fmt.Errorf("plot format: %q: must be one of %s", format, strings.Join(PlotFormats, ", "))
}

// PlotReference is another run drawn beside the plotted one: its
// requested replicas, dashed, in the replicas panel.
type PlotReference struct {
	Name string // the legend's label, e.g. "HPA u=0.6"
	Rows []Row  // its timeline, over the same ticks as the plotted run's
}

// WritePlot draws a run's timeline in three aligned panels over time: demand
// against ready capacity (ready x c, the demand the ready replicas serve
// within the SLO), requested and ready replicas with each reference's
// requested replicas, and the share of requests that violated the SLO.
// format is png or svg; title heads the figure.
func WritePlot(w io.Writer, format, title string, rows []Row, p Params, refs ...PlotReference) error {
	if len(rows) == 0 {
		return fmt.Errorf("plot: the timeline is empty")
	}
	for _, r := range refs {
		if len(r.Rows) != len(rows) {
			return fmt.Errorf("plot: reference %s has %d ticks, the run %d", r.Name, len(r.Rows), len(rows))
		}
	}
	canvas, err := NewPlotCanvas(format, 12*vg.Inch, 9*vg.Inch)
	if err != nil {
		return err
	}

	per := (len(rows) + plotColumns - 1) / plotColumns
	n := (len(rows) + per - 1) / per
	demand, capacity := make(plotter.XYs, n), make(plotter.XYs, n)
	requested, ready := make(plotter.XYs, n), make(plotter.XYs, n)
	violating := make(plotter.XYs, n)
	refLines := make([]plotter.XYs, len(refs))
	for i := range refLines {
		refLines[i] = make(plotter.XYs, n)
	}
	c := p.C()
	for b := range n {
		lo, hi := b*per, min((b+1)*per, len(rows))
		var d, cp, rq, rd, bad float64
		for _, r := range rows[lo:hi] {
			d += r.Demand
			cp += float64(r.Ready) * c
			rq += float64(r.Replicas)
			rd += float64(r.Ready)
			if r.Violating {
				bad += r.Demand
			}
		}
		k := float64(hi - lo)
		x := float64(rows[lo].Time.Unix())
		demand[b] = plotter.XY{X: x, Y: d / k}
		capacity[b] = plotter.XY{X: x, Y: cp / k}
		requested[b] = plotter.XY{X: x, Y: rq / k}
		ready[b] = plotter.XY{X: x, Y: rd / k}
		share := 0.0
		if d > 0 {
			share = bad / d
		}
		violating[b] = plotter.XY{X: x, Y: share}
		for i, ref := range refs {
			var rq float64
			for _, r := range ref.Rows[lo:hi] {
				rq += float64(r.Replicas)
			}
			refLines[i][b] = plotter.XY{X: x, Y: rq / k}
		}
	}

	span := rows[len(rows)-1].Time.Sub(rows[0].Time)
	ticks := plot.TimeTicks{Format: "Jan 02 15:04", Time: plot.UnixTimeIn(time.UTC)}
	if span > 3*24*time.Hour {
		ticks.Format = "Jan 02"
	}
	every := ""
	if per > 1 {
		every = fmt.Sprintf(" (each point the mean of %d ticks, %s)", per, durfmt.D(time.Duration(per)*p.T))
	}

	top := plot.New()
	top.Title.Text = title
	top.Y.Label.Text = "requests/s"
	top.X.Tick.Marker = ticks
	if err := addLines(top, "demand", demand, colourDemand, "capacity (ready x c)", capacity, colourCapacity); err != nil {
		return err
	}
	mid := plot.New()
	mid.Y.Label.Text = "replicas"
	mid.X.Tick.Marker = ticks
	if err := addLines(mid, "requested", requested, colourRequested, "ready", ready, colourCapacity); err != nil {
		return err
	}
	for i, ref := range refs {
		l, err := plotter.NewLine(refLines[i])
		if err != nil {
			return err
		}
		grey := uint8(60 + 60*(i%3))
		l.Color = color.RGBA{R: grey, G: grey, B: grey, A: 255}
		l.Dashes = []vg.Length{vg.Points(float64(6 - 2*(i%3))), vg.Points(3)}
		mid.Add(l)
		mid.Legend.Add(ref.Name+" requested", l)
	}
	low := plot.New()
	low.Y.Label.Text = "violating share"
	low.X.Label.Text = "time (UTC)" + every
	low.X.Tick.Marker = ticks
	low.Y.Min, low.Y.Max = 0, 1.2 // room for the legend
	bad, err := plotter.NewLine(violating)
	if err != nil {
		return err
	}
	bad.Color = colourViolating
	bad.FillColor = color.NRGBA{R: 214, G: 39, B: 40, A: 90}
	low.Add(bad, plotter.NewGrid())
	low.Legend.Add(fmt.Sprintf("requests over the SLO (p95 > %gs)", p.L), bad)
	low.Legend.Top = true

	for _, pl := range []*plot.Plot{top, mid} {
		pl.X.Min, pl.X.Max = demand[0].X, demand[n-1].X
	}
	low.X.Min, low.X.Max = demand[0].X, demand[n-1].X

	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6),
		PadRight: vg.Points(12), PadY: vg.Points(8)}
	plots := [][]*plot.Plot{{top}, {mid}, {low}}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	_, err = canvas.WriteTo(w)
	return err
}

func addLines(p *plot.Plot, nameA string, a plotter.XYs, colA color.Color, nameB string, b plotter.XYs, colB color.Color) error {
	la, err := plotter.NewLine(a)
	if err != nil {
		return err
	}
	lb, err := plotter.NewLine(b)
	if err != nil {
		return err
	}
	la.Color, lb.Color = colA, colB
	la.Width, lb.Width = vg.Points(1), vg.Points(1)
	p.Add(plotter.NewGrid(), lb, la) // the first series drawn last, on top
	p.Legend.Add(nameA, la)
	p.Legend.Add(nameB, lb)
	p.Legend.Top = true
	p.Y.Min = 0
	if m := maxY(a, b); m > 0 && !math.IsInf(m, 0) {
		p.Y.Max = m * 1.25 // room for the legend
	}
	return nil
}

func maxY(series ...plotter.XYs) float64 {
	m := 0.0
	for _, s := range series {
		for _, xy := range s {
			m = max(m, xy.Y)
		}
	}
	return m
}
