package wasm

import (
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Error is a failed load or call. Status is one of the host-assigned
// statuses of package abi; package host turns it into a *host.PluginError
// through the PluginStatus method.
type Error struct {
	Status abi.Status
	Err    error
}

// Error is the cause alone: the host reports the status itself
// (host.PluginError prints "plugin NAME OP: STATUS: cause"), and a cause
// wrapped on its way ("wasm module PATH: ...") would repeat it otherwise.
func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// PluginStatus reports the verdict status of the failure (it makes Error a
// host.StatusReporter; this package cannot import host for the guard).
func (e *Error) PluginStatus() abi.Status { return e.Status }

func fail(status abi.Status, format string, args ...any) *Error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}
