package procprm

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestScore(t *testing.T) {
	task := abi.Task{ID: "s", Meta: json.RawMessage(`{"family":"sum","terms":[47,385,29]}`)}
	got, err := Model{}.Score(context.Background(), []abi.ScoreRequest{
		{Task: task, Response: ""},
		{Task: task, Response: "Step 1: 47+385=432</thought>"},
		{Task: task, Response: "Step 1: 47+385=422</thought>"},
		{Task: task, Response: "Step 1: 47+385=432</thought>Step 2: 432+29=\\boxed{461}</thought>"},
		{Task: task, Response: "Step 1: 47+385=432</thought>Step 2: 432+29=\\boxed{451}</thought>"},
	})
	require.NoError(t, err)
	require.Equal(t, []float64{1, 1, 0, 1, 0}, got)

	_, err = Model{}.Score(context.Background(), []abi.ScoreRequest{{Task: abi.Task{ID: "bad"}, Response: "x"}})
	require.ErrorContains(t, err, `procprm: task "bad": the process verifier cannot check it (invalid`)
}
