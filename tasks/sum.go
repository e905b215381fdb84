package tasks

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// sumFamily: add a list of numbers left to right, one addition per step.
//
//	Add 47+385+29
//	Step 1: 47+385=432</thought>Step 2: 432+29=\boxed{461}</thought>
//
// Difficulty d: d+2 terms of 2 digits (d=1), 2 to 3 digits (d=2) or 2 to
// 4 digits (d>=3).
type sumFamily struct{}

type sumProblem struct {
	Family string  `json:"family"`
	Terms  []int64 `json:"terms"`
}

func (sumFamily) generate(r *rand.Rand, d int) problem {
	n, maxDigits := d+2, 3
	switch {
	case d == 1:
		maxDigits = 2
	case d >= 3:
		maxDigits = 4
	}
	p := &sumProblem{Family: "sum", Terms: make([]int64, n)}
	for i := range p.Terms {
		p.Terms[i] = randDigits(r, 2+r.IntN(maxDigits-1))
	}
	return p
}

func (sumFamily) decode(meta []byte) (problem, error) {
	var p sumProblem
	if err := decodeStrict(meta, &p); err != nil {
		return nil, err
	}
	if len(p.Terms) < 2 {
		return nil, errors.New(`field "terms": need at least 2 terms`)
	}
	for i, t := range p.Terms {
		if t < 0 || t > 1e12 {
			return nil, fmt.Errorf(`field "terms"[%d]: %d is not in 0..1e12`, i, t)
		}
	}
	return &p, nil
}

func (p *sumProblem) prompt() string {
	var b strings.Builder
	b.WriteString("Add ")
	for i, t := range p.Terms {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(itoa(t))
	}
	return b.String()
}

func (p *sumProblem) answer() int64 {
	var s int64
	for _, t := range p.Terms {
		s += t
	}
	return s
}

func (p *sumProblem) meta() any { return p }

func (p *sumProblem) solve(at func(int, calc) int64) []string {
	steps := make([]string, 0, len(p.Terms)-1)
	run := p.Terms[0]
	for i, t := range p.Terms[1:] {
		v := at(i+1, calc{op: opAdd, args: []int64{run, t}, want: run + t})
		res := itoa(v)
		if i == len(p.Terms)-2 {
			res = boxed(res)
		}
		steps = append(steps, itoa(run)+"+"+itoa(t)+"="+res)
		run = v
	}
	return steps
}
