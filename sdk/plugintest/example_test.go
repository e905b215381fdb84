package plugintest_test

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/plugins/boxed"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

// In a test, an author writes
//
//	v := plugintest.LoadWasm(t, "mine.wasm", nil).Verifier()
//	plugintest.RunVerifierCases(t, v, plugintest.ReadCases(t, "cases.jsonl"))
//
// (see TestSharedCasesOnNativeAndWasm). Outside a test, Check runs one
// case, here on the native boxed verifier.
func ExampleCheck() {
	cases, err := plugintest.ParseCases("../../examples/plugins/cases/boxed.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	bad := 0
	for i := range cases {
		if msg := plugintest.Check(context.Background(), boxed.Verifier{}, &cases[i]); msg != "" {
			fmt.Printf("line %d: %s\n", cases[i].Line, msg)
			bad++
		}
	}
	fmt.Printf("%d disagreements (over %d cases)\n", bad, len(cases))
	// Output: 0 disagreements (over 103 cases)
}
