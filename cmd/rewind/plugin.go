package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/internal/filehash"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/manifest"
)

// errDisagreements is returned by "plugin test" when a case disagrees, so
// that the command exits non-zero after printing the report.
var errDisagreements = errors.New("the plugin disagrees with the cases")

func init() { rootCmd.AddCommand(newPluginCmd()) }

// newPluginCmd builds the "plugin" command tree. It is a constructor, not
// a package-level value, so that each test gets fresh flags.
func newPluginCmd() *cobra.Command {
	var noAutoMTLS bool
	var optionFlags []string
	parse := func(arg string) (pluginSource, error) {
		src, err := parseSource(arg)
		if err != nil {
			return src, err
		}
		src.noAutoMTLS = noAutoMTLS && src.kind == sourceProcess
		src.options, err = parseOptions(optionFlags)
		return src, err
	}
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Inspect, test, benchmark and scaffold plugins",
		Long: `Tools for plugin authors. PATH is a .wasm module, "builtin:NAME" for a
built-in plugin, or the command of a process plugin (its executable's
sha256 is computed and checked, so no --insecure is needed here).`,
	}
	cmd.PersistentFlags().BoolVar(&noAutoMTLS, "no-automtls", false,
		"process plugins: turn off go-plugin's automatic mutual TLS (needed for Python plugins)")
	cmd.PersistentFlags().StringArrayVar(&optionFlags, "option", nil,
		"KEY=VALUE: one of the plugin's options, as under plugins.NAME.options in a run's config (VALUE is read as YAML: 0.5, true, text); repeatable. A plugin an option names (prm's reward_model) is loaded as builtin:NAME, or as PATH when the value is a .wasm file or builtin:NAME")
	cmd.AddCommand(newInspectCmd(parse), newTestCmd(parse), newBenchCmd(parse), newNewCmd(), newManifestCmd())
	return cmd
}

// moduleInfo is what "plugin inspect" reports.
type moduleInfo struct {
	Path     string        `json:"path"`
	Kind     string        `json:"kind"` // "wasm", "process" or "builtin"
	SHA256   string        `json:"sha256"`
	Size     int64         `json:"size_bytes,omitempty"`
	Plugin   abi.Kind      `json:"plugin_kind,omitempty"`
	ABI      int           `json:"abi_version,omitempty"`
	Manifest *abi.Manifest `json:"manifest,omitempty"`
	// ManifestSource is "custom section", the manifest file's path, or
	// empty when the module has none.
	ManifestSource string      `json:"manifest_source,omitempty"`
	Exports        []funcInfo  `json:"exports,omitempty"`
	Imports        []funcInfo  `json:"imports,omitempty"`
	Memory         *memoryInfo `json:"memory,omitempty"`
	Limits         abi.Limits  `json:"limits"` // what the host applies (host.ResolveLimits): manifest requests within the host's defaults, else the defaults
	LoadError      string      `json:"load_error,omitempty"`
}

type funcInfo struct {
	Name      string `json:"name"`
	Signature string `json:"signature"`
}

type memoryInfo struct {
	MinPages uint32  `json:"min_pages"`
	MaxPages *uint32 `json:"max_pages,omitempty"`
}

// sourceParser reads a PATH argument with the plugin command's flags applied.
type sourceParser func(arg string) (pluginSource, error)

func newInspectCmd(parse sourceParser) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PATH [--json]",
		Short: "Show a plugin's kind, manifest, ABI version, exports, imports, sha256 and limits",
		Long: `Show what the host sees of a plugin: for a Wasm module its exports and
imports with signatures, its memory, its manifest (custom section
"rewind.manifest" or NAME.manifest.json beside it) and the limits the host
will apply; for a process plugin its executable's sha256. The plugin is
then loaded through the host, which runs every load-time check (ABI
version, unknown imports, manifest); a refusal is reported and makes the
command fail.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := parse(args[0])
			if err != nil {
				return err
			}
			info, err := inspect(cmd.Context(), args[0], src)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(info); err != nil {
					return err
				}
			} else {
				printInfo(cmd.OutOrStdout(), info)
			}
			if info.LoadError != "" {
				return fmt.Errorf("the host refuses %s: %s", args[0], info.LoadError)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// inspect reads a plugin statically, then loads it through the host.
func inspect(ctx context.Context, path string, src pluginSource) (*moduleInfo, error) {
	ctx = orBackground(ctx)
	var err error
	info := &moduleInfo{Path: path, Kind: string(src.kind)}
	switch src.kind {
	case sourceBuiltin:
		info.SHA256 = "builtin"
	case sourceProcess:
		sum, size, err := filehash.SHA256(src.exe)
		if err != nil {
			return nil, err
		}
		info.SHA256, info.Size = sum, size
	case sourceWasm:
		if err := inspectWasm(ctx, src.path, info); err != nil {
			return nil, err
		}
	}
	loaded, err := loadPlugin(ctx, src, 1)
	if err != nil {
		info.LoadError = err.Error()
		// Show what the host would apply from the static manifest.
		var asked *abi.Limits
		if info.Manifest != nil {
			asked = info.Manifest.Limits
		}
		lim, _ := host.ResolveLimits(host.Limits{}, asked, src.kind == sourceProcess)
		info.Limits = abiLimits(lim)
		return info, nil
	}
	defer loaded.Close()
	info.Limits = abiLimits(loaded.limits)
	info.Plugin = loaded.kind
	info.ABI = abi.Version
	if loaded.manifest != nil {
		if info.Manifest == nil {
			info.Manifest = loaded.manifest
		}
		info.ABI = loaded.manifest.ABI
	}
	return info, nil
}

// inspectWasm fills the static facts of a module: sha256, exports, imports,
// memory and manifest. It compiles the module (no instance, no code runs).
func inspectWasm(ctx context.Context, path string, info *moduleInfo) error {
	bin, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the module: %w", err)
	}
	sum := sha256.Sum256(bin)
	info.SHA256, info.Size = hex.EncodeToString(sum[:]), int64(len(bin))
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCustomSections(true))
	defer rt.Close(ctx)
	mod, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return fmt.Errorf("%s is not a valid Wasm module: %w", path, err)
	}
	for name, def := range mod.ExportedFunctions() {
		info.Exports = append(info.Exports, funcInfo{name, signature(def)})
	}
	for _, def := range mod.ImportedFunctions() {
		mod, name, _ := def.Import()
		info.Imports = append(info.Imports, funcInfo{mod + "." + name, signature(def)})
	}
	slices.SortFunc(info.Exports, func(a, b funcInfo) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(info.Imports, func(a, b funcInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, m := range mod.ExportedMemories() {
		mi := &memoryInfo{MinPages: m.Min()}
		if max, ok := m.Max(); ok {
			mi.MaxPages = &max
		}
		info.Memory = mi
	}
	// The host's own rule (package sdk/manifest): the custom section,
	// else the file beside the module.
	m, src, err := manifest.Static(bin, path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch src {
	case manifest.Section:
		info.Manifest, info.ManifestSource = &m, "custom section "+manifest.SectionName
	case manifest.File:
		info.Manifest, info.ManifestSource = &m, manifest.FileFor(path)
	}
	return nil
}

func signature(def api.FunctionDefinition) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	sig := "(" + names(def.ParamTypes()) + ")"
	if len(def.ResultTypes()) > 0 {
		sig += " -> " + names(def.ResultTypes())
	}
	return sig
}

func printInfo(w io.Writer, info *moduleInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("path", info.Path)
	row("source", info.Kind)
	row("sha256", info.SHA256)
	if info.Size > 0 {
		row("size", fmt.Sprintf("%d bytes", info.Size))
	}
	if info.Plugin != "" {
		row("kind", string(info.Plugin))
	}
	if info.ABI != 0 {
		row("abi", fmt.Sprint(info.ABI))
	}
	if m := info.Manifest; m != nil {
		src := info.ManifestSource
		if src == "" {
			src = "from the host"
		}
		row("manifest", src)
		row("  name", m.Name)
		row("  version", m.Version)
		if m.Description != "" {
			row("  description", m.Description)
		}
		if len(m.Capabilities) > 0 {
			row("  capabilities", strings.Join(m.Capabilities, ", "))
		}
	} else if info.Kind == string(sourceWasm) {
		row("manifest", "none (the kind comes from the exports)")
	}
	mem := "no cap (native or separate process)"
	if info.Limits.MemoryMiB > 0 {
		mem = fmt.Sprintf("%d MiB", info.Limits.MemoryMiB)
	}
	timeout, output := "none (native code)", "not checked (native code)"
	if info.Limits.TimeoutMillis > 0 {
		timeout = fmt.Sprintf("%d ms", info.Limits.TimeoutMillis)
	}
	if info.Limits.MaxOutputKiB > 0 {
		output = fmt.Sprintf("%d KiB", info.Limits.MaxOutputKiB)
	}
	row("limits", fmt.Sprintf("memory %s, timeout %s, output %s", mem, timeout, output))
	if info.Memory != nil {
		mem := fmt.Sprintf("min %d pages", info.Memory.MinPages)
		if info.Memory.MaxPages != nil {
			mem += fmt.Sprintf(", max %d pages", *info.Memory.MaxPages)
		}
		row("memory", mem)
	}
	for i, e := range info.Exports {
		row(map[bool]string{true: "exports", false: ""}[i == 0], e.Name+" "+e.Signature)
	}
	if info.Kind == string(sourceWasm) && len(info.Imports) == 0 {
		row("imports", "none")
	}
	for i, e := range info.Imports {
		row(map[bool]string{true: "imports", false: ""}[i == 0], e.Name+" "+e.Signature)
	}
	if info.LoadError != "" {
		row("load", "REFUSED: "+info.LoadError)
	} else {
		row("load", "ok")
	}
	tw.Flush()
}
