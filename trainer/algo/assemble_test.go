package algo

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

func traj(c rune) Trajectory {
	t := Trajectory{Parent: -1, Status: abi.StatusOK}
	switch c {
	case 'S':
		t.Correct, t.Reward = true, 1
	case 'U':
		t.Status = abi.StatusTimeout
	}
	return t
}

// mkPrompt builds a prompt whose fresh trajectories follow fresh and
// whose j-th failure (in sampling order) gets reset trajectories
// following resets[j]. Every trajectory has 10 tokens; reset ones have a
// prefix of 3.
func mkPrompt(fresh string, resets ...string) *Prompt {
	p := &Prompt{Index: 0, TaskID: "t", PromptIDs: []int{7, 8}}
	var fails []int
	for i, c := range fresh {
		tr := traj(c)
		tr.Origin, tr.Index = OriginFresh, i
		if c == 'F' {
			fails = append(fails, i)
		}
		p.Trajs = append(p.Trajs, tr)
	}
	for j, rs := range resets {
		for i, c := range rs {
			tr := traj(c)
			tr.Origin, tr.Index, tr.Parent, tr.ResetStep, tr.PrefixLen = OriginReset, i, fails[j], 2, 3
			p.Trajs = append(p.Trajs, tr)
		}
	}
	for i := range p.Trajs {
		p.Trajs[i].Tokens = make([]int, 10)
		p.Trajs[i].LogProbs = make([]float32, 10)
		for k := range 10 {
			p.Trajs[i].Tokens[k] = 100 + k
			p.Trajs[i].LogProbs[k] = -float32(k) / 10
		}
	}
	return p
}

func roles(p *Prompt) string {
	s := ""
	for _, t := range p.Trajs {
		switch t.Role {
		case RoleTrain:
			s += "T"
		case RoleParent:
			s += "P"
		case RoleExtra:
			s += "E"
		case RoleSurplus:
			s += "+"
		case RoleDropped:
			s += "D"
		case RoleSkipped:
			s += "K"
		}
	}
	return s
}

func advs(p *Prompt) []float64 {
	out := make([]float64, len(p.Trajs))
	for i, t := range p.Trajs {
		out[i] = t.Advantage
	}
	return out
}

var (
	sqrt3   = math.Sqrt(3)
	isqrt3  = 1 / math.Sqrt(3)
	sqrt2   = math.Sqrt(2)
	isqrt2  = 1 / math.Sqrt(2)
	tolerAD = 1e-12
)

func TestAssemble(t *testing.T) {
	tests := []struct {
		name    string
		variant Variant
		cfg     func(Config) Config
		prompt  *Prompt
		roles   string
		advs    []float64
		kinds   []Kind
		// masks lists [start, end) of each trajectory.
		masks [][2]int
	}{
		{
			// Base rewards 1,1,1,1: std 0, A 0. Reset 1,0,0,0: mean 1/4,
			// std sqrt(3)/4, A = 3/4 / (sqrt3/4) = sqrt3 and -1/sqrt3.
			name: "1x4 zero-var base, reset 1000", variant: Variant1x4,
			prompt: mkPrompt("SFSSS", "SFFF"),
			roles:  "TPTTTTTTT",
			advs:   []float64{0, 0, 0, 0, 0, sqrt3, -isqrt3, -isqrt3, -isqrt3},
			kinds:  []Kind{KindBase, KindReset},
			masks:  [][2]int{{0, 10}, {0, 0}, {0, 10}, {0, 10}, {0, 10}, {3, 10}, {3, 10}, {3, 10}, {3, 10}},
		},
		{
			// Base 1,0,1,0 (the later failure is a base member): A = +-1.
			name: "1x4 base with second failure", variant: Variant1x4,
			prompt: mkPrompt("SFFSFS", "SSFF"),
			roles:  "TPTTT+TTTT",
			advs:   []float64{1, 0, -1, 1, -1, 0, 1, 1, -1, -1},
			kinds:  []Kind{KindBase, KindReset},
		},
		{
			name: "1x4 extras are not trained", variant: Variant1x4,
			prompt: mkPrompt("SSSSSSF", "SSSS"),
			roles:  "TTTTEEPTTTT",
			advs:   make([]float64, 11),
		},
		{
			// No failure in 12: first 8 form a GRPO group; with rewards all
			// 1 the group has A = 0.
			name: "1x4 fallback grpo", variant: Variant1x4,
			prompt: mkPrompt("SSSSSSSSSSSS"),
			roles:  "TTTTTTTTEEEE",
			advs:   make([]float64, 12),
			kinds:  []Kind{KindGRPO},
		},
		{
			name: "no-std reset 1000", variant: Variant1x4,
			cfg:    func(c Config) Config { return c.DrGRPO() },
			prompt: mkPrompt("SFSSS", "SFFF"),
			roles:  "TPTTTTTTT",
			advs:   []float64{0, 0, 0, 0, 0, 0.75, -0.25, -0.25, -0.25},
		},
		{
			name: "no-mask", variant: Variant1x4,
			cfg:    func(c Config) Config { c.NoMask = true; return c },
			prompt: mkPrompt("FSSSS", "SFFF"),
			roles:  "PTTTTTTTT",
			masks:  [][2]int{{0, 0}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}, {0, 10}},
		},
		{
			name: "skip zero variance", variant: Variant1x4,
			cfg:    func(c Config) Config { c.SkipZeroVar = true; return c },
			prompt: mkPrompt("SFSSS", "SFFF"),
			roles:  "KPKKKTTTT",
			advs:   []float64{0, 0, 0, 0, 0, sqrt3, -isqrt3, -isqrt3, -isqrt3},
			masks:  [][2]int{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {3, 10}, {3, 10}, {3, 10}, {3, 10}},
		},
		{
			// Reset S,U,F,F: normalised over S,F,F: mean 1/3, std
			// sqrt(2)/3, A = sqrt2 and -1/sqrt2.
			name: "drop sample", variant: Variant1x4,
			prompt: mkPrompt("SFSFS", "SUFF"),
			roles:  "TPTTTTDTT",
			// Base 1,1,0,1: mean 3/4, std sqrt3/4: A = 1/sqrt3 and -sqrt3.
			advs: []float64{isqrt3, 0, isqrt3, -sqrt3, isqrt3, sqrt2, 0, -isqrt2, -isqrt2},
		},
		{
			name: "drop group", variant: Variant1x4,
			cfg:    func(c Config) Config { c.OnUnusable = FailDropGroup; return c },
			prompt: mkPrompt("SFSSU", "SFFF"),
			roles:  "DPDDDTTTT",
			advs:   []float64{0, 0, 0, 0, 0, sqrt3, -isqrt3, -isqrt3, -isqrt3},
		},
		{
			name: "all unusable group dropped", variant: Variant1x4,
			prompt: mkPrompt("FUUUU", "SFFF"),
			roles:  "PDDDDTTTT",
		},
		{
			name: "2x4", variant: Variant2x4,
			prompt: mkPrompt("SFSF", "SSFF", "SFFF"),
			roles:  "EPEPTTTTTTTT",
			advs:   []float64{0, 0, 0, 0, 1, 1, -1, -1, sqrt3, -isqrt3, -isqrt3, -isqrt3},
			kinds:  []Kind{KindReset, KindReset},
		},
		{
			name: "2x4 one parent", variant: Variant2x4,
			prompt: mkPrompt("SSSFSSSSSSSS", "SSFF"),
			roles:  "TTTPTEEEEEEETTTT",
			kinds:  []Kind{KindBase, KindReset},
		},
		{
			name: "1x8", variant: Variant1x8,
			prompt: mkPrompt("SF", "SFFFFFFF"),
			roles:  "EPTTTTTTTT",
			advs:   []float64{0, 0, sqrt7, -isqrt7, -isqrt7, -isqrt7, -isqrt7, -isqrt7, -isqrt7, -isqrt7},
			kinds:  []Kind{KindReset},
		},
		{
			name: "grpo", variant: VariantGRPO,
			prompt: mkPrompt("SFSFSFSF"),
			roles:  "TTTTTTTT",
			advs:   []float64{1, -1, 1, -1, 1, -1, 1, -1},
			kinds:  []Kind{KindGRPO},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proc, err := NewProcedure(tc.variant)
			require.NoError(t, err)
			cfg := DefaultConfig()
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			require.NoError(t, Assemble(tc.prompt, proc, cfg))
			require.Equal(t, tc.roles, roles(tc.prompt))
			if tc.advs != nil {
				require.InDeltaSlice(t, tc.advs, advs(tc.prompt), tolerAD)
			}
			if tc.kinds != nil {
				var kinds []Kind
				for _, g := range tc.prompt.Groups {
					kinds = append(kinds, g.Kind)
				}
				require.Equal(t, tc.kinds, kinds)
			}
			for i, m := range tc.masks {
				tr := tc.prompt.Trajs[i]
				require.Equal(t, m, [2]int{tr.MaskStart, tr.MaskEnd}, "trajectory %d", i)
			}
			// Invariants of docs/method.md: advantages of a trained group sum
			// to zero, parents are never trained.
			for _, g := range tc.prompt.Groups {
				var sum float64
				for _, ti := range g.Members {
					sum += tc.prompt.Trajs[ti].Advantage
					require.NotEqual(t, RoleParent, tc.prompt.Trajs[ti].Role)
				}
				require.InDelta(t, 0, sum, 1e-9)
			}
			// Idempotent.
			before := append([]Group(nil), tc.prompt.Groups...)
			require.NoError(t, Assemble(tc.prompt, proc, cfg))
			require.Equal(t, before, tc.prompt.Groups)
		})
	}
}

var (
	sqrt7  = math.Sqrt(7)
	isqrt7 = 1 / math.Sqrt(7)
)

func TestAssembleGroupStats(t *testing.T) {
	p := mkPrompt("SFSFS", "SUFF")
	proc, _ := NewProcedure(Variant1x4)
	require.NoError(t, Assemble(p, proc, DefaultConfig()))
	require.Len(t, p.Groups, 2)
	g := p.Groups[1]
	require.Equal(t, KindReset, g.Kind)
	require.Equal(t, 1, g.Parent)
	require.Equal(t, []int{5, 6, 7, 8}, g.Members)
	require.Equal(t, 3, g.Usable)
	require.InDelta(t, 1.0/3, g.Mean, 1e-12)
	require.InDelta(t, sqrt2/3, g.Std, 1e-12)
	require.True(t, g.Trained())
	for _, ti := range g.Members {
		require.Equal(t, 1, p.Trajs[ti].Group)
	}
}

func TestAssembleErrors(t *testing.T) {
	proc, _ := NewProcedure(Variant1x4)
	tests := []struct {
		name   string
		prompt func() *Prompt
		cfg    func(Config) Config
		want   string
	}{
		{"not stopped", func() *Prompt { return mkPrompt("SSSSS") }, nil, "has not stopped"},
		{"missing resets", func() *Prompt { return mkPrompt("SFSSS", "SF") }, nil, "has 2 reset trajectories, want 4"},
		{"out of order", func() *Prompt {
			p := mkPrompt("SFSSS", "SFFF")
			p.Trajs[2].Index = 7
			return p
		}, nil, "has index 7, want 2"},
		{"reset of non-parent", func() *Prompt {
			p := mkPrompt("SFSSS", "SFFF")
			p.Trajs = append(p.Trajs, Trajectory{Origin: OriginReset, Parent: 0, Status: abi.StatusOK})
			return p
		}, nil, "not a selected parent"},
		{"bad prefix", func() *Prompt {
			p := mkPrompt("SFSSS", "SFFF")
			p.Trajs[6].PrefixLen = 11
			return p
		}, nil, "prefix_len 11 outside its 10 tokens"},
		{"fail run", func() *Prompt { return mkPrompt("SFSSS", "SUFF") },
			func(c Config) Config { c.OnUnusable = FailRun; return c }, `status "timeout"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			err := Assemble(tc.prompt(), proc, cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
	err := Assemble(mkPrompt("SFSSS", "SUFF"), proc, Config{OnUnusable: FailRun})
	require.ErrorIs(t, err, ErrUnusable)
}
