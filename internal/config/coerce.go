package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// coerce converts a value read from YAML, the environment or a flag to
// the key's Go type. Strings (environment, --set) are parsed; numbers
// must fit exactly (1.5 is not an int). A list of scalars is a YAML list
// or, from a string, comma-separated values; a list of structs is checked
// when the whole config is decoded.
func coerce(v any, t reflect.Type) (any, error) {
	if t == stringAny {
		return v, nil
	}
	if t.Kind() == reflect.Slice {
		return coerceList(v, t)
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
	panic("config: key of unsupported type " + t.String())
}

// coerceList converts a list: each element of a list of scalars is
// coerced; a string is split at commas; a list of structs (of maps in
// YAML) is kept for the strict decoder.
func coerceList(v any, t reflect.Type) (any, error) {
	if t.Elem().Kind() == reflect.Struct {
		if _, ok := v.([]any); !ok && v != nil {
			return nil, fmt.Errorf("want a list, got %T %v", v, v)
		}
		return v, nil
	}
	var items []any
	switch x := v.(type) {
	case nil:
	case []any:
		items = x
	case string:
		for _, f := range strings.Split(x, ",") {
			if f = strings.TrimSpace(f); f != "" {
				items = append(items, f)
			}
		}
	default:
		return nil, fmt.Errorf("want a list, got %T %v", v, v)
	}
	out := reflect.MakeSlice(t, 0, len(items))
	for i, it := range items {
		c, err := coerce(it, t.Elem())
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i+1, err)
		}
		out = reflect.Append(out, reflect.ValueOf(c).Convert(t.Elem()))
	}
	return out.Interface(), nil
}
