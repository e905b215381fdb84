package tasks

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// mulFamily: long multiplication in partial products, one per digit of the
// multiplier from the lowest, then their sum.
//
//	Multiply 347*36
//	Step 1: 347*6=2082</thought>Step 2: 347*30=10410</thought>
//	Step 3: 2082+10410=\boxed{12492}</thought>
//
// Difficulty d: the factors have 2x2, 3x2, 3x3, 4x3 and 4x4 digits.
type mulFamily struct{}

type mulProblem struct {
	Family string `json:"family"`
	A      int64  `json:"a"`
	B      int64  `json:"b"`
}

var mulDigits = [MaxDifficulty + 1][2]int{{}, {2, 2}, {3, 2}, {3, 3}, {4, 3}, {4, 4}}

func (mulFamily) generate(r *rand.Rand, d int) problem {
	return &mulProblem{Family: "mul", A: randDigits(r, mulDigits[d][0]), B: randDigits(r, mulDigits[d][1])}
}

func (mulFamily) decode(meta []byte) (problem, error) {
	var p mulProblem
	if err := decodeStrict(meta, &p); err != nil {
		return nil, err
	}
	if p.A < 1 || p.A > 1e6 {
		return nil, fmt.Errorf(`field "a": %d is not in 1..1e6`, p.A)
	}
	if p.B < 10 || p.B > 1e6 {
		return nil, fmt.Errorf(`field "b": %d is not in 10..1e6 (the multiplier needs at least two digits)`, p.B)
	}
	return &p, nil
}

func (p *mulProblem) prompt() string { return "Multiply " + itoa(p.A) + "*" + itoa(p.B) }
func (p *mulProblem) answer() int64  { return p.A * p.B }
func (p *mulProblem) meta() any      { return p }

func (p *mulProblem) solve(at func(int, calc) int64) []string {
	var steps []string
	var partials []int64
	pow := int64(1)
	for b, shift := p.B, int64(0); b > 0; b, shift = b/10, shift+1 {
		d := b % 10
		k := len(steps) + 1
		v := at(k, calc{op: opMul, args: []int64{p.A, d, shift}, want: p.A * d * pow})
		steps = append(steps, itoa(p.A)+"*"+itoa(d*pow)+"="+itoa(v))
		partials = append(partials, v)
		pow *= 10
	}
	var sum int64
	terms := make([]string, len(partials))
	for i, v := range partials {
		sum += v
		terms[i] = itoa(v)
	}
	v := at(len(steps)+1, calc{op: opAdd, args: partials, want: sum})
	// A slipped partial product can be negative only through a sign
	// mistake, which opMul of two non-negative factors never makes, so
	// joining with "+" is exact.
	return append(steps, strings.Join(terms, "+")+"="+boxed(itoa(v)))
}
