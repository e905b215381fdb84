// Package guest turns a Go function into a Rewind Wasm plugin. An author
// writes one function and registers it from init; the package provides the
// exports of ABI v1 (../ABI.md):
//
//	package main
//
//	import (
//		"github.com/rewind-rl/rewind/sdk/abi"
//		"github.com/rewind-rl/rewind/sdk/guest"
//	)
//
//	func init() {
//		guest.Verifier(guest.Info{Name: "mine", Version: "1.0.0"},
//			func(req *abi.VerifyRequest) abi.Verdict { ... })
//	}
//
//	func main() {}
//
// and builds it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o mine.wasm .
//
// A module registers exactly one plugin. The request passed to the function
// and everything it points to are reused by the next call: its strings are
// views of the host's request buffer, which the host overwrites on the next
// call, so strings.Clone what must outlive the call. (Decoding without
// copies keeps a call free of allocations; see docs/bench/plugins.md.) A panic in the function becomes an {"error": ...}
// response (the host reports status "error"), so a plugin cannot bring the
// host down by panicking; a verdict with status "abstain" is the way to
// decline a response.
//
// Messages are encoded and decoded with package sdk/abi/wire, not
// encoding/json: reflection dominated the cost of a call (see
// docs/bench/plugins.md). On platforms other than wasip1 the package only
// registers; the Handle function lets tests run a guest natively.
package guest

import (
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
)

// Info describes the plugin in its manifest (rewind_manifest).
type Info struct {
	Name        string
	Version     string
	Description string
	// Capabilities the module asks for, e.g. "generate"; see ABI.md.
	Capabilities []string
	// Limits the module asks for, each at most the host's default unless
	// the plugin's config grants more (sdk/ABI.md, section 3).
	Limits *abi.Limits
}

// The one registered plugin.
var (
	kind        abi.Kind
	info        Info
	verifyFn    func(*abi.VerifyRequest) abi.Verdict
	scoreFn     func([]abi.ScoreRequest) ([]float64, error)
	segmentFn   func(*abi.SegmentRequest) ([]abi.Span, error)
	localizeFn  func(*abi.LocalizeRequest) (abi.Localization, error)
	initFn      func(name string, options []byte) error
	verifyReq   abi.VerifyRequest
	segmentReq  abi.SegmentRequest
	localizeReq abi.LocalizeRequest
	out         []byte       // the response buffer, valid until the next call
	dec         wire.Aliased // its arena holds unescaped request strings
)

func register(k abi.Kind, in Info) {
	if kind != "" {
		panic(fmt.Sprintf("guest: a module registers one plugin; %s %q is already registered", kind, info.Name))
	}
	if in.Name == "" {
		panic("guest: Info.Name is required")
	}
	kind, info = k, in
}

// Verifier registers fn as the module's verifier.
func Verifier(in Info, fn func(req *abi.VerifyRequest) abi.Verdict) {
	register(abi.KindVerifier, in)
	verifyFn = fn
}

// RewardModel registers fn as the module's reward model. It must return one
// score per request.
func RewardModel(in Info, fn func(reqs []abi.ScoreRequest) ([]float64, error)) {
	register(abi.KindRewardModel, in)
	scoreFn = fn
}

// Segmenter registers fn as the module's segmenter.
func Segmenter(in Info, fn func(req *abi.SegmentRequest) ([]abi.Span, error)) {
	register(abi.KindSegmenter, in)
	segmentFn = fn
}

// Localizer registers fn as the module's localizer.
func Localizer(in Info, fn func(req *abi.LocalizeRequest) (abi.Localization, error)) {
	register(abi.KindLocalizer, in)
	localizeFn = fn
}

// Init registers fn to receive the plugin's configured name and options
// (raw JSON, "null" when none) once per instance, before any call. Without
// it, a plugin configured with options fails to load.
func Init(fn func(name string, options []byte) error) { initFn = fn }

// Handle runs one call the way the host would: entry is "verify", "score",
// "segment", "localize", "init" or "manifest", req the JSON request. The
// result is valid until the next call. Tests use it to exercise a guest
// natively.
func Handle(entry string, req []byte) (resp []byte) {
	out = out[:0]
	dec.Arena = dec.Arena[:0]
	defer func() {
		if r := recover(); r != nil {
			out = wire.AppendError(out[:0], fmt.Sprintf("panic: %v", r))
			resp = out
		}
	}()
	switch entry {
	case "verify":
		out = handleVerify(out, req)
	case "score":
		out = handleScore(out, req)
	case "segment":
		out = handleSegment(out, req)
	case "localize":
		out = handleLocalize(out, req)
	case "init":
		out = handleInit(out, req)
	case "manifest":
		out = appendManifest(out)
	default:
		out = wire.AppendError(out, "unknown entry "+entry)
	}
	return out
}

func notThis(dst []byte, want abi.Kind) []byte {
	return wire.AppendError(dst, fmt.Sprintf("this module is a %s, not a %s", orNone(kind), want))
}

func orNone(k abi.Kind) string {
	if k == "" {
		return "module with no registered plugin"
	}
	return string(k)
}

func handleVerify(dst, req []byte) []byte {
	if verifyFn == nil {
		return notThis(dst, abi.KindVerifier)
	}
	if err := dec.DecodeVerifyRequest(req, &verifyReq); err != nil {
		return wire.AppendError(dst, "decoding the verify request: "+err.Error())
	}
	// The verdict goes out as it is: the host checks it against the
	// result contract (sdk/ABI.md), so a verdict without a status, or one
	// that breaks another rule, fails there as malformed, the same for
	// every language and transport.
	v := verifyFn(&verifyReq)
	return wire.AppendVerdict(dst, &v)
}

func handleScore(dst, req []byte) []byte {
	if scoreFn == nil {
		return notThis(dst, abi.KindRewardModel)
	}
	reqs, err := wire.DecodeScoreRequests(req)
	if err != nil {
		return wire.AppendError(dst, "decoding the score request: "+err.Error())
	}
	scores, err := scoreFn(reqs)
	if err != nil {
		return wire.AppendError(dst, err.Error())
	}
	return wire.AppendScores(dst, scores)
}

func handleSegment(dst, req []byte) []byte {
	if segmentFn == nil {
		return notThis(dst, abi.KindSegmenter)
	}
	if err := dec.DecodeSegmentRequest(req, &segmentReq); err != nil {
		return wire.AppendError(dst, "decoding the segment request: "+err.Error())
	}
	spans, err := segmentFn(&segmentReq)
	if err != nil {
		return wire.AppendError(dst, err.Error())
	}
	return wire.AppendSpans(dst, spans)
}

func handleLocalize(dst, req []byte) []byte {
	if localizeFn == nil {
		return notThis(dst, abi.KindLocalizer)
	}
	if err := dec.DecodeLocalizeRequest(req, &localizeReq); err != nil {
		return wire.AppendError(dst, "decoding the localize request: "+err.Error())
	}
	loc, err := localizeFn(&localizeReq)
	if err != nil {
		return wire.AppendError(dst, err.Error())
	}
	return wire.AppendLocalization(dst, &loc)
}

func handleInit(dst, req []byte) []byte {
	var in wire.Init
	if err := wire.DecodeInit(req, &in); err != nil {
		return wire.AppendError(dst, "decoding the init request: "+err.Error())
	}
	if initFn == nil {
		if o := string(in.Options); o != "" && o != "null" && o != "{}" {
			return wire.AppendError(dst, fmt.Sprintf("plugin %q takes no options", info.Name))
		}
		return append(dst, "{}"...)
	}
	if err := initFn(in.Name, in.Options); err != nil {
		return wire.AppendError(dst, err.Error())
	}
	return append(dst, "{}"...)
}

func appendManifest(dst []byte) []byte {
	if kind == "" {
		return wire.AppendError(dst, "no plugin registered: call guest.Verifier (or another kind) from init")
	}
	dst = fmt.Appendf(dst, `{"abi":%d,"kind":`, abi.Version)
	dst = wire.AppendString(dst, string(kind))
	dst = append(dst, `,"name":`...)
	dst = wire.AppendString(dst, info.Name)
	dst = append(dst, `,"version":`...)
	dst = wire.AppendString(dst, info.Version)
	if info.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = wire.AppendString(dst, info.Description)
	}
	if len(info.Capabilities) > 0 {
		dst = append(dst, `,"capabilities":[`...)
		for i, c := range info.Capabilities {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = wire.AppendString(dst, c)
		}
		dst = append(dst, ']')
	}
	if l := info.Limits; l != nil {
		dst = fmt.Appendf(dst, `,"limits":{"memory_mib":%d,"timeout_ms":%d,"max_output_kib":%d}`, l.MemoryMiB, l.TimeoutMillis, l.MaxOutputKiB)
	}
	return append(dst, '}')
}
