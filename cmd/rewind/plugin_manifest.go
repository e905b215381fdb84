package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/sdk/manifest"
)

func newManifestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "manifest",
		Short: "Read or embed a Wasm plugin's manifest",
	}
	var out string
	set := &cobra.Command{
		Use:   "set MODULE.wasm MANIFEST.json [-o OUT.wasm]",
		Short: "Embed a manifest in a module's rewind.manifest custom section",
		Long: `Embed the manifest MANIFEST.json in MODULE.wasm, in the custom section
rewind.manifest, replacing any manifest there (sdk/ABI.md, section 3). The
manifest is checked first: unknown fields and repeated keys are errors. The
module is rewritten in place unless -o names another file. This is all a
WAT or C author needs: no wabt option or other tool embeds a manifest.

  wat2wasm verifier.wat -o verifier.wasm
  rewind plugin manifest set verifier.wasm verifier.manifest.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			bin, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			js, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			res, err := manifest.Embed(bin, js)
			if err != nil {
				return fmt.Errorf("%s into %s: %w", args[1], args[0], err)
			}
			dst := args[0]
			if out != "" {
				dst = out
			}
			if err := writeFileAtomic(dst, res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: manifest from %s embedded (%d bytes)\n", dst, args[1], len(res))
			return nil
		},
	}
	set.Flags().StringVarP(&out, "out", "o", "", "write the module here instead of over MODULE")
	get := &cobra.Command{
		Use:   "get MODULE.wasm",
		Short: "Print the manifest the host would read statically (section, else the file beside)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bin, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if data, ok := manifest.CustomSection(bin, manifest.SectionName); ok {
				_, err := cmd.OutOrStdout().Write(append(data, '\n'))
				return err
			}
			if _, src, err := manifest.Static(bin, args[0]); err != nil {
				return err
			} else if src == manifest.File {
				b, err := os.ReadFile(manifest.FileFor(args[0]))
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			return errors.New(args[0] + " has no static manifest (no rewind.manifest section, no " + filepath.Base(manifest.FileFor(args[0])) + "); a module may still give one from its rewind_manifest export: rewind plugin inspect shows it")
		},
	}
	cmd.AddCommand(set, get)
	return cmd
}

// writeFileAtomic writes data to path through a temporary file in the
// same directory, so a failed write leaves the old file whole.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
