// Package config is the one config dialect of Rewind's commands: a config
// struct, described by its koanf and help tags, is loaded from layers,
// lowest precedence first: defaults (a preset), a YAML file, environment
// variables (PREFIX + the key in upper case with '_' for '.'), flags, and
// overrides a program computes. Every layer is decoded strictly: an
// unknown key is an error naming where it was (file:line, variable or
// flag) with the closest known key, and all errors are reported at once.
//
// rewind train (trainer/run), rewind sft (trainer/sft) and the experiment
// file of rewind demo and compare (package experiment) load through it.
package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Key is one configuration key of a schema.
type Key struct {
	// Path is the dotted key; a "*" segment stands for a map key.
	Path string
	// Type is the leaf's Go type (the element type of a map).
	Type reflect.Type
	// Help documents the key (its field's help tag).
	Help string
	// Open: any key below Path is accepted and kept as one map for its
	// owner to decode strictly later (plugin configs, an experiment's
	// train config).
	Open bool
}

// Schema is the set of keys of a config struct type.
type Schema struct {
	keys []Key
	Options
}

// Options say how a schema meets the environment and the user.
type Options struct {
	// EnvPrefix starts every environment variable of the schema, e.g.
	// "REWIND_".
	EnvPrefix string
	// EnvOwned says every variable with EnvPrefix is the schema's, so an
	// unknown one is an error. Otherwise the prefix is shared, and only a
	// variable whose first segment is one of the schema's sections is
	// checked; the others are left to other commands and tools.
	EnvOwned bool
	// ListHint names the command that lists the keys, for unknown-key
	// errors.
	ListHint string
}

var stringAny = reflect.TypeOf(map[string]any{})

// New describes the config struct type of sample. Every field with a
// koanf tag is a key (a struct field is a section); every key must have a
// help tag, which New checks (it panics: a programming error).
func New(sample any, o Options) *Schema {
	return &Schema{keys: walkKeys(reflect.TypeOf(sample), ""), Options: o}
}

// Keys lists the keys in field order.
func (s *Schema) Keys() []Key { return s.keys }

// walkKeys lists the keys of a struct type in field order.
func walkKeys(t reflect.Type, prefix string) []Key {
	var out []Key
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("koanf")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		help := f.Tag.Get("help")
		if help == "" && f.Type.Kind() != reflect.Struct {
			panic("config: key " + path + " has no help tag")
		}
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, walkKeys(f.Type, path+".")...)
		case f.Type.Kind() == reflect.Map && (f.Type.Elem() == stringAny || f.Type == stringAny):
			// A map of configs (plugins.NAME) or a config of its own
			// (an experiment's train section).
			out = append(out, Key{Path: path + ".*", Type: stringAny, Help: help, Open: true})
		case f.Type.Kind() == reflect.Map:
			out = append(out, Key{Path: path + ".*", Type: f.Type.Elem(), Help: help})
		default:
			out = append(out, Key{Path: path, Type: f.Type, Help: help})
		}
	}
	return out
}

// Lookup finds the key that a flattened key belongs to.
func (s *Schema) Lookup(key string) (Key, bool) {
	segs := strings.Split(key, ".")
	for _, k := range s.keys {
		ks := strings.Split(k.Path, ".")
		if len(segs) < len(ks) || (!k.Open && len(segs) != len(ks)) {
			continue
		}
		match := true
		for i, seg := range ks {
			if seg != "*" && seg != segs[i] {
				match = false
				break
			}
		}
		if match {
			return k, true
		}
	}
	return Key{}, false
}

// suggest returns the known key closest to key, or "" when none is close.
func (s *Schema) suggest(key string) string {
	last := key[strings.LastIndex(key, ".")+1:]
	best, bestD := "", 1<<30
	for _, k := range s.keys {
		if k.Open || strings.Contains(k.Path, "*") {
			continue
		}
		d := levenshtein(key, k.Path)
		// The right name in the wrong section ("run.lr" for "optim.lr").
		if strings.HasSuffix(k.Path, "."+last) || k.Path == last {
			d = min(d, 1)
		}
		// A truncated name ("algo.clip" for "algo.clip_low"), possibly in
		// the wrong section ("warmup" for "optim.warmup_steps").
		if strings.HasPrefix(k.Path, key) || strings.HasPrefix(k.Path[strings.LastIndex(k.Path, ".")+1:], last) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = k.Path, d
		}
	}
	if bestD <= max(2, len(key)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownKey is the error of a key that is not in the schema.
func (s *Schema) unknownKey(where, key string) error {
	if sug := s.suggest(key); sug != "" {
		return fmt.Errorf("%s: unknown key %q (did you mean %q?)", where, key, sug)
	}
	return fmt.Errorf("%s: unknown key %q; %s lists the keys", where, key, s.ListHint)
}

// EnvName is the environment variable of a key.
func (s *Schema) EnvName(path string) string {
	return s.EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// envKey maps an environment variable to a key. ok is false for a name
// outside the schema's sections (left alone: it may belong to another
// tool or command); key is "" for a name inside them that matches no key.
func (s *Schema) envKey(name string) (key string, ok bool) {
	rest, found := strings.CutPrefix(name, s.EnvPrefix)
	if !found {
		return "", false
	}
	section := strings.ToLower(strings.SplitN(rest, "_", 2)[0])
	inConfig := s.EnvOwned
	for _, k := range s.keys {
		if strings.SplitN(k.Path, ".", 2)[0] == section {
			inConfig = true
		}
		if k.Open || isList(k.Type) && k.Type.Elem().Kind() == reflect.Struct {
			continue // set in files only
		}
		if star := strings.Index(k.Path, "*"); star >= 0 {
			if p := s.EnvName(k.Path[:star]); strings.HasPrefix(name, p) && len(name) > len(p) {
				return k.Path[:star] + strings.ToLower(name[len(p):]), true
			}
			continue
		}
		if s.EnvName(k.Path) == name {
			return k.Path, true
		}
	}
	return "", inConfig
}

// EnvVars lists, sorted, the variables of environ that are the schema's:
// those that set a key or that would but match none (a misspelt key), as
// Layers reads them; variables it leaves to other tools are not listed.
func (s *Schema) EnvVars(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, ours := s.envKey(name); ours {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func isList(t reflect.Type) bool { return t.Kind() == reflect.Slice }

// FieldByPath follows koanf tags from v, a value of the schema's type.
func FieldByPath(v reflect.Value, path string) reflect.Value {
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
			panic("config: no field " + path)
		}
	}
	return v
}

// Flatten turns a config value into dotted keys (maps as whole values
// under their key, entries under key.NAME), the form of a layer.
func (s *Schema) Flatten(c any) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c)
	for _, k := range s.keys {
		if i := strings.Index(k.Path, ".*"); i >= 0 {
			mv := FieldByPath(v, k.Path[:i])
			for _, key := range mv.MapKeys() {
				out[k.Path[:i]+"."+key.String()] = mv.MapIndex(key).Interface()
			}
			continue
		}
		out[k.Path] = FieldByPath(v, k.Path).Interface()
	}
	return out
}
