package cpu_test

import (
	"context"
	"fmt"

	"github.com/rewind-rl/rewind/trainer/engine"
	_ "github.com/rewind-rl/rewind/trainer/engine/cpu"
	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
)

// Open a Hugging Face checkpoint, decode greedily, and read back the
// log-probs of the result.
func Example() {
	ctx := context.Background()
	p, err := engine.Open("cpu", engine.Options{Dir: enginetest.HFDir()})
	if err != nil {
		fmt.Println(err)
		return
	}
	prompt := p.Tokenizer().Encode("Step 1: compute 12 + 30 =")
	res, err := p.Generate(ctx, []engine.GenRequest{{
		Prompt:   prompt,
		Sampling: engine.Sampling{Temperature: 0, MaxNewTokens: 8},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(prompt)
	fmt.Println(res[0].Tokens, res[0].Reason)
	lps, _ := p.LogProbs(ctx, [][]int{append(prompt, res[0].Tokens...)})
	fmt.Printf("%.3f %.3f\n", res[0].LogProbs[0], lps[0][len(prompt)])
	// Output:
	// [291 223 19 28 326 223 19 20 369 223 21 18 315]
	// [488 75 188 278 75 188 278 75] length
	// -5.610 -5.610
}
