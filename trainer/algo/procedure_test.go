package algo

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// outcomes reads "S" (correct), "F" (failed) and "U" (unusable verdict).
func outcomes(s string) []Outcome {
	var seq []Outcome
	for _, c := range s {
		switch c {
		case 'S':
			seq = append(seq, Outcome{Usable: true, Correct: true})
		case 'F':
			seq = append(seq, Outcome{Usable: true})
		case 'U':
			seq = append(seq, Outcome{})
		}
	}
	return seq
}

func span(a, b int) []int {
	var out []int
	for i := a; i < b; i++ {
		out = append(out, i)
	}
	return out
}

func TestSelect(t *testing.T) {
	mustProc := func(v Variant) Procedure {
		p, err := NewProcedure(v)
		require.NoError(t, err)
		require.NoError(t, p.Validate())
		return p
	}
	tests := []struct {
		name    string
		variant Variant
		seq     string
		want    Selection
	}{
		{"1x4 failure first", Variant1x4, "FSSSS", Selection{Stop: 5, Parents: []int{0}, Base: span(1, 5)}},
		{"1x4 failure fifth", Variant1x4, "SSSSF", Selection{Stop: 5, Parents: []int{4}, Base: span(0, 4)}},
		// A second failure after the parent is an ordinary base member.
		{"1x4 later failure joins base", Variant1x4, "SFSFSSS", Selection{Stop: 5, Parents: []int{1}, Base: []int{0, 2, 3, 4}}},
		{"1x4 all failures", Variant1x4, "FFFFF", Selection{Stop: 5, Parents: []int{0}, Base: span(1, 5)}},
		// Successes sampled after the base group is full while the parent
		// is still sought are extra: sampled, never trained.
		{"1x4 extras before late parent", Variant1x4, "SSSSSSF", Selection{Stop: 7, Parents: []int{6}, Base: span(0, 4), Extra: []int{4, 5}}},
		{"1x4 parent at twelfth", Variant1x4, "SSSSSSSSSSSF", Selection{Stop: 12, Parents: []int{11}, Base: span(0, 4), Extra: span(4, 11)}},
		{"1x4 no failure falls back to grpo of 8", Variant1x4, "SSSSSSSSSSSS", Selection{Stop: 12, GRPO: span(0, 8), Extra: span(8, 12)}},
		{"1x4 surplus after stop", Variant1x4, "SFSSSSSF", Selection{Stop: 5, Parents: []int{1}, Base: []int{0, 2, 3, 4}}},
		// Unusable verdicts cannot be parents but take base slots.
		{"1x4 unusable fills base", Variant1x4, "USSSF", Selection{Stop: 5, Parents: []int{4}, Base: span(0, 4)}},
		{"1x4 all unusable", Variant1x4, strings.Repeat("U", 12), Selection{Stop: 12, GRPO: span(0, 8), Extra: span(8, 12)}},
		{"2x4 two parents", Variant2x4, "FSF", Selection{Stop: 3, Parents: []int{0, 2}, Extra: []int{1}}},
		{"2x4 adjacent parents", Variant2x4, "FFSS", Selection{Stop: 2, Parents: []int{0, 1}}},
		// One parent in 12: its reset group plus a base group of 4 keeps
		// the budget at 8.
		{"2x4 one parent", Variant2x4, "SSSFSSSSSSSS", Selection{Stop: 12, Parents: []int{3}, Base: []int{0, 1, 2, 4}, Extra: span(5, 12)}},
		{"2x4 no parent", Variant2x4, strings.Repeat("S", 12), Selection{Stop: 12, GRPO: span(0, 8), Extra: span(8, 12)}},
		{"1x8 parent third", Variant1x8, "SSF", Selection{Stop: 3, Parents: []int{2}, Extra: []int{0, 1}}},
		{"1x8 parent first", Variant1x8, "FS", Selection{Stop: 1, Parents: []int{0}}},
		{"1x8 no parent", Variant1x8, strings.Repeat("S", 12), Selection{Stop: 12, GRPO: span(0, 8), Extra: span(8, 12)}},
		{"grpo", VariantGRPO, "SFSFSFSF", Selection{Stop: 8, GRPO: span(0, 8)}},
		{"grpo surplus", VariantGRPO, "SFSFSFSFSS", Selection{Stop: 8, GRPO: span(0, 8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustProc(tc.variant).Select(outcomes(tc.seq))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSelectNotStopped(t *testing.T) {
	p, err := NewProcedure(Variant1x4)
	require.NoError(t, err)
	_, err = p.Select(outcomes("SSSSSS"))
	require.ErrorContains(t, err, "has not stopped after 6 samples")
	_, err = p.Select(nil)
	require.Error(t, err)
}

func TestNeed(t *testing.T) {
	tests := []struct {
		variant Variant
		seq     string
		want    int
	}{
		{Variant1x4, "", 5},
		{Variant1x4, "SS", 3},
		{Variant1x4, "FS", 3},
		{Variant1x4, "SSSSS", 1},
		{Variant1x4, "SSSSSSSSSSS", 1},
		{Variant1x4, "SSSSF", 0},
		{Variant1x4, strings.Repeat("S", 12), 0},
		{Variant2x4, "", 2},
		{Variant2x4, "SF", 1},
		{Variant1x8, "", 1},
		{VariantGRPO, "", 8},
		{VariantGRPO, "SSS", 5},
	}
	for _, tc := range tests {
		t.Run(string(tc.variant)+"/"+tc.seq, func(t *testing.T) {
			p, err := NewProcedure(tc.variant)
			require.NoError(t, err)
			require.Equal(t, tc.want, p.Need(outcomes(tc.seq)))
		})
	}
}

// TestNeedNeverOvershoots checks on every sequence of length <= 8 over
// {S, F, U} that sampling Need(seq) more never passes the stop point: the
// rollout may size a round by Need without creating surplus.
func TestNeedNeverOvershoots(t *testing.T) {
	for _, v := range Variants() {
		p, err := NewProcedure(v)
		require.NoError(t, err)
		// Need(seq) = n >= 2 must imply that no one-sample extension
		// stops and that each needs at least n-1 more: by induction no
		// extension shorter than n stops.
		var walk func(seq string)
		walk = func(seq string) {
			need := p.Need(outcomes(seq))
			for _, c := range []string{"S", "F", "U"} {
				next := seq + c
				if need >= 2 {
					_, ok := p.Stop(outcomes(next))
					require.False(t, ok, "%s: %q stops although Need(%q) = %d", v, next, seq, need)
					require.GreaterOrEqual(t, p.Need(outcomes(next)), need-1, "%s: %q", v, next)
				}
				if need > 0 && len(next) < 9 {
					walk(next)
				}
			}
		}
		walk("")
	}
}

func TestProcedureValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Procedure
		want []string
	}{
		{"negative", Procedure{Parents: -1, BaseSize: -1, MaxFresh: 8, GroupSize: 8}, []string{"parents = -1", "base_size = -1"}},
		{"no reset size", Procedure{Parents: 1, BaseSize: 4, MaxFresh: 12, GroupSize: 8}, []string{"reset_size = 0"}},
		{"grpo max fresh", Procedure{MaxFresh: 12, GroupSize: 8}, []string{"must equal group_size"}},
		{"fallback cannot fill", Procedure{Parents: 1, BaseSize: 4, ResetSize: 4, MaxFresh: 6, GroupSize: 8}, []string{"max_fresh = 6: must be >= group_size"}},
		{"2x4 fallback cannot fill", Procedure{Parents: 2, ResetSize: 8, MaxFresh: 8, GroupSize: 8}, []string{"too small for 1 parent(s) and a base group of 8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
	_, err := NewProcedure("3x3")
	require.ErrorContains(t, err, `unknown variant "3x3"`)
}
