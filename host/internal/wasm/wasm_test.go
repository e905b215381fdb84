package wasm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

const boxedWasm = "../../../examples/plugins/boxed-go/boxed.wasm"

// response300 is a 300-byte response ending in a boxed answer.
var response300 = strings.Repeat("We add the numbers step by step. ", 8) + `So the total is $\boxed{1,234}$.`

func loadBoxed(t testing.TB, cfg Config) *Plugin {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = boxedWasm
	}
	if cfg.Name == "" {
		cfg.Name = "boxed"
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir(t)
	}
	p, err := Load(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

var (
	sharedCacheOnce sync.Once
	sharedCache     string
)

// cacheDir shares one compilation cache across the package's tests so the
// 3.7 MB Go module compiles once per `go test` run.
func cacheDir(t testing.TB) string {
	sharedCacheOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			t.Fatal(err)
		}
		sharedCache = dir
	})
	return sharedCache
}

func TestBoxedGoGuest(t *testing.T) {
	p := loadBoxed(t, Config{PoolSize: 2})
	require.Equal(t, abi.KindVerifier, p.Kind())
	require.Equal(t, "boxed", p.Manifest().Name)
	require.Len(t, p.SHA256(), 64)
	tests := []struct {
		response, answer string
		score            float64
		status           abi.Status
	}{
		{response300, `"1234"`, 1, abi.StatusOK},
		{response300, `1234`, 1, abi.StatusOK},
		{response300, `"1235"`, 0, abi.StatusOK},
		{`\boxed{\dfrac{1}{2}}`, `"0.5"`, 1, abi.StatusOK},
		{"no answer", `"1"`, 0, abi.StatusOK},
		{`\boxed{1}`, `{}`, 0, abi.StatusInvalid},
	}
	for _, tt := range tests {
		v, err := p.Verify(context.Background(), &abi.VerifyRequest{
			Task: abi.Task{ID: "t", Answer: json.RawMessage(tt.answer)}, Response: tt.response})
		require.NoError(t, err)
		require.Equal(t, tt.status, v.Status, tt.response)
		require.Equal(t, tt.score, v.Score, tt.response)
		require.Equal(t, p.SHA256(), v.SHA256)
	}
	// A request larger than the first buffer makes the host reallocate.
	big := strings.Repeat("x", 100000) + `\boxed{7}`
	v, err := p.Verify(context.Background(), &abi.VerifyRequest{Task: abi.Task{Answer: json.RawMessage(`7`)}, Response: big})
	require.NoError(t, err)
	require.Equal(t, 1.0, v.Score)
}

func TestGoGuestRefusesUnwantedOptions(t *testing.T) {
	_, err := Load(context.Background(), Config{Name: "boxed", Path: boxedWasm, CacheDir: cacheDir(t), Options: []byte(`{"x":1}`)})
	require.ErrorContains(t, err, `plugin "boxed" takes no options`)
}
