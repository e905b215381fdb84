package config

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

// Sources are the layers of a config above its defaults, lowest
// precedence first: File < Environ < Flags < Overrides.
type Sources struct {
	// File is a YAML config file; "" for none.
	File string
	// Environ is the environment as KEY=VALUE (os.Environ()); the
	// schema's variables set keys: with prefix REWIND_, REWIND_ALGO_LOSS=clip
	// sets algo.loss and REWIND_REWARD_MODELS_NAME=0.5 sets
	// reward.models.name.
	Environ []string
	// Flags is a flag set prepared by AddFlags; only flags given on the
	// command line apply.
	Flags *pflag.FlagSet
	// Overrides are set last, by key (for values a command computes, such
	// as a resolved model directory).
	Overrides map[string]any
}

// SetFlag is the repeatable --set KEY=VALUE flag that AddFlags adds.
const SetFlag = "set"

// AddFlags adds one --KEY flag per scalar key (e.g. --algo.loss), with
// the value in defaults (of the schema's type) shown, and the repeatable
// --set KEY=VALUE (for map entries such as reward.models.NAME and lists).
func (s *Schema) AddFlags(fs *pflag.FlagSet, defaults any) {
	dv := reflect.ValueOf(defaults)
	for _, k := range s.keys {
		if strings.Contains(k.Path, "*") {
			continue
		}
		v := FieldByPath(dv, k.Path)
		switch k.Type.Kind() {
		case reflect.String:
			fs.String(k.Path, v.String(), k.Help)
		case reflect.Bool:
			fs.Bool(k.Path, v.Bool(), k.Help)
		case reflect.Int:
			fs.Int(k.Path, int(v.Int()), k.Help)
		case reflect.Uint64:
			fs.Uint64(k.Path, v.Uint(), k.Help)
		case reflect.Float64:
			fs.Float64(k.Path, v.Float(), k.Help)
		}
	}
	fs.StringArray(SetFlag, nil, "set any config key, KEY=VALUE (repeatable), e.g. --set "+s.setExample())
}

func (s *Schema) setExample() string {
	for _, k := range s.keys {
		if strings.HasSuffix(k.Path, ".*") && !k.Open {
			return strings.TrimSuffix(k.Path, "*") + "NAME=VALUE"
		}
	}
	return "KEY=VALUE"
}

// Layers reads the sources into layers of dotted keys, lowest precedence
// first, checking every key and value; all errors are joined.
func (s *Schema) Layers(src Sources) ([]map[string]any, error) {
	var errs []error
	layers := make([]map[string]any, 0, 4)
	if src.File != "" {
		m, err := s.fileLayer(src.File)
		if err != nil {
			return nil, err
		}
		layers = append(layers, m.values)
		errs = append(errs, m.errs...)
	}
	em, eerrs := s.envLayer(src.Environ)
	layers = append(layers, em)
	errs = append(errs, eerrs...)
	fm, ferrs := s.flagLayer(src.Flags)
	layers = append(layers, fm)
	errs = append(errs, ferrs...)
	om := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(src.Overrides)) {
		spec, ok := s.Lookup(key)
		if ok && spec.Open {
			// A whole entry of an open map (plugins.NAME: a plugin's
			// config), kept as one value as the file layer keeps it; its
			// owner decodes it strictly later.
			m, isMap := src.Overrides[key].(map[string]any)
			if len(strings.Split(key, ".")) != len(strings.Split(spec.Path, ".")) || !isMap {
				errs = append(errs, fmt.Errorf("override %q: set %s as a whole entry, %s: {...}, a map as in the config file", key, spec.Path, strings.TrimSuffix(spec.Path, "*")+"NAME"))
				continue
			}
			om[key] = m
			continue
		}
		if !ok {
			errs = append(errs, fmt.Errorf("override %q: not a config key", key))
			continue
		}
		v, err := coerce(src.Overrides[key], spec.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("override %q: %w", key, err))
			continue
		}
		om[key] = v
	}
	layers = append(layers, om)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return layers, nil
}

// Decode merges the layers over defaults (a value of the schema's type),
// maps key by key and lists replaced whole, and decodes the result
// strictly into out (a pointer to the schema's type). It does not
// validate.
func (s *Schema) Decode(defaults any, layers []map[string]any, out any) error {
	k := koanf.New(".")
	if err := k.Load(rawMap(s.Flatten(defaults)), nil); err != nil {
		return err
	}
	for _, l := range layers {
		if err := k.Load(rawMap(l), nil); err != nil {
			return err
		}
	}
	dc := &mapstructure.DecoderConfig{ErrorUnused: true, Result: out, TagName: "koanf"}
	if err := k.UnmarshalWithConf("", out, koanf.UnmarshalConf{DecoderConfig: dc}); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Load is Layers then Decode over defaults.
func (s *Schema) Load(defaults any, src Sources, out any) error {
	layers, err := s.Layers(src)
	if err != nil {
		return err
	}
	return s.Decode(defaults, layers, out)
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
func (s *Schema) fileLayer(path string) (layer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return layer{}, fmt.Errorf("config file: %w", err)
	}
	return s.yamlLayer(path, raw)
}

// YAMLLayer reads a YAML document (named path in errors) into a layer
// for Decode, checking every key like a config file.
func (s *Schema) YAMLLayer(path string, raw []byte) (map[string]any, error) {
	l, err := s.yamlLayer(path, raw)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(l.errs...); err != nil {
		return nil, err
	}
	return l.values, nil
}

func (s *Schema) yamlLayer(path string, raw []byte) (layer, error) {
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
		spec, ok := s.Lookup(key)
		if !ok && isEmptyMap(keys[key]) {
			if _, isMap := s.Lookup(key + ".x"); isMap {
				continue // "models: {}" or "extra:" (null)
			}
		}
		if !ok {
			l.errs = append(l.errs, s.unknownKey(where(key), key))
			continue
		}
		if spec.Open {
			// Keep the whole map below the open key's entry (a plugin's
			// config, a train config's section) as one value for its owner.
			depth := len(strings.Split(spec.Path, "."))
			name := strings.Join(strings.Split(key, ".")[:depth], ".")
			if _, done := l.values[name]; !done {
				l.values[name] = k.Get(name)
			}
			continue
		}
		v, err := coerce(keys[key], spec.Type)
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

// envLayer reads the schema's variables through koanf's env provider.
func (s *Schema) envLayer(environ []string) (map[string]any, []error) {
	var errs []error
	out := map[string]any{}
	k := koanf.New("\x00") // keys are dotted already: do not split them
	p := env.Provider("\x00", env.Opt{
		Prefix:      s.EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, val string) (string, any) {
			key, inConfig := s.envKey(name)
			if !inConfig {
				return "", nil
			}
			if key == "" {
				shown := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, s.EnvPrefix), "_", "."))
				if sug := s.suggest(shown); sug != "" {
					errs = append(errs, fmt.Errorf("environment: unknown variable %s (did you mean %s?)", name, s.EnvName(sug)))
				} else {
					errs = append(errs, fmt.Errorf("environment: unknown variable %s; %s lists the keys", name, s.ListHint))
				}
				return "", nil
			}
			spec, _ := s.Lookup(key)
			v, err := coerce(val, spec.Type)
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

// flagLayer takes the flags given on the command line.
func (s *Schema) flagLayer(fs *pflag.FlagSet) (map[string]any, []error) {
	out := map[string]any{}
	if fs == nil {
		return out, nil
	}
	var errs []error
	fs.Visit(func(f *pflag.Flag) {
		if f.Name == SetFlag {
			sets, _ := fs.GetStringArray(SetFlag)
			for _, kv := range sets {
				key, val, ok := strings.Cut(kv, "=")
				if !ok {
					errs = append(errs, fmt.Errorf("flag --set %q: want KEY=VALUE", kv))
					continue
				}
				spec, known := s.Lookup(key)
				switch {
				case !known:
					errs = append(errs, s.unknownKey("flag --set", key))
				case spec.Open:
					errs = append(errs, fmt.Errorf("flag --set %s: %s is set in the config file", key, strings.TrimSuffix(spec.Path, ".*")))
				default:
					v, err := coerce(val, spec.Type)
					if err != nil {
						errs = append(errs, fmt.Errorf("flag --set %s: %w", key, err))
						continue
					}
					out[key] = v
				}
			}
			return
		}
		spec, known := s.Lookup(f.Name)
		if !known || spec.Open {
			return // a flag of the command, not a config key
		}
		v, err := coerce(f.Value.String(), spec.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("flag --%s: %w", f.Name, err))
			return
		}
		out[f.Name] = v
	})
	return out, errs
}

// YAML renders c (a value of the schema's type) as YAML with keys in
// struct order; Load reads it back to the same value.
func (s *Schema) YAML(c any) ([]byte, error) {
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
	for _, k := range s.keys {
		path := strings.TrimSuffix(k.Path, ".*")
		val := FieldByPath(v, path).Interface()
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
