// Package svg draws the small static charts of Rewind's HTML reports as
// inline SVG: line charts with optional spread bands, and histograms.
//
// The output is plain SVG 1.1 with presentation attributes only (no
// scripts, no external fonts, no CSS classes the page must supply), so a
// report renders the same in any browser with no network access. Colours
// are the caller's; the report's tests find plotted pixels by colour.
package svg

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Point is one (x, y) sample of a series.
type Point struct{ X, Y float64 }

// Series is one line of a chart. Lo and Hi, when set, have one entry per
// point and bound a shaded band (a spread over seeds); NaN values in Y,
// Lo or Hi leave a gap.
type Series struct {
	Name   string
	Color  string // any SVG colour, e.g. "#1f77b4"
	Points []Point
	Lo, Hi []float64
	Dashed bool
}

// LineChart is a chart of one or more series against a shared x axis.
type LineChart struct {
	ID             string // the svg element's id
	Title          string
	XLabel, YLabel string
	Series         []Series
	// YMin and YMax fix the y range when YFixed is set (e.g. 0..1 for
	// accuracies); otherwise the range is fitted to the data.
	YMin, YMax float64
	YFixed     bool
	// YZero starts the y axis at 0 and fits its top to the data, at most
	// YMax when YMax > 0 (small fractions stay readable where a 0..1
	// axis would flatten them). Ignored with YFixed.
	YZero  bool
	Width  int // default 560
	Height int // default 300
}

// Bar is one bin of a histogram.
type Bar struct {
	Label string
	Value float64
}

// Histogram is a bar chart of counts or fractions.
type Histogram struct {
	ID             string
	Title          string
	XLabel, YLabel string
	Color          string
	Bars           []Bar
	Width, Height  int
}

const (
	padLeft   = 58
	padRight  = 16
	padTop    = 30
	padBottom = 46
)

type frame struct {
	w, h                   int
	x0, x1, y0, y1         float64 // data range
	left, right, top, bott float64 // plot area in pixels
}

func newFrame(w, h int, x0, x1, y0, y1 float64) frame {
	if x1 <= x0 {
		x0, x1 = x0-0.5, x0+0.5
	}
	if y1 <= y0 {
		y0, y1 = y0-0.5, y0+0.5
	}
	return frame{w: w, h: h, x0: x0, x1: x1, y0: y0, y1: y1,
		left: padLeft, right: float64(w - padRight), top: padTop, bott: float64(h - padBottom)}
}

func (f frame) px(x float64) float64 {
	return f.left + (x-f.x0)/(f.x1-f.x0)*(f.right-f.left)
}

func (f frame) py(y float64) float64 {
	return f.bott - (y-f.y0)/(f.y1-f.y0)*(f.bott-f.top)
}

func open(b *strings.Builder, id string, w, h int, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" id="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11" role="img">`,
		html.EscapeString(id), w, h, w, h)
	fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(title))
	fmt.Fprintf(b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, w, h)
	fmt.Fprintf(b, `<text x="%d" y="18" font-size="13" font-weight="bold">%s</text>`, padLeft, html.EscapeString(title))
}

// axes draws the frame, ticks, grid lines and labels.
func (f frame) axes(b *strings.Builder, xl, yl string, xticks bool) {
	for _, t := range Ticks(f.y0, f.y1, 5) {
		y := f.py(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e6e6e6"/>`, f.left, y, f.right, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, f.left-5, y+4, Format(t))
	}
	if xticks {
		for _, t := range Ticks(f.x0, f.x1, 6) {
			x := f.px(t)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`, x, f.bott, x, f.bott+4)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x, f.bott+16, Format(t))
		}
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888888"/>`,
		f.left, f.top, f.right-f.left, f.bott-f.top)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, (f.left+f.right)/2, f.h-8, html.EscapeString(xl))
	fmt.Fprintf(b, `<text x="12" y="%.1f" text-anchor="middle" transform="rotate(-90 12 %.1f)">%s</text>`,
		(f.top+f.bott)/2, (f.top+f.bott)/2, html.EscapeString(yl))
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// SVG renders the chart. A chart with no finite point renders its frame
// and a "no data" note.
func (c LineChart) SVG() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 560
	}
	if h == 0 {
		h = 300
	}
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range c.Series {
		for i, p := range s.Points {
			if !finite(p.X) || !finite(p.Y) {
				continue
			}
			n++
			x0, x1 = math.Min(x0, p.X), math.Max(x1, p.X)
			y0, y1 = math.Min(y0, p.Y), math.Max(y1, p.Y)
			for _, band := range [][]float64{s.Lo, s.Hi} {
				if i < len(band) && finite(band[i]) {
					y0, y1 = math.Min(y0, band[i]), math.Max(y1, band[i])
				}
			}
		}
	}
	if n == 0 {
		x0, x1, y0, y1 = 0, 1, 0, 1
	}
	if c.YFixed {
		y0, y1 = c.YMin, c.YMax
	} else if n > 0 {
		pad := (y1 - y0) * 0.05
		y0, y1 = y0-pad, y1+pad
		if c.YZero {
			y0, y1 = 0, math.Max(y1, 0)
			if c.YMax > 0 && (y1 > c.YMax || y1 == 0) {
				y1 = c.YMax
			}
		}
	}
	// The legend rows sit above the plot area, which keeps its height.
	pos, lh := legendPlace(c.Series, padLeft, float64(w-padRight))
	h += int(math.Ceil(lh))
	f := newFrame(w, h, x0, x1, y0, y1)
	f.top += lh
	var b strings.Builder
	open(&b, c.ID, w, h, c.Title)
	f.axes(&b, c.XLabel, c.YLabel, true)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#888888">no data</text>`, (f.left+f.right)/2, (f.top+f.bott)/2)
	}
	for _, s := range c.Series {
		drawBand(&b, f, s)
	}
	for _, s := range c.Series {
		drawLine(&b, f, s)
	}
	legend(&b, c.Series, pos)
	b.WriteString(`</svg>`)
	return b.String()
}

// drawBand shades the Lo..Hi area of a series, one polygon per run of
// finite values.
func drawBand(b *strings.Builder, f frame, s Series) {
	if len(s.Lo) != len(s.Points) || len(s.Hi) != len(s.Points) {
		return
	}
	var run []int
	flush := func() {
		if len(run) >= 2 {
			var pts []string
			for _, i := range run {
				pts = append(pts, xy(f, s.Points[i].X, s.Hi[i]))
			}
			for k := len(run) - 1; k >= 0; k-- {
				i := run[k]
				pts = append(pts, xy(f, s.Points[i].X, s.Lo[i]))
			}
			fmt.Fprintf(b, `<polygon points="%s" fill="%s" fill-opacity="0.18" stroke="none"/>`, strings.Join(pts, " "), s.Color)
		}
		run = run[:0]
	}
	for i, p := range s.Points {
		if finite(p.X) && finite(s.Lo[i]) && finite(s.Hi[i]) {
			run = append(run, i)
		} else {
			flush()
		}
	}
	flush()
}

func xy(f frame, x, y float64) string {
	return strconv.FormatFloat(f.px(x), 'f', 1, 64) + "," + strconv.FormatFloat(f.py(clamp(y, f.y0, f.y1)), 'f', 1, 64)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// drawLine draws a series as polylines (gaps at non-finite values) with a
// dot on each point, each dot titled with its values.
func drawLine(b *strings.Builder, f frame, s Series) {
	dash := ""
	if s.Dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	var run []string
	flush := func() {
		if len(run) >= 2 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(run, " "), s.Color, dash)
		}
		run = run[:0]
	}
	for _, p := range s.Points {
		if finite(p.X) && finite(p.Y) {
			run = append(run, xy(f, p.X, p.Y))
		} else {
			flush()
		}
	}
	flush()
	if len(s.Points) > 120 {
		return // dots would hide the line
	}
	for _, p := range s.Points {
		if finite(p.X) && finite(p.Y) {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: x=%s y=%s</title></circle>`,
				f.px(p.X), f.py(clamp(p.Y, f.y0, f.y1)), s.Color, html.EscapeString(s.Name), Format(p.X), Format(p.Y))
		}
	}
}

// legendPlace says where each series' legend entry goes: entries flow left
// to right in rows under the title, above the plot area, so that they
// never cover the data. It returns the positions (the top left of each
// entry) and the height the rows take.
func legendPlace(series []Series, left, right float64) (pos []Point, height float64) {
	if len(series) < 2 && (len(series) == 0 || series[0].Name == "") {
		return nil, 0
	}
	const row, gap, swatch = 15.0, 14.0, 20.0
	x, y := left, float64(padTop)-4
	for _, s := range series {
		// About 6.2 px per character at font-size 11 in a sans-serif font.
		w := swatch + 6.2*float64(len([]rune(s.Name)))
		if x > left && x+w > right {
			x, y = left, y+row
		}
		pos = append(pos, Point{X: x, Y: y})
		x += w + gap
	}
	return pos, y + row - (float64(padTop) - 4)
}

func legend(b *strings.Builder, series []Series, pos []Point) {
	for i, p := range pos {
		s := series[i]
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="14" height="4" fill="%s"/>`, p.X, p.Y+4, s.Color)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, p.X+20, p.Y+10, html.EscapeString(s.Name))
	}
}

// SVG renders the histogram.
func (h Histogram) SVG() string {
	w, ht := h.Width, h.Height
	if w == 0 {
		w = 560
	}
	if ht == 0 {
		ht = 300
	}
	top := 0.0
	for _, bar := range h.Bars {
		if finite(bar.Value) {
			top = math.Max(top, bar.Value)
		}
	}
	if top == 0 {
		top = 1
	}
	f := newFrame(w, ht, 0, float64(max(len(h.Bars), 1)), 0, top*1.08)
	var b strings.Builder
	open(&b, h.ID, w, ht, h.Title)
	f.axes(&b, h.XLabel, h.YLabel, false)
	if len(h.Bars) == 0 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#888888">no data</text>`, (f.left+f.right)/2, (f.top+f.bott)/2)
	}
	slot := (f.right - f.left) / float64(max(len(h.Bars), 1))
	every := max(1, len(h.Bars)/12) // at most ~12 labels
	for i, bar := range h.Bars {
		x := f.left + float64(i)*slot
		if finite(bar.Value) && bar.Value > 0 {
			y := f.py(bar.Value)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
				x+slot*0.1, y, slot*0.8, f.bott-y, h.Color, html.EscapeString(bar.Label), Format(bar.Value))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+slot/2, f.bott+16, html.EscapeString(bar.Label))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Ticks returns about n round tick values covering [lo, hi].
func Ticks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || n < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		// Through decimal text: 3*0.2 is 0.6000000000000001.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(math.Round(t/step)*step, 'g', 12, 64), 64)
		if math.Abs(v) < step*1e-9 {
			v = 0 // not -0
		}
		out = append(out, v)
	}
	return out
}

// Format prints a number compactly: integers without decimals, large
// values with k/M suffixes, others with 3 significant digits.
func Format(v float64) string {
	a := math.Abs(v)
	switch {
	case !finite(v):
		return "-"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
