package main

import (
	"fmt"
	"html"
	"strings"
)

// Colours of the runners in the chart.
var colours = map[string]string{
	gorunName:    "#1f77b4",
	runcName:     "#ff7f0e",
	crunName:     "#2ca02c",
	crunNoCgName: "#98df8a",
	hostRunner:   "#7f7f7f",
}

// Chart geometry.
const (
	svgWidth  = 1000
	svgMargin = 10
	colWidth  = (svgWidth - 3*svgMargin) / 2
	titleH    = 20
	barH      = 12
	barGap    = 5
	labelW    = 110
	valueW    = 120
	panelGap  = 14
	headerH   = 70
)

// bar is one runner's summary in a panel.
type bar struct {
	label, colour string
	sum           *Summary
	failed        int
}

type panel struct {
	title, unit string
	bars        []bar
	marks       []mark
}

// mark is a vertical line across a panel at a reference value.
type mark struct {
	label string
	value float64 // in the panel's unit
}

func (p panel) height() int {
	h := titleH + len(p.bars)*(barH+barGap) + panelGap
	if len(p.marks) > 0 {
		h += 12
	}
	return h
}

// svgChart draws one panel per quantity (each with its own scale): a bar
// for each runner's median and a whisker from its min to its max.
func svgChart(r *Report) string {
	var panels []panel
	labels := map[string]string{hostRunner: "host"}
	for _, rt := range r.Runtimes {
		labels[rt.Name] = rt.Label
	}
	for _, s := range r.Scenarios {
		p := panel{title: s.Title, unit: s.Unit}
		if suffix, ok := strings.CutPrefix(s.Key, "create+start"); ok {
			fl, ok1 := r.median("floor"+suffix, hostRunner)
			cg, ok2 := r.median("cgroup"+suffix, hostRunner)
			if ok1 && ok2 {
				p.marks = []mark{{"floor+cgroup", fl + cg}, {"target 2×", 2 * (fl + cg)}}
			}
		}
		for _, rt := range r.Runtimes {
			if s.Results[rt.Name] != nil || len(s.Errors[rt.Name]) > 0 {
				p.bars = append(p.bars, bar{labels[rt.Name], colours[rt.Name], s.Results[rt.Name], len(s.Errors[rt.Name])})
			}
		}
		panels = append(panels, p)
	}
	if len(r.References) > 0 {
		p := panel{title: "references (no runtime)", unit: "ms"}
		for _, s := range r.References {
			p.bars = append(p.bars, bar{s.Key, colours[hostRunner], s.Results[hostRunner], len(s.Errors[hostRunner])})
		}
		panels = append(panels, p)
	}

	// Two panels per row, in report order; a row is as tall as its taller
	// panel.
	total := headerH + svgMargin
	for i := 0; i < len(panels); i += 2 {
		h := panels[i].height()
		if i+1 < len(panels) {
			h = max(h, panels[i+1].height())
		}
		total += h
	}

	var w strings.Builder
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, total, svgWidth, total)
	fmt.Fprintf(&w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	m := r.Meta
	fmt.Fprintf(&w, `<text x="%d" y="22" font-size="16" font-weight="bold">gorun, runc and crun: medians (bars), min–max (whiskers)</text>`+"\n", svgMargin)
	sub := fmt.Sprintf("%s · kernel %s · %d CPUs · %d iterations, interleaved · load %s before", m.Date, m.Kernel, m.CPUs, m.Iterations, m.LoadBefore)
	if m.Smoke {
		sub += " · SMOKE RUN: numbers mean nothing"
	}
	fmt.Fprintf(&w, `<text x="%d" y="40" fill="#444">%s</text>`+"\n", svgMargin, esc(sub))
	x := svgMargin
	for _, rt := range r.Runtimes {
		fmt.Fprintf(&w, `<rect x="%d" y="50" width="12" height="12" fill="%s"/><text x="%d" y="60">%s</text>`+"\n", x, colours[rt.Name], x+16, esc(rt.Label+" "+shortVersion(rt.Version)))
		x += 30 + 7*len(rt.Label+shortVersion(rt.Version))
	}
	y := headerH
	for i := 0; i < len(panels); i += 2 {
		h := 0
		for c := 0; c < 2 && i+c < len(panels); c++ {
			drawPanel(&w, panels[i+c], svgMargin+c*(colWidth+svgMargin), y)
			h = max(h, panels[i+c].height())
		}
		y += h
	}
	w.WriteString("</svg>\n")
	return w.String()
}

func drawPanel(w *strings.Builder, p panel, x0, y0 int) {
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, y0+13, esc(truncate(p.title+" ("+displayUnit(p.unit)+")", 85)))
	div := 1.0
	if p.unit == "KiB" {
		div = 1024
	}
	scale := 0.0
	for _, b := range p.bars {
		if b.sum != nil {
			scale = max(scale, b.sum.Max/div)
		}
	}
	for _, m := range p.marks {
		scale = max(scale, m.value/div)
	}
	barMax := float64(colWidth - labelW - valueW)
	px := func(v float64) float64 {
		if scale <= 0 {
			return 0
		}
		return v / div / scale * barMax
	}
	bx := x0 + labelW
	for i, b := range p.bars {
		y := y0 + titleH + i*(barH+barGap)
		cy := float64(y) + barH/2
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end" fill="#333">%s</text>`+"\n", bx-6, y+barH-2, esc(b.label))
		val := ""
		if b.sum != nil {
			fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", bx, y, px(b.sum.Median), barH, b.colour)
			if b.sum.N > 1 {
				x1, x2 := float64(bx)+px(b.sum.Min), float64(bx)+px(b.sum.Max)
				fmt.Fprintf(w, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#222" stroke-width="1" fill="none"/>`+"\n",
					x1, cy, x2, x1, cy-3, cy+3, x2, cy-3, cy+3)
			}
			val = fmtNum(b.sum.Median/div) + " " + displayUnit(p.unit)
		}
		if b.failed > 0 {
			val += fmt.Sprintf(" (%d failed)", b.failed)
		}
		fmt.Fprintf(w, `<text x="%.0f" y="%d" fill="#333">%s</text>`+"\n", float64(bx)+barMax+6, y+barH-2, esc(strings.TrimSpace(val)))
	}
	top, bottom := y0+titleH-2, y0+titleH+len(p.bars)*(barH+barGap)
	for i, m := range p.marks {
		x := float64(bx) + px(m.value)
		dash, anchor, dx := "", "end", -3.0
		if i > 0 {
			dash, anchor, dx = ` stroke-dasharray="4 3"`, "start", 3
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d62728" stroke-width="1.2"%s/>`+"\n", x, top, x, bottom, dash)
		fmt.Fprintf(w, `<text x="%.1f" y="%d" fill="#d62728" font-size="10" text-anchor="%s">%s</text>`+"\n", x+dx, bottom+9, anchor, esc(m.label))
	}
}

func shortVersion(v string) string {
	f := strings.Fields(v)
	if len(f) >= 3 && f[1] == "version" {
		return f[2]
	}
	return ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func esc(s string) string { return html.EscapeString(s) }
