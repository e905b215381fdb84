// Package tokenizer turns text into token ids and back: Hugging Face
// tokenizer.json byte-level BPE, and a character tokenizer for synthetic tasks.
//
// # Why our own implementation
//
// No pure-Go library that reads a Hugging Face `tokenizer.json` was available
// to this project when it was written: the Go options known then either bind
// the Rust library through cgo (a native build CI cannot fetch) or implement
// only tiktoken files. The subset a Llama/Qwen2-family checkpoint needs is
// small (about 1,500 lines with comments), so `HF` implements it directly and
// is checked against the reference library (below).
//
// # What `HF` implements
//
// One type, `*HF`, parsed from a `tokenizer.json` whose model is `BPE`:
//
//   - normalizer: `null`, `NFC`, or a `Sequence` of `NFC`.
//   - pre_tokenizer: `Split` (behavior `Isolated`, `invert: false`; `Regex` or
//     `String` pattern), `ByteLevel` (`add_prefix_space`, `use_regex`), or a
//     `Sequence` of them with ByteLevel last.
//   - model: `BPE` with its vocab, merges as `"a b"` strings or `["a","b"]`
//     pairs, `ignore_merges`, `unk_token`, `fuse_unk`. Dropout,
//     `continuing_subword_prefix`, `end_of_word_suffix`, `byte_fallback` and
//     other models are errors.
//   - added_tokens: leftmost-longest match before any splitting; `lstrip`,
//     `rstrip`, `single_word`; `normalized: true` tokens are matched after
//     normalisation.
//   - decoder: `ByteLevel`, `Fuse`, or `null` (tokens joined with a space, as
//     tokenizers does).
//   - post_processor, truncation, padding: ignored; `Encode` never adds BOS or
//     EOS.
//
// Any other normalizer, pre-tokenizer or decoder is an error naming it.
//
// Pipeline of `Encode`: added tokens are cut out of the raw text; each remaining
// segment is NFC-normalised; the pre-tokenizers cut it into pieces; ByteLevel maps
// each byte to GPT-2's printable rune; BPE merges each piece by rank with an
// O(n log n) heap (lowest rank first, leftmost among equal ranks — tokenizers'
// `Word::merge_all`); results per piece are cached (pieces ≤ 64 bytes, up to 65,536
// entries, lock-free reads through `sync.Map`).
//
// `Decode` writes added tokens as their text and assembles runs of byte-level tokens
// into bytes, converting ill-formed UTF-8 exactly as Rust's `String::from_utf8_lossy`
// does (one U+FFFD per *maximal subpart*; Go's `strings.ToValidUTF8` would collapse
// runs and differ). `TokenBytes` returns the raw bytes of a token (byte-level bytes
// before UTF-8 assembly; an added token's text), which is what a sampler needs for
// incremental stop-string matching.
//
// One deliberate difference: tokenizers passes added tokens through the ByteLevel
// decoder, which drops characters outside the byte map (a space inside an added
// token's text would vanish). We write added tokens verbatim. For every real
// special token (ASCII without spaces) the result is identical.
//
// `EOS()`: the `eos_token` of a `tokenizer_config.json` beside the file when `Load`
// finds one, else `<|endoftext|>` or `</s>` when present, else -1.
//
// # The Split regex: scanner or regexp2
//
// Qwen2's split regex uses a lookahead (`\s+(?!\S)`), so Go's `regexp` cannot run it.
// Any pattern runs through `github.com/dlclark/regexp2/v2` (backtracking with
// lookaround, like tokenizers' Oniguruma). For the three patterns that matter —
// Qwen2/2.5/3, Llama 3 (`\p{N}{1,3}`) and GPT-2 (ByteLevel `use_regex`) — a
// hand-written scanner (`pretok.go`) is used instead. `FuzzScannerMatchesRegexp2`
// checks that each scanner cuts any valid UTF-8 text exactly as regexp2 does
// (700k executions clean at the time of writing), and encoding with the scanner was
// about 4x faster than with regexp2 (docs/bench/tokenizer.md).
//
// # Character tokenizer
//
// `NewChar(alphabet, specials)` builds a tokenizer for synthetic tasks: specials get
// ids 0..k-1 (matched as whole tokens: `<|endoftext|>`, `<|im_start|>`,
// `<|im_end|>`, `</thought>`), then one id per rune of the alphabet. It is not a
// separate implementation: `NewChar` writes a standard `tokenizer.json` (a BPE
// model with an empty merge list, no normalizer or pre-tokenizer, a `Fuse`
// decoder) and parses it with the same code. `Save(dir)` writes that file and a
// minimal `tokenizer_config.json` (`PreTrainedTokenizerFast`, `eos_token`), so a
// from-scratch checkpoint folder (`config.json` + `model.safetensors` from
// `trainer/model`, plus these two files) loads in `transformers` with
// `AutoTokenizer`/`AutoModelForCausalLM`. Characters outside the alphabet are
// dropped (or become `<unk>` when it is a special), as tokenizers does;
// `CheckCoverage(text)` reports them so datasets can be checked up front.
//
// # How it is checked
//
//   - `TestQwen2Golden`: `testdata/hf/qwen2-tiny/tokenizer_golden.json`, ids and
//     decoded text, exactly.
//   - `TestCrossCheckHF`: 520 probes (hand-written edge cases — contractions in any case,
//     `ſ`, NBSP, NEL, U+2028, combining accents that NFC composes, emoji, partial special
//     tokens — and seeded random strings) encoded and decoded by Hugging Face
//     `tokenizers` 0.23.2 (the version that made the reference data) through its Node
//     binding, for qwen2-tiny and for the committed character `tokenizer.json`; all match
//     exactly. `testdata/hf_crosscheck.js` regenerates `testdata/hf_ids.json`; the command
//     is in its header. This also shows that the HF library loads our character
//     tokenizer file.
//   - `variants_test.go`: ByteLevel `add_prefix_space` (applied to each piece that
//     exists before the ByteLevel step, then its own regex splits: the expected ids came
//     from tokenizers 0.23.2), `ignore_merges`, `normalized` added tokens, `unk_token`
//     with and without `fuse_unk`.
//   - `FuzzEncodeRoundTrip` (Decode∘Encode = NFC for byte-level BPE; ids in range, no
//     panic on invalid UTF-8), `FuzzParse` (no panic on any tokenizer.json),
//     `FuzzScannerMatchesRegexp2`.
package tokenizer
