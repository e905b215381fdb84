// Command rewind trains language models on multi-step reasoning with
// GRPO, RRPO and SRPO, and hosts the plugins that grade them.
//
// Each subcommand lives in its own file and adds itself to the root in an
// init function, so that subcommands can be written independently.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	// Only the program chooses its drivers: the library packages link no
	// plugin and no engine of their own.
	_ "github.com/rewind-rl/rewind/host/process"       // process: plugin sources (gRPC)
	_ "github.com/rewind-rl/rewind/plugins/all"        // builtin: plugin sources
	_ "github.com/rewind-rl/rewind/plugins/procverify" // builtin: procverify, the task families' process verifier
	_ "github.com/rewind-rl/rewind/trainer/engine/cpu" // engine: cpu
	_ "github.com/rewind-rl/rewind/trainer/engine/xla" // engine: xla
)

var rootCmd = &cobra.Command{
	Use:           "rewind",
	Short:         "Reinforcement-learning post-training for multi-step reasoning (GRPO, RRPO, SRPO)",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rewind:", err)
		os.Exit(1)
	}
}
