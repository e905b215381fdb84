package wire

import (
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// GuestError is the message of a response of the form {"error": "..."}:
// the plugin declined the request with an explanation.
type GuestError string

func (e GuestError) Error() string { return string(e) }

func (s *scanner) task(t *abi.Task) {
	*t = abi.Task{}
	if !s.objectStart() {
		return
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "id":
			t.ID = s.str()
		case "prompt":
			t.Prompt = s.str()
		case "answer":
			t.Answer = s.raw()
		case "meta":
			t.Meta = s.raw()
		default:
			s.skip(0)
		}
	}
}

func (s *scanner) spans(dst []abi.Span) []abi.Span {
	dst = dst[:0]
	if !s.arrayStart() {
		return nil
	}
	first := true
	for s.nextElem(&first) {
		var sp abi.Span
		if s.objectStart() {
			obj := object{first: true}
			for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
				switch string(k) {
				case "start":
					sp.Start = s.int()
				case "end":
					sp.End = s.int()
				default:
					s.skip(0)
				}
			}
		}
		dst = append(dst, sp)
	}
	if dst == nil && s.err == nil {
		dst = []abi.Span{}
	}
	return dst
}

func (s *scanner) bools() []bool {
	if !s.arrayStart() {
		return nil
	}
	out := []bool{}
	first := true
	for s.nextElem(&first) {
		out = append(out, s.bool())
	}
	return out
}

// DecodeVerifyRequest decodes the request of rewind_verify into r,
// replacing its contents but reusing the storage of r.Steps. Unknown keys
// are skipped.
func DecodeVerifyRequest(b []byte, r *abi.VerifyRequest) error {
	return decodeVerifyRequest(&scanner{b: b}, r)
}

// Aliased decodes requests without copying: the strings and raw values of
// the result are views of the input b, or of *Arena for strings with
// escapes (the decoder appends to it; the caller resets it with
// Arena = Arena[:0] between messages). Those views are valid only while b
// and the arena are left unchanged. The Go guest SDK decodes with it: its
// request buffer and arena live until the next call, which is also the
// documented lifetime of the request a plugin function receives.
type Aliased struct {
	Arena []byte
}

// DecodeVerifyRequest is DecodeVerifyRequest without copies.
func (a *Aliased) DecodeVerifyRequest(b []byte, r *abi.VerifyRequest) error {
	return decodeVerifyRequest(&scanner{b: b, alias: true, arena: &a.Arena}, r)
}

// DecodeSegmentRequest is DecodeSegmentRequest without copies.
func (a *Aliased) DecodeSegmentRequest(b []byte, r *abi.SegmentRequest) error {
	return decodeSegmentRequest(&scanner{b: b, alias: true, arena: &a.Arena}, r)
}

// DecodeLocalizeRequest is DecodeLocalizeRequest without copies (the
// verdict, when present, is still allocated).
func (a *Aliased) DecodeLocalizeRequest(b []byte, r *abi.LocalizeRequest) error {
	return decodeLocalizeRequest(&scanner{b: b, alias: true, arena: &a.Arena}, r)
}

func decodeVerifyRequest(s *scanner, r *abi.VerifyRequest) error {
	steps := r.Steps
	*r = abi.VerifyRequest{}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "task":
			s.task(&r.Task)
		case "response":
			r.Response = s.str()
		case "steps":
			r.Steps = s.spans(steps)
		default:
			s.skip(0)
		}
	}
	return s.end()
}

// verdictBody decodes a verdict object whose opening brace is consumed.
func (s *scanner) verdictBody(v *abi.Verdict) {
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "score":
			v.Score = s.float()
		case "status":
			v.Status = abi.Status(s.str())
		case "step_correct":
			v.StepCorrect = s.bools()
		case "first_error":
			if s.null() {
				v.FirstError = nil
			} else {
				n := s.int()
				v.FirstError = &n
			}
		case "detail":
			v.Detail = s.str()
		case "plugin":
			v.Plugin = s.str()
		case "sha256":
			v.SHA256 = s.str()
		case "error":
			s.guestError()
		default:
			s.skip(0)
		}
	}
}

// guestErr holds an {"error": ...} message while a response object is read.
func (s *scanner) guestError() {
	if s.null() {
		return
	}
	msg := s.str()
	if msg != "" && s.err == nil && s.gerr == "" {
		s.gerr = GuestError(msg)
	}
}

// respErr returns the error of a decoded response: a syntax error, else
// the guest's {"error": ...}, else nil.
func (s *scanner) respErr() error {
	if err := s.end(); err != nil {
		return err
	}
	if s.gerr != "" {
		return s.gerr
	}
	return nil
}

// DecodeVerdict decodes a verdict. A response {"error": "..."} returns a
// GuestError. It does not validate field values: the host checks results
// against the ABI's result contract (host/contract.go).
func DecodeVerdict(b []byte, v *abi.Verdict) error {
	s := scanner{b: b}
	*v = abi.Verdict{}
	if !s.objectStart() {
		return s.notObject()
	}
	s.verdictBody(v)
	return s.respErr()
}

// DecodeSegmentRequest decodes the request of rewind_segment.
func DecodeSegmentRequest(b []byte, r *abi.SegmentRequest) error {
	return decodeSegmentRequest(&scanner{b: b}, r)
}

func decodeSegmentRequest(s *scanner, r *abi.SegmentRequest) error {
	*r = abi.SegmentRequest{}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "response":
			r.Response = s.str()
		default:
			s.skip(0)
		}
	}
	return s.end()
}

// DecodeSpans decodes a segmenter's response {"spans": [...]}, appending
// to dst[:0]. A response {"error": "..."} returns a GuestError.
func DecodeSpans(b []byte, dst []abi.Span) ([]abi.Span, error) {
	s := scanner{b: b}
	if !s.objectStart() {
		return nil, s.notObject()
	}
	seen := false
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "spans":
			dst = s.spans(dst)
			seen = true
		case "error":
			s.guestError()
		default:
			s.skip(0)
		}
	}
	if err := s.respErr(); err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("response has no \"spans\"")
	}
	return dst, nil
}

func (s *scanner) scoreRequest(r *abi.ScoreRequest) {
	*r = abi.ScoreRequest{}
	if !s.objectStart() {
		return
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "task":
			s.task(&r.Task)
		case "response":
			r.Response = s.str()
		default:
			s.skip(0)
		}
	}
}

// DecodeScoreRequests decodes the request of rewind_score,
// {"requests": [...]}.
func DecodeScoreRequests(b []byte) ([]abi.ScoreRequest, error) {
	s := scanner{b: b}
	if !s.objectStart() {
		return nil, s.notObject()
	}
	var out []abi.ScoreRequest
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "requests":
			if s.arrayStart() {
				f := true
				for s.nextElem(&f) {
					out = append(out, abi.ScoreRequest{})
					s.scoreRequest(&out[len(out)-1])
				}
			}
		default:
			s.skip(0)
		}
	}
	return out, s.end()
}

// DecodeScores decodes a reward model's response {"scores": [...]},
// appending to dst[:0]. A response {"error": "..."} returns a GuestError.
func DecodeScores(b []byte, dst []float64) ([]float64, error) {
	s := scanner{b: b}
	if !s.objectStart() {
		return nil, s.notObject()
	}
	dst = dst[:0]
	seen := false
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "scores":
			seen = true
			if s.arrayStart() {
				f := true
				for s.nextElem(&f) {
					dst = append(dst, s.float())
				}
			}
		case "error":
			s.guestError()
		default:
			s.skip(0)
		}
	}
	if err := s.respErr(); err != nil {
		return nil, err
	}
	if !seen {
		return nil, fmt.Errorf("response has no \"scores\"")
	}
	return dst, nil
}

// DecodeLocalizeRequest decodes the request of rewind_localize.
func DecodeLocalizeRequest(b []byte, r *abi.LocalizeRequest) error {
	return decodeLocalizeRequest(&scanner{b: b}, r)
}

func decodeLocalizeRequest(s *scanner, r *abi.LocalizeRequest) error {
	steps := r.Steps
	*r = abi.LocalizeRequest{}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "task":
			s.task(&r.Task)
		case "response":
			r.Response = s.str()
		case "steps":
			r.Steps = s.spans(steps)
		case "verdict":
			if s.null() {
				r.Verdict = nil
			} else if s.objectStart() {
				r.Verdict = &abi.Verdict{}
				s.verdictBody(r.Verdict)
			}
		case "seed":
			r.Seed = s.uint64()
		case "step_stats":
			r.StepStats = s.stepStats()
		default:
			s.skip(0)
		}
	}
	return s.end()
}

func (s *scanner) stepStats() []abi.StepStats {
	if !s.arrayStart() {
		return nil
	}
	out := []abi.StepStats{}
	first := true
	for s.nextElem(&first) {
		var st abi.StepStats
		if s.objectStart() {
			obj := object{first: true}
			for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
				switch string(k) {
				case "tokens":
					st.Tokens = s.int()
				case "mean_logprob":
					st.MeanLogProb = s.float()
				case "min_logprob":
					st.MinLogProb = s.float()
				case "mean_entropy":
					if !s.null() {
						h := s.float()
						st.MeanEntropy = &h
					}
				default:
					s.skip(0)
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// DecodeLocalization decodes a localizer's response. A response
// {"error": "..."} returns a GuestError.
func DecodeLocalization(b []byte, l *abi.Localization) error {
	s := scanner{b: b}
	*l = abi.Localization{}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "step":
			l.Step = s.int()
		case "confidence":
			l.Confidence = s.float()
		case "fallback":
			l.Fallback = s.str()
		case "detail":
			l.Detail = s.str()
		case "error":
			s.guestError()
		default:
			s.skip(0)
		}
	}
	return s.respErr()
}

// Init is the message of rewind_init: the plugin's configured name and its
// options as raw JSON (an object, or null).
type Init struct {
	Name    string
	Options []byte
}

// DecodeInit decodes the request of rewind_init.
func DecodeInit(b []byte, in *Init) error {
	s := scanner{b: b}
	*in = Init{}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		switch string(k) {
		case "name":
			in.Name = s.str()
		case "options":
			in.Options = s.raw()
		default:
			s.skip(0)
		}
	}
	return s.end()
}

// DecodeAck decodes a response that carries nothing but a possible error
// (rewind_init's): any object; {"error": "..."} returns a GuestError.
func DecodeAck(b []byte) error {
	s := scanner{b: b}
	if !s.objectStart() {
		return s.notObject()
	}
	obj := object{first: true}
	for k := s.nextKey(&obj); k != nil; k = s.nextKey(&obj) {
		if string(k) == "error" {
			s.guestError()
		} else {
			s.skip(0)
		}
	}
	return s.respErr()
}
