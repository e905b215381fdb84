// Package taskstest holds a table of hand-made responses to tasks of the
// families in package tasks, with the verdicts a process verifier must
// give them. The pure verifier, its native plugin twin and the Wasm
// verifier all run it, so they provably agree.
package taskstest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// VerifyCase is one hand-made response and the verdict it must get.
type VerifyCase struct {
	Name     string
	Task     abi.Task
	Response string
	Steps    []abi.Span
	// Want: Status, Score, FirstError (-1: not reported) and StepCorrect.
	Status      abi.Status
	Score       float64
	FirstError  int
	StepCorrect []bool
}

func task(meta string, answer string) abi.Task {
	t := abi.Task{ID: "t", Prompt: "p", Meta: json.RawMessage(meta)}
	if answer != "" {
		t.Answer = json.RawMessage(answer)
	}
	return t
}

// VerifyCases returns the hand-made table of responses with their
// expected verdicts.
func VerifyCases() []VerifyCase {
	sum := task(`{"family":"sum","terms":[47,385,29]}`, "461")
	mul := task(`{"family":"mul","a":347,"b":36}`, "12492")
	lin := task(`{"family":"lin","a":5,"paren":true,"p":3,"b":7,"c":2,"d":19}`, "-1")
	lin2 := task(`{"family":"lin","a":5,"b":7,"c":2,"d":19}`, "4")
	walk := task(`{"family":"walk","start":6,"moves":[3,-1,2]}`, "0")
	cups := task(`{"family":"cups","cups":5,"start":3,"swaps":[[1,3],[2,4],[1,2]]}`, "2")
	T, F := true, false
	return []VerifyCase{
		{Name: "sum correct", Task: sum, Response: `Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{461}</thought>`,
			Status: abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T}},
		{Name: "sum spacing and newlines", Task: sum, Response: "Step 1: 47 + 385 = 432 </thought>\nStep 2: 432+29 = \\boxed{ 461 }</thought>",
			Status: abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T}},
		{Name: "sum dropped carry propagates", Task: sum, Response: `Step 1: 47+385=422</thought>Step 2: 422+29=\boxed{451}</thought>`,
			Status: abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F, F}},
		{Name: "sum last step wrong", Task: sum, Response: `Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{451}</thought>`,
			Status: abi.StatusOK, Score: 0, FirstError: 2, StepCorrect: []bool{T, F}},
		{Name: "sum boxed too early", Task: sum, Response: `Step 1: 47+385=\boxed{432}</thought>`,
			Status: abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F}},
		{Name: "sum stopped early", Task: sum, Response: `Step 1: 47+385=432</thought>`,
			Status: abi.StatusOK, Score: 0, FirstError: 0, StepCorrect: []bool{T}},
		{Name: "sum no box on last step", Task: sum, Response: `Step 1: 47+385=432</thought>Step 2: 432+29=461</thought>`,
			Status: abi.StatusOK, Score: 0, FirstError: 2, StepCorrect: []bool{T, F}},
		{Name: "sum extra step", Task: sum, Response: `Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{461}</thought>Step 3: 461</thought>`,
			Status: abi.StatusOK, Score: 1, FirstError: 3, StepCorrect: []bool{T, T, F}},
		{Name: "sum final step without delimiter", Task: sum, Response: `Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{461}`,
			Status: abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T}},
		{Name: "sum garbage step", Task: sum, Response: `Step 1: 4+++</thought>Step 2: 432+29=\boxed{461}</thought>`,
			Status: abi.StatusOK, Score: 1, FirstError: 1, StepCorrect: []bool{F, T}},
		{Name: "sum empty response", Task: sum, Response: ``,
			Status: abi.StatusOK, Score: 0, FirstError: 0},
		{Name: "sum spans given", Task: sum, Response: `Step 1: 47+385=432</thought> Step 2: 432+29=\boxed{461}</thought>`,
			Steps:  []abi.Span{{Start: 0, End: 28}, {Start: 28, End: 65}},
			Status: abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T}},
		{Name: "sum span outside response", Task: sum, Response: `Step 1: 47+385=432</thought>`,
			Steps:  []abi.Span{{Start: 0, End: 99}},
			Status: abi.StatusAbstain, FirstError: -1},
		{Name: "mul slipped partial, later partial right", Task: mul,
			Response: `Step 1: 347*6=2042</thought>Step 2: 347*30=10410</thought>Step 3: 2042+10410=\boxed{12452}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F, T, F}},
		{Name: "mul lucky answer after a wrong step", Task: mul,
			Response: `Step 1: 347*6=2083</thought>Step 2: 347*30=10410</thought>Step 3: 2083+10410=\boxed{12492}</thought>`,
			Status:   abi.StatusOK, Score: 1, FirstError: 1, StepCorrect: []bool{F, T, T}},
		{Name: "lin correct", Task: lin,
			Response: `Step 1: 5(x+3)=5x+15</thought>Step 2: 15+7=22</thought>Step 3: 5x-2x=3x</thought>Step 4: 19-22=-3</thought>Step 5: x=-3/3=\boxed{-1}</thought>`,
			Status:   abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T, T, T, T}},
		{Name: "lin sign error in the expansion", Task: lin,
			Response: `Step 1: 5(x+3)=5x-15</thought>Step 2: -15+7=-8</thought>Step 3: 5x-2x=3x</thought>Step 4: 19+8=27</thought>Step 5: x=27/3=\boxed{9}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F, F, T, F, F}},
		{Name: "lin sign error ends in a fraction", Task: lin2,
			Response: `Step 1: 5x-2x=3x</thought>Step 2: 19-7=26</thought>Step 3: x=26/3=\boxed{26/3}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 2, StepCorrect: []bool{T, F, F}},
		{Name: "lin equivalent value forms", Task: lin2,
			Response: `Step 1: 5x-2x=3x</thought>Step 2: 19-7=+12</thought>Step 3: x=12/3=\boxed{4}</thought>`,
			Status:   abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T, T}},
		{Name: "lin unreduced fraction equals its value", Task: lin2,
			Response: `Step 1: 5x-2x=3x</thought>Step 2: 19-7=12</thought>Step 3: x=\boxed{12/3}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 0, StepCorrect: []bool{T, T, T}},
		{Name: "walk correct, around the clock", Task: walk,
			Response: `Step 1: 6+3=9</thought>Step 2: 9-1=8</thought>Step 3: 8+2=\boxed{0}</thought>`,
			Status:   abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T, T}},
		{Name: "walk wrong position carried on", Task: walk,
			Response: `Step 1: 6+3=9</thought>Step 2: 9-1=7</thought>Step 3: 7+2=\boxed{9}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 2, StepCorrect: []bool{T, F, F}},
		{Name: "walk sign slip at the start", Task: walk,
			Response: `Step 1: 6-3=3</thought>Step 2: 3-1=2</thought>Step 3: 2+2=\boxed{4}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F, F, F}},
		{Name: "walk off the clock", Task: walk,
			Response: `Step 1: 6+3=9</thought>Step 2: 9-1=8</thought>Step 3: 8+2=\boxed{10}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 3, StepCorrect: []bool{T, T, F}},
		{Name: "walk with a move of 5", Task: task(`{"family":"walk","start":6,"moves":[5]}`, ""), Response: ``,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "cups correct", Task: cups,
			Response: `Step 1: 3(13)=1</thought>Step 2: 1(24)=1</thought>Step 3: 1(12)=\boxed{2}</thought>`,
			Status:   abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T, T, T}},
		{Name: "cups ball left behind", Task: cups,
			Response: `Step 1: 3(13)=3</thought>Step 2: 3(24)=3</thought>Step 3: 3(12)=\boxed{3}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 1, StepCorrect: []bool{F, F, F}},
		{Name: "cups ball moved by a swap that misses it", Task: cups,
			Response: `Step 1: 3(13)=1</thought>Step 2: 1(24)=2</thought>Step 3: 2(12)=\boxed{1}</thought>`,
			Status:   abi.StatusOK, Score: 0, FirstError: 2, StepCorrect: []bool{T, F, F}},
		{Name: "cups swap of a cup with itself", Task: task(`{"family":"cups","cups":5,"start":3,"swaps":[[2,2]]}`, ""), Response: ``,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "unknown family", Task: task(`{"family":"div"}`, "1"), Response: `Step 1: \boxed{1}`,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "no meta", Task: task(``, "1"), Response: `Step 1: \boxed{1}`,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "unknown meta field", Task: task(`{"family":"sum","terms":[1,2],"x":1}`, "3"), Response: `Step 1: 1+2=\boxed{3}`,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "answer disagrees with meta", Task: task(`{"family":"sum","terms":[1,2]}`, "4"), Response: `Step 1: 1+2=\boxed{3}`,
			Status: abi.StatusInvalid, FirstError: -1},
		{Name: "answer absent: taken from meta", Task: task(`{"family":"sum","terms":[1,2]}`, ""), Response: `Step 1: 1+2=\boxed{3}`,
			Status: abi.StatusOK, Score: 1, FirstError: 0, StepCorrect: []bool{T}},
		{Name: "lin without an integer root", Task: task(`{"family":"lin","a":3,"b":1,"d":5}`, ""), Response: ``,
			Status: abi.StatusInvalid, FirstError: -1},
	}
}

// CheckVerdict compares a verdict with a case's expectations.
func CheckVerdict(t *testing.T, c VerifyCase, v abi.Verdict) {
	t.Helper()
	require.Equal(t, c.Status, v.Status, v.Detail)
	if c.Status != abi.StatusOK {
		return
	}
	require.Equal(t, c.Score, v.Score, v.Detail)
	require.NotNil(t, v.FirstError)
	require.Equal(t, c.FirstError, *v.FirstError, v.Detail)
	require.Equal(t, c.StepCorrect, v.StepCorrect, v.Detail)
}

// Run checks every case of VerifyCases against verify, in named subtests.
func Run(t *testing.T, verify func(ctx context.Context, req *abi.VerifyRequest) (abi.Verdict, error)) {
	t.Helper()
	for _, c := range VerifyCases() {
		t.Run(c.Name, func(t *testing.T) {
			v, err := verify(context.Background(), &abi.VerifyRequest{Task: c.Task, Response: c.Response, Steps: c.Steps})
			require.NoError(t, err)
			CheckVerdict(t, c, v)
		})
	}
}
