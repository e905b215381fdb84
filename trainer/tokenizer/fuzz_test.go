package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/rewind-rl/rewind/internal/testref"
)

// FuzzEncodeRoundTrip checks that byte-level BPE is lossless: for valid
// UTF-8 without special tokens, Decode(Encode(s)) is the NFC form of s. For
// any input, Encode must not panic and every id must be in the vocabulary.
func FuzzEncodeRoundTrip(f *testing.F) {
	tk, _ := loadGolden(f)
	for _, s := range scannerSeeds {
		f.Add(s)
	}
	f.Add("a\xffb\xe4\xbd")
	f.Add("<|im_start|>x<|im_end|>")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tk.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tk.VocabSize() || tk.TokenBytes(id) == nil {
				t.Fatalf("id %d out of vocabulary", id)
			}
		}
		if !utf8.ValidString(s) || strings.Contains(s, "<|") {
			return
		}
		if got, want := tk.Decode(ids), norm.NFC.String(s); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	})
}

// FuzzParse checks that no tokenizer.json makes Parse (or then Encode)
// panic.
func FuzzParse(f *testing.F) {
	for _, p := range []string{filepath.Join(testref.RequireHFDir(f), FileName), filepath.Join("testdata", "char", FileName)} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"added_tokens":[{"id":3,"content":"<x>","lstrip":true,"rstrip":true}],"decoder":{"type":"Fuse"},"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := Parse(b)
		if err != nil {
			return
		}
		tk.Decode(tk.Encode("ab <x> a\n\t'll 12 é"))
	})
}
