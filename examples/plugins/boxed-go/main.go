// Command boxed-go is the built-in boxed verifier compiled to a Wasm
// plugin with the Go guest SDK: it grades a response by its last
// \boxed{} answer with exactly the rules of package boxedmath.
//
// Build (the committed boxed.wasm was built this way, with go1.26.8; the
// build is reproducible, and fresh_test.go checks that the committed module
// is what the source builds to):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o boxed.wasm .
package main

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-buildid= -o boxed.wasm .

import (
	"github.com/rewind-rl/rewind/plugins/boxed/boxedmath"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/guest"
)

func init() {
	guest.Verifier(guest.Info{
		Name:        "boxed",
		Version:     "1.0.0",
		Description: `last \boxed{} answer against the ground truth (boxedmath rules)`,
	}, func(req *abi.VerifyRequest) abi.Verdict {
		return boxedmath.Grade(req.Response, req.Task.Answer)
	})
}

func main() {}
