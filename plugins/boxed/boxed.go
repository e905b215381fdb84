// Package boxed is the built-in `boxed` verifier: it grades a response by
// its last \boxed{} answer against the task's ground truth, with the rules
// documented in package boxedmath (shared with the Wasm build in
// examples/plugins/boxed-go). It takes no options.
package boxed

import (
	"context"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/plugins/boxed/boxedmath"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindVerifier, "boxed", host.NoOptions(Verifier{}))
}

// Verifier is the boxed verifier. The zero value is ready.
type Verifier struct{}

// Verify implements host.Verifier.
func (Verifier) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	return boxedmath.Grade(req.Response, req.Task.Answer), nil
}

var _ host.Verifier = Verifier{}
