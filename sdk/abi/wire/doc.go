// Package wire encodes and decodes the JSON messages of the Rewind Wasm ABI
// (../../ABI.md) without reflection, for both sides: the host encodes
// requests and decodes responses, the Go guest SDK does the reverse.
//
// The encoders write what encoding/json would write for the same abi
// values, up to key order, number spelling and the escaping of <, > and &.
// The decoders accept any JSON that encoding/json accepts for these types,
// with three documented differences: keys match exactly (case-sensitive),
// a key repeated in one object is an error (encoding/json keeps the last,
// other readers the first; sdk/ABI.md makes such a message malformed), and
// nesting of skipped values is limited to 64 levels. They validate the
// whole message and never panic on malformed input (fuzzed in the tests).
//
// Why not encoding/json: a Go guest that decoded its request with
// encoding/json spent about 90% of a verifier call in reflection; see
// docs/bench/plugins.md.
//
// Decoders reuse the caller's slices where they say so; their strings are
// copies, so nothing aliases the input after a call returns. The Aliased
// decoders are the exception, for the guest's hot path: their strings are
// views of the input.
package wire
