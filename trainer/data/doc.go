// Package data reads and writes task datasets (JSONL), draws them in a
// reproducible order that can be saved and resumed exactly, and renders
// prompts with a plain or chat template.
//
// A dataset is JSONL, one task per line:
// `{"id": str, "prompt": str, "answer": <any JSON>, "meta": <optional object>}`.
//
//   - `ReadFile` validates every line and reports all problems at once (up to
//     `MaxErrors` = 20, then "... and N more errors") as `*data.Errors`, each
//     `file:line: field "x": problem`: missing or empty `id`/`prompt`, wrong JSON types,
//     a null or absent `answer`, a non-object `meta`, unknown keys (a typo such as
//     `promt` is an error: extra data belongs in `meta`), duplicate ids (naming the
//     first line), invalid UTF-8, several JSON values on one line. Blank lines and CRLF
//     endings are fine; lines may be up to 64 MiB. `Dataset.SHA256` is the file's
//     hash, which a resumed run compares with its checkpoint's. `Read` takes any
//     bytes without panicking: `FuzzRead` checks that what it accepts is valid and
//     writes back unchanged, and that what it refuses is reported by line (its seed
//     corpus runs in `go test`; fuzz with
//     `go test -run '^$' -fuzz FuzzRead -fuzztime 60s ./trainer/data`).
//   - `Example.Task()` gives the `abi.Task` that verifiers receive.
//   - `Sampler{Seed, N, Epoch, Pos}` draws indices epoch by epoch; epoch e is
//     `Permutation(N, Seed, e)`, a Fisher-Yates shuffle driven by PCG-DXSM written out
//     in the package (checked against math/rand/v2's PCG output, and the order is
//     pinned by a test) so the data order cannot change with the Go version. The
//     sampler is plain JSON: save it in a checkpoint and a resumed run draws exactly
//     what an uninterrupted one would. `Validate(n)` refuses a sampler saved for a
//     dataset of another size. A batch that reaches the end of an epoch continues
//     with the next epoch's permutation, so batch sizes stay constant.
//   - `Template{Kind, Format, System, AssistantPrefix}`: `plain` substitutes the prompt
//     into `Format` (`{prompt}` exactly once; default the prompt alone); `chat` writes
//     ChatML (`<|im_start|>system ... <|im_end|>` when `System` is set, the user turn,
//     then an open `<|im_start|>assistant\n`). `Kind` has no default (it depends on how
//     the model was trained); `Validate` reports every bad field. The caller tokenizes
//     the rendered text; the tokenizer matches the special tokens in it.
package data
