package wire

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// FuzzDecodeVerifyRequest is the guest side of the ABI: whatever the bytes,
// decoding never panics, and what decodes re-encodes to an equal value.
// Where the input is valid UTF-8 JSON that encoding/json accepts for the
// type, both decoders agree on the fields our encoder writes.
func FuzzDecodeVerifyRequest(f *testing.F) {
	for _, r := range verifyRequests {
		f.Add(AppendVerifyRequest(nil, &r))
	}
	f.Add([]byte(`{"task":{"id":"x","answer":{"a":"\u00e9"}},"response":"\ud83d\ude00","steps":[{"start":1,"end":2}],"extra":[[{}]]}`))
	f.Add([]byte(`{"task":null,"response":null,"steps":null}`))
	f.Add([]byte(`{"response":"\"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got abi.VerifyRequest
		if err := DecodeVerifyRequest(b, &got); err != nil {
			return
		}
		var again abi.VerifyRequest
		require.NoError(t, DecodeVerifyRequest(AppendVerifyRequest(nil, &got), &again))
		if len(got.Steps) == 0 { // the encoder omits empty steps
			got.Steps, again.Steps = nil, nil
		}
		require.Equal(t, got, again)
		var std abi.VerifyRequest
		if utf8.Valid(b) && json.Unmarshal(b, &std) == nil && caseExact(b) {
			require.Equal(t, std.Response, got.Response)
			require.Equal(t, std.Task.ID, got.Task.ID)
			require.Equal(t, len(std.Steps), len(got.Steps))
		}
	})
}

// caseExact reports whether every key spelled like a known key differs from
// it only in case (encoding/json matches keys case-insensitively, the ABI
// does not): we only compare inputs without such keys.
func caseExact(b []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for k := range m {
		switch k {
		case "task", "response", "steps":
		default:
			for _, known := range []string{"task", "response", "steps"} {
				if len(k) == len(known) && equalFold(k, known) {
					return false
				}
			}
		}
	}
	// Duplicate keys: encoding/json keeps the last, so do we; nested task
	// keys can differ in case too, so check them the same way.
	if raw, ok := m["task"]; ok {
		var tm map[string]json.RawMessage
		if json.Unmarshal(raw, &tm) == nil {
			for k := range tm {
				for _, known := range []string{"id", "prompt", "answer", "meta"} {
					if k != known && len(k) == len(known) && equalFold(k, known) {
						return false
					}
				}
			}
		}
	}
	return true
}

func equalFold(a, b string) bool {
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// FuzzDecodeVerdict is the host side: a guest's response bytes never panic
// the host, and a decoded verdict re-encodes to an equal one.
func FuzzDecodeVerdict(f *testing.F) {
	f.Add([]byte(`{"score":1,"status":"ok","detail":"2"}`))
	f.Add([]byte(`{"score":0.5,"status":"ok","step_correct":[true,false],"first_error":2}`))
	f.Add([]byte(`{"error":"boom"}`))
	f.Add([]byte(`{"score":1e999}`))
	f.Add([]byte(`{"first_error":99999999999999999999}`))
	f.Add([]byte("{\"detail\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v abi.Verdict
		if err := DecodeVerdict(b, &v); err != nil {
			return
		}
		var again abi.Verdict
		require.NoError(t, DecodeVerdict(AppendVerdict(nil, &v), &again))
		if len(v.StepCorrect) == 0 {
			v.StepCorrect, again.StepCorrect = nil, nil
		}
		require.Equal(t, v, again)
	})
}

// FuzzDecodeLocalizeRequest: whatever the bytes, decoding a localize
// request never panics, and what decodes re-encodes to the same steps,
// seed and step statistics (step_stats is the minor addition of ABI 1 that
// localizer guests read).
func FuzzDecodeLocalizeRequest(f *testing.F) {
	h := 0.75
	f.Add(AppendLocalizeRequest(nil, &abi.LocalizeRequest{Response: "ab", Steps: []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}}, Seed: 3,
		StepStats: []abi.StepStats{{Tokens: 2, MeanLogProb: -0.5, MinLogProb: -1e-05, MeanEntropy: &h}, {Tokens: 0}}}))
	f.Add([]byte(`{"steps":[{"start":0,"end":1}],"step_stats":[{"tokens":1,"mean_entropy":null,"x":[{}]}],"seed":18446744073709551615}`))
	f.Add([]byte(`{"step_stats":null,"steps":null}`))
	f.Add([]byte(`{"step_stats":[{"min_logprob":-1e400}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got abi.LocalizeRequest
		if err := DecodeLocalizeRequest(b, &got); err != nil {
			return
		}
		var again abi.LocalizeRequest
		require.NoError(t, DecodeLocalizeRequest(AppendLocalizeRequest(nil, &got), &again))
		if len(got.Steps) == 0 { // the encoder writes an empty list for none
			got.Steps, again.Steps = nil, nil
		}
		if len(got.StepStats) == 0 { // and omits empty statistics
			got.StepStats, again.StepStats = nil, nil
		}
		require.Equal(t, got.Steps, again.Steps)
		require.Equal(t, got.Seed, again.Seed)
		require.Equal(t, got.StepStats, again.StepStats)
		require.Equal(t, got.Response, again.Response)
	})
}
