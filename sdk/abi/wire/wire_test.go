package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func intp(n int) *int { return &n }

var verifyRequests = []abi.VerifyRequest{
	{},
	{Task: abi.Task{ID: "t1", Prompt: "What is 1+1?", Answer: json.RawMessage(`"2"`)}, Response: `so \boxed{2}.`},
	{Task: abi.Task{ID: "é\u2028\x01\"\\", Answer: json.RawMessage(`{"a":[1,2.5,null,true]}`), Meta: json.RawMessage(`[]`)},
		Response: "line\nnext\t\"quoted\" \U0001F600", Steps: []abi.Span{{Start: 0, End: 4}, {Start: 5, End: 9}}},
}

func TestVerifyRequestMatchesEncodingJSON(t *testing.T) {
	for i, r := range verifyRequests {
		b := AppendVerifyRequest(nil, &r)
		var std abi.VerifyRequest
		require.NoError(t, json.Unmarshal(b, &std), "case %d: %s", i, b)
		var got abi.VerifyRequest
		require.NoError(t, DecodeVerifyRequest(b, &got))
		require.Equal(t, std, got, "case %d", i)
		// And our decoder reads encoding/json's output.
		sb, err := json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, DecodeVerifyRequest(sb, &got))
		require.Equal(t, std, got, "case %d", i)
	}
}

func TestVerdictRoundTrip(t *testing.T) {
	for _, v := range []abi.Verdict{
		{Score: 1, Status: abi.StatusOK},
		{Score: 0.25, Status: abi.StatusOK, StepCorrect: []bool{true, false}, FirstError: intp(2), Detail: "got 3"},
		{Status: abi.StatusAbstain, FirstError: intp(0), Plugin: "p", SHA256: "ab"},
		{Score: 1e-300, Status: abi.StatusOK},
	} {
		b := AppendVerdict(nil, &v)
		var std, got abi.Verdict
		require.NoError(t, json.Unmarshal(b, &std), "%s", b)
		require.NoError(t, DecodeVerdict(b, &got))
		require.Equal(t, std, got)
		require.Equal(t, v, got)
	}
}

func TestDecodeVerdictForms(t *testing.T) {
	tests := []struct {
		name, in string
		want     abi.Verdict
		err      string
		guest    bool
	}{
		{"whitespace and order", " {\n\"status\" : \"ok\" ,\t\"score\":1.0E0 } ", abi.Verdict{Score: 1, Status: "ok"}, "", false},
		{"unknown keys skipped", `{"x":{"y":[1,{"z":null}]},"score":0.5,"status":"ok"}`, abi.Verdict{Score: 0.5, Status: "ok"}, "", false},
		{"nulls", `{"score":null,"status":null,"first_error":null,"step_correct":null}`, abi.Verdict{}, "", false},
		{"guest error", `{"error":"no boxed answer"}`, abi.Verdict{}, "no boxed answer", true},
		{"empty error is no error", `{"error":"","score":1}`, abi.Verdict{Score: 1}, "", false},
		{"top-level null", `null`, abi.Verdict{}, "want a JSON object", false},
		{"array", `[1]`, abi.Verdict{}, "want '{'", false},
		{"truncated", `{"score":1`, abi.Verdict{}, "end of input", false},
		{"trailing garbage", `{"score":1} x`, abi.Verdict{}, "after the top-level value", false},
		{"bad number", `{"score":01}`, abi.Verdict{}, "want ','", false},
		{"bad literal", `{"score":nul}`, abi.Verdict{}, "invalid literal", false},
		{"control char", "{\"detail\":\"a\x01\"}", abi.Verdict{}, "control character", false},
		{"deep nesting", `{"x":` + repeat("[", 100) + repeat("]", 100) + `}`, abi.Verdict{}, "nesting deeper", false},
		{"empty", ``, abi.Verdict{}, "end of input", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v abi.Verdict
			err := DecodeVerdict([]byte(tt.in), &v)
			if tt.err == "" {
				require.NoError(t, err)
				require.Equal(t, tt.want, v)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.err)
			_, isGuest := err.(GuestError)
			require.Equal(t, tt.guest, isGuest)
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestStringEscapes(t *testing.T) {
	for _, in := range []string{`"\u00e9\ud83d\ude00\n\/"`, `"\ud800x"`, `"\udc00\ud800"`, "\"\xff\xfe\"", `"\u2028"`} {
		var std string
		require.NoError(t, json.Unmarshal([]byte(in), &std), in)
		s := scanner{b: []byte(in)}
		got := s.str()
		require.NoError(t, s.end())
		require.Equal(t, std, got, in)
		// Encoding then decoding is the identity on valid UTF-8.
		s = scanner{b: AppendString(nil, got)}
		require.Equal(t, got, s.str())
	}
}

func TestOtherMessagesRoundTrip(t *testing.T) {
	seg := abi.SegmentRequest{Response: "a</thought>b"}
	var gotSeg abi.SegmentRequest
	require.NoError(t, DecodeSegmentRequest(AppendSegmentRequest(nil, &seg), &gotSeg))
	require.Equal(t, seg, gotSeg)

	spans := []abi.Span{{Start: 0, End: 11}, {Start: 11, End: 12}}
	gotSpans, err := DecodeSpans(AppendSpans(nil, spans), nil)
	require.NoError(t, err)
	require.Equal(t, spans, gotSpans)
	gotSpans, err = DecodeSpans([]byte(`{"spans":[]}`), nil)
	require.NoError(t, err)
	require.Empty(t, gotSpans)
	_, err = DecodeSpans([]byte(`{}`), nil)
	require.ErrorContains(t, err, `no "spans"`)

	reqs := []abi.ScoreRequest{{Task: abi.Task{ID: "a", Answer: json.RawMessage(`1`)}, Response: "x"}, {Response: "y"}}
	gotReqs, err := DecodeScoreRequests(AppendScoreRequests(nil, reqs))
	require.NoError(t, err)
	require.Equal(t, reqs, gotReqs)
	scores := []float64{0, -1.5, 3e10, 0.1}
	gotScores, err := DecodeScores(AppendScores(nil, scores), nil)
	require.NoError(t, err)
	require.Equal(t, scores, gotScores)

	lr := abi.LocalizeRequest{Task: abi.Task{ID: "q"}, Response: "r", Steps: []abi.Span{{Start: 0, End: 1}},
		Verdict: &abi.Verdict{Status: "ok", FirstError: intp(1)}, Seed: math.MaxUint64}
	var gotLR abi.LocalizeRequest
	b := AppendLocalizeRequest(nil, &lr)
	require.NoError(t, DecodeLocalizeRequest(b, &gotLR))
	require.Equal(t, lr, gotLR)
	var stdLR abi.LocalizeRequest
	require.NoError(t, json.Unmarshal(b, &stdLR))
	require.Equal(t, stdLR, gotLR)

	// Step statistics (a minor addition): with and without entropies.
	h := 1.25
	lr.Steps = append(lr.Steps, abi.Span{Start: 1, End: 1})
	lr.StepStats = []abi.StepStats{{Tokens: 3, MeanLogProb: -0.5, MinLogProb: -2.25, MeanEntropy: &h}, {Tokens: 1, MeanLogProb: -0.125, MinLogProb: -0.125}}
	b = AppendLocalizeRequest(nil, &lr)
	require.Contains(t, string(b), `"step_stats":[{"tokens":3,"mean_logprob":-0.5,"min_logprob":-2.25,"mean_entropy":1.25},{"tokens":1,`)
	require.NoError(t, DecodeLocalizeRequest(b, &gotLR))
	require.Equal(t, lr, gotLR)
	stdLR = abi.LocalizeRequest{}
	require.NoError(t, json.Unmarshal(b, &stdLR))
	require.Equal(t, stdLR, gotLR)

	loc := abi.Localization{Step: 2, Confidence: 0.75, Fallback: "last-step-mention", Detail: "d"}
	var gotLoc abi.Localization
	require.NoError(t, DecodeLocalization(AppendLocalization(nil, &loc), &gotLoc))
	require.Equal(t, loc, gotLoc)

	var in Init
	require.NoError(t, DecodeInit(AppendInit(nil, "n", []byte(`{"k":[1]}`)), &in))
	require.Equal(t, Init{Name: "n", Options: []byte(`{"k":[1]}`)}, in)
	require.NoError(t, DecodeAck([]byte(`{}`)))
	require.EqualError(t, DecodeAck(AppendError(nil, "bad option")), "bad option")
}

// TestAliasedMatchesCopying checks that the aliased decoders give the same
// values as the copying ones, that escape-free strings really are views of
// the input, and that strings decoded into the arena stay intact while
// later strings of the same message are appended to it.
func TestAliasedMatchesCopying(t *testing.T) {
	var a Aliased
	for i, r := range verifyRequests {
		b := AppendVerifyRequest(nil, &r)
		var want, got abi.VerifyRequest
		require.NoError(t, DecodeVerifyRequest(b, &want))
		a.Arena = a.Arena[:0]
		require.NoError(t, a.DecodeVerifyRequest(b, &got))
		require.Equal(t, want, got, "case %d", i)

		var ws, gs abi.SegmentRequest
		sb := AppendSegmentRequest(nil, &abi.SegmentRequest{Response: r.Response})
		require.NoError(t, DecodeSegmentRequest(sb, &ws))
		a.Arena = a.Arena[:0]
		require.NoError(t, a.DecodeSegmentRequest(sb, &gs))
		require.Equal(t, ws, gs, "case %d", i)

		lr := abi.LocalizeRequest{Task: r.Task, Response: r.Response, Steps: r.Steps, Seed: 7}
		lb := AppendLocalizeRequest(nil, &lr)
		var wl, gl abi.LocalizeRequest
		require.NoError(t, DecodeLocalizeRequest(lb, &wl))
		a.Arena = a.Arena[:0]
		require.NoError(t, a.DecodeLocalizeRequest(lb, &gl))
		require.Equal(t, wl, gl, "case %d", i)
	}

	b := []byte(`{"task":{"id":"plain","prompt":"a\nb","answer":"7"},"response":"c\td"}`)
	a.Arena = make([]byte, 0, 1) // forces reallocation between the two escaped strings
	var got abi.VerifyRequest
	require.NoError(t, a.DecodeVerifyRequest(b, &got))
	require.Equal(t, "a\nb", got.Task.Prompt)
	require.Equal(t, "c\td", got.Response)
	b[bytes.Index(b, []byte("plain"))] = 'P' // a view sees the change: no copy was made
	require.Equal(t, "Plain", got.Task.ID)
	b[bytes.Index(b, []byte(`"7"`))+1] = '8'
	require.Equal(t, `"8"`, string(got.Task.Answer))
}

// TestDuplicateKeysAreErrors: a response that says two things is
// malformed, whichever a JSON reader would keep.
func TestDuplicateKeysAreErrors(t *testing.T) {
	var v abi.Verdict
	err := DecodeVerdict([]byte(`{"score":0,"status":"invalid","score":1,"status":"ok"}`), &v)
	require.ErrorContains(t, err, `duplicate key "score"`)
	var l abi.Localization
	require.ErrorContains(t, DecodeLocalization([]byte(`{"steps":[{"start":0,"end":1,"start":2}]}`), &l), "duplicate key")
	// Past the 16 keys compared in order, the rest go through a map.
	many := `{"a0":0,"a1":0,"a2":0,"a3":0,"a4":0,"a5":0,"a6":0,"a7":0,"a8":0,"a9":0,"b0":0,"b1":0,"b2":0,"b3":0,"b4":0,"b5":0,"c0":0,"c1":0,"c0":1}`
	require.ErrorContains(t, Valid([]byte(many)), `duplicate key "c0"`)
	require.ErrorContains(t, Valid([]byte(`{"a0":0,"a1":0,"a2":0,"a3":0,"a4":0,"a5":0,"a6":0,"a7":0,"a8":0,"a9":0,"b0":0,"b1":0,"b2":0,"b3":0,"b4":0,"b5":0,"c0":0,"a3":1}`)), `duplicate key "a3"`)
	require.ErrorContains(t, Valid([]byte(`{"x":{"k":1,"k":2}}`)), `duplicate key "k"`)
	require.NoError(t, Valid([]byte(`{"x":{"k":1},"y":{"k":2},"k":[{"k":1},{"k":2}]}`)))
	require.NoError(t, DecodeVerdict([]byte(`{"score":1,"status":"ok","detail":"fine"}`), &v))
}
