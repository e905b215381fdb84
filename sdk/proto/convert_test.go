package pluginpb

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// roundTrip sends m through its binary wire encoding, as gRPC would.
func roundTrip[T proto.Message](t *testing.T, m T, into T) T {
	t.Helper()
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, proto.Unmarshal(b, into))
	return into
}

func TestConvertRoundTrip(t *testing.T) {
	fe := 2
	zero := 0
	task := abi.Task{ID: "t1", Prompt: "2+2?", Answer: json.RawMessage(`"4"`), Meta: json.RawMessage(`{"k":1}`)}
	t.Run("verify request", func(t *testing.T) {
		in := &abi.VerifyRequest{Task: task, Response: "it is \\boxed{4}", Steps: []abi.Span{{Start: 0, End: 3}, {Start: 4, End: 15}}}
		got := ToVerifyRequest(roundTrip(t, FromVerifyRequest(in), &VerifyRequest{}))
		require.Equal(t, in, got)
	})
	t.Run("verify request without answer or steps", func(t *testing.T) {
		in := &abi.VerifyRequest{Task: abi.Task{ID: "x"}, Response: ""}
		got := ToVerifyRequest(roundTrip(t, FromVerifyRequest(in), &VerifyRequest{}))
		require.Equal(t, in, got)
		b, err := json.Marshal(got.Task)
		require.NoError(t, err)
		require.JSONEq(t, `{"id":"x","prompt":""}`, string(b))
	})
	for name, v := range map[string]abi.Verdict{
		"first error set":  {Score: 1, Status: abi.StatusOK, StepCorrect: []bool{true, false}, FirstError: &fe, Detail: "4"},
		"first error zero": {Score: 0.5, Status: abi.StatusOK, FirstError: &zero},
		"not reported":     {Status: abi.StatusAbstain},
	} {
		t.Run("verdict "+name, func(t *testing.T) {
			got := ToVerdict(roundTrip(t, FromVerdict(&v), &Verdict{}))
			require.Equal(t, v, got)
		})
	}
	t.Run("score batch", func(t *testing.T) {
		in := []abi.ScoreRequest{{Task: task, Response: "a"}, {Task: abi.Task{ID: "2"}, Response: "b"}}
		got := ToScoreRequests(roundTrip(t, FromScoreRequests(in), &ScoreBatch{}))
		require.Equal(t, in, got)
	})
	t.Run("localize request", func(t *testing.T) {
		v := abi.Verdict{Status: abi.StatusOK, FirstError: &fe}
		in := &abi.LocalizeRequest{Task: task, Response: "ab", Steps: []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}}, Verdict: &v, Seed: 1 << 63}
		got := ToLocalizeRequest(roundTrip(t, FromLocalizeRequest(in), &LocalizeRequest{}))
		require.Equal(t, in, got)
		// Step statistics: an entropy of 0 stays set, a missing one stays nil.
		h := 0.0
		in.StepStats = []abi.StepStats{{Tokens: 2, MeanLogProb: -0.5, MinLogProb: -1, MeanEntropy: &h}, {Tokens: 1, MeanLogProb: -0.25, MinLogProb: -0.25}}
		got = ToLocalizeRequest(roundTrip(t, FromLocalizeRequest(in), &LocalizeRequest{}))
		require.Equal(t, in, got)
	})
	t.Run("localization", func(t *testing.T) {
		in := abi.Localization{Step: 3, Confidence: 0.25, Fallback: "last-step-mention", Detail: "d"}
		got := ToLocalization(roundTrip(t, FromLocalization(&in), &Localization{}))
		require.Equal(t, in, got)
	})
	t.Run("manifest", func(t *testing.T) {
		in := abi.Manifest{ABI: 1, Kind: abi.KindVerifier, Name: "exact", Version: "1.0.0",
			Capabilities: []string{"x"}, Limits: &abi.Limits{MemoryMiB: 64, TimeoutMillis: 100, MaxOutputKiB: 4}}
		got := ToManifest(roundTrip(t, FromManifest(&in), &Manifest{}))
		require.Equal(t, in, got)
	})
}
