package rollout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// RewardModel is a reward-model plugin with its weight in the reward.
type RewardModel struct {
	Name   string
	Weight float64
	Model  host.RewardModel
}

// Grade is the judgement of one response.
type Grade struct {
	// Reward is the verifier's score plus the weighted reward-model
	// scores; meaningful only when Verdict.Status is usable.
	Reward float64
	// Correct: the verifier's score reached the configured CorrectAt.
	Correct bool
	// Verdict is the verifier's verdict; when a call failed, its Status
	// is the failure's (timeout, crash, ...) and Detail the error.
	Verdict abi.Verdict
	// Rewards holds each component: "verifier" and each reward model by
	// name.
	Rewards map[string]float64
}

// grade verifies one response and adds the reward models. A failed
// reward-model call makes the whole sample unusable with that call's
// status: its reward would otherwise silently change.
func (r *Runner) grade(ctx context.Context, task *abi.Task, text string, steps []abi.Span) Grade {
	v, err := r.verifier.Verify(ctx, &abi.VerifyRequest{Task: *task, Response: text, Steps: steps})
	if err != nil {
		return Grade{Verdict: abi.Verdict{Status: host.StatusOf(err), Detail: err.Error(), Plugin: pluginOf(err, v.Plugin), SHA256: v.SHA256}}
	}
	if !v.Status.Usable() {
		return Grade{Verdict: v}
	}
	g := Grade{Reward: v.Score, Correct: v.Score >= r.cfg.CorrectAt, Verdict: v, Rewards: map[string]float64{"verifier": v.Score}}
	for _, rm := range r.rewardModels {
		s, err := rm.Model.Score(ctx, []abi.ScoreRequest{{Task: *task, Response: text}})
		if err == nil && len(s) != 1 {
			err = fmt.Errorf("reward model %q returned %d scores for 1 request", rm.Name, len(s))
		}
		if err != nil {
			g.Verdict.Status = host.StatusOf(err)
			g.Verdict.Detail = fmt.Sprintf("reward model %q: %v", rm.Name, err)
			g.Verdict.Plugin = pluginOf(err, rm.Name) // the one that failed
			return g
		}
		g.Rewards[rm.Name] = s[0]
		g.Reward += rm.Weight * s[0]
	}
	return g
}

// pluginOf is the configured name of the plugin whose call failed with
// err, else fallback.
func pluginOf(err error, fallback string) string {
	var pe *host.PluginError
	if errors.As(err, &pe) && pe.Plugin != "" {
		return pe.Plugin
	}
	return fallback
}

// pool runs grading work with bounded concurrency and records the time
// spent in it.
type pool struct {
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	busy time.Duration
	now  func() time.Time
}

func newPool(n int, now func() time.Time) *pool {
	return &pool{sem: make(chan struct{}, n), now: now}
}

// submit runs f on a worker as soon as one is free; it never blocks the
// caller (the generation loop).
func (p *pool) submit(f func()) {
	p.wg.Add(1)
	go func() {
		p.sem <- struct{}{}
		t0 := p.now()
		defer func() {
			d := p.now().Sub(t0)
			p.mu.Lock()
			p.busy += d
			p.mu.Unlock()
			<-p.sem
			p.wg.Done()
		}()
		f()
	}()
}

// wait blocks until every submitted function has returned.
func (p *pool) wait() { p.wg.Wait() }
