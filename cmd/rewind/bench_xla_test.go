package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchXLASetNeedsKeyValue checks that a malformed --set is refused
// before anything is built (the model alone takes 2 GB).
func TestBenchXLASetNeedsKeyValue(t *testing.T) {
	_, _, err := runRewind(t, "bench", "xla", "--backend", "go", "--set", "token_budget")
	require.ErrorContains(t, err, `--set "token_budget": want key=value`)
}
