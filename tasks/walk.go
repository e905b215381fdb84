package tasks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// walkFamily: a position walked on a clock of 10 (positions 0..9), one
// move per step. The prompt lists the moves one per line, each line as
// wide in tokens as the solution step that makes the move (a step's
// `</thought>` is one token of the warm-start tokenizer, the line's
// newline one character), so the move that step k needs always sits the
// same distance before the place where the model writes it:
//
//	Walk from 6
//	Step 1: ?+3=?
//	Step 2: ?-1=?
//	Step 3: ?+2=?
//
//	Step 1: 6+3=9</thought>Step 2: 9-1=8</thought>Step 3: 8+2=\boxed{0}</thought>
//
// The state is carried from step to step: a wrong position derails every
// later one by the same offset, and the answer is not in the prompt.
// Difficulty d: d+2 moves of ±1..3.
type walkFamily struct{}

// walkClock is the number of positions on the clock.
const walkClock = 10

type walkProblem struct {
	Family string  `json:"family"`
	Start  int64   `json:"start"`
	Moves  []int64 `json:"moves"`
}

func (walkFamily) generate(r *rand.Rand, d int) problem {
	p := &walkProblem{Family: "walk", Start: r.Int64N(walkClock), Moves: make([]int64, d+2)}
	for i := range p.Moves {
		m := 1 + r.Int64N(3)
		if r.IntN(2) == 0 {
			m = -m
		}
		p.Moves[i] = m
	}
	return p
}

func (walkFamily) decode(meta []byte) (problem, error) {
	var p walkProblem
	if err := decodeStrict(meta, &p); err != nil {
		return nil, err
	}
	if p.Start < 0 || p.Start >= walkClock {
		return nil, fmt.Errorf(`field "start": %d is not a position 0..%d`, p.Start, walkClock-1)
	}
	if len(p.Moves) == 0 || len(p.Moves) > 50 {
		return nil, errors.New(`field "moves": need 1..50 moves`)
	}
	for i, m := range p.Moves {
		// A move of 5 would let a sign slip land on the right position.
		if m == 0 || abs(m) > 9 || abs(m) == 5 {
			return nil, fmt.Errorf(`field "moves"[%d]: %d is not in ±1..9 without ±5`, i, m)
		}
	}
	return &p, nil
}

func (p *walkProblem) prompt() string {
	var b strings.Builder
	b.WriteString("Walk from " + itoa(p.Start))
	for i, m := range p.Moves {
		fmt.Fprintf(&b, "\nStep %d: ?%s=?", i+1, signed(m))
	}
	return b.String()
}

func (p *walkProblem) answer() int64 {
	pos := p.Start
	for _, m := range p.Moves {
		pos = mod(pos+m, walkClock)
	}
	return pos
}

func (p *walkProblem) meta() any { return p }

func (p *walkProblem) solve(at func(int, calc) int64) []string {
	steps := make([]string, len(p.Moves))
	pos := p.Start
	for i, m := range p.Moves {
		v := at(i+1, calc{op: opMod, args: []int64{pos, m, walkClock}, want: mod(pos+m, walkClock)})
		res := itoa(v)
		if i == len(p.Moves)-1 {
			res = boxed(res)
		}
		steps[i] = itoa(pos) + signed(m) + "=" + res
		pos = v
	}
	return steps
}

// mod is v modulo m in 0..m-1.
func mod(v, m int64) int64 { return ((v % m) + m) % m }
