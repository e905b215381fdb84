package host

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Sentinel errors that callers branch on with errors.Is. A *PluginError
// matches the sentinel of its Status.
var (
	ErrTimeout   = errors.New("plugin call timed out")
	ErrCrash     = errors.New("plugin crashed")
	ErrTrap      = errors.New("plugin trapped")
	ErrOversized = errors.New("plugin output over its size cap")
	ErrMalformed = errors.New("plugin output malformed")
	ErrPlugin    = errors.New("plugin returned an error")
	// ErrFailedForGood is in the chain of every call to a plugin the host
	// has given up on (a process plugin that died too often in a row, or
	// whose executable no longer matches its sha256): no later call can
	// succeed, so a caller stops rather than counting the failures.
	ErrFailedForGood = errors.New("plugin failed for good")
)

// PluginError is the error of a failed plugin call. Status is one of the
// host-assigned statuses of package abi (timeout, crash, trap, oversized,
// malformed, error).
type PluginError struct {
	Plugin string     // configured name
	Op     string     // "verify", "score", "segment", "localize", "load"
	Status abi.Status // what went wrong
	Err    error      // the underlying cause, may be nil
}

func (e *PluginError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("plugin %q %s: %s", e.Plugin, e.Op, e.Status)
	}
	// A cause that already says which plugin, op or status it is (the
	// Wasm host's errors start with their status, a process loader's
	// with the plugin and op) is not prefixed twice.
	msg := e.Err.Error()
	prefix := fmt.Sprintf("plugin %q %s: ", e.Plugin, e.Op)
	msg = strings.TrimPrefix(msg, prefix)
	msg = strings.TrimPrefix(msg, string(e.Status)+": ")
	return prefix + string(e.Status) + ": " + msg
}

func (e *PluginError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTimeout) and friends work on a *PluginError.
func (e *PluginError) Is(target error) bool {
	switch e.Status {
	case abi.StatusTimeout:
		return target == ErrTimeout
	case abi.StatusCrash:
		return target == ErrCrash
	case abi.StatusTrap:
		return target == ErrTrap
	case abi.StatusOversized:
		return target == ErrOversized
	case abi.StatusMalformed:
		return target == ErrMalformed
	case abi.StatusError:
		return target == ErrPlugin
	}
	return false
}

// StatusReporter is the optional capability of an error that knows which
// host-assigned status (abi.StatusTimeout, StatusCrash, StatusTrap,
// StatusOversized, StatusMalformed or StatusError) the failed call stands
// for. The registry looks for it in the chain of a plugin's error (the
// Wasm host's errors have it) and gives the *PluginError that status; an
// implementation of a kind may return such an error too, say to report
// that a backend it calls timed out.
type StatusReporter interface {
	PluginStatus() abi.Status
}

// StatusOf returns the verdict status that err stands for: the Status of a
// *PluginError in its chain, else that of a StatusReporter in its chain,
// abi.StatusTimeout for a context deadline, and abi.StatusError otherwise.
// It returns abi.StatusOK for a nil error.
func StatusOf(err error) abi.Status {
	if err == nil {
		return abi.StatusOK
	}
	var pe *PluginError
	if errors.As(err, &pe) {
		return pe.Status
	}
	var sr StatusReporter
	if errors.As(err, &sr) {
		return sr.PluginStatus()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return abi.StatusTimeout
	}
	return abi.StatusError
}
