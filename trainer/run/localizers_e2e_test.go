package run

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/internal/testtool"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
)

// prefixBytes is a reward model for the prm end-to-end test: a prefix
// scores minus its length in bytes, so the largest drop is the longest
// step (the earliest of equal ones).
type prefixBytes struct{}

func (prefixBytes) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out := make([]float64, len(reqs))
	for i, r := range reqs {
		out[i] = -float64(len(r.Response))
	}
	return out, nil
}

func init() {
	host.RegisterBuiltin(abi.KindRewardModel, "e2e-prefix-bytes", host.NoOptions(prefixBytes{}))
}

// TestLocalizerStrategiesEndToEnd trains one step with each built-in
// strategy chosen by name (localizer.name) and checks that every parent
// was localized by the strategy itself: the step statistics reached the
// plugin (no error fallback), and prm got its reward model from the
// plugins section.
func TestLocalizerStrategiesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	if _, err := os.Stat(e2eWasm); err != nil {
		t.Skipf("no Wasm verifier: %v", err)
	}
	model := warmModel(t)
	train := e2eData(t, 8)
	for _, tc := range []struct {
		name    string
		plugins map[string]map[string]any
		check   func(t *testing.T, l RolloutLine)
	}{
		{"entropy", map[string]map[string]any{"entropy": {"builtin": "entropy", "options": map[string]any{"threshold": 2.5}}}, func(t *testing.T, l RolloutLine) {
			require.Contains(t, []string{"", "largest-entropy"}, l.Reset.Localization.Fallback)
			require.Contains(t, l.Reset.Localization.Text, "entropy")
		}},
		{"confidence", nil, func(t *testing.T, l RolloutLine) {
			require.Empty(t, l.Reset.Localization.Fallback)
			require.Contains(t, l.Reset.Localization.Text, "lowest mean_logprob")
		}},
		{"prm", map[string]map[string]any{"prm": {"builtin": "prm", "options": map[string]any{"reward_model": "e2e-prefix-bytes"}}}, func(t *testing.T, l RolloutLine) {
			require.Empty(t, l.Reset.Localization.Fallback)
			longest := 0
			for k, s := range l.Steps {
				if s.End-s.Start > l.Steps[longest].End-l.Steps[longest].Start {
					longest = k
				}
			}
			require.Equal(t, longest+1, l.Reset.Step, l.Reset.Localization.Text)
		}},
		// The example localizers of examples/plugins, one per language.
		{"surprise-go", map[string]map[string]any{"surprise-go": {"wasm": "../../examples/plugins/surprise-go/surprise.wasm"}}, checkSurprise},
		{"surprise-c", map[string]map[string]any{"surprise-c": {"wasm": "../../examples/plugins/surprise-c/surprise.wasm"}}, checkSurprise},
		{"surprise-as", map[string]map[string]any{"surprise-as": {"wasm": "../../examples/plugins/surprise-as/surprise.wasm"}}, checkSurprise},
		{"surprise-py", nil, checkSurprise}, // plugins: pythonSurprise
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "surprise-py" {
				tc.plugins = pythonSurprise(t)
			}
			dir := filepath.Join(t.TempDir(), tc.name)
			cfg := e2eConfig(t, "rrpo", dir, model, train)
			cfg.Run.Steps = 1
			cfg.Localizer.Name = tc.name
			for k, v := range tc.plugins {
				cfg.Plugins[k] = v
			}
			require.NoError(t, cfg.Validate())
			_, err := Train(context.Background(), Options{Config: cfg})
			require.NoError(t, err)
			parents := 0
			for _, l := range readRollouts(t, dir)[1] {
				if l.Role != algo.RoleParent {
					continue
				}
				parents++
				require.Equal(t, abi.StatusOK, l.Reset.Localization.Status, l.Reset.Localization.Error)
				tc.check(t, l)
			}
			require.Positive(t, parents, "no parent to localize")
		})
	}
}

// checkSurprise: the example localizers answer the step of lowest
// min_logprob, which needs the step statistics (no "last-step" fallback).
func checkSurprise(t *testing.T, l RolloutLine) {
	require.Empty(t, l.Reset.Localization.Fallback, l.Reset.Localization.Text)
	require.Contains(t, l.Reset.Localization.Text, "min_logprob")
}

// pythonSurprise is the plugins section of the Python example localizer;
// it skips the test (fails it under CI) when /usr/bin/python3 cannot
// import grpc.
func pythonSurprise(t *testing.T) map[string]map[string]any {
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").CombinedOutput(); err != nil {
		testtool.Missing(t, "/usr/bin/python3 cannot import grpc and protobuf (install Debian's python3-grpcio python3-protobuf): %v\n%s", err, out)
	}
	script, err := filepath.Abs("../../examples/plugins/python-grpc/surprise_localizer.py")
	require.NoError(t, err)
	return map[string]map[string]any{"surprise-py": {"process": script, "insecure": true, "disable_automtls": true}}
}
