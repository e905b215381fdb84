package guest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/abi/wire"
)

// reset clears the registration so tests can register again.
func reset() {
	kind, info = "", Info{}
	verifyFn, scoreFn, segmentFn, localizeFn, initFn = nil, nil, nil, nil, nil
}

func TestHandleVerify(t *testing.T) {
	reset()
	var seen []string
	Verifier(Info{Name: "echo", Version: "2.0.0"}, func(req *abi.VerifyRequest) abi.Verdict {
		seen = append(seen, req.Response)
		switch req.Response {
		case "panic":
			panic("boom")
		case "bad":
			return abi.Verdict{Score: 2, Status: abi.StatusOK}
		}
		return abi.Verdict{Score: 1, Status: abi.StatusOK, Detail: req.Task.ID + ":" + req.Response, StepCorrect: make([]bool, len(req.Steps))}
	})
	call := func(req *abi.VerifyRequest) (abi.Verdict, error) {
		var v abi.Verdict
		err := wire.DecodeVerdict(Handle("verify", wire.AppendVerifyRequest(nil, req)), &v)
		return v, err
	}
	v, err := call(&abi.VerifyRequest{Task: abi.Task{ID: "t"}, Response: "line\n\\boxed{1}", Steps: []abi.Span{{Start: 0, End: 4}}})
	require.NoError(t, err)
	require.Equal(t, abi.Verdict{Score: 1, Status: abi.StatusOK, Detail: "t:line\n\\boxed{1}", StepCorrect: []bool{false}}, v)

	_, err = call(&abi.VerifyRequest{Response: "panic"})
	var ge wire.GuestError
	require.True(t, errors.As(err, &ge), "%v", err)
	require.Contains(t, err.Error(), "panic: boom")

	// The guest passes a broken verdict through: the host's registry
	// judges it (malformed), the same rule for every transport.
	v, err = call(&abi.VerifyRequest{Response: "bad"})
	require.NoError(t, err)
	require.Equal(t, abi.Verdict{Score: 2, Status: abi.StatusOK}, v)

	err = wire.DecodeAck(Handle("verify", []byte(`{"response":`)))
	require.ErrorContains(t, err, "decoding the verify request")

	// The module is a verifier: other entries answer an error.
	_, err = wire.DecodeScores(Handle("score", []byte(`{"requests":[]}`)), nil)
	require.ErrorContains(t, err, "this module is a verifier, not a reward_model")

	var m abi.Manifest
	require.NoError(t, json.Unmarshal(Handle("manifest", nil), &m))
	require.Equal(t, abi.Manifest{ABI: abi.Version, Kind: abi.KindVerifier, Name: "echo", Version: "2.0.0"}, m)
}

// TestRequestStringsAliasTheBuffer documents the SDK's contract: request
// strings are views of the request buffer, valid until the next call.
func TestRequestStringsAliasTheBuffer(t *testing.T) {
	reset()
	var kept string
	Verifier(Info{Name: "keeper"}, func(req *abi.VerifyRequest) abi.Verdict {
		kept = req.Response
		return abi.Verdict{Status: abi.StatusOK}
	})
	buf := wire.AppendVerifyRequest(nil, &abi.VerifyRequest{Response: "first"})
	Handle("verify", buf)
	require.Equal(t, "first", kept)
	copy(buf[len(buf)-len(`first"}`):], "FIRST")
	require.Equal(t, "FIRST", kept, "a kept string changes with the buffer: plugins must strings.Clone what they keep")
}

func TestHandleInit(t *testing.T) {
	reset()
	Segmenter(Info{Name: "seg"}, func(req *abi.SegmentRequest) ([]abi.Span, error) {
		return []abi.Span{{Start: 0, End: len(req.Response)}}, nil
	})
	require.JSONEq(t, `{}`, string(Handle("init", wire.AppendInit(nil, "seg", nil))))
	require.Contains(t, string(Handle("init", wire.AppendInit(nil, "seg", []byte(`{"k":1}`)))), `takes no options`)

	var gotName, gotOpts string
	Init(func(name string, options []byte) error {
		gotName, gotOpts = name, string(options)
		if gotOpts == `{"k":2}` {
			return errors.New("k must be 1")
		}
		return nil
	})
	require.JSONEq(t, `{}`, string(Handle("init", wire.AppendInit(nil, "mine", []byte(`{"k":1}`)))))
	require.Equal(t, "mine", gotName)
	require.JSONEq(t, `{"k":1}`, gotOpts)
	require.Contains(t, string(Handle("init", wire.AppendInit(nil, "mine", []byte(`{"k":2}`)))), "k must be 1")

	spans, err := wire.DecodeSpans(Handle("segment", wire.AppendSegmentRequest(nil, &abi.SegmentRequest{Response: "abc"})), nil)
	require.NoError(t, err)
	require.Equal(t, []abi.Span{{Start: 0, End: 3}}, spans)
}

func TestHandleScoreAndLocalize(t *testing.T) {
	reset()
	RewardModel(Info{Name: "len"}, func(reqs []abi.ScoreRequest) ([]float64, error) {
		out := make([]float64, len(reqs))
		for i, r := range reqs {
			out[i] = float64(len(r.Response))
		}
		return out, nil
	})
	scores, err := wire.DecodeScores(Handle("score", wire.AppendScoreRequests(nil, []abi.ScoreRequest{{Response: "ab"}, {Response: "abcd"}})), nil)
	require.NoError(t, err)
	require.Equal(t, []float64{2, 4}, scores)

	reset()
	Localizer(Info{Name: "last"}, func(req *abi.LocalizeRequest) (abi.Localization, error) {
		return abi.Localization{Step: len(req.Steps), Confidence: 0.5}, nil
	})
	var l abi.Localization
	req := &abi.LocalizeRequest{Response: "ab", Steps: []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}}}
	require.NoError(t, wire.DecodeLocalization(Handle("localize", wire.AppendLocalizeRequest(nil, req)), &l))
	require.Equal(t, abi.Localization{Step: 2, Confidence: 0.5}, l)

	require.Panics(t, func() { Verifier(Info{Name: "second"}, nil) }, "a module registers one plugin")
}
