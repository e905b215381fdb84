package tokenizer

import "unicode/utf8"

// The ByteLevel mapping of GPT-2: every byte is shown as a printable rune,
// so that BPE works on text with no spaces or control bytes. Printable
// Latin-1 bytes map to themselves; the others to U+0100 and up, in order.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelDecode returns the bytes a byte-level token string stands for.
// Runes outside the mapping are dropped, as the ByteLevel decoder of
// tokenizers does.
func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
		}
	}
	return out
}

// appendLossy appends b to dst as valid UTF-8, replacing each maximal
// invalid subpart with U+FFFD, exactly as Rust's String::from_utf8_lossy
// (which tokenizers uses) does. Go's strings.ToValidUTF8 differs: it
// collapses a whole run of invalid bytes into one replacement.
func appendLossy(dst []byte, b []byte) []byte {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		dst = utf8.AppendRune(dst, utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length of the maximal subpart of an
// ill-formed UTF-8 sequence at the start of b (Unicode §3.9, Table 3-7):
// the lead byte and the continuation bytes that could still have begun a
// well-formed sequence.
func maximalSubpart(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	default:
		return 1
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF // only the second byte has special bounds
	}
	return n
}
