package run

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/rewind-rl/rewind/internal/config"
)

// schema is the train config's keys, loaded through the one config
// dialect of the commands (internal/config).
var schema = config.New(Config{}, config.Options{EnvPrefix: "REWIND_", ListHint: "`rewind train --print-config-keys`"})

// Sources are the layers of a config, lowest precedence first after the
// preset: File < Environ < Flags < Overrides. REWIND_* variables set keys:
// REWIND_ALGO_LOSS=clip sets algo.loss, and REWIND_REWARD_MODELS_NAME=0.5
// sets reward.models.name.
type Sources = config.Sources

// AddFlags adds --preset, one --KEY flag per scalar config key (e.g.
// --algo.loss) and the repeatable --set KEY=VALUE (for map entries such
// as reward.models.NAME) to fs. Defaults shown are the srpo preset's.
func AddFlags(fs *pflag.FlagSet) {
	def, _ := Preset(DefaultPreset)
	schema.AddFlags(fs, def)
}

// Load builds a config from a preset and the given layers, decoding each
// layer strictly, and validates it. Errors name the key and its source
// (file and line, environment variable or flag) and all of them are
// reported at once.
func Load(src Sources) (Config, error) {
	layers, err := schema.Layers(src)
	if err != nil {
		return Config{}, err
	}
	preset := DefaultPreset
	for _, l := range layers {
		if p, ok := l["preset"].(string); ok {
			preset = p
		}
	}
	def, err := Preset(preset)
	if err != nil {
		return Config{}, fmt.Errorf("preset: %w", err)
	}
	var c Config
	if err := schema.Decode(def, layers, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid config (preset %s):\n%w", c.Preset, err)
	}
	return c, nil
}

// YAML renders the config as YAML with keys in struct order, the form
// written to a run directory's config.yaml. Load reads it back to the
// same Config.
func (c Config) YAML() ([]byte, error) { return schema.YAML(c) }

// EnvOverrides lists, sorted, the REWIND_* variables of environ that set
// a config key or that would but match none (REWIND_ALGO_LOS): every
// variable in a config section. A resumed run refuses them as it refuses
// config flags, since it continues with the config it started with;
// variables outside the sections (REWIND_BLAS) belong to other tools.
func EnvOverrides(environ []string) []string { return schema.EnvVars(environ) }
