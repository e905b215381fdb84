// Package options reads the options map of a built-in plugin (as a YAML,
// JSON or TOML parser returns it) into typed values, with errors that name
// the option and say what is expected. Unknown keys are errors.
package options

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Reader takes options out of a map; Err reports every problem at once.
type Reader struct {
	m    map[string]any
	used map[string]bool
	errs []error
}

// New reads m (nil is an empty map).
func New(m map[string]any) *Reader { return &Reader{m: m, used: map[string]bool{}} }

func (r *Reader) bad(key, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("option %s: %s", key, fmt.Sprintf(format, args...)))
}

// Float returns the number at key and whether it was set. Integers are
// accepted; NaN and infinities are not.
func (r *Reader) Float(key string) (float64, bool) {
	r.used[key] = true
	v, ok := r.m[key]
	if !ok || v == nil {
		return 0, false
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	default:
		r.bad(key, "want a number, got %T %v", v, v)
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		r.bad(key, "want a finite number, got %v", f)
		return 0, false
	}
	return f, true
}

// String returns the string at key and whether it was set.
func (r *Reader) String(key string) (string, bool) {
	r.used[key] = true
	v, ok := r.m[key]
	if !ok || v == nil {
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		r.bad(key, "want a string, got %T %v", v, v)
		return "", false
	}
	return s, true
}

// Fail records a problem with key's value.
func (r *Reader) Fail(key, format string, args ...any) { r.bad(key, format, args...) }

// Err returns every problem, joined, and one for the keys that no getter
// asked for (naming the valid ones).
func (r *Reader) Err() error {
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(r.m)) {
		if !r.used[k] {
			unknown = append(unknown, k)
		}
	}
	errs := r.errs
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("unknown options %s (valid: %s)", strings.Join(unknown, ", "), strings.Join(slices.Sorted(maps.Keys(r.used)), ", ")))
	}
	return errors.Join(errs...)
}
