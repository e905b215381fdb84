package wasm

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
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

// Verify calls rewind_verify. The verdict is validated (wire.CheckVerdict)
// and carries the module's sha256; Plugin is left for the caller.
func (p *Plugin) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	if err := p.want(abi.KindVerifier); err != nil {
		return abi.Verdict{}, err
	}
	var v abi.Verdict
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendVerifyRequest(dst, req) },
		func(b []byte) error {
			if err := wire.DecodeVerdict(b, &v); err != nil {
				return err
			}
			return wire.CheckVerdict(&v, len(req.Steps))
		})
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
		func(b []byte) (err error) {
			if scores, err = wire.DecodeScores(b, nil); err != nil {
				return err
			}
			if len(scores) != len(reqs) {
				return fmt.Errorf("%d scores for %d requests", len(scores), len(reqs))
			}
			return nil
		})
	return scores, err
}

// Segment calls rewind_segment; spans are checked against the response.
func (p *Plugin) Segment(ctx context.Context, req abi.SegmentRequest) ([]abi.Span, error) {
	if err := p.want(abi.KindSegmenter); err != nil {
		return nil, err
	}
	var spans []abi.Span
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendSegmentRequest(dst, &req) },
		func(b []byte) (err error) {
			if spans, err = wire.DecodeSpans(b, nil); err != nil {
				return err
			}
			return wire.CheckSpans(spans, len(req.Response))
		})
	return spans, err
}

// Localize calls rewind_localize; the step is checked against req.Steps.
func (p *Plugin) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if err := p.want(abi.KindLocalizer); err != nil {
		return abi.Localization{}, err
	}
	var l abi.Localization
	err := p.do(ctx, func(dst []byte) []byte { return wire.AppendLocalizeRequest(dst, req) },
		func(b []byte) error {
			if err := wire.DecodeLocalization(b, &l); err != nil {
				return err
			}
			if l.Step < 0 || l.Step > len(req.Steps) {
				return fmt.Errorf("step %d is outside 0..%d", l.Step, len(req.Steps))
			}
			return nil
		})
	return l, err
}
