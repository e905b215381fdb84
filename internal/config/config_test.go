package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

type sample struct {
	Name  string         `koanf:"name" help:"a name"`
	Seeds []uint64       `koanf:"seeds" help:"seeds"`
	Items []item         `koanf:"items" help:"items"`
	Sub   subsection     `koanf:"sub"`
	Open  map[string]any `koanf:"open" help:"a config of its own"`
}

type subsection struct {
	Rate float64           `koanf:"rate" help:"a rate"`
	Tags map[string]string `koanf:"tags" help:"tags"`
}

type item struct {
	ID int `koanf:"id" yaml:"id"`
}

func TestLayers(t *testing.T) {
	owned := New(sample{}, Options{EnvPrefix: "T_", EnvOwned: true, ListHint: "the test"})
	shared := New(sample{}, Options{EnvPrefix: "T_", ListHint: "the test"})
	def := sample{Name: "d", Seeds: []uint64{1}, Open: map[string]any{"a": map[string]any{"x": 1, "y": 2}}}

	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("seeds: [4, 5]\nitems: [{id: 3}]\nopen: {a: {y: 3}, b: 1}\nsub: {tags: {k: v}}\n"), 0o644))
	var got sample
	require.NoError(t, owned.Load(def, Sources{File: file, Environ: []string{"T_SUB_RATE=0.5", "T_SEEDS=7,8", "OTHER=1"}}, &got))
	require.Equal(t, sample{
		Name:  "d",
		Seeds: []uint64{7, 8}, // the environment over the file, lists replaced whole
		Items: []item{{ID: 3}},
		Sub:   subsection{Rate: 0.5, Tags: map[string]string{"k": "v"}},
		Open:  map[string]any{"a": map[string]any{"x": 1, "y": 3}, "b": 1}, // maps merged key by key
	}, got)

	y, err := owned.YAML(got)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, y, 0o644))
	var again sample
	require.NoError(t, owned.Load(sample{}, Sources{File: file}, &again))
	require.Equal(t, got, again)

	// An owned prefix refuses any unknown variable; a shared one only
	// those in the schema's sections.
	err = owned.Load(def, Sources{Environ: []string{"T_RATE=1"}}, &got)
	require.ErrorContains(t, err, "unknown variable T_RATE (did you mean T_SUB_RATE?)")
	require.NoError(t, shared.Load(def, Sources{Environ: []string{"T_RATE=1"}}, &got))
	require.ErrorContains(t, shared.Load(def, Sources{Environ: []string{"T_SUB_RAT=1"}}, &got), "unknown variable T_SUB_RAT")

	err = owned.Load(def, Sources{Environ: []string{"T_SEEDS=1,x"}}, &got)
	require.ErrorContains(t, err, `T_SEEDS (key "seeds"): item 2: want a non-negative integer, got "x"`)
	require.NoError(t, os.WriteFile(file, []byte("items: [{id: 1, idd: 2}]\n"), 0o644))
	require.ErrorContains(t, owned.Load(def, Sources{File: file}, &got), "idd")
}

func TestNewRefusesUndocumentedKeys(t *testing.T) {
	type bad struct {
		X int `koanf:"x"`
	}
	require.PanicsWithValue(t, "config: key x has no help tag", func() { New(bad{}, Options{}) })
}

// TestOverrideOpenEntry: an override may set a whole entry of an open map
// (a plugin's config, as rewind compare's arms do), merged with the other
// layers' entries; a scalar there or a key inside an entry is refused.
func TestOverrideOpenEntry(t *testing.T) {
	s := New(sample{}, Options{EnvPrefix: "T_", ListHint: "the test"})
	def := sample{Open: map[string]any{"a": map[string]any{"x": 1}}}
	file := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(file, []byte("open: {b: {y: 2}}\n"), 0o644))
	var got sample
	require.NoError(t, s.Load(def, Sources{File: file, Overrides: map[string]any{"open.c": map[string]any{"z": 3}, "name": "n"}}, &got))
	require.Equal(t, map[string]any{"a": map[string]any{"x": 1}, "b": map[string]any{"y": 2}, "c": map[string]any{"z": 3}}, got.Open)
	require.Equal(t, "n", got.Name)

	for key, v := range map[string]any{"open.c": 3, "open.c.z": 3} {
		err := s.Load(def, Sources{Overrides: map[string]any{key: v}}, &got)
		require.ErrorContains(t, err, `override "`+key+`": set open.* as a whole entry, open.NAME: {...}`)
	}
	require.ErrorContains(t, s.Load(def, Sources{Overrides: map[string]any{"nope": 1}}, &got), `override "nope": not a config key`)
}
