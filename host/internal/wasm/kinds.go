package wasm

import (
	"context"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
	"github.com/rewind-rl/rewind/sdk/kinds"
)

type guestError = wire.GuestError

var (
	appendInit  = wire.AppendInit
	appendError = wire.AppendError
	decodeAck   = wire.DecodeAck
)

func (p *Plugin) want(k abi.Kind) error {
	if p.kind != k {
		return fail(abi.StatusError, "plugin is a %s, not a %s", p.kind, k)
	}
	return nil
}

// Verify calls rewind_verify. The verdict carries the module's sha256;
// Plugin is left for the caller, and so is the check of the result
// contract (host's guard applies it to every transport).
func (p *Plugin) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	if err := p.want(abi.KindVerifier); err != nil {
		return abi.Verdict{}, err
	}
	var v abi.Verdict
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendVerifyRequest(dst, req) },
		func(b []byte) error { return wire.DecodeVerdict(b, &v) })
	if err != nil {
		return abi.Verdict{}, err
	}
	v.SHA256 = p.sha256
	return v, nil
}

// Score calls rewind_score.
func (p *Plugin) Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	if err := p.want(abi.KindRewardModel); err != nil {
		return nil, err
	}
	var scores []float64
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendScoreRequests(dst, reqs) },
		func(b []byte) (err error) { scores, err = wire.DecodeScores(b, nil); return err })
	return scores, err
}

// Segment calls rewind_segment.
func (p *Plugin) Segment(ctx context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	if err := p.want(abi.KindSegmenter); err != nil {
		return nil, err
	}
	var spans []abi.Span
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendSegmentRequest(dst, req) },
		func(b []byte) (err error) { spans, err = wire.DecodeSpans(b, nil); return err })
	return spans, err
}

// Localize calls rewind_localize.
func (p *Plugin) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if err := p.want(abi.KindLocalizer); err != nil {
		return abi.Localization{}, err
	}
	var l abi.Localization
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendLocalizeRequest(dst, req) },
		func(b []byte) error { return wire.DecodeLocalization(b, &l) })
	return l, err
}

var (
	_ kinds.Verifier    = (*Plugin)(nil)
	_ kinds.RewardModel = (*Plugin)(nil)
	_ kinds.Segmenter   = (*Plugin)(nil)
	_ kinds.Localizer   = (*Plugin)(nil)
)
