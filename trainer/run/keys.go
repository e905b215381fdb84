package run

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// keySpec is one configuration key found by walking Config.
type keySpec struct {
	path string       // dotted key; a "*" segment stands for a map key
	typ  reflect.Type // the leaf's Go type
	help string
	// open: any key below path is accepted here and checked later by its
	// owner (plugin configs are decoded strictly by the plugin host).
	open bool
}

// optimHelp documents engine.Optim, whose fields carry no help tags
// because the engine package owns them.
var optimHelp = map[string]string{
	"lr":           "peak learning rate (AdamW)",
	"weight_decay": "AdamW decoupled weight decay",
	"beta1":        "AdamW beta1",
	"beta2":        "AdamW beta2",
	"eps":          "AdamW epsilon",
	"grad_clip":    "clip the global gradient L2 norm to this; 0 turns clipping off",
	"schedule":     "learning-rate schedule: constant, linear or cosine",
	"warmup_steps": "linear warm-up steps",
	"total_steps":  "steps of the linear or cosine decay; 0 uses the run's steps",
}

// templateHelp documents data.Template, owned by package data.
var templateHelp = map[string]string{
	"kind":             "prompt template: chat (ChatML turns) or plain",
	"format":           "user text with {prompt} where the dataset's prompt goes; empty: the prompt alone",
	"system":           "chat: system turn; empty for none",
	"assistant_prefix": "text after the open assistant turn (chat) or the prompt (plain), e.g. <thought>",
}

var (
	configKeys = walkKeys(reflect.TypeOf(Config{}), "")
	stringAny  = reflect.TypeOf(map[string]any{})
)

// walkKeys lists the keys of a struct type in field order.
func walkKeys(t reflect.Type, prefix string) []keySpec {
	var out []keySpec
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("koanf")
		if name == "" || name == "-" {
			continue
		}
		path := prefix + name
		help := f.Tag.Get("help")
		if help == "" && strings.HasPrefix(path, "optim.") {
			help = optimHelp[name]
		}
		if help == "" && strings.HasPrefix(path, "data.template.") {
			help = templateHelp[name]
		}
		if help == "" && f.Type.Kind() != reflect.Struct {
			panic("run: config key " + path + " has no help text")
		}
		switch {
		case f.Type.Kind() == reflect.Struct:
			out = append(out, walkKeys(f.Type, path+".")...)
		case f.Type.Kind() == reflect.Map && f.Type.Elem() == stringAny:
			out = append(out, keySpec{path: path + ".*", typ: stringAny, help: help, open: true})
		case f.Type.Kind() == reflect.Map:
			out = append(out, keySpec{path: path + ".*", typ: f.Type.Elem(), help: help})
		default:
			out = append(out, keySpec{path: path, typ: f.Type, help: help})
		}
	}
	return out
}

// lookupKey finds the spec that a flattened key belongs to.
func lookupKey(key string) (keySpec, bool) {
	segs := strings.Split(key, ".")
	for _, k := range configKeys {
		ks := strings.Split(k.path, ".")
		if len(segs) < len(ks) || (!k.open && len(segs) != len(ks)) {
			continue
		}
		match := true
		for i, s := range ks {
			if s != "*" && s != segs[i] {
				match = false
				break
			}
		}
		if match {
			return k, true
		}
	}
	return keySpec{}, false
}

// suggest returns the known key closest to key, or "" when none is close.
func suggest(key string) string {
	last := key[strings.LastIndex(key, ".")+1:]
	best, bestD := "", 1<<30
	for _, k := range configKeys {
		if k.open || strings.Contains(k.path, "*") {
			continue
		}
		d := levenshtein(key, k.path)
		// The right name in the wrong section ("run.lr" for "optim.lr").
		if strings.HasSuffix(k.path, "."+last) || k.path == last {
			d = min(d, 1)
		}
		// A truncated name ("algo.clip" for "algo.clip_low").
		if strings.HasPrefix(k.path, key) {
			d = min(d, 2)
		}
		if d < bestD {
			best, bestD = k.path, d
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

// coerce converts a value read from YAML, the environment or a flag to
// the key's Go type. Strings (environment, --set) are parsed; numbers
// must fit exactly (1.5 is not an int).
func coerce(v any, t reflect.Type) (any, error) {
	if t == stringAny {
		return v, nil
	}
	s, isStr := v.(string)
	switch t.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			return x, nil
		case nil:
			return "", nil
		}
		return nil, fmt.Errorf("want a string, got %T %v (quote it)", v, v)
	case reflect.Bool:
		if isStr {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return nil, fmt.Errorf("want true or false, got %q", s)
			}
			return b, nil
		}
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("want true or false, got %T %v", v, v)
	case reflect.Int, reflect.Uint64:
		var f float64
		switch x := v.(type) {
		case string:
			if t.Kind() == reflect.Uint64 {
				u, err := strconv.ParseUint(s, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("want a non-negative integer, got %q", s)
				}
				return u, nil
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("want an integer, got %q", s)
			}
			return n, nil
		case int:
			f = float64(x)
			if t.Kind() == reflect.Int {
				return x, nil
			}
		case int64:
			f = float64(x)
			if t.Kind() == reflect.Int {
				return int(x), nil
			}
		case uint64:
			if t.Kind() == reflect.Uint64 {
				return x, nil
			}
			f = float64(x)
		case float64:
			f = x
		default:
			return nil, fmt.Errorf("want an integer, got %T %v", v, v)
		}
		if f != float64(int64(f)) {
			return nil, fmt.Errorf("want an integer, got %v", v)
		}
		if t.Kind() == reflect.Uint64 {
			if f < 0 {
				return nil, fmt.Errorf("want a non-negative integer, got %v", v)
			}
			return uint64(f), nil
		}
		return int(f), nil
	case reflect.Float64:
		switch x := v.(type) {
		case string:
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("want a number, got %q", s)
			}
			return f, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case uint64:
			return float64(x), nil
		case float64:
			return x, nil
		}
		return nil, fmt.Errorf("want a number, got %T %v", v, v)
	}
	panic("run: config key of unsupported type " + t.String())
}

// envName is the environment variable of a key.
func envName(path string) string {
	return "REWIND_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

// envKey maps an environment variable to a key. ok is false for a name
// outside the config's sections (left alone: it may belong to another
// tool); key is "" for a name inside them that matches no key.
func envKey(name string) (key string, ok bool) {
	rest, found := strings.CutPrefix(name, "REWIND_")
	if !found {
		return "", false
	}
	section := strings.ToLower(strings.SplitN(rest, "_", 2)[0])
	inConfig := false
	for _, k := range configKeys {
		if strings.SplitN(k.path, ".", 2)[0] == section {
			inConfig = true
		}
		if k.open {
			continue // plugins are configured in files only
		}
		if star := strings.Index(k.path, "*"); star >= 0 {
			if p := envName(k.path[:star]); strings.HasPrefix(name, p) && len(name) > len(p) {
				return k.path[:star] + strings.ToLower(name[len(p):]), true
			}
			continue
		}
		if envName(k.path) == name {
			return k.path, true
		}
	}
	return "", inConfig
}
