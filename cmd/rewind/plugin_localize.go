package main

import (
	"context"
	"fmt"
	"io"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

// testLocalizer is "plugin test" for a localizer: every case of the file
// (plugintest.LocalizerCase) through l, each disagreement printed as
// FILE:LINE: "name": want ...; got ....
func testLocalizer(ctx context.Context, w io.Writer, plugin string, l host.Localizer, casesPath string) error {
	cases, err := plugintest.ParseLocalizerCases(casesPath)
	if err != nil {
		return err
	}
	bad := 0
	for i := range cases {
		c := &cases[i]
		if why := plugintest.CheckLocalizer(ctx, l, c); why != "" {
			bad++
			fmt.Fprintf(w, "%s:%d: %q: %s\n", casesPath, c.Line, c.Name, why)
		}
	}
	fmt.Fprintf(w, "%d cases, %d passed, %d disagreed\n", len(cases), len(cases)-bad, bad)
	if bad > 0 {
		return fmt.Errorf("%s: %d of %d cases: %w", plugin, bad, len(cases), errDisagreements)
	}
	return nil
}
