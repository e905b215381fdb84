package tasks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// cupsFamily: a ball under one of five cups, followed through a sequence
// of swaps, one per step. A swap of cups a and b, written as the
// transposition (ab), moves the ball from a to b or from b to a and
// leaves it where it is otherwise. As in walk, the prompt lists the swaps
// one per line, each line as wide in tokens as the step that makes it:
//
//	Ball under 3
//	Step 1: ?(13)=?
//	Step 2: ?(24)=?
//	Step 3: ?(12)=?
//
//	Step 1: 3(13)=1</thought>Step 2: 1(24)=1</thought>Step 3: 1(12)=\boxed{2}</thought>
//
// Swaps are one-to-one, so a wrong position stays wrong through every
// later swap: the answer is only reachable through the steps. Each step is
// a comparison rather than an addition (walk's). Difficulty d: d+2 swaps
// of two cups drawn uniformly among the ten pairs.
type cupsFamily struct{}

// cupsCount is the number of cups of generated tasks.
const cupsCount = 5

type cupsProblem struct {
	Family string     `json:"family"`
	Cups   int64      `json:"cups"`
	Start  int64      `json:"start"`
	Swaps  [][2]int64 `json:"swaps"`
}

func (cupsFamily) generate(r *rand.Rand, d int) problem {
	p := &cupsProblem{Family: "cups", Cups: cupsCount, Start: 1 + r.Int64N(cupsCount), Swaps: make([][2]int64, d+2)}
	for i := range p.Swaps {
		a := 1 + r.Int64N(cupsCount)
		b := 1 + r.Int64N(cupsCount-1)
		if b >= a {
			b++
		}
		p.Swaps[i] = [2]int64{min(a, b), max(a, b)}
	}
	return p
}

func (cupsFamily) decode(meta []byte) (problem, error) {
	var p cupsProblem
	if err := decodeStrict(meta, &p); err != nil {
		return nil, err
	}
	if p.Cups < 2 || p.Cups > 9 {
		return nil, fmt.Errorf(`field "cups": %d is not in 2..9`, p.Cups)
	}
	if p.Start < 1 || p.Start > p.Cups {
		return nil, fmt.Errorf(`field "start": %d is not a cup 1..%d`, p.Start, p.Cups)
	}
	if len(p.Swaps) == 0 || len(p.Swaps) > 50 {
		return nil, errors.New(`field "swaps": need 1..50 swaps`)
	}
	for i, s := range p.Swaps {
		if s[0] < 1 || s[1] < 1 || s[0] > p.Cups || s[1] > p.Cups || s[0] == s[1] {
			return nil, fmt.Errorf(`field "swaps"[%d]: %v is not two different cups 1..%d`, i, s, p.Cups)
		}
	}
	return &p, nil
}

func (p *cupsProblem) prompt() string {
	var b strings.Builder
	b.WriteString("Ball under " + itoa(p.Start))
	for i, s := range p.Swaps {
		fmt.Fprintf(&b, "\nStep %d: ?(%d%d)=?", i+1, s[0], s[1])
	}
	return b.String()
}

func (p *cupsProblem) answer() int64 {
	pos := p.Start
	for _, s := range p.Swaps {
		pos = swapped(pos, s[0], s[1])
	}
	return pos
}

func (p *cupsProblem) meta() any { return p }

func (p *cupsProblem) solve(at func(int, calc) int64) []string {
	steps := make([]string, len(p.Swaps))
	pos := p.Start
	for i, s := range p.Swaps {
		v := at(i+1, calc{op: opSwap, args: []int64{pos, s[0], s[1], p.Cups}, want: swapped(pos, s[0], s[1])})
		res := itoa(v)
		if i == len(p.Swaps)-1 {
			res = boxed(res)
		}
		steps[i] = itoa(pos) + "(" + itoa(s[0]) + itoa(s[1]) + ")=" + res
		pos = v
	}
	return steps
}

// swapped is where a ball at pos is after cups a and b are swapped.
func swapped(pos, a, b int64) int64 {
	switch pos {
	case a:
		return b
	case b:
		return a
	}
	return pos
}
