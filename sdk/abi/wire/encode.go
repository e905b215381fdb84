package wire

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/rewind-rl/rewind/sdk/abi"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped, so the output is valid JSON and JavaScript,
// like encoding/json's (which also escapes <, > and &; that is not needed
// here).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += n
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += n
			start = i
			continue
		}
		i += n
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendFloat appends a finite float as a JSON number; NaN and infinities,
// which JSON cannot carry, are written as null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendRaw appends a raw JSON value, or null when it is empty.
func appendRaw(dst, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, raw...)
}

func appendTask(dst []byte, t *abi.Task) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, t.ID)
	dst = append(dst, `,"prompt":`...)
	dst = AppendString(dst, t.Prompt)
	if len(t.Answer) > 0 {
		dst = append(dst, `,"answer":`...)
		dst = append(dst, t.Answer...)
	}
	if len(t.Meta) > 0 {
		dst = append(dst, `,"meta":`...)
		dst = append(dst, t.Meta...)
	}
	return append(dst, '}')
}

func appendSpans(dst []byte, spans []abi.Span) []byte {
	dst = append(dst, '[')
	for i, sp := range spans {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"start":`...)
		dst = strconv.AppendInt(dst, int64(sp.Start), 10)
		dst = append(dst, `,"end":`...)
		dst = strconv.AppendInt(dst, int64(sp.End), 10)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// AppendVerifyRequest appends the request of rewind_verify. Task.Answer
// and Task.Meta must be valid JSON (they are copied verbatim).
func AppendVerifyRequest(dst []byte, r *abi.VerifyRequest) []byte {
	dst = append(dst, `{"task":`...)
	dst = appendTask(dst, &r.Task)
	dst = append(dst, `,"response":`...)
	dst = AppendString(dst, r.Response)
	if len(r.Steps) > 0 {
		dst = append(dst, `,"steps":`...)
		dst = appendSpans(dst, r.Steps)
	}
	return append(dst, '}')
}

func appendVerdictFields(dst []byte, v *abi.Verdict) []byte {
	dst = append(dst, `{"score":`...)
	dst = AppendFloat(dst, v.Score)
	dst = append(dst, `,"status":`...)
	dst = AppendString(dst, string(v.Status))
	if len(v.StepCorrect) > 0 {
		dst = append(dst, `,"step_correct":[`...)
		for i, ok := range v.StepCorrect {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendBool(dst, ok)
		}
		dst = append(dst, ']')
	}
	if v.FirstError != nil {
		dst = append(dst, `,"first_error":`...)
		dst = strconv.AppendInt(dst, int64(*v.FirstError), 10)
	}
	if v.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = AppendString(dst, v.Detail)
	}
	if v.Plugin != "" {
		dst = append(dst, `,"plugin":`...)
		dst = AppendString(dst, v.Plugin)
	}
	if v.SHA256 != "" {
		dst = append(dst, `,"sha256":`...)
		dst = AppendString(dst, v.SHA256)
	}
	return append(dst, '}')
}

// AppendVerdict appends a verdict.
func AppendVerdict(dst []byte, v *abi.Verdict) []byte { return appendVerdictFields(dst, v) }

// AppendError appends the error response {"error": msg}.
func AppendError(dst []byte, msg string) []byte {
	if msg == "" {
		msg = "unspecified error"
	}
	dst = append(dst, `{"error":`...)
	dst = AppendString(dst, msg)
	return append(dst, '}')
}

// AppendSegmentRequest appends the request of rewind_segment.
func AppendSegmentRequest(dst []byte, r *abi.SegmentRequest) []byte {
	dst = append(dst, `{"response":`...)
	dst = AppendString(dst, r.Response)
	return append(dst, '}')
}

// AppendSpans appends a segmenter's response {"spans": [...]}.
func AppendSpans(dst []byte, spans []abi.Span) []byte {
	dst = append(dst, `{"spans":`...)
	dst = appendSpans(dst, spans)
	return append(dst, '}')
}

// AppendScoreRequests appends the request of rewind_score.
func AppendScoreRequests(dst []byte, reqs []abi.ScoreRequest) []byte {
	dst = append(dst, `{"requests":[`...)
	for i := range reqs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"task":`...)
		dst = appendTask(dst, &reqs[i].Task)
		dst = append(dst, `,"response":`...)
		dst = AppendString(dst, reqs[i].Response)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AppendScores appends a reward model's response {"scores": [...]}.
func AppendScores(dst []byte, scores []float64) []byte {
	dst = append(dst, `{"scores":[`...)
	for i, f := range scores {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendFloat(dst, f)
	}
	return append(dst, "]}"...)
}

// AppendLocalizeRequest appends the request of rewind_localize.
func AppendLocalizeRequest(dst []byte, r *abi.LocalizeRequest) []byte {
	dst = append(dst, `{"task":`...)
	dst = appendTask(dst, &r.Task)
	dst = append(dst, `,"response":`...)
	dst = AppendString(dst, r.Response)
	dst = append(dst, `,"steps":`...)
	dst = appendSpans(dst, r.Steps)
	if r.Verdict != nil {
		dst = append(dst, `,"verdict":`...)
		dst = appendVerdictFields(dst, r.Verdict)
	}
	dst = append(dst, `,"seed":`...)
	dst = strconv.AppendUint(dst, r.Seed, 10)
	if len(r.StepStats) > 0 {
		dst = append(dst, `,"step_stats":[`...)
		for i := range r.StepStats {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendStepStats(dst, &r.StepStats[i])
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendStepStats(dst []byte, st *abi.StepStats) []byte {
	dst = append(dst, `{"tokens":`...)
	dst = strconv.AppendInt(dst, int64(st.Tokens), 10)
	dst = append(dst, `,"mean_logprob":`...)
	dst = AppendFloat(dst, st.MeanLogProb)
	dst = append(dst, `,"min_logprob":`...)
	dst = AppendFloat(dst, st.MinLogProb)
	if st.MeanEntropy != nil {
		dst = append(dst, `,"mean_entropy":`...)
		dst = AppendFloat(dst, *st.MeanEntropy)
	}
	return append(dst, '}')
}

// AppendLocalization appends a localizer's response.
func AppendLocalization(dst []byte, l *abi.Localization) []byte {
	dst = append(dst, `{"step":`...)
	dst = strconv.AppendInt(dst, int64(l.Step), 10)
	if l.Confidence != 0 {
		dst = append(dst, `,"confidence":`...)
		dst = AppendFloat(dst, l.Confidence)
	}
	if l.Fallback != "" {
		dst = append(dst, `,"fallback":`...)
		dst = AppendString(dst, l.Fallback)
	}
	if l.Detail != "" {
		dst = append(dst, `,"detail":`...)
		dst = AppendString(dst, l.Detail)
	}
	return append(dst, '}')
}

// AppendInit appends the request of rewind_init. options must be a JSON
// object or empty (written as null).
func AppendInit(dst []byte, name string, options []byte) []byte {
	dst = append(dst, `{"name":`...)
	dst = AppendString(dst, name)
	dst = append(dst, `,"options":`...)
	dst = appendRaw(dst, options)
	return append(dst, '}')
}
