package host

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Counter is the number of calls of one plugin operation that ended with
// one status: a verdict's own status (ok, abstain, invalid) for a verifier
// call that succeeded, "ok" for the other kinds, and the failure status
// otherwise. Each attempt counts, retries included.
type Counter struct {
	Plugin string
	Op     string
	Status abi.Status
	Count  int64
}

type counterKey struct {
	plugin, op string
	status     abi.Status
}

type counters struct {
	m sync.Map // counterKey -> *atomic.Int64
}

func (c *counters) inc(plugin, op string, s abi.Status) {
	k := counterKey{plugin, op, s}
	v, ok := c.m.Load(k)
	if !ok {
		v, _ = c.m.LoadOrStore(k, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// Counters returns a snapshot of the call counters, sorted by plugin,
// operation and status, for the trainer's metrics.
func (r *Registry) Counters() []Counter {
	var out []Counter
	r.counters.m.Range(func(k, v any) bool {
		key := k.(counterKey)
		out = append(out, Counter{key.plugin, key.op, key.status, v.(*atomic.Int64).Load()})
		return true
	})
	slices.SortFunc(out, func(a, b Counter) int {
		if c := strings.Compare(a.Plugin, b.Plugin); c != 0 {
			return c
		}
		if c := strings.Compare(a.Op, b.Op); c != 0 {
			return c
		}
		return strings.Compare(string(a.Status), string(b.Status))
	})
	return out
}

// guard applies a plugin's deadline, retry policy and counters to calls.
type guard struct {
	p *Plugin
	c *counters
}

// asPluginError converts any failure of a call into a *PluginError.
func (g guard) asPluginError(op string, err error) *PluginError {
	var pe *PluginError
	if errors.As(err, &pe) {
		if pe.Plugin == "" || pe.Op == "" {
			cp := *pe
			cp.Plugin, cp.Op = g.p.Name, op
			return &cp
		}
		return pe
	}
	return &PluginError{Plugin: g.p.Name, Op: op, Status: StatusOf(err), Err: err}
}

// run calls f up to 1+Retry times. It does not retry explicit plugin
// errors (they are answers, not accidents) nor after the caller's own
// context ended.
func (g guard) run(ctx context.Context, op string, f func(ctx context.Context) (abi.Status, error)) error {
	for attempt := 0; ; attempt++ {
		cctx, cancel := ctx, context.CancelFunc(nil)
		if g.p.timeout > 0 {
			cctx, cancel = context.WithTimeout(ctx, g.p.timeout)
		}
		status, err := f(cctx)
		if cancel != nil {
			cancel()
		}
		if err == nil {
			g.c.inc(g.p.Name, op, status)
			return nil
		}
		pe := g.asPluginError(op, err)
		g.c.inc(g.p.Name, op, pe.Status)
		if ctx.Err() != nil || pe.Status == abi.StatusError || attempt >= g.p.Config.OnFailure.Retry {
			return pe
		}
	}
}

// malformed is the failure of a result that breaks the contract
// (contract.go).
func malformed(err error) *PluginError {
	return &PluginError{Status: abi.StatusMalformed, Err: err}
}

type guardedVerifier struct {
	guard
	v Verifier
}

func (g guardedVerifier) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var out abi.Verdict
	err := g.run(ctx, "verify", func(ctx context.Context) (abi.Status, error) {
		v, err := g.v.Verify(ctx, req)
		if err != nil {
			return "", err
		}
		if err := checkVerdict(&v, len(req.Steps)); err != nil {
			return "", malformed(err)
		}
		out = v
		return v.Status, nil
	})
	if err != nil {
		return abi.Verdict{}, err
	}
	out.Plugin = g.p.Name
	if !g.p.stamped || out.SHA256 == "" {
		out.SHA256 = g.p.SHA256
	}
	return out, nil
}

type guardedRewardModel struct {
	guard
	m RewardModel
}

func (g guardedRewardModel) Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	var out []float64
	err := g.run(ctx, "score", func(ctx context.Context) (abi.Status, error) {
		s, err := g.m.Score(ctx, reqs)
		if err != nil {
			return "", err
		}
		if err := checkScores(s, len(reqs)); err != nil {
			return "", malformed(err)
		}
		out = s
		return abi.StatusOK, nil
	})
	return out, err
}

type guardedSegmenter struct {
	guard
	s Segmenter
}

func (g guardedSegmenter) Segment(ctx context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	var out []abi.Span
	err := g.run(ctx, "segment", func(ctx context.Context) (abi.Status, error) {
		s, err := g.s.Segment(ctx, req)
		if err != nil {
			return "", err
		}
		if err := checkSpans(s, len(req.Response)); err != nil {
			return "", malformed(err)
		}
		out = s
		return abi.StatusOK, nil
	})
	return out, err
}

type guardedLocalizer struct {
	guard
	l Localizer
}

func (g guardedLocalizer) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	var out abi.Localization
	err := g.run(ctx, "localize", func(ctx context.Context) (abi.Status, error) {
		l, err := g.l.Localize(ctx, req)
		if err != nil {
			return "", err
		}
		if err := checkLocalization(&l, len(req.Steps)); err != nil {
			return "", malformed(err)
		}
		out = l
		return abi.StatusOK, nil
	})
	return out, err
}

// Verifier returns the verifier loaded as name, wrapped so that every call
// applies the plugin's deadline and retry policy, checks the result
// against the contract of sdk/ABI.md (a violation, an empty status
// included, fails as abi.StatusMalformed), fails with a *PluginError,
// counts in Counters, and fills the verdict's Plugin and SHA256.
func (r *Registry) Verifier(name string) (Verifier, error) {
	p, err := r.get(name, abi.KindVerifier)
	if err != nil {
		return nil, err
	}
	return guardedVerifier{guard{p, &r.counters}, p.impl.(Verifier)}, nil
}

// RewardModel returns the reward model loaded as name, wrapped like
// Verifier's result.
func (r *Registry) RewardModel(name string) (RewardModel, error) {
	p, err := r.get(name, abi.KindRewardModel)
	if err != nil {
		return nil, err
	}
	return guardedRewardModel{guard{p, &r.counters}, p.impl.(RewardModel)}, nil
}

// Segmenter returns the segmenter loaded as name, wrapped like Verifier's
// result.
func (r *Registry) Segmenter(name string) (Segmenter, error) {
	p, err := r.get(name, abi.KindSegmenter)
	if err != nil {
		return nil, err
	}
	return guardedSegmenter{guard{p, &r.counters}, p.impl.(Segmenter)}, nil
}

// Localizer returns the localizer loaded as name, wrapped like Verifier's
// result.
func (r *Registry) Localizer(name string) (Localizer, error) {
	p, err := r.get(name, abi.KindLocalizer)
	if err != nil {
		return nil, err
	}
	return guardedLocalizer{guard{p, &r.counters}, p.impl.(Localizer)}, nil
}

var (
	_ Verifier    = guardedVerifier{}
	_ RewardModel = guardedRewardModel{}
	_ Segmenter   = guardedSegmenter{}
	_ Localizer   = guardedLocalizer{}
)
