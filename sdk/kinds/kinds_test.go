package kinds_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kinds must stay importable by any plugin, Wasm guests included:
// sdk/kinds and sdk/abi may import the standard library and each other,
// nothing else (no host, no gRPC, no third-party module).
func TestImportsStayDependencyFree(t *testing.T) {
	allowed := map[string]bool{"github.com/rewind-rl/rewind/sdk/abi": true}
	for _, dir := range []string{".", "../abi"} {
		t.Run(dir, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(dir, "*.go"))
			require.NoError(t, err)
			n := 0
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				src, err := os.ReadFile(f)
				require.NoError(t, err)
				af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
				require.NoError(t, err)
				n++
				for _, imp := range af.Imports {
					path, err := strconv.Unquote(imp.Path.Value)
					require.NoError(t, err)
					first, _, _ := strings.Cut(path, "/")
					if !strings.Contains(first, ".") || allowed[path] {
						continue // standard library, or the ABI messages
					}
					t.Errorf("%s imports %q: the plugin kinds must depend on the standard library and sdk/abi only", f, path)
				}
			}
			require.NotZero(t, n, "no Go files found in %s", dir)
		})
	}
}
