// Command go-grpc is an example process plugin in Go: an exact-match
// verifier served over gRPC with sdk/serve.
//
// The task's answer is a JSON string; a response scores 1 when, with
// surrounding white space and a trailing period removed, it equals the
// answer, and 0 otherwise. An answer that is not a JSON string makes the
// task invalid.
//
// Build it and print the sha256 the host config needs:
//
//	go build -o exact-grpc ./examples/plugins/go-grpc && sha256sum exact-grpc
//
// then point a plugin's config at it (see docs/process-plugins.md):
//
//	process: ./exact-grpc
//	sha256: <the digest>
package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
	"github.com/rewind-rl/rewind/sdk/serve"
)

type exactMatch struct{}

func (exactMatch) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var want string
	if err := json.Unmarshal(req.Task.Answer, &want); err != nil {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "the task's answer is not a JSON string"}, nil
	}
	got := strings.TrimSuffix(strings.TrimSpace(req.Response), ".")
	if got == strings.TrimSpace(want) {
		return abi.Verdict{Status: abi.StatusOK, Score: 1, Detail: got}, nil
	}
	return abi.Verdict{Status: abi.StatusOK, Score: 0, Detail: got}, nil
}

func main() {
	serve.Verifier(abi.Manifest{
		Name:        "exact-grpc",
		Version:     "1.0.0",
		Description: "exact-match verifier over gRPC (example)",
	}, exactMatch{})
}

var _ kinds.Verifier = exactMatch{}
