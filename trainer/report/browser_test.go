package report

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testtool"
)

// chromium finds a Chromium binary ($REWIND_CHROMIUM, then the usual
// names). Without one the test is skipped, or fails under CI
// (package testtool).
func chromium(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("REWIND_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	testtool.Missing(t, "no chromium on PATH (apt-get install chromium, or set REWIND_CHROMIUM)")
	return ""
}

// headless runs chromium on a file with one extra flag (--screenshot=...
// or --dump-dom) and returns its stdout and stderr.
func headless(ctx context.Context, t *testing.T, bin, file string, extra ...string) (stdout, stderr string) {
	t.Helper()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1200,2000",
	}, extra...)
	args = append(args, "file://"+file)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "chromium %v:\n%s", extra, errb.String())
	return out.String(), errb.String()
}

// countNear counts the pixels within a small distance of colour hex.
func countNear(img image.Image, hex string) int {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	cr, cg, cb := int(v>>16), int(v>>8&0xff), int(v&0xff)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			dr, dg, db := int(r>>8)-cr, int(g>>8)-cg, int(bb>>8)-cb
			if dr*dr+dg*dg+db*db <= 24*24 {
				n++
			}
		}
	}
	return n
}

func screenshot(ctx context.Context, t *testing.T, bin, html string) image.Image {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	headless(ctx, t, bin, html, "--screenshot="+shot)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

// TestReportInChromium renders the report of a run made by trainer/run
// (testdata/run-srpo), opens it in headless Chromium with no network, and
// checks that the charts were drawn: the screenshot must hold many more
// pixels of the series colours than a control report of the same page
// with the data removed (which still draws axes and legends), and the DOM
// must hold every chart and no script or external reference.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir := copyFixture(t, "testdata/run-srpo")
	require.NoError(t, WriteRun(dir))
	file := filepath.Join(dir, ReportFile)

	r, err := ReadRun(dir)
	require.NoError(t, err)
	r.Steps, r.Resets = nil, nil
	var ctl bytes.Buffer
	require.NoError(t, RenderRun(&ctl, r))
	control := filepath.Join(t.TempDir(), "control.html")
	require.NoError(t, os.WriteFile(control, ctl.Bytes(), 0o644))

	type result struct {
		img image.Image
		dom string
	}
	done := make(chan result, 3)
	go func() { done <- result{img: screenshot(ctx, t, bin, file)} }()
	go func() { done <- result{img: screenshot(ctx, t, bin, control)} }()
	go func() {
		dom, stderr := headless(ctx, t, bin, file, "--dump-dom", "--enable-logging=stderr", "--v=0")
		require.NotContains(t, stderr, "Uncaught", "script errors")
		done <- result{dom: dom}
	}()
	// Wait for all three before judging which screenshot is which.
	var imgs []image.Image
	var dom string
	for range 3 {
		res := <-done
		if res.img != nil {
			imgs = append(imgs, res.img)
		} else {
			dom = res.dom
		}
	}
	require.Len(t, imgs, 2)
	// The real report is the one with more histogram pixels (the control
	// has no bars at all).
	real, ctlImg := imgs[0], imgs[1]
	if countNear(real, colorHistogram) < countNear(ctlImg, colorHistogram) {
		real, ctlImg = ctlImg, real
	}
	for _, c := range []struct {
		what, color string
		min         int
	}{
		{"reset histogram bars", colorHistogram, 5000},
		{"sample accuracy and reward lines", colorSample, 400},
		{"reset group lines", colorReset, 400},
		{"localizer precision line", colorLocalize, 200},
		{"loss and grad norm lines", colorLoss, 400},
	} {
		got, base := countNear(real, c.color), countNear(ctlImg, c.color)
		require.GreaterOrEqual(t, got-base, c.min, "%s: %d pixels of %s in the report, %d in the control without data", c.what, got, c.color, base)
	}

	for _, id := range []string{"chart-accuracy-steps", "chart-accuracy-tokens", "chart-reward-steps", "chart-reward-tokens",
		"chart-tokens", "chart-reset-step", "chart-reset-relpos", "chart-localizer", "chart-loss", "chart-gradnorm"} {
		require.Contains(t, dom, `id="`+id+`"`)
	}
	require.GreaterOrEqual(t, strings.Count(dom, "<polyline"), 10, "line charts drew their series")
	require.NotContains(t, dom, "no data")
	requireOffline(t, dom)
}

// requireOffline checks that a page loads nothing: no scripts, no src or
// href attributes, no URL but the SVG namespace.
func requireOffline(t *testing.T, page string) {
	t.Helper()
	require.NotContains(t, page, "<script")
	require.NotContains(t, page, " src=")
	require.NotContains(t, page, " href=")
	rest := strings.ReplaceAll(page, "http://www.w3.org/2000/svg", "")
	require.NotContains(t, rest, "http://")
	require.NotContains(t, rest, "https://")
}

// copyFixture copies a fixture run directory into a temporary one.
func copyFixture(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return dst
}
