// Command surprise is a Rewind localizer compiled to a Wasm plugin with the
// Go guest SDK (sdk/guest). It resets at the step holding the least likely
// token the policy sampled: the step of lowest min_logprob in the
// request's step_stats (the earliest of equal ones; steps with no token of
// their own are skipped). A request without step_stats (one built by hand)
// gets the last step, with fallback "last-step".
//
// Build and test (from this folder, inside the rewind module):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o surprise.wasm .
//	rewind plugin test surprise.wasm --cases cases.jsonl
package main

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o surprise.wasm .

import (
	"errors"
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/guest"
)

func init() {
	guest.Localizer(guest.Info{
		Name:        "surprise",
		Version:     "0.1.0",
		Description: "the step holding the least likely sampled token",
	}, localize)
}

// localize is the whole plugin. Replace its rule with your strategy: it
// returns a step in 1..len(req.Steps), or 0 for "no erroneous step".
func localize(req *abi.LocalizeRequest) (abi.Localization, error) {
	n := len(req.Steps)
	if n == 0 {
		return abi.Localization{}, errors.New("the request has no steps")
	}
	if len(req.StepStats) != n {
		return abi.Localization{Step: n, Fallback: "last-step", Detail: "no step_stats"}, nil
	}
	best := 0
	for k, st := range req.StepStats {
		if st.Tokens > 0 && (best == 0 || st.MinLogProb < req.StepStats[best-1].MinLogProb) {
			best = k + 1
		}
	}
	if best == 0 {
		return abi.Localization{Step: n, Fallback: "last-step", Detail: "no step has a token"}, nil
	}
	return abi.Localization{Step: best, Detail: fmt.Sprintf("min_logprob %.3g", req.StepStats[best-1].MinLogProb)}, nil
}

func main() {}
