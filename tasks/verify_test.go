package tasks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks/taskstest"
)

func TestVerifyHandMade(t *testing.T) {
	taskstest.Run(t, func(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) { return Verify(req), nil })
}

func TestSplitSteps(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []abi.Span
	}{
		{"", nil},
		{"  ", nil},
		{"a</thought>", []abi.Span{{Start: 0, End: 11}}},
		{"a</thought>b", []abi.Span{{Start: 0, End: 11}, {Start: 11, End: 12}}},
		{"a</thought>\n", []abi.Span{{Start: 0, End: 11}}},
		{"</thought></thought>", []abi.Span{{Start: 0, End: 10}, {Start: 10, End: 20}}},
	} {
		require.Equal(t, tc.want, SplitSteps(tc.in), "%q", tc.in)
	}
}

func TestLastBoxed(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`\boxed{1}`, "1", true},
		{`\boxed{1} and \boxed{2}`, "2", true},
		{`\boxed{\frac{1}{2}}`, `\frac{1}{2}`, true},
		{`\boxed{1} \boxed{2`, "1", true},
		{`none`, "", false},
	} {
		got, ok := lastBoxed(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}
