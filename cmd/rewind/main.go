// Command rewind trains language models on multi-step reasoning with
// GRPO, RRPO and SRPO, and hosts the plugins that grade them.
//
// Each subcommand lives in its own file and adds itself to the root in an
// init function, so that subcommands can be written independently.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	// Only the program chooses its drivers: the library packages link no
	// plugin and no engine of their own.
	"github.com/rewind-rl/rewind/host/process"         // process: plugin sources (gRPC); KillAll on exit
	_ "github.com/rewind-rl/rewind/plugins/all"        // builtin: plugin sources
	_ "github.com/rewind-rl/rewind/plugins/procprm"    // builtin: procprm, an example process reward model for the prm localizer
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
	ctx, stop := interruptible(os.Stderr, func() {
		process.KillAll()
		os.Exit(130)
	})
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "rewind:", err)
		os.Exit(1)
	}
}

// interruptible returns the context every command runs under. The first
// Ctrl-C (or SIGTERM) cancels it: a command stops, closes its plugins
// (which kills their process groups) and returns. The second runs exit,
// which kills what plugins are still open and exits at once. Process
// plugins run in process groups of their own, so the terminal's Ctrl-C
// reaches only this process: without this, a plugin and its children
// would outlive the CLI.
func interruptible(w io.Writer, exit func()) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		fmt.Fprintln(w, "rewind: interrupted; stopping (press Ctrl-C again to exit at once)")
		cancel()
		select {
		case <-sig:
			exit()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}
