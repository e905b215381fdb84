// Package regex is the built-in `regex` segmenter: option `pattern` (Go
// RE2 syntax, required) matches step delimiters; a step runs from the end
// of the previous delimiter through the end of its own delimiter match
// (the delimiter is included, like `thought`'s). Leading whitespace is not
// part of a step; non-blank text after the last match is a final step;
// empty matches are ignored.
package regex

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindSegmenter, "regex", func(opts map[string]any) (any, error) {
		pat, _ := opts["pattern"].(string)
		for k := range opts {
			if k != "pattern" {
				return nil, fmt.Errorf("regex: unknown option %q (only pattern)", k)
			}
		}
		if pat == "" {
			return nil, fmt.Errorf("regex: option pattern (a non-empty string) is required")
		}
		return New(pat)
	})
}

// Segmenter splits at matches of Pattern.
type Segmenter struct{ re *regexp.Regexp }

// New compiles pattern.
func New(pattern string) (*Segmenter, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex: pattern %q: %w", pattern, err)
	}
	return &Segmenter{re}, nil
}

// Segment implements host.Segmenter.
func (s *Segmenter) Segment(_ context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	text := req.Response
	spans := []abi.Span{}
	add := func(from, to int) {
		seg := text[from:to]
		trimmed := strings.TrimLeft(seg, " \t\r\n")
		start := from + len(seg) - len(trimmed)
		if strings.TrimSpace(trimmed) != "" {
			spans = append(spans, abi.Span{Start: start, End: to})
		}
	}
	pos := 0
	for _, m := range s.re.FindAllStringIndex(text, -1) {
		if m[1] == m[0] {
			continue
		}
		add(pos, m[1])
		pos = m[1]
	}
	if pos < len(text) {
		rest := strings.TrimRight(text[pos:], " \t\r\n")
		add(pos, pos+len(rest))
	}
	return spans, nil
}

var _ host.Segmenter = (*Segmenter)(nil)
