package host_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// statusErr is an error that reports its status (a host.StatusReporter).
type statusErr abi.Status

func (e statusErr) Error() string            { return "backend: " + string(e) }
func (e statusErr) PluginStatus() abi.Status { return abi.Status(e) }

var _ host.StatusReporter = statusErr("")

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want abi.Status
	}{
		{"nil", nil, abi.StatusOK},
		{"plain", errors.New("boom"), abi.StatusError},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), abi.StatusTimeout},
		{"reporter", fmt.Errorf("call: %w", statusErr(abi.StatusCrash)), abi.StatusCrash},
		{"plugin error wins over its cause", &host.PluginError{Status: abi.StatusMalformed, Err: statusErr(abi.StatusTrap)}, abi.StatusMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, host.StatusOf(tt.err))
		})
	}
}

// failing is a verifier and a factory whose failures report a status.
type failing struct{ status abi.Status }

func (f failing) Verify(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
	return abi.Verdict{}, fmt.Errorf("grading: %w", statusErr(f.status))
}

// The registry gives a call's and a load's *PluginError the status the
// error reports, for builtins as for the Wasm host.
func TestRegistryHonoursStatusReporter(t *testing.T) {
	host.RegisterBuiltin(abi.KindVerifier, "test-status-crash", host.NoOptions(failing{abi.StatusCrash}))
	host.RegisterBuiltin(abi.KindVerifier, "test-status-load", func(map[string]any) (any, error) {
		return nil, statusErr(abi.StatusTimeout)
	})
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	require.NoError(t, r.Load(ctx, "v", host.PluginConfig{Builtin: "test-status-crash"}))
	v, err := r.Verifier("v")
	require.NoError(t, err)
	_, err = v.Verify(ctx, &abi.VerifyRequest{})
	var pe *host.PluginError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, abi.StatusCrash, pe.Status)
	require.ErrorIs(t, err, host.ErrCrash)

	err = r.Load(ctx, "l", host.PluginConfig{Builtin: "test-status-load"})
	require.ErrorAs(t, err, &pe)
	require.Equal(t, abi.StatusTimeout, pe.Status, "a load error that reports its status keeps it")
}
