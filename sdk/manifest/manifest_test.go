package manifest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/rewind-rl/rewind/sdk/abi"
)

const envWasm = "../../host/testdata/hostile/env.wasm" // a verifier without a manifest

func TestEmbedThenStatic(t *testing.T) {
	bin, err := os.ReadFile(envWasm)
	require.NoError(t, err)
	orig := append([]byte(nil), bin...)
	_, src, err := Static(bin, "")
	require.NoError(t, err)
	require.Equal(t, None, src)

	out, err := Embed(bin, []byte(`{"abi": 1, "kind": "verifier", "name": "env", "version": "1",
		"limits": {"timeout_ms": 500}}`))
	require.NoError(t, err)
	require.Equal(t, orig, bin, "Embed does not change its input")
	m, src, err := Static(out, "")
	require.NoError(t, err)
	require.Equal(t, Section, src)
	require.Equal(t, abi.Manifest{ABI: 1, Kind: abi.KindVerifier, Name: "env", Version: "1", Limits: &abi.Limits{TimeoutMillis: 500}}, m)

	again, err := Embed(out, []byte(`{"abi":1,"kind":"verifier","name":"env2","version":"2"}`))
	require.NoError(t, err)
	m, _, err = Static(again, "")
	require.NoError(t, err)
	require.Equal(t, "env2", m.Name, "the section is replaced, not added")
	secs, err := sections(again)
	require.NoError(t, err)
	n := 0
	for _, s := range secs {
		if s.name == SectionName {
			n++
		}
	}
	require.Equal(t, 1, n)

	// The result is a valid module.
	rt := wazero.NewRuntime(context.Background())
	defer rt.Close(context.Background())
	_, err = rt.CompileModule(context.Background(), again)
	require.NoError(t, err)
}

func TestManifestsAreStrict(t *testing.T) {
	bin, err := os.ReadFile(envWasm)
	require.NoError(t, err)
	for _, tt := range []struct{ json, err string }{
		{`{"abi":1,"kind":"verifier","nmae":"x"}`, `unknown field "nmae"`},
		{`{"abi":1,"kind":"verifier","name":"a","name":"b"}`, `duplicate key "name"`},
		{`{"abi":1} {}`, "after the top-level value"},
		{`not json`, "offset 0"},
	} {
		_, err := Embed(bin, []byte(tt.json))
		require.ErrorContains(t, err, tt.err, tt.json)
	}
	_, err = Embed([]byte("not wasm"), []byte(`{"abi":1}`))
	require.ErrorContains(t, err, "not a WebAssembly module")
}

func TestStaticReadsTheFileBeside(t *testing.T) {
	dir := t.TempDir()
	bin, err := os.ReadFile(envWasm)
	require.NoError(t, err)
	path := filepath.Join(dir, "env.wasm")
	require.NoError(t, os.WriteFile(FileFor(path), []byte(`{"abi":1,"kind":"verifier","name":"beside","version":"1"}`), 0o644))
	m, src, err := Static(bin, path)
	require.NoError(t, err)
	require.Equal(t, File, src)
	require.Equal(t, "beside", m.Name)

	// The section wins over the file.
	out, err := Embed(bin, []byte(`{"abi":1,"kind":"verifier","name":"inside","version":"1"}`))
	require.NoError(t, err)
	m, src, err = Static(out, path)
	require.NoError(t, err)
	require.Equal(t, Section, src)
	require.Equal(t, "inside", m.Name)

	require.NoError(t, os.WriteFile(FileFor(path), []byte(`{"abi":1,"extra":true}`), 0o644))
	_, _, err = Static(bin, path)
	require.ErrorContains(t, err, "env.manifest.json")
	require.ErrorContains(t, err, `unknown field "extra"`)
}
