package tasks_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/rewind-rl/rewind/"

// TestDependsOnTheSDKAlone keeps the task families on their floor: they
// compile into the Wasm verifier and are used by plugins, so package tasks
// depends on the standard library and sdk/abi alone, the other packages
// under tasks/ (test helpers) on no other package of this module, and
// nothing under tasks/, tests included, may import the trainer
// (the warm start that uses both lives in trainer/sft, the experiments in
// experiment/).
func TestDependsOnTheSDKAlone(t *testing.T) {
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first on PATH
	require.NoError(t, err, "the go command lists the imports")

	list := func(args ...string) []string {
		t.Helper()
		cmd := exec.Command(goTool, append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, args...)...)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		require.NoError(t, err)
		var pkgs []string
		for _, line := range strings.Fields(string(out)) {
			if !strings.HasPrefix(line, "[") { // "pkg [pkg.test]" names a test variant
				pkgs = append(pkgs, line)
			}
		}
		require.NotEmpty(t, pkgs)
		return pkgs
	}

	sdkOnly := func(p string) bool { return p == module+"tasks" || p == module+"sdk/abi" }
	for _, p := range list(".") {
		if !sdkOnly(p) {
			t.Errorf("package tasks depends on %s: it may import the standard library and sdk/abi only", p)
		}
	}
	for _, p := range list("./...") {
		if strings.HasPrefix(p, module) && !sdkOnly(p) && !strings.HasPrefix(p, module+"tasks/") {
			t.Errorf("a task package depends on %s: of this module, tasks/... may import sdk/abi and tasks/... only", p)
		}
	}
	for _, p := range list("-test", "./...") {
		if strings.HasPrefix(p, module+"trainer/") || p == module+"trainer" {
			t.Errorf("a task package or its tests imports %s: nothing under tasks/ may import the trainer (put it in trainer/ or experiment/)", p)
		}
	}
}
