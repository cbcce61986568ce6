package main

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/scaled-dev/scaled/pkg/simulate"
)

// writeTunePlot draws violations against cost, both in the search part:
// the HPA reference over a sweep of targets, every candidate, the chosen
// one, and the chosen one's held-out point (cost there as a multiple of
// the reference's in the held-out part, so that both parts share the axis).
func writeTunePlot(w io.Writer, format string, part *simulate.Model, maxReplicas int32, rep tuneReport) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("scaled tune: %s on %s", rep.Scaler, rep.Trace)
	p.X.Label.Text = "cost / the HPA reference's at u=" + fmt.Sprint(rep.HPATarget)
	p.Y.Label.Text = "violating fraction"
	p.Legend.Top = true
	rel := func(s tuneScore, ref tuneScore) plotter.XY { return plotter.XY{X: s.Cost / ref.Cost, Y: s.Violating} }
	var hpa plotter.XYs
	for u := 0.40; u <= 0.851; u += 0.05 {
		hpa = append(hpa, rel(scoreOf(simulate.RunHPAReference(part, u, maxReplicas)), rep.Reference.Search))
	}
	var cands plotter.XYs
	for _, c := range rep.Candidates {
		cands = append(cands, rel(c.Race, rep.RaceRef))
	}
	line, points, err := plotter.NewLinePoints(hpa)
	if err != nil {
		return err
	}
	line.Color, points.Color = color.Black, color.Black
	sc, err := plotter.NewScatter(cands)
	if err != nil {
		return err
	}
	sc.Color = color.RGBA{R: 31, G: 119, B: 180, A: 160}
	sc.Radius = vg.Points(1.5)
	chosen, err := plotter.NewScatter(plotter.XYs{rel(rep.Chosen.Search, rep.Reference.Search)})
	if err != nil {
		return err
	}
	chosen.Color, chosen.Shape, chosen.Radius = color.RGBA{R: 214, G: 39, B: 40, A: 255}, draw.PyramidGlyph{}, vg.Points(5)
	held, err := plotter.NewScatter(plotter.XYs{rel(rep.Chosen.Holdout, rep.Reference.Holdout)})
	if err != nil {
		return err
	}
	held.Color, held.Shape, held.Radius = color.RGBA{R: 44, G: 160, B: 44, A: 255}, draw.BoxGlyph{}, vg.Points(5)
	ref, err := plotter.NewScatter(plotter.XYs{rel(rep.Reference.Holdout, rep.Reference.Holdout)})
	if err != nil {
		return err
	}
	ref.Color, ref.Shape, ref.Radius = color.RGBA{R: 44, G: 160, B: 44, A: 255}, draw.CircleGlyph{}, vg.Points(4)
	p.Add(plotter.NewGrid(), sc, line, points, chosen, held, ref)
	p.Legend.Add("HPA reference, u=0.40..0.85 (search part)", line, points)
	p.Legend.Add("candidates (race part: the last week of the search part)", sc)
	p.Legend.Add("chosen (search part)", chosen)
	p.Legend.Add("chosen (held-out part)", held)
	p.Legend.Add("HPA reference (held-out part)", ref)
	canvas, err := simulate.NewPlotCanvas(format, 10*vg.Inch, 7*vg.Inch)
	if err != nil {
		return err
	}
	p.Draw(draw.New(canvas))
	_, err = canvas.WriteTo(w)
	return err
}
