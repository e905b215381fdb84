package sft_test

import (
	"fmt"

	"github.com/rewind-rl/rewind/trainer/sft"
)

// The localization prompt is trainer/localize's ShortTemplate rendered by
// localize.Render, exactly as the self localizer renders it during RL
// (Render drops a step's own "Step k:" label before numbering it).
func ExampleExamples() {
	exs, err := sft.Examples("sum", 2, 1, 1, 0.2, 0.5)
	if err != nil {
		panic(err)
	}
	for _, ex := range exs {
		fmt.Printf("%s (first error %d)\n%s\n=> %s\n", ex.Kind, ex.FirstError, ex.Prompt, ex.Completion)
	}

	// Output:
	// solve (first error 0)
	// Add 42+79+95
	// => Step 1: 42+79=121</thought>Step 2: 121+95=\boxed{216}</thought>
	// localize (first error 2)
	// Problem: Add 69+52+98
	// Step 1: 69+52=121
	// Step 2: 121+98=\boxed{218}
	// The answer is wrong. First wrong step (1-2):
	// => \boxed{2}
}
