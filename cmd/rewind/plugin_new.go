package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// templates holds one folder per plugin kind: the language folders under
// it, plus files shared by every language (cases.jsonl). A file's name
// loses its ".tmpl" suffix ("gitignore" becomes ".gitignore") and every
// "__NAME__" in it becomes the plugin's name. The .tmpl suffix keeps the
// Go template out of this package's build.
//
//go:embed plugintemplates
var templates embed.FS

// scaffoldLangs are the languages of "plugin new", with what to run next.
var scaffoldLangs = map[string]string{
	"go": "GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o NAME.wasm .",
	"as": "npm install && npm run build",
	"c":  "./build.sh",
}

var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

func newNewCmd() *cobra.Command {
	var lang, dir string
	cmd := &cobra.Command{
		Use:   "new KIND NAME [--lang go|as|c] [--dir DIR]",
		Short: "Scaffold a plugin folder that builds and passes rewind plugin test",
		Long: `Write a new plugin folder DIR (default ./NAME) from a template: the
source of a small working plugin, its build command, a README and a
cases.jsonl that "rewind plugin test" passes once the module is built.
Kinds: ` + strings.Join(scaffoldKinds(), ", ") + `. A Go plugin imports sdk/guest,
so its folder must be inside the rewind module.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name := args[0], args[1]
			if dir == "" {
				dir = name
			}
			files, err := scaffold(kind, name, lang, dir)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "wrote %d files to %s:\n", len(files), dir)
			for _, f := range files {
				fmt.Fprintf(w, "  %s\n", f)
			}
			fmt.Fprintf(w, "next:\n  cd %s && %s\n  rewind plugin test %s.wasm --cases cases.jsonl\n",
				dir, strings.ReplaceAll(scaffoldLangs[lang], "NAME", name), name)
			return nil
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "go", "language: go, as (AssemblyScript) or c")
	cmd.Flags().StringVar(&dir, "dir", "", "folder to create (default ./NAME); must not exist or be empty")
	return cmd
}

func scaffoldKinds() []string {
	entries, _ := fs.ReadDir(templates, "plugintemplates")
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Name())
	}
	return kinds
}

// scaffold writes the template of (kind, lang) into dir and returns the
// paths written, relative to dir, sorted.
func scaffold(kind, name, lang, dir string) ([]string, error) {
	if !slices.Contains(scaffoldKinds(), kind) {
		return nil, fmt.Errorf("no template for kind %q; templates exist for: %s", kind, strings.Join(scaffoldKinds(), ", "))
	}
	if _, ok := scaffoldLangs[lang]; !ok {
		return nil, fmt.Errorf("--lang %q: choose go, as or c", lang)
	}
	if !pluginName.MatchString(name) {
		return nil, fmt.Errorf("plugin name %q: use lower-case letters, digits, '-' and '_', starting with a letter", name)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty; pick another --dir", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	root := path.Join("plugintemplates", kind)
	files := map[string]string{} // output path -> template path
	shared, err := fs.ReadDir(templates, root)
	if err != nil {
		return nil, err
	}
	for _, e := range shared {
		if !e.IsDir() {
			files[e.Name()] = path.Join(root, e.Name())
		}
	}
	langRoot := path.Join(root, lang)
	if _, err := fs.Stat(templates, langRoot); err != nil {
		var have []string
		for _, e := range shared {
			if e.IsDir() {
				have = append(have, e.Name())
			}
		}
		return nil, fmt.Errorf("--lang %q: no %s template in that language; choose %s", lang, kind, strings.Join(have, " or "))
	}
	err = fs.WalkDir(templates, langRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, langRoot+"/"), ".tmpl")
		if path.Base(rel) == "gitignore" {
			rel = path.Join(path.Dir(rel), ".gitignore")
		}
		files[rel] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	var written []string
	for rel, src := range files {
		b, err := templates.ReadFile(src)
		if err != nil {
			return nil, err
		}
		out := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(out, []byte(strings.ReplaceAll(string(b), "__NAME__", name)), mode); err != nil {
			return nil, err
		}
		written = append(written, rel)
	}
	slices.Sort(written)
	return written, nil
}
