package svg

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLegendAbovePlot: legend entries flow in rows under the title, stay
// inside the chart's width and end above the plot area, which keeps its
// height (the chart grows by the legend's rows).
func TestLegendAbovePlot(t *testing.T) {
	long := []Series{{Name: "trainer fresh accuracy"}, {Name: "sample accuracy (unbiased)"}, {Name: "reset group (correction rate)"}}
	tests := []struct {
		name   string
		series []Series
		rows   int
	}{
		{"single unnamed series: no legend", []Series{{}}, 0},
		{"one named series", []Series{{Name: "loss"}}, 1},
		{"short names share a row", []Series{{Name: "fresh"}, {Name: "parent"}, {Name: "reset"}}, 1},
		{"long names wrap", long, 2},
	}
	const w = 560
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pos, h := legendPlace(tt.series, padLeft, w-padRight)
			require.InDelta(t, 15*float64(tt.rows), h, 1e-9)
			if tt.rows == 0 {
				require.Empty(t, pos)
				return
			}
			require.Len(t, pos, len(tt.series))
			for i, p := range pos {
				require.GreaterOrEqual(t, p.X, float64(padLeft))
				require.LessOrEqual(t, p.X+20+6.2*float64(len(tt.series[i].Name)), float64(w-padRight)+1e-9, tt.series[i].Name)
				require.LessOrEqual(t, p.Y+15, float64(padTop)-4+h, "entry %d below the legend rows", i)
			}
			for i := range tt.series {
				tt.series[i].Points = []Point{{X: 0, Y: 0}, {X: 1, Y: 1}}
			}
			out := LineChart{ID: "c", Title: "t", Series: tt.series}.SVG()
			require.Contains(t, out, `height="`+strconv.Itoa(300+15*tt.rows)+`"`)
			require.Equal(t, len(tt.series), strings.Count(out, `width="14" height="4"`))
		})
	}
}
