// Package thought is the built-in `thought` segmenter: a step ends with
// the delimiter `</thought>`, which belongs to its step. Leading whitespace
// before a step is not part of it. Text after the last delimiter that is
// not only whitespace is a final step; a response without any delimiter is
// one step; an empty (or all-whitespace) response has none. Option
// `delimiter` replaces `</thought>`.
package thought

import (
	"context"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindSegmenter, "thought", func(opts map[string]any) (any, error) {
		s := Segmenter{Delimiter: "</thought>"}
		for k, v := range opts {
			d, ok := v.(string)
			if k != "delimiter" || !ok || d == "" {
				return nil, fmt.Errorf("thought: unknown or invalid option %q (want delimiter: non-empty string)", k)
			}
			s.Delimiter = d
		}
		return s, nil
	})
}

// Segmenter splits at Delimiter.
type Segmenter struct{ Delimiter string }

// Segment implements host.Segmenter.
func (s Segmenter) Segment(_ context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	return Split(req.Response, s.Delimiter), nil
}

// Split returns the step spans of text for delimiter delim.
func Split(text, delim string) []abi.Span {
	spans := []abi.Span{}
	pos := 0
	for pos < len(text) {
		start := pos + (len(text[pos:]) - len(strings.TrimLeft(text[pos:], " \t\r\n")))
		if start == len(text) {
			break
		}
		i := strings.Index(text[start:], delim)
		if i < 0 {
			end := start + len(strings.TrimRight(text[start:], " \t\r\n"))
			spans = append(spans, abi.Span{Start: start, End: end})
			break
		}
		end := start + i + len(delim)
		spans = append(spans, abi.Span{Start: start, End: end})
		pos = end
	}
	return spans
}

var _ host.Segmenter = Segmenter{}
