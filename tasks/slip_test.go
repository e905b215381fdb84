package tasks

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// TestSlipKinds checks each mistake kind on hand-computed cases: every
// value that the kind can produce, over many draws.
func TestSlipKinds(t *testing.T) {
	tests := []struct {
		name     string
		c        calc
		m        Mistake
		possible []int64 // nil: the kind does not apply
	}{
		// 47+385: carries out of the units (7+5=12) and tens (4+8+1=13).
		{"carry add", calc{opAdd, []int64{47, 385}, 432}, MistakeCarry, []int64{422, 332}},
		{"carry add none", calc{opAdd, []int64{12, 31}, 43}, MistakeCarry, nil},
		// 95+7+8: the units carry 2 (5+7+8=20), the tens carry 1 (9+2=11).
		{"carry multi-term", calc{opAdd, []int64{95, 7, 8}, 110}, MistakeCarry, []int64{90, 10}},
		// 347*6: 7*6=42 carry 4; 4*6+4=28 carry 2; 3*6+2=20 carry 2.
		{"carry mul", calc{opMul, []int64{347, 6, 0}, 2082}, MistakeCarry, []int64{2042, 1882, 82}},
		// 347*30 = (347*3)*10: 7*3=21 carry 2; 4*3+2=14 carry 1; 3*3+1=10 carry 1.
		{"carry mul shifted", calc{opMul, []int64{347, 3, 1}, 10410}, MistakeCarry, []int64{10210, 9410, 410}},
		{"carry negative term", calc{opAdd, []int64{-15, 7}, -8}, MistakeCarry, nil},
		{"digit", calc{opAdd, []int64{10, 9}, 19}, MistakeDigit, []int64{18, 29}},
		{"digit leading one", calc{opSub, []int64{20, 9}, 11}, MistakeDigit, []int64{10, 12, 21}},
		{"digit one", calc{opDiv, []int64{12, 12}, 1}, MistakeDigit, []int64{2}},
		{"digit negative", calc{opSub, []int64{19, 22}, -3}, MistakeDigit, []int64{-2, -4}},
		{"sign sub", calc{opSub, []int64{19, 7}, 12}, MistakeSign, []int64{26}},
		{"sign mul", calc{opMul, []int64{5, -3}, -15}, MistakeSign, []int64{15}},
		{"sign mul positive", calc{opMul, []int64{5, 3}, 15}, MistakeSign, nil},
		{"sign add", calc{opAdd, []int64{-15, 7}, -8}, MistakeSign, []int64{22}},
		{"sign add none", calc{opAdd, []int64{15, 7}, 22}, MistakeSign, nil},
		{"zero result", calc{opMul, []int64{347, 0, 1}, 0}, MistakeDigit, nil},
		// Moves on a clock of 10: 8+3=1; a digit slip lands on 0 or 2, a
		// sign slip walks 8-3=5; there is no carry to drop.
		{"digit clock", calc{opMod, []int64{8, 3, 10}, 1}, MistakeDigit, []int64{0, 2}},
		{"digit clock at 0", calc{opMod, []int64{1, -1, 10}, 0}, MistakeDigit, []int64{9, 1}},
		{"sign clock", calc{opMod, []int64{8, 3, 10}, 1}, MistakeSign, []int64{5}},
		{"sign clock backwards", calc{opMod, []int64{1, -2, 10}, 9}, MistakeSign, []int64{3}},
		{"carry clock", calc{opMod, []int64{8, 3, 10}, 1}, MistakeCarry, nil},
		// Swaps of 5 cups: (13) takes a ball at 3 to 1; a digit slip names
		// cup 2, a sign slip leaves it at 3. (24) leaves a ball at 5 there:
		// a digit slip names 4, a sign slip moves it to 2.
		{"digit swap", calc{opSwap, []int64{3, 1, 3, 5}, 1}, MistakeDigit, []int64{2}},
		{"digit swap still", calc{opSwap, []int64{3, 2, 4, 5}, 3}, MistakeDigit, []int64{2, 4}},
		{"sign swap", calc{opSwap, []int64{3, 1, 3, 5}, 1}, MistakeSign, []int64{3}},
		{"sign swap still", calc{opSwap, []int64{5, 2, 4, 5}, 5}, MistakeSign, []int64{2}},
		{"carry swap", calc{opSwap, []int64{3, 1, 3, 5}, 1}, MistakeCarry, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			seen := map[int64]bool{}
			for range 200 {
				v, ok := slip(r, tc.c, tc.m)
				if tc.possible == nil {
					require.False(t, ok)
					return
				}
				require.True(t, ok)
				require.Contains(t, tc.possible, v)
				seen[v] = true
			}
			require.Len(t, seen, len(tc.possible), "every possible slip should occur")
		})
	}
}

// TestMistakeDetectedAtStep injects each kind of mistake at each step of
// many tasks and checks that the verifier finds exactly that step, that
// earlier steps stay correct and that the final answer is wrong.
func TestMistakeDetectedAtStep(t *testing.T) {
	for _, family := range Families() {
		for d := MinDifficulty; d <= MaxDifficulty; d++ {
			ts, err := Generate(family, 30, 5, d)
			require.NoError(t, err)
			applied := map[Mistake]int{}
			for i, tk := range ts {
				p, err := decodeProblem(tk.Meta)
				require.NoError(t, err)
				n := len(p.solve(correct))
				for k := 1; k <= n; k++ {
					for _, m := range Mistakes() {
						r := rand.New(rand.NewPCG(uint64(i), uint64(k)))
						bodies, ok := solveWithSlip(p, r, k, m)
						if !ok {
							continue
						}
						applied[m]++
						resp := render(bodies)
						v := Verify(&abi.VerifyRequest{Task: tk, Response: resp})
						require.Equal(t, abi.StatusOK, v.Status)
						require.Equal(t, k, *v.FirstError, "%s %s at step %d: %s (%s)", tk.Prompt, m, k, resp, v.Detail)
						require.Equal(t, 0.0, v.Score, "a slip must make the answer wrong: %s", resp)
						for j := range k - 1 {
							require.True(t, v.StepCorrect[j])
						}
						checkConsistent(t, family, p, bodies, k)
					}
				}
			}
			require.Positive(t, applied[MistakeDigit], "%s d%d", family, d)
			switch family {
			case "sum", "mul":
				require.Positive(t, applied[MistakeCarry], "%s d%d", family, d)
			default:
				require.Positive(t, applied[MistakeSign], "%s d%d", family, d)
			}
		}
	}
}

var (
	addStep  = regexp.MustCompile(`^(-?\d+)((?:[+-]\d+)+)=(?:\\boxed\{)?(-?\d+)\}?$`)
	termRE   = regexp.MustCompile(`[+-]\d+`)
	mulStep  = regexp.MustCompile(`^(\d+)\*(\d+)=(\d+)$`)
	coefStep = regexp.MustCompile(`^(\d*)x-(\d*)x=(\d*)x$`)
	divStep  = regexp.MustCompile(`^x=(-?\d+)/(\d+)=\\boxed\{(-?\d+(?:/\d+)?)\}$`)
	expand   = regexp.MustCompile(`^(\d+)\(x([+-]\d+)\)=(\d*)x([+-]\d+)$`)
	cupsStep = regexp.MustCompile(`^(\d)\((\d)(\d)\)=(?:\\boxed\{)?(\d)\}?$`)
	walkStep = regexp.MustCompile(`^(\d)([+-]\d)=(?:\\boxed\{)?(\d)\}?$`)
)

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	switch s {
	case "":
		return 1 // the coefficient of a bare x
	}
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}

// sumOf evaluates "a+b-c=v" style steps: the terms and the claimed value.
func sumOf(t *testing.T, body string) (terms []int64, total, claimed int64) {
	t.Helper()
	m := addStep.FindStringSubmatch(body)
	require.NotNil(t, m, "not an addition step: %q", body)
	terms = []int64{atoi(t, m[1])}
	for _, s := range termRE.FindAllString(m[2], -1) {
		terms = append(terms, atoi(t, s))
	}
	for _, v := range terms {
		total += v
	}
	return terms, total, atoi(t, m[3])
}

// checkConsistent verifies that a chain with one slip at step k is
// arithmetically right everywhere else given the values written before:
// the slip propagates, and no second error creeps in.
func checkConsistent(t *testing.T, family string, p problem, bodies []string, k int) {
	t.Helper()
	arithmeticOK := func(step int, ok bool) {
		t.Helper()
		if step != k {
			require.True(t, ok, "step %d of %q is not consistent with the steps before it", step, bodies)
		} else {
			require.False(t, ok, "step %d of %q should carry the slip", step, bodies)
		}
	}
	switch family {
	case "sum":
		prev := p.(*sumProblem).Terms[0]
		for i, b := range bodies {
			terms, total, claimed := sumOf(t, b)
			require.Equal(t, prev, terms[0], "step %d must start from the previous running sum", i+1)
			arithmeticOK(i+1, total == claimed)
			prev = claimed
		}
	case "mul":
		var partials []int64
		for i, b := range bodies[:len(bodies)-1] {
			m := mulStep.FindStringSubmatch(b)
			require.NotNil(t, m, b)
			arithmeticOK(i+1, atoi(t, m[1])*atoi(t, m[2]) == atoi(t, m[3]))
			partials = append(partials, atoi(t, m[3]))
		}
		terms, total, claimed := sumOf(t, bodies[len(bodies)-1])
		require.Equal(t, partials, terms, "the final sum must add the partial products as written")
		arithmeticOK(len(bodies), total == claimed)
	case "cups":
		cp := p.(*cupsProblem)
		pos := cp.Start
		for i, b := range bodies {
			m := cupsStep.FindStringSubmatch(b)
			require.NotNil(t, m, "not a swap step: %q", b)
			require.Equal(t, pos, atoi(t, m[1]), "step %d must start where the step before it ended", i+1)
			require.Equal(t, cp.Swaps[i], [2]int64{atoi(t, m[2]), atoi(t, m[3])}, "step %d must make swap %d", i+1, i+1)
			pos = atoi(t, m[4])
			arithmeticOK(i+1, swapped(atoi(t, m[1]), cp.Swaps[i][0], cp.Swaps[i][1]) == pos)
		}
	case "walk":
		wp := p.(*walkProblem)
		pos := wp.Start
		for i, b := range bodies {
			m := walkStep.FindStringSubmatch(b)
			require.NotNil(t, m, "not a walk step: %q", b)
			require.Equal(t, pos, atoi(t, m[1]), "step %d must start where the step before it ended", i+1)
			require.Equal(t, wp.Moves[i], atoi(t, m[2]), "step %d must make move %d", i+1, i+1)
			pos = atoi(t, m[3])
			arithmeticOK(i+1, mod(atoi(t, m[1])+atoi(t, m[2]), walkClock) == pos)
		}
	case "lin":
		lp := p.(*linProblem)
		b, coefX := lp.B, lp.A
		var e int64
		for i, body := range bodies {
			step := i + 1
			switch {
			case expand.MatchString(body):
				m := expand.FindStringSubmatch(body)
				ap := atoi(t, m[4])
				arithmeticOK(step, atoi(t, m[1])*atoi(t, m[2]) == ap)
				b = ap
			case coefStep.MatchString(body):
				m := coefStep.FindStringSubmatch(body)
				coefX = atoi(t, m[3])
				arithmeticOK(step, atoi(t, m[1])-atoi(t, m[2]) == coefX)
			case divStep.MatchString(body):
				m := divStep.FindStringSubmatch(body)
				require.Equal(t, e, atoi(t, m[1]))
				require.Equal(t, coefX, atoi(t, m[2]))
				want := newRat(e, coefX)
				got, ok := parseRat(m[3])
				require.True(t, ok)
				arithmeticOK(step, got == want)
			default:
				terms, total, claimed := sumOf(t, body)
				if lp.Paren && step == 2 {
					require.Equal(t, []int64{b, lp.B}, terms)
					b = claimed
				} else {
					require.Equal(t, []int64{lp.D, -b}, terms, "the constants step must use the constant written before")
					e = claimed
				}
				arithmeticOK(step, total == claimed)
			}
		}
	}
}
