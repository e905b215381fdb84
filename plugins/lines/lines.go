// Package lines is the built-in `lines` segmenter: each non-blank line is
// a step, without its line break and surrounding whitespace. It takes no
// options.
package lines

import (
	"context"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindSegmenter, "lines", host.NoOptions(Segmenter{}))
}

// Segmenter splits at line breaks.
type Segmenter struct{}

// Segment implements host.Segmenter.
func (Segmenter) Segment(_ context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	spans := []abi.Span{}
	text := req.Response
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos
		}
		line := text[pos:end]
		if t := strings.TrimSpace(line); t != "" {
			s := pos + strings.Index(line, t)
			spans = append(spans, abi.Span{Start: s, End: s + len(t)})
		}
		pos = end + 1
	}
	return spans, nil
}

var _ host.Segmenter = Segmenter{}
