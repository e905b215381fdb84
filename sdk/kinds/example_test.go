package kinds_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
)

// paragraphs is a segmenter written against sdk/kinds alone: one step per
// paragraph (blank-line separated). It keeps no state, so it is safe for
// concurrent use, and it reads req without keeping it.
type paragraphs struct{}

func (paragraphs) Segment(_ context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	var spans []abi.Span
	start := 0
	for start < len(req.Response) {
		end := len(req.Response)
		if i := strings.Index(req.Response[start:], "\n\n"); i >= 0 {
			end = start + i + 2
		}
		spans = append(spans, abi.Span{Start: start, End: end})
		start = end
	}
	return spans, nil // nil for an empty response: no steps
}

// The interface guard, at the bottom of an implementation's file, makes a
// signature mistake a compile error rather than a failed load.
var _ kinds.Segmenter = paragraphs{}

// A kind is a plain Go interface: call it directly, as a unit test of a
// plugin would.
func ExampleSegmenter() {
	resp := "Let x = 2.\n\nThen 2x = 4.\n\nThe answer is 4."
	spans, err := paragraphs{}.Segment(context.Background(), &abi.SegmentRequest{Response: resp})
	for _, s := range spans {
		fmt.Printf("%q\n", resp[s.Start:s.End])
	}
	fmt.Println(err)
	// Output:
	// "Let x = 2.\n\n"
	// "Then 2x = 4.\n\n"
	// "The answer is 4."
	// <nil>
}

// The same value is a host.Segmenter (host aliases the kinds), so it can be
// compiled into a trainer as a builtin, served as a process plugin with
// sdk/serve.Segmenter, or loaded and called through a host.Registry, which
// checks every result against the contract and counts the calls.
func ExampleSegmenter_builtin() {
	host.RegisterBuiltin(abi.KindSegmenter, "example-paragraphs", host.NoOptions(paragraphs{}))
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "steps", host.PluginConfig{Builtin: "example-paragraphs"}); err != nil {
		panic(err)
	}
	s, err := r.Segmenter("steps")
	if err != nil {
		panic(err)
	}
	spans, err := s.Segment(ctx, &abi.SegmentRequest{Response: "a\n\nb"})
	fmt.Println(spans, err)
	for _, c := range r.Counters() {
		fmt.Println(c.Plugin, c.Op, c.Status, c.Count)
	}
	// Output:
	// [{0 3} {3 4}] <nil>
	// steps segment ok 1
}
