// Package exact is the built-in `exact` verifier: score 1 when the
// response, trimmed of surrounding whitespace, equals the ground truth
// (a JSON string, also trimmed), else 0. A ground truth that is not a
// non-empty JSON string makes the verdict invalid. It takes no options.
package exact

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

func init() {
	host.RegisterBuiltin(abi.KindVerifier, "exact", host.NoOptions(Verifier{}))
}

// Verifier is the exact-match verifier.
type Verifier struct{}

// Verify implements host.Verifier.
func (Verifier) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var want string
	if json.Unmarshal(req.Task.Answer, &want) != nil || strings.TrimSpace(want) == "" {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "ground truth must be a non-empty JSON string"}, nil
	}
	if strings.TrimSpace(req.Response) == strings.TrimSpace(want) {
		return abi.Verdict{Score: 1, Status: abi.StatusOK}, nil
	}
	return abi.Verdict{Status: abi.StatusOK}, nil
}

var _ host.Verifier = Verifier{}
