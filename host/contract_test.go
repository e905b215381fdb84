package host

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func TestCheckVerdict(t *testing.T) {
	ip := func(n int) *int { return &n }
	tests := []struct {
		name  string
		v     abi.Verdict
		steps int
		err   string // "" for valid
	}{
		{"ok", abi.Verdict{Status: abi.StatusOK, Score: 1, StepCorrect: []bool{true, false}, FirstError: ip(2)}, 2, ""},
		{"abstain may carry any finite score", abi.Verdict{Status: abi.StatusAbstain, Score: 7}, 0, ""},
		{"invalid", abi.Verdict{Status: abi.StatusInvalid}, 0, ""},
		{"empty status fails closed", abi.Verdict{Score: 1}, 0, "no status"},
		{"host status", abi.Verdict{Status: abi.StatusCrash}, 0, `"crash" is not one a plugin may report`},
		{"unknown status", abi.Verdict{Status: "OK"}, 0, `"OK" is not one`},
		{"score above 1", abi.Verdict{Status: abi.StatusOK, Score: 1.5}, 0, "outside [0, 1]"},
		{"score below 0", abi.Verdict{Status: abi.StatusOK, Score: -0.1}, 0, "outside [0, 1]"},
		{"NaN", abi.Verdict{Status: abi.StatusOK, Score: math.NaN()}, 0, "not finite"},
		{"NaN abstain", abi.Verdict{Status: abi.StatusAbstain, Score: math.NaN()}, 0, "not finite"},
		{"Inf", abi.Verdict{Status: abi.StatusInvalid, Score: math.Inf(-1)}, 0, "not finite"},
		{"step_correct short", abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{true}}, 2, "1 entries for 2 steps"},
		{"step_correct long", abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{true, true, true}}, 2, "3 entries for 2 steps"},
		{"step_correct empty for steps", abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{}}, 2, "0 entries for 2 steps"},
		{"first_error 0: no wrong step", abi.Verdict{Status: abi.StatusOK, FirstError: ip(0)}, 2, ""},
		{"first_error past steps", abi.Verdict{Status: abi.StatusOK, FirstError: ip(3)}, 2, "outside 0..2 (the request's steps)"},
		{"first_error negative", abi.Verdict{Status: abi.StatusOK, FirstError: ip(-1)}, 2, "negative"},
		{"own segmentation", abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{true, true, false}, FirstError: ip(3)}, 0, ""},
		{"own segmentation, first_error past it", abi.Verdict{Status: abi.StatusOK, StepCorrect: []bool{false}, FirstError: ip(2)}, 0, "outside 0..1 (the verdict's step_correct)"},
		{"own segmentation, first_error alone", abi.Verdict{Status: abi.StatusOK, FirstError: ip(9)}, 0, ""},
		{"own segmentation, first_error negative", abi.Verdict{Status: abi.StatusOK, FirstError: ip(-2)}, 0, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.v
			err := checkVerdict(&tt.v, tt.steps)
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tt.err)
			}
			require.Equal(t, before.Status, tt.v.Status, "the check must not rewrite the verdict")
		})
	}
}

func TestCheckOtherResults(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"scores ok", checkScores([]float64{-3, 7}, 2), ""},
		{"scores count", checkScores([]float64{1}, 2), "1 scores for 2 requests"},
		{"scores none for none", checkScores(nil, 0), ""},
		{"scores inf", checkScores([]float64{math.Inf(1)}, 1), "is +Inf"},
		{"scores NaN", checkScores([]float64{0, math.NaN()}, 2), "score 1 is NaN"},
		{"spans ok", checkSpans([]abi.Span{{Start: 0, End: 1}, {Start: 2, End: 4}}, 4), ""},
		{"spans adjacent", checkSpans([]abi.Span{{Start: 0, End: 2}, {Start: 2, End: 4}}, 4), ""},
		{"spans none", checkSpans(nil, 0), ""},
		{"spans overlap", checkSpans([]abi.Span{{Start: 0, End: 2}, {Start: 1, End: 4}}, 4), "span 1"},
		{"spans empty", checkSpans([]abi.Span{{Start: 1, End: 1}}, 4), "span 0"},
		{"spans reversed", checkSpans([]abi.Span{{Start: 3, End: 1}}, 4), "span 0"},
		{"spans negative", checkSpans([]abi.Span{{Start: -1, End: 1}}, 4), "span 0"},
		{"spans past end", checkSpans([]abi.Span{{Start: 0, End: 5}}, 4), "span 0"},
		{"localization ok", checkLocalization(&abi.Localization{Step: 2, Confidence: 0.5}, 2), ""},
		{"localization none found", checkLocalization(&abi.Localization{}, 2), ""},
		{"localization past steps", checkLocalization(&abi.Localization{Step: 3}, 2), "outside 0..2"},
		{"localization negative", checkLocalization(&abi.Localization{Step: -1}, 2), "outside 0..2"},
		{"localization confidence", checkLocalization(&abi.Localization{Step: 1, Confidence: 2}, 2), "confidence"},
		{"localization confidence NaN", checkLocalization(&abi.Localization{Step: 1, Confidence: math.NaN()}, 2), "confidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				require.NoError(t, tt.err)
			} else {
				require.ErrorContains(t, tt.err, tt.want)
			}
		})
	}
}

// TestPluginErrorSaysThingsOnce: a cause that already names its status,
// or the plugin and op, is not prefixed twice (issue 13: "malformed:
// malformed:", `plugin "x" load: crash: plugin "x" load: crash:`).
func TestPluginErrorSaysThingsOnce(t *testing.T) {
	inner := &PluginError{Plugin: "x", Op: "load", Status: abi.StatusCrash, Err: errors.New("exit status 3")}
	outer := &PluginError{Plugin: "x", Op: "load", Status: abi.StatusCrash, Err: inner}
	require.Equal(t, `plugin "x" load: crash: exit status 3`, outer.Error())
	wasmLike := &PluginError{Plugin: "bad", Op: "verify", Status: abi.StatusMalformed, Err: errors.New(`malformed: rewind_verify response "{": want a number`)}
	require.Equal(t, `plugin "bad" verify: malformed: rewind_verify response "{": want a number`, wasmLike.Error())
	require.ErrorIs(t, outer, ErrCrash)
}
