package serve_test

import (
	"context"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
	"github.com/rewind-rl/rewind/sdk/serve"
)

// yesNo accepts a response that is the task's answer, case aside.
type yesNo struct{}

func (yesNo) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	score := 0.0
	if strings.EqualFold(strings.TrimSpace(req.Response), strings.Trim(string(req.Task.Answer), `"`)) {
		score = 1
	}
	return abi.Verdict{Status: abi.StatusOK, Score: score}, nil
}

var _ kinds.Verifier = yesNo{}

// A process plugin's main is one call: it serves the value over gRPC until
// the host stops it (run by hand, it says it is a plugin and exits). Build
// it, take its sha256, and name it in a config as `process: PATH` with
// `sha256: DIGEST`; examples/plugins/go-grpc is the full program. (Not run
// as a test: Verifier does not return outside a host.)
func ExampleVerifier() {
	serve.Verifier(abi.Manifest{Name: "yes-no", Version: "1.0.0"}, yesNo{})
}
