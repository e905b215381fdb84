// Package manifest holds the rule by which a Wasm plugin's static manifest
// is found (sdk/ABI.md, section 3) and the tool to embed one, so that the
// host, the CLI and authors' programs share one implementation:
//
//   - Static finds the manifest a module carries: its custom section
//     rewind.manifest, else the file NAME.manifest.json beside NAME.wasm
//     (the third place, the rewind_manifest export, needs a live instance
//     and is the host's business);
//   - Embed writes a manifest into a module's custom section, which is how
//     `rewind plugin manifest set MODULE FILE` embeds one without any tool
//     beyond rewind.
//
// Manifests are decoded strictly: an unknown field or a repeated key is an
// error, never ignored.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
)

// SectionName is the custom section a module's manifest is embedded in.
const SectionName = "rewind.manifest"

// Source says where a static manifest was found.
type Source string

// Where Static found a manifest.
const (
	None    Source = ""               // no static manifest
	Section Source = "custom section" // the module's rewind.manifest section
	File    Source = "file"           // NAME.manifest.json beside the module
)

// FileFor returns the manifest file that goes with the module at path:
// NAME.manifest.json for NAME.wasm.
func FileFor(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".manifest.json"
}

// Static returns the static manifest of the module bin, whose file is
// path (used for the file beside it; "" skips it): the custom section
// rewind.manifest when the module has one, else FileFor(path) when that
// exists. src says which; None with a zero manifest when neither. An
// error names the section or file whose manifest is invalid.
func Static(bin []byte, path string) (m abi.Manifest, src Source, err error) {
	if data, found := CustomSection(bin, SectionName); found {
		if err := Decode(data, &m); err != nil {
			return m, Section, fmt.Errorf("custom section %s: %w", SectionName, err)
		}
		return m, Section, nil
	}
	if path == "" {
		return m, None, nil
	}
	mf := FileFor(path)
	b, err := os.ReadFile(mf)
	if errors.Is(err, os.ErrNotExist) {
		return m, None, nil
	}
	if err != nil {
		return m, None, err
	}
	if err := Decode(b, &m); err != nil {
		return m, File, fmt.Errorf("%s: %w", mf, err)
	}
	return m, File, nil
}

// Decode decodes manifest JSON strictly into m: unknown fields, repeated
// keys and trailing data are errors.
func Decode(b []byte, m *abi.Manifest) error {
	if err := wire.Valid(b); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(m)
}

// Embed returns bin with manifest (JSON, checked with Decode and written
// compact) in its custom section rewind.manifest, replacing any there,
// placed after the module's other sections. bin itself is not changed.
func Embed(bin, manifest []byte) ([]byte, error) {
	var m abi.Manifest
	if err := Decode(manifest, &m); err != nil {
		return nil, fmt.Errorf("the manifest is not valid: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, manifest); err != nil {
		return nil, err
	}
	secs, err := sections(bin)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), bin[:8]...)
	for _, s := range secs {
		if s.id == 0 && s.name == SectionName {
			continue
		}
		out = append(out, bin[s.start:s.end]...)
	}
	body := appendU32(nil, uint32(len(SectionName)))
	body = append(body, SectionName...)
	body = append(body, compact.Bytes()...)
	out = append(out, 0)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...), nil
}

// CustomSection returns the payload of the first custom section called
// name. A binary it cannot walk has none.
func CustomSection(bin []byte, name string) (data []byte, found bool) {
	secs, err := sections(bin)
	if err != nil {
		return nil, false
	}
	for _, s := range secs {
		if s.id == 0 && s.name == name {
			return bin[s.payload:s.end], true
		}
	}
	return nil, false
}

// section is one section of a module: bin[start:end] is the whole
// section, bin[payload:end] a custom section's payload after its name.
type section struct {
	id                  byte
	name                string // custom sections only
	start, payload, end int
}

// sections splits a module into its sections.
func sections(bin []byte) ([]section, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module (no \\0asm header)")
	}
	var out []section
	i := 8
	for i < len(bin) {
		s := section{id: bin[i], start: i}
		n, w := u32(bin[i+1:])
		if w == 0 || uint64(i+1+w)+uint64(n) > uint64(len(bin)) {
			return nil, fmt.Errorf("section at offset %d runs past the end of the module", i)
		}
		body := i + 1 + w
		s.end = body + int(n)
		s.payload = body
		if s.id == 0 {
			ln, w := u32(bin[body:s.end])
			if w == 0 || uint64(body+w)+uint64(ln) > uint64(s.end) {
				return nil, fmt.Errorf("custom section at offset %d has a bad name", i)
			}
			s.name = string(bin[body+w : body+w+int(ln)])
			s.payload = body + w + int(ln)
		}
		out = append(out, s)
		i = s.end
	}
	return out, nil
}

// u32 decodes an unsigned LEB128 of at most 5 bytes; w is its width, 0
// when b does not hold one.
func u32(b []byte) (v uint32, w int) {
	for k := 0; k < 5 && k < len(b); k++ {
		v |= uint32(b[k]&0x7f) << (7 * k)
		if b[k]&0x80 == 0 {
			return v, k + 1
		}
	}
	return 0, 0
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
