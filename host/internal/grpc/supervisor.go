package grpchost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rewind-rl/rewind/host"
)

// ErrRestarting is the cause of a call that found the plugin process dead
// and reached its deadline before a restart brought it back.
var ErrRestarting = errors.New("plugin process is restarting")

// ErrFailed is the cause of every call to a plugin that the supervisor has
// given up on (see RestartPolicy.MaxRestarts) or that cannot be restarted
// (its executable fails its checksum).
// It is host.ErrFailedForGood, which callers outside this package test.
var ErrFailed = host.ErrFailedForGood

// ErrClosed is the cause of a call after Close.
var ErrClosed = errors.New("plugin is closed")

// AfterFunc runs f in its own goroutine after d and returns a function that
// cancels it (reporting whether it did). time.AfterFunc's shape; tests
// inject a fake clock.
type AfterFunc func(d time.Duration, f func()) (stop func() bool)

func realAfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

type state int

const (
	stateUp       state = iota // cur is serving
	stateBackoff               // waiting to restart
	stateStarting              // a restart is running
	stateFailed                // given up; err says why
	stateClosed
)

var stateNames = [...]string{"up", "backoff", "starting", "failed", "closed"}

func (s state) String() string { return stateNames[s] }

// supervisor keeps one plugin process alive.
//
// When the process dies (go-plugin sees it exit, or a call finds the
// connection broken), calls in flight on it fail at once with a crash, and
// a restart is scheduled after InitialBackoff * 2^(n-1) (capped at
// MaxBackoff), n being the deaths in a row: a successful call resets n,
// and a process that answered any call before dying starts a new row even
// when its death is seen before its answers are (see scheduleLocked).
// After MaxRestarts deaths in a row, or a start that cannot succeed (a
// checksum or manifest mismatch, a missing executable), the plugin is
// marked failed and every call fails at once with ErrFailed and the cause.
//
// A call that arrives while the process is down waits for the restart, up
// to its own deadline (the per-call timeout or the caller's, whichever is
// first), and then fails with ErrRestarting. Waiting rather than failing
// fast means a crash costs the calls around it a restart's latency instead
// of their samples, and the caller's deadline still bounds it.
type supervisor struct {
	name         string
	log          *slog.Logger
	policy       RestartPolicy
	startTimeout time.Duration
	start        func(ctx context.Context, id int) (*generation, error)
	afterFunc    AfterFunc

	streak   atomic.Int32 // deaths in a row since the last successful call
	restarts atomic.Int64 // restarts begun, for metrics

	mu        sync.Mutex
	cur       *generation // non-nil exactly when state is stateUp
	state     state
	err       error         // stateFailed: why; stateBackoff: the last death
	wake      chan struct{} // closed when the state leaves backoff/starting
	stopTimer func() bool
	nextID    int
	lastDead  *generation    // the generation whose death the pending restart follows
	starting  sync.WaitGroup // a restart in flight, which Close waits for
}

func newSupervisor(name string, log *slog.Logger, p RestartPolicy, startTimeout time.Duration,
	start func(context.Context, int) (*generation, error), af AfterFunc) *supervisor {
	return &supervisor{
		name: name, log: log, policy: p, startTimeout: startTimeout,
		start: start, afterFunc: af, wake: make(chan struct{}), state: stateStarting,
	}
}

// startFirst runs the first start synchronously, so that a plugin that
// cannot start at all is a load error, reported with its cause.
func (s *supervisor) startFirst(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.startTimeout)
	defer cancel()
	g, err := s.start(ctx, s.id())
	if err != nil {
		s.mu.Lock()
		s.state, s.err = stateFailed, err
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upLocked(g)
	return nil
}

func (s *supervisor) id() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return s.nextID
}

// acquire returns the serving generation, waiting for a restart up to
// ctx's deadline.
func (s *supervisor) acquire(ctx context.Context) (*generation, error) {
	for {
		s.mu.Lock()
		switch s.state {
		case stateUp:
			g := s.cur
			s.mu.Unlock()
			return g, nil
		case stateFailed:
			err := s.err
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrFailed, err)
		case stateClosed:
			s.mu.Unlock()
			return nil, ErrClosed
		}
		wake, last := s.wake, s.err
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w after %v (%w)", ErrRestarting, last, ctx.Err())
		}
	}
}

// succeeded records a successful call on g: the plugin is healthy again.
func (s *supervisor) succeeded(g *generation) {
	g.answered.Store(true)
	if s.streak.Load() != 0 {
		s.streak.Store(0)
	}
}

// died records that g's process is gone (or its connection broken). Only
// the first report for the serving generation counts.
func (s *supervisor) died(g *generation, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != g || s.state != stateUp {
		return
	}
	s.cur = nil
	go g.kill() // returns at once for an exited process; ends a wedged one
	s.log.Warn("plugin process died", "plugin", s.name, "generation", g.id, "cause", cause)
	if g.answered.Load() {
		s.streak.Store(0) // this death is the first in a row
	}
	s.scheduleLocked(cause, g)
}

// scheduleLocked schedules a restart after a death of generation g or a
// failed start (g nil), or marks the plugin failed.
//
// With calls in flight, the death of a process can be seen before the
// answers it gave just before dying are counted (the watcher and the
// callers are different goroutines). So when a death of a generation
// reaches the limit, the restart is scheduled anyway and the decision is
// taken when its timer fires (restart), by which time every answer the
// generation gave has been counted in g.answered. A failed start answered
// nothing: it is decided at once.
func (s *supervisor) scheduleLocked(cause error, g *generation) {
	n := int(s.streak.Add(1))
	var term *terminalError
	switch {
	case errors.As(cause, &term):
		s.failLocked(cause)
		return
	case s.policy.MaxRestarts < 0 || (n > s.policy.MaxRestarts && g == nil):
		s.failLocked(s.gaveUp(n, cause))
		return
	}
	s.lastDead = g
	d := s.backoff(n)
	s.state, s.err = stateBackoff, cause
	s.starting.Add(1)
	s.stopTimer = s.afterFunc(d, s.restart)
	s.log.Info("plugin restart scheduled", "plugin", s.name, "in", d, "deaths_in_a_row", n)
}

func (s *supervisor) gaveUp(n int, cause error) error {
	return fmt.Errorf("it died %d times in a row without answering a call in between; last: %w", n, cause)
}

func (s *supervisor) failLocked(err error) {
	s.state, s.err = stateFailed, err
	s.log.Error("plugin marked failed", "plugin", s.name, "error", err)
	close(s.wake)
	s.wake = make(chan struct{})
}

// backoff returns the wait before restart n (1-based).
func (s *supervisor) backoff(n int) time.Duration {
	d := s.policy.InitialBackoff
	for i := 1; i < n && d < s.policy.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.policy.MaxBackoff)
}

// restart runs when a backoff timer fires.
func (s *supervisor) restart() {
	defer s.starting.Done()
	s.mu.Lock()
	if s.state != stateBackoff {
		s.mu.Unlock()
		return
	}
	if g := s.lastDead; g != nil {
		s.lastDead = nil
		if g.answered.Load() {
			s.streak.Store(1) // it answered before dying: one death in a row
		}
		if n := int(s.streak.Load()); n > s.policy.MaxRestarts {
			s.failLocked(s.gaveUp(n, s.err))
			s.mu.Unlock()
			return
		}
	}
	s.state = stateStarting
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	s.restarts.Add(1)

	ctx, cancel := context.WithTimeout(context.Background(), s.startTimeout)
	g, err := s.start(ctx, id)
	cancel()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		if g != nil {
			g.kill()
		}
		return
	}
	if err != nil {
		s.log.Warn("plugin restart failed", "plugin", s.name, "generation", id, "error", err)
		s.scheduleLocked(err, nil)
		return
	}
	s.log.Info("plugin restarted", "plugin", s.name, "generation", id)
	s.upLocked(g)
}

// upLocked makes g the serving generation and watches its process.
func (s *supervisor) upLocked(g *generation) {
	s.cur, s.state, s.err = g, stateUp, nil
	close(s.wake)
	s.wake = make(chan struct{})
	go func() {
		<-g.done
		s.died(g, errors.New("process exited"))
	}()
}

// close stops the process and any pending restart, and waits for both.
func (s *supervisor) close() {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.state == stateBackoff && s.stopTimer != nil && s.stopTimer() {
		s.starting.Done() // the timer will not run restart
	}
	g := s.cur
	s.cur, s.state = nil, stateClosed
	close(s.wake)
	s.mu.Unlock()
	if g != nil {
		g.kill()
	}
	s.starting.Wait()
}

// Stats is a snapshot of a supervised plugin, for metrics and `rewind plugin inspect`.
type Stats struct {
	State      string // up, backoff, starting, failed, closed
	Generation int    // the serving (or last started) process, 1-based
	Restarts   int64  // restarts begun since load
	Err        error  // failed: why
}

func (s *supervisor) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{State: s.state.String(), Generation: s.nextID, Restarts: s.restarts.Load()}
	if s.state == stateFailed {
		st.Err = s.err
	}
	return st
}
