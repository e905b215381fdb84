package config

import (
	"fmt"
	"reflect"
	"strings"
)

// DocTable renders every key as a Markdown table row (key, type, default
// from defaults, environment variable, description) under a header.
// openType describes the open keys' type (e.g. "map of plugin configs").
func (s *Schema) DocTable(defaults any, openType string) string {
	var b strings.Builder
	b.WriteString("| key | type | default | environment | description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	dv := reflect.ValueOf(defaults)
	for _, k := range s.keys {
		path := strings.TrimSuffix(k.Path, ".*")
		v := FieldByPath(dv, path)
		typ := k.Type.String()
		env := "`" + s.EnvName(k.Path) + "`"
		switch {
		case k.Open:
			typ = openType
			env = "file only"
		case strings.HasSuffix(k.Path, ".*"):
			typ = "map of " + k.Type.String()
			env = "`" + s.EnvName(path) + "_NAME`"
		case isList(k.Type) && k.Type.Elem().Kind() == reflect.Struct:
			typ = "list"
			env = "file only"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Path, typ, DocValue(v), env, escapePipes(k.Help))
	}
	return b.String()
}

// DocValue renders a default for a Markdown table.
func DocValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Map:
		if v.Len() == 0 {
			return "(none)"
		}
		return "(see the defaults file)"
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			return "(see the defaults file)"
		}
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
		return "`" + escapePipes(strings.ReplaceAll(v.String(), "\n", `\n`)) + "`"
	}
	return fmt.Sprintf("`%v`", v.Interface())
}

func escapePipes(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
