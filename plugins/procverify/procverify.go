// Package procverify is the built-in process verifier of the procedural
// reasoning benchmarks of package tasks (every family of tasks.Families), the
// native twin of the Wasm module in examples/benchmarks/verifier. Both run
// tasks.Verify: it grades the final \boxed{} answer and checks every step
// against the problem named in the task's meta, reporting StepCorrect and
// FirstError, which the oracle localizer reads.
//
// Configure it as
//
//	plugins:
//	  procverify:
//	    builtin: procverify
//
// It takes no options. It exists to measure what the Wasm sandbox costs
// (docs/bench/tasks.md) and for runs that prefer native speed.
package procverify

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/tasks"
)

// Name is the builtin's registered name.
const Name = "procverify"

func init() {
	host.RegisterBuiltin(abi.KindVerifier, Name, func(options map[string]any) (any, error) {
		if len(options) > 0 {
			return nil, fmt.Errorf("builtin %s takes no options, got %v", Name, keys(options))
		}
		return Verifier{}, nil
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Verifier is the native process verifier. It is stateless and safe for
// concurrent use.
type Verifier struct{}

// Verify implements host.Verifier. It never returns an error: an unusable
// task is a verdict with StatusInvalid.
func (Verifier) Verify(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return abi.Verdict{}, err
	}
	return tasks.Verify(req), nil
}

var _ host.Verifier = Verifier{}
