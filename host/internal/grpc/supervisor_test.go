package grpchost

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock records the timers the supervisor sets; fire runs the oldest.
type fakeClock struct {
	mu     sync.Mutex
	delays []time.Duration
	funcs  []func()
}

func (c *fakeClock) afterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.funcs)
	c.delays = append(c.delays, d)
	c.funcs = append(c.funcs, f)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		ok := c.funcs[i] != nil
		c.funcs[i] = nil
		return ok
	}
}

// fire runs pending timer i synchronously, as if its delay had passed.
func (c *fakeClock) fire(t *testing.T, i int) {
	t.Helper()
	c.mu.Lock()
	require.Less(t, i, len(c.funcs), "no timer %d", i)
	f := c.funcs[i]
	c.funcs[i] = nil
	c.mu.Unlock()
	require.NotNil(t, f, "timer %d was stopped or already fired", i)
	f()
}

// fakeStarts hands out generations whose death the test controls; fail
// makes the next starts fail with the given errors.
type fakeStarts struct {
	mu   sync.Mutex
	gens []*generation
	fail []error
}

func (f *fakeStarts) start(_ context.Context, id int) (*generation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return nil, err
	}
	done := make(chan struct{})
	var once sync.Once
	g := &generation{id: id, done: done, kill: func() { once.Do(func() { close(done) }) }}
	f.gens = append(f.gens, g)
	return g, nil
}

func (f *fakeStarts) gen(i int) *generation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gens[i]
}

func newTestSupervisor(t *testing.T, p RestartPolicy) (*supervisor, *fakeClock, *fakeStarts) {
	clock, starts := &fakeClock{}, &fakeStarts{}
	s := newSupervisor("fake", slog.New(slog.NewTextHandler(io.Discard, nil)), p, time.Second, starts.start, clock.afterFunc)
	require.NoError(t, s.startFirst(context.Background()))
	t.Cleanup(s.close)
	return s, clock, starts
}

// waitState polls until the supervisor reaches want (the watcher goroutine
// reports a death asynchronously).
func waitState(t *testing.T, s *supervisor, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return s.stats().State == want }, time.Second, time.Millisecond)
}

func TestSupervisorBackoffDoublesAndCaps(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRestarts: 10})
	for i := range 6 {
		starts.gen(i).kill() // the process exits
		waitState(t, s, "backoff")
		clock.fire(t, i)
		require.Equal(t, "up", s.stats().State)
	}
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, time.Second, time.Second}, clock.delays)

	// A successful call resets the streak, so the next death waits the initial backoff again.
	s.succeeded(starts.gen(6))
	starts.gen(6).kill()
	waitState(t, s, "backoff")
	require.Equal(t, 100*time.Millisecond, clock.delays[6])
}

func TestSupervisorCallsWaitForRestart(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxRestarts: 3})
	starts.gen(0).kill()
	waitState(t, s, "backoff")

	// A call whose deadline passes during the backoff fails with ErrRestarting.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.acquire(ctx)
	require.ErrorIs(t, err, ErrRestarting)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// A call that waits gets the new generation once the restart is done.
	got := make(chan *generation)
	go func() {
		g, err := s.acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- g
	}()
	time.Sleep(10 * time.Millisecond)
	clock.fire(t, 0)
	require.Same(t, starts.gen(1), <-got)
}

func TestSupervisorFailsAfterMaxRestarts(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxRestarts: 2})
	boom := errors.New("exit status 3")
	starts.fail = []error{boom, boom}
	starts.gen(0).kill()
	waitState(t, s, "backoff")
	clock.fire(t, 0) // start fails: death 2
	require.Equal(t, "backoff", s.stats().State)
	clock.fire(t, 1) // start fails: death 3 > MaxRestarts
	st := s.stats()
	require.Equal(t, "failed", st.State)
	require.ErrorIs(t, st.Err, boom)
	_, err := s.acquire(context.Background())
	require.ErrorIs(t, err, ErrFailed)
	require.ErrorContains(t, err, "died 3 times in a row")
}

func TestSupervisorTerminalStartFailsAtOnce(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxRestarts: 5})
	starts.fail = []error{&terminalError{&ChecksumError{Path: "p", Want: "a", Got: "b"}}}
	starts.gen(0).kill()
	waitState(t, s, "backoff")
	clock.fire(t, 0)
	_, err := s.acquire(context.Background())
	require.ErrorIs(t, err, ErrChecksum)
	require.Len(t, clock.delays, 1, "no further restart is scheduled")
}

func TestSupervisorCloseStopsPendingRestart(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxRestarts: 5})
	starts.gen(0).kill()
	waitState(t, s, "backoff")
	done := make(chan struct{})
	go func() { s.close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("close waited for a restart that was never going to run")
	}
	require.Nil(t, clock.funcs[0], "the timer was stopped")
	_, err := s.acquire(context.Background())
	require.ErrorIs(t, err, ErrClosed)
}

func TestSupervisorIgnoresStaleDeaths(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxRestarts: 5})
	old := starts.gen(0)
	s.died(old, errors.New("broken connection")) // a call saw the break first
	s.died(old, errors.New("process exited"))    // then the watcher
	require.Len(t, clock.delays, 1)
	clock.fire(t, 0)
	s.died(old, errors.New("late report"))
	require.Equal(t, "up", s.stats().State)
}

// TestSupervisorCountsAnswersSeenAfterTheDeath: with calls in flight, the
// death of a process can be seen before the answers it gave just before
// dying are counted. Such a process answered, so its death starts a new
// row; before, the plugin was marked failed at the death that reached the
// limit (issue 13: "failed after 6 deaths" while every restart answered 2
// calls).
func TestSupervisorCountsAnswersSeenAfterTheDeath(t *testing.T) {
	s, clock, starts := newTestSupervisor(t, RestartPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxRestarts: 1})
	starts.gen(0).kill() // death 1, nothing answered
	waitState(t, s, "backoff")
	clock.fire(t, 0)
	require.Equal(t, "up", s.stats().State)
	g := starts.gen(1)
	s.died(g, errors.New("process exited")) // death 2 > MaxRestarts, seen first...
	s.succeeded(g)                          // ...then the answer g gave before dying
	clock.fire(t, 1)
	require.Equal(t, "up", s.stats().State, "%v", s.stats().Err)

	// Without an answer, the limit holds: g's death is the first in a row,
	// the next one's the second.
	s.died(starts.gen(2), errors.New("process exited"))
	clock.fire(t, 2)
	st := s.stats()
	require.Equal(t, "failed", st.State)
	require.ErrorContains(t, st.Err, "died 2 times in a row")
}
