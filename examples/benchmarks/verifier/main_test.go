package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/guest"
	"github.com/rewind-rl/rewind/tasks/taskstest"
)

// TestGuestHandlesTheCaseTable runs the guest natively through the SDK's
// request decoding and verdict encoding, the code path of the Wasm module
// short of the Wasm runtime. The module itself is checked against the
// native twin in plugins/procverify.
func TestGuestHandlesTheCaseTable(t *testing.T) {
	taskstest.Run(t, func(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
		in, err := json.Marshal(req)
		if err != nil {
			return abi.Verdict{}, err
		}
		out := guest.Handle("verify", in)
		var resp struct {
			abi.Verdict
			Error string `json:"error"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return abi.Verdict{}, fmt.Errorf("guest response %q: %w", out, err)
		}
		if resp.Error != "" {
			return abi.Verdict{}, fmt.Errorf("guest error: %s", resp.Error)
		}
		return resp.Verdict, nil
	})
}
