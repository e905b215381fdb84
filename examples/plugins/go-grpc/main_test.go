package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestExactMatch(t *testing.T) {
	for _, tc := range []struct {
		name, response, answer string
		want                   abi.Verdict
	}{
		{"equal", "42", `"42"`, abi.Verdict{Status: abi.StatusOK, Score: 1, Detail: "42"}},
		{"white space and period", " 42.\n", `" 42 "`, abi.Verdict{Status: abi.StatusOK, Score: 1, Detail: "42"}},
		{"different", "41", `"42"`, abi.Verdict{Status: abi.StatusOK, Score: 0, Detail: "41"}},
		{"answer not a string", "42", `42`, abi.Verdict{Status: abi.StatusInvalid, Detail: "the task's answer is not a JSON string"}},
		{"no answer", "42", ``, abi.Verdict{Status: abi.StatusInvalid, Detail: "the task's answer is not a JSON string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Answer: []byte(tc.answer)}, Response: tc.response}
			got, err := exactMatch{}.Verify(context.Background(), req)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
