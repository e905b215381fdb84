package guest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/plugins/boxed/boxedmath"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
)

func BenchmarkHandleVerifyBoxed(b *testing.B) {
	reset()
	Verifier(Info{Name: "boxed"}, func(req *abi.VerifyRequest) abi.Verdict {
		return boxedmath.Grade(req.Response, req.Task.Answer)
	})
	resp := strings.Repeat("We add the numbers step by step. ", 8) + `So the total is $\boxed{1,234}$.`
	req := wire.AppendVerifyRequest(nil, &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "Add.", Answer: json.RawMessage(`"1234"`)}, Response: resp})
	b.ReportAllocs()
	for b.Loop() {
		Handle("verify", req)
	}
}
