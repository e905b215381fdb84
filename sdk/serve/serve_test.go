package serve

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rewind-rl/rewind/sdk/abi"
	pluginpb "github.com/rewind-rl/rewind/sdk/proto"
)

type verifierFunc func(context.Context, *abi.VerifyRequest) (abi.Verdict, error)

func (f verifierFunc) Verify(ctx context.Context, r *abi.VerifyRequest) (abi.Verdict, error) {
	return f(ctx, r)
}

func TestVerifierServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
	}{
		{"plain error", errors.New("boom"), codes.Unknown},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"canceled", context.Canceled, codes.Canceled},
		{"own status", status.Error(codes.InvalidArgument, "bad task"), codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &verifierServer{impl: verifierFunc(func(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
				return abi.Verdict{}, tc.err
			})}
			_, err := s.Verify(context.Background(), &pluginpb.VerifyRequest{})
			require.Equal(t, tc.code, status.Code(err))
		})
	}
	t.Run("verdict", func(t *testing.T) {
		s := &verifierServer{impl: verifierFunc(func(_ context.Context, r *abi.VerifyRequest) (abi.Verdict, error) {
			return abi.Verdict{Status: abi.StatusOK, Score: 1, Detail: r.Response}, nil
		})}
		out, err := s.Verify(context.Background(), &pluginpb.VerifyRequest{Response: "x"})
		require.NoError(t, err)
		require.Equal(t, "x", out.GetDetail())
		require.Equal(t, "ok", out.GetStatus())
	})
}

func TestRecoverPanics(t *testing.T) {
	_, err := recoverPanics(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/m"},
		func(context.Context, any) (any, error) { panic("bad input") })
	require.Equal(t, codes.Internal, status.Code(err))
	require.ErrorContains(t, err, "panic: bad input")
}

func TestOptions(t *testing.T) {
	var v struct{ Strict bool }
	t.Setenv(OptionsEnv, "")
	ok, err := Options(&v)
	require.NoError(t, err)
	require.False(t, ok)

	t.Setenv(OptionsEnv, `{"strict":true}`)
	ok, err = Options(&v)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, v.Strict)

	t.Setenv(OptionsEnv, `{`)
	_, err = Options(&v)
	require.ErrorContains(t, err, OptionsEnv)
}
