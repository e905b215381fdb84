package grpchost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	pluginpb "github.com/rewind-rl/rewind/sdk/proto"
)

// Plugin is a supervised process plugin. It implements the interface of
// its configured kind (host.Verifier, host.RewardModel, host.Segmenter or
// host.Localizer); the methods of the other kinds fail with
// abi.StatusError. It is safe for concurrent use: calls run concurrently
// over one gRPC connection.
//
// Every failure is a *host.PluginError: StatusTimeout past the deadline,
// StatusCrash when the process died or is down (its cause is ErrRestarting
// or ErrFailed then), StatusOversized over MaxOutputBytes, StatusMalformed
// for undecodable output, and StatusError for an error the plugin
// returned. A call whose context the caller cancels returns an error
// wrapping context.Canceled. Results are not checked against their kind's
// contract here: the host's registry does that for every transport
// (host/contract.go), so use the plugin through a host.Registry.
type Plugin struct {
	cfg         Config
	sup         *supervisor
	callOpts    []grpc.CallOption
	firstSHA256 string // of the first process, for SHA256 while none serves
}

// Load validates cfg, starts the plugin process and checks its manifest.
// A plugin that cannot start is an error here (a *host.PluginError with Op
// "load"), not at its first call. Close stops the process.
func Load(ctx context.Context, cfg Config) (*Plugin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Plugin{cfg: cfg, callOpts: []grpc.CallOption{grpc.MaxCallRecvMsgSize(cfg.MaxOutputBytes)}}
	// The first start pins an unconfigured kind: a restart that serves
	// another one is refused. start runs on the supervisor's goroutines, so
	// it works on copies of cfg.
	var kindMu sync.Mutex
	kind := cfg.Kind
	start := func(ctx context.Context, id int) (*generation, error) {
		kindMu.Lock()
		c := cfg
		c.Kind = kind
		kindMu.Unlock()
		g, err := startProcess(ctx, &c, id)
		if err == nil {
			kindMu.Lock()
			kind = g.manifest.Kind
			kindMu.Unlock()
		}
		return g, err
	}
	p.sup = newSupervisor(cfg.Name, cfg.Logger, cfg.Restart, cfg.StartTimeout, start, realAfterFunc)
	if err := p.sup.startFirst(ctx); err != nil {
		status := abi.StatusCrash
		var term *terminalError
		if errors.As(err, &term) {
			status, err = abi.StatusError, term.err
		}
		return nil, &host.PluginError{Plugin: cfg.Name, Op: "load", Status: status, Err: err}
	}
	m := p.Manifest()
	p.cfg.Kind = m.Kind
	p.firstSHA256 = p.SHA256()
	if cfg.Limits != nil {
		t, out, err := cfg.Limits(m.Limits)
		if err != nil {
			p.sup.close()
			return nil, &host.PluginError{Plugin: cfg.Name, Op: "load", Status: abi.StatusError, Err: err}
		}
		p.cfg.Timeout, p.cfg.MaxOutputBytes = t, out
		p.callOpts = []grpc.CallOption{grpc.MaxCallRecvMsgSize(out)}
	}
	return p, nil
}

// Close stops the plugin process (asking it to shut down, killing it after
// go-plugin's 2 s grace) and any pending restart. Calls after Close fail
// with ErrClosed.
func (p *Plugin) Close() error {
	p.sup.close()
	return nil
}

// Stats reports the supervisor's state.
func (p *Plugin) Stats() Stats { return p.sup.stats() }

// Manifest returns the manifest of the serving process (the last one
// started, when none is serving).
func (p *Plugin) Manifest() abi.Manifest {
	p.sup.mu.Lock()
	defer p.sup.mu.Unlock()
	if p.sup.cur != nil {
		return p.sup.cur.manifest
	}
	return abi.Manifest{Kind: p.cfg.Kind, Name: p.cfg.Name}
}

// SHA256 returns the hex sha256 of the executable of the serving (or last
// started) process, checked or not (insecure).
func (p *Plugin) SHA256() string {
	p.sup.mu.Lock()
	defer p.sup.mu.Unlock()
	if p.sup.cur != nil {
		return p.sup.cur.sha256
	}
	return p.firstSHA256
}

// call runs one gRPC call under the per-call deadline and turns its
// failure into a *host.PluginError.
func (p *Plugin) call(ctx context.Context, op string, kind abi.Kind, fn func(context.Context, *generation) error) (*generation, error) {
	if kind != p.cfg.Kind {
		return nil, &host.PluginError{Plugin: p.cfg.Name, Op: op, Status: abi.StatusError,
			Err: fmt.Errorf("the plugin is a %s, not a %s", p.cfg.Kind, kind)}
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	g, err := p.sup.acquire(cctx)
	if err != nil {
		if ctx.Err() == context.Canceled {
			return nil, fmt.Errorf("plugin %q %s: %w", p.cfg.Name, op, ctx.Err())
		}
		return nil, &host.PluginError{Plugin: p.cfg.Name, Op: op, Status: abi.StatusCrash, Err: err}
	}
	err = fn(cctx, g)
	if err == nil {
		p.sup.succeeded(g)
		return g, nil
	}
	return nil, p.classify(ctx, op, g, err)
}

// classify maps a failed call's error to a status.
func (p *Plugin) classify(ctx context.Context, op string, g *generation, err error) error {
	perr := func(s abi.Status, err error) error {
		return &host.PluginError{Plugin: p.cfg.Name, Op: op, Status: s, Err: err}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("plugin %q %s: %w", p.cfg.Name, op, ctx.Err())
	}
	st := status.Convert(err)
	switch {
	case st.Code() == codes.Unavailable || g.dead():
		// The connection broke: the process died or is wedged. Either way
		// this generation is done; the supervisor restarts it.
		p.sup.died(g, err)
		return perr(abi.StatusCrash, err)
	case st.Code() == codes.DeadlineExceeded || ctx.Err() != nil:
		return perr(abi.StatusTimeout, fmt.Errorf("no answer within %v: %w", p.cfg.Timeout, err))
	case st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "larger than max"):
		return perr(abi.StatusOversized, fmt.Errorf("over the %d-byte output cap: %w", p.cfg.MaxOutputBytes, err))
	case st.Code() == codes.Internal && strings.Contains(st.Message(), "unmarshal"):
		return perr(abi.StatusMalformed, err)
	}
	return perr(abi.StatusError, errors.New(st.Message()))
}

// Verify implements host.Verifier. The verdict's Plugin and SHA256 name
// the plugin and the executable that judged it.
func (p *Plugin) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var v abi.Verdict
	g, err := p.call(ctx, "verify", abi.KindVerifier, func(ctx context.Context, g *generation) error {
		out, err := pluginpb.NewVerifierClient(g.conn).Verify(ctx, pluginpb.FromVerifyRequest(req), p.callOpts...)
		if err != nil {
			return err
		}
		v = pluginpb.ToVerdict(out)
		return nil
	})
	if err != nil {
		return abi.Verdict{}, err
	}
	v.Plugin, v.SHA256 = p.cfg.Name, g.sha256
	return v, nil
}

// Score implements host.RewardModel.
func (p *Plugin) Score(ctx context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	var scores []float64
	_, err := p.call(ctx, "score", abi.KindRewardModel, func(ctx context.Context, g *generation) error {
		out, err := pluginpb.NewRewardModelClient(g.conn).Score(ctx, pluginpb.FromScoreRequests(reqs), p.callOpts...)
		if err != nil {
			return err
		}
		scores = out.GetScores()
		return nil
	})
	return scores, err
}

// Segment implements host.Segmenter.
func (p *Plugin) Segment(ctx context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	var spans []abi.Span
	_, err := p.call(ctx, "segment", abi.KindSegmenter, func(ctx context.Context, g *generation) error {
		out, err := pluginpb.NewSegmenterClient(g.conn).Segment(ctx, &pluginpb.SegmentRequest{Response: req.Response}, p.callOpts...)
		if err != nil {
			return err
		}
		spans = pluginpb.ToSpans(out.GetSpans())
		return nil
	})
	return spans, err
}

// Localize implements host.Localizer.
func (p *Plugin) Localize(ctx context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	var l abi.Localization
	_, err := p.call(ctx, "localize", abi.KindLocalizer, func(ctx context.Context, g *generation) error {
		out, err := pluginpb.NewLocalizerClient(g.conn).Localize(ctx, pluginpb.FromLocalizeRequest(req), p.callOpts...)
		if err != nil {
			return err
		}
		l = pluginpb.ToLocalization(out)
		return nil
	})
	if err != nil {
		return abi.Localization{}, err
	}
	return l, nil
}

var (
	_ host.Verifier    = (*Plugin)(nil)
	_ host.RewardModel = (*Plugin)(nil)
	_ host.Segmenter   = (*Plugin)(nil)
	_ host.Localizer   = (*Plugin)(nil)

	_ host.Digester         = (*Plugin)(nil)
	_ host.ManifestReporter = (*Plugin)(nil)
)
