package manifest

import (
	"os"
	"testing"
)

// FuzzEmbed: any bytes as a module never panic Static or Embed, and a
// manifest Embed accepted is the one Static then reads.
func FuzzEmbed(f *testing.F) {
	if bin, err := os.ReadFile(envWasm); err == nil {
		f.Add(bin)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x00\x05\x03abc"))
	f.Fuzz(func(t *testing.T, bin []byte) {
		_, _, _ = Static(bin, "")
		out, err := Embed(bin, []byte(`{"abi":1,"kind":"verifier","name":"f","version":"1"}`))
		if err != nil {
			return
		}
		m, src, err := Static(out, "")
		if err != nil || src != Section || m.Name != "f" {
			t.Fatalf("embedded, then read %+v from %q: %v", m, src, err)
		}
	})
}
