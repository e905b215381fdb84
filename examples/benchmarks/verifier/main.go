// Command verifier is the process verifier of the procedural reasoning
// benchmarks (package tasks) compiled to a Wasm plugin with the Go guest
// SDK. One module serves every family: it dispatches on the "family" field
// of the task's meta, so a run that mixes families loads one plugin, and
// a new family needs no new module, only a rebuild.
//
// It grades the final \boxed{} answer (score 1 or 0) and checks every
// step against the problem, reporting StepCorrect and FirstError, which
// the oracle localizer and the localizer precision metrics read. The
// native twin is the built-in "procverify" (plugins/procverify); both run
// tasks.Verify, and the tests check they agree case by case.
//
// Build (the committed verifier.wasm was built this way, with Go 1.26):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o verifier.wasm .
package main

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o verifier.wasm .

import (
	"github.com/rewind-rl/rewind/sdk/guest"
	"github.com/rewind-rl/rewind/tasks"
)

func init() {
	guest.Verifier(guest.Info{
		Name:        "procverify",
		Version:     "1.0.0",
		Description: "process verifier of the procedural task families of package tasks: final answer and first wrong step",
	}, tasks.Verify)
}

func main() {}
