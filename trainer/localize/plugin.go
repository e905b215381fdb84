package localize

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// Plugin adapts a host localizer plugin (random, oracle, first, or a user
// plugin) to Localizer, calling it for up to Concurrency requests at once.
type Plugin struct {
	l           host.Localizer
	concurrency int
}

// NewPlugin wraps l; concurrency < 1 means 1.
func NewPlugin(l host.Localizer, concurrency int) *Plugin {
	return &Plugin{l: l, concurrency: max(concurrency, 1)}
}

// Localize calls the plugin for every request. A failed call (timeout,
// crash, plugin error) gives step 1 with FallbackError and the failure's
// status; an answer of 0 gives step 1 with FallbackNoError; an answer
// above n or below 0 gives step 1 with FallbackOutOfRange. A plugin's own
// Fallback is kept when its answer is in range. The batch fails only when
// ctx ends.
func (p *Plugin) Localize(ctx context.Context, reqs []Request) ([]Result, error) {
	out := make([]Result, len(reqs))
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = p.one(ctx, &reqs[i])
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("localize: %w", err)
	}
	return out, nil
}

func (p *Plugin) one(ctx context.Context, r *Request) Result {
	n := len(r.Spans)
	if n == 0 {
		return Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: "trajectory has no steps"}
	}
	if err := ctx.Err(); err != nil {
		return Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: err.Error()}
	}
	loc, err := p.l.Localize(ctx, &abi.LocalizeRequest{
		Task: r.Task, Response: r.Response, Steps: r.Spans, Verdict: r.Verdict, Seed: r.Seed, StepStats: r.Stats,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// The batch error reports it.
			return Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: abi.StatusError, Error: err.Error()}
		}
		return Result{Step: 1, Answer: -1, Fallback: FallbackError, Status: host.StatusOf(err), Error: err.Error()}
	}
	res := Result{Step: loc.Step, Answer: loc.Step, Fallback: loc.Fallback, Text: loc.Detail, Status: abi.StatusOK}
	switch {
	case loc.Step == 0:
		res.Step, res.Fallback = 1, FallbackNoError
	case loc.Step < 0 || loc.Step > n:
		res.Step, res.Fallback = 1, FallbackOutOfRange
	}
	return res
}

var _ Localizer = (*Plugin)(nil)
