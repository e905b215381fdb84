package run

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Sources are the layers of a config, lowest precedence first after the
// preset: File < Environ < Flags.
type Sources struct {
	// File is a YAML config file; "" for none.
	File string
	// Environ is the environment as KEY=VALUE (os.Environ()); REWIND_*
	// variables set keys: REWIND_ALGO_LOSS=clip sets algo.loss, and
	// REWIND_REWARD_MODELS_NAME=0.5 sets reward.models.name.
	Environ []string
	// Flags is a flag set prepared by AddFlags; only flags given on the
	// command line apply.
	Flags *pflag.FlagSet
	// Overrides are set last, by key (for values a command computes, such
	// as a resolved model directory).
	Overrides map[string]any
}

// setFlag is the repeatable --set KEY=VALUE flag.
const setFlag = "set"

// AddFlags adds --preset, one --KEY flag per scalar config key (e.g.
// --algo.loss) and the repeatable --set KEY=VALUE (for map entries such
// as reward.models.NAME) to fs. Defaults shown are the srpo preset's.
func AddFlags(fs *pflag.FlagSet) {
	def, _ := Preset(DefaultPreset)
	dv := reflect.ValueOf(def)
	for _, k := range configKeys {
		if strings.Contains(k.path, "*") {
			continue
		}
		v := fieldByPath(dv, k.path)
		switch k.typ.Kind() {
		case reflect.String:
			fs.String(k.path, v.String(), k.help)
		case reflect.Bool:
			fs.Bool(k.path, v.Bool(), k.help)
		case reflect.Int:
			fs.Int(k.path, int(v.Int()), k.help)
		case reflect.Uint64:
			fs.Uint64(k.path, v.Uint(), k.help)
		case reflect.Float64:
			fs.Float64(k.path, v.Float(), k.help)
		}
	}
	fs.StringArray(setFlag, nil, "set any config key, KEY=VALUE (repeatable), e.g. --set reward.models.length=0.1")
}

// Load builds a config from a preset and the given layers, decoding each
// layer strictly, and validates it. Errors name the key and its source
// (file and line, environment variable or flag) and all of them are
// reported at once.
func Load(src Sources) (Config, error) {
	var errs []error
	layers := make([]map[string]any, 0, 3)

	if src.File != "" {
		m, err := fileLayer(src.File)
		if err != nil {
			return Config{}, err
		}
		layers = append(layers, m.values)
		errs = append(errs, m.errs...)
	}
	em, eerrs := envLayer(src.Environ)
	layers = append(layers, em)
	errs = append(errs, eerrs...)
	fm, ferrs := flagLayer(src.Flags)
	layers = append(layers, fm)
	errs = append(errs, ferrs...)
	om := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(src.Overrides)) {
		spec, ok := lookupKey(key)
		if !ok || spec.open {
			errs = append(errs, fmt.Errorf("override %q: not a config key", key))
			continue
		}
		v, err := coerce(src.Overrides[key], spec.typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("override %q: %w", key, err))
			continue
		}
		om[key] = v
	}
	layers = append(layers, om)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
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
	k := koanf.New(".")
	if err := k.Load(rawMap(toMap(def)), nil); err != nil {
		return Config{}, err
	}
	for _, l := range layers {
		if err := k.Load(rawMap(l), nil); err != nil {
			return Config{}, err
		}
	}
	var c Config
	dc := &mapstructure.DecoderConfig{ErrorUnused: true, Result: &c, TagName: "koanf"}
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{DecoderConfig: dc}); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid config (preset %s):\n%w", c.Preset, err)
	}
	return c, nil
}

// rawMap is a koanf provider of a flat map of dotted keys.
type rawMap map[string]any

func (m rawMap) ReadBytes() ([]byte, error) { return nil, errors.New("not supported") }
func (m rawMap) Read() (map[string]any, error) {
	out := map[string]any{}
	for k, v := range m {
		setNested(out, strings.Split(k, "."), v)
	}
	return out, nil
}

func setNested(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

type layer struct {
	values map[string]any
	errs   []error
}

// fileLayer reads a YAML file through koanf and checks every key.
func fileLayer(path string) (layer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return layer{}, fmt.Errorf("config file: %w", err)
	}
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(raw), kyaml.Parser()); err != nil {
		return layer{}, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	var doc yaml.Node
	_ = yaml.Unmarshal(raw, &doc) // koanf parsed it, so this cannot fail
	where := func(key string) string {
		if line := yamlLine(&doc, strings.Split(key, ".")); line > 0 {
			return fmt.Sprintf("%s:%d", path, line)
		}
		return path
	}
	l := layer{values: map[string]any{}}
	keys := flatten(k.Raw())
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		spec, ok := lookupKey(key)
		if !ok && isEmptyMap(keys[key]) {
			if _, isMap := lookupKey(key + ".x"); isMap {
				continue // "models: {}" or "extra:" (null)
			}
		}
		if !ok {
			l.errs = append(l.errs, unknownKey(where(key), key, key))
			continue
		}
		if spec.open {
			// Keep the whole plugin config as one map for its owner.
			name := strings.Join(strings.Split(key, ".")[:2], ".")
			if _, done := l.values[name]; !done {
				l.values[name] = k.Get(name)
			}
			continue
		}
		v, err := coerce(keys[key], spec.typ)
		if err != nil {
			l.errs = append(l.errs, fmt.Errorf("%s: key %q: %w", where(key), key, err))
			continue
		}
		l.values[key] = v
	}
	return l, nil
}

func isEmptyMap(v any) bool {
	m, ok := v.(map[string]any)
	return v == nil || (ok && len(m) == 0)
}

func unknownKey(where, shown, key string) error {
	if s := suggest(key); s != "" {
		return fmt.Errorf("%s: unknown key %q (did you mean %q?)", where, shown, s)
	}
	return fmt.Errorf("%s: unknown key %q; `rewind train --print-config-keys` lists the keys", where, shown)
}

// flatten turns nested maps into dotted keys; empty maps stay as leaves
// so that "models: {}" is checked like any key.
func flatten(m map[string]any) map[string]any {
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out
}

// yamlLine finds the line of a key path in a YAML document; 0 if absent.
func yamlLine(n *yaml.Node, path []string) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, seg := range path {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// envLayer reads REWIND_* variables through koanf's env provider.
func envLayer(environ []string) (map[string]any, []error) {
	var errs []error
	out := map[string]any{}
	k := koanf.New("\x00") // keys are dotted already: do not split them
	p := env.Provider("\x00", env.Opt{
		Prefix:      "REWIND_",
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, val string) (string, any) {
			key, inConfig := envKey(name)
			if !inConfig {
				return "", nil
			}
			if key == "" {
				shown := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "REWIND_"), "_", "."))
				if s := suggest(shown); s != "" {
					errs = append(errs, fmt.Errorf("environment: unknown variable %s (did you mean %s?)", name, envName(s)))
				} else {
					errs = append(errs, fmt.Errorf("environment: unknown variable %s; `rewind train --print-config-keys` lists the keys", name))
				}
				return "", nil
			}
			spec, _ := lookupKey(key)
			v, err := coerce(val, spec.typ)
			if err != nil {
				errs = append(errs, fmt.Errorf("environment: %s (key %q): %w", name, key, err))
				return "", nil
			}
			return key, v
		},
	})
	if err := k.Load(p, nil); err != nil {
		return nil, []error{fmt.Errorf("environment: %w", err)}
	}
	for key, v := range k.All() {
		out[key] = v
	}
	return out, errs
}

// EnvOverrides lists, sorted, the REWIND_* variables of environ that set
// a config key or that would but match none (REWIND_ALGO_LOS): every
// variable in a config section. A resumed run refuses them as it refuses
// config flags, since it continues with the config it started with;
// variables outside the sections (REWIND_BLAS) belong to other tools.
func EnvOverrides(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, inConfig := envKey(name); inConfig {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// flagLayer takes the flags given on the command line.
func flagLayer(fs *pflag.FlagSet) (map[string]any, []error) {
	out := map[string]any{}
	if fs == nil {
		return out, nil
	}
	var errs []error
	fs.Visit(func(f *pflag.Flag) {
		if f.Name == setFlag {
			sets, _ := fs.GetStringArray(setFlag)
			for _, kv := range sets {
				key, val, ok := strings.Cut(kv, "=")
				if !ok {
					errs = append(errs, fmt.Errorf("flag --set %q: want KEY=VALUE", kv))
					continue
				}
				spec, known := lookupKey(key)
				switch {
				case !known:
					errs = append(errs, unknownKey("flag --set", key, key))
				case spec.open:
					errs = append(errs, fmt.Errorf("flag --set %s: plugins are configured in the config file", key))
				default:
					v, err := coerce(val, spec.typ)
					if err != nil {
						errs = append(errs, fmt.Errorf("flag --set %s: %w", key, err))
						continue
					}
					out[key] = v
				}
			}
			return
		}
		spec, known := lookupKey(f.Name)
		if !known {
			return // a flag of the command, not a config key
		}
		v, err := coerce(f.Value.String(), spec.typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("flag --%s: %w", f.Name, err))
			return
		}
		out[f.Name] = v
	})
	return out, errs
}

// toMap flattens a Config into dotted keys (maps as whole values).
func toMap(c Config) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c)
	for _, k := range configKeys {
		if i := strings.Index(k.path, ".*"); i >= 0 {
			mv := fieldByPath(v, k.path[:i])
			for _, key := range mv.MapKeys() {
				out[k.path[:i]+"."+key.String()] = mv.MapIndex(key).Interface()
			}
			continue
		}
		out[k.path] = fieldByPath(v, k.path).Interface()
	}
	return out
}

// fieldByPath follows koanf tags from v.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	for _, seg := range strings.Split(path, ".") {
		t := v.Type()
		found := false
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("koanf") == seg {
				v = v.Field(i)
				found = true
				break
			}
		}
		if !found {
			panic("run: no config field " + path)
		}
	}
	return v
}

// YAML renders the config as YAML with keys in struct order, the form
// written to a run directory's config.yaml. Load reads it back to the
// same Config.
func (c Config) YAML() ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	v := reflect.ValueOf(c)
	nodes := map[string]*yaml.Node{"": root}
	parent := func(path string) *yaml.Node {
		segs := strings.Split(path, ".")
		cur, curPath := root, ""
		for _, s := range segs[:len(segs)-1] {
			p := strings.TrimPrefix(curPath+"."+s, ".")
			n, ok := nodes[p]
			if !ok {
				n = &yaml.Node{Kind: yaml.MappingNode}
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s}, n)
				nodes[p] = n
			}
			cur, curPath = n, p
		}
		return cur
	}
	for _, k := range configKeys {
		path := strings.TrimSuffix(k.path, ".*")
		val := fieldByPath(v, path).Interface()
		var vn yaml.Node
		if err := vn.Encode(val); err != nil {
			return nil, err
		}
		// Encode sorts map keys, which keeps the file deterministic.
		name := path[strings.LastIndex(path, ".")+1:]
		p := parent(path)
		p.Content = append(p.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, &vn)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}
