package tasks

import (
	"fmt"
	"math/rand/v2"
)

// linFamily: solve a linear equation with an integer root, step by step.
//
//	d=1  Solve 3x+5=20         Step 1: 20-5=15  Step 2: x=15/3=\boxed{5}
//	d=2  Solve 5x+7=2x+19      Step 1: 5x-2x=3x  Step 2: 19-7=12  Step 3: x=12/3=\boxed{4}
//	d>=3 Solve 5(x+3)+7=2x+19  Step 1: 5(x+3)=5x+15  Step 2: 15+7=22
//	                           Step 3: 5x-2x=3x  Step 4: 19-22=-3  Step 5: x=-3/3=\boxed{-1}
//
// A slip in an intermediate step can make the last division inexact; the
// solver then writes the reduced fraction (x=13/3=\boxed{13/3}), which is
// how a consistent but wrong chain ends.
type linFamily struct{}

// linProblem is A(x+P)+B = C*x+D when Paren, else A*x+B = C*x+D (C = 0:
// no x on the right).
type linProblem struct {
	Family string `json:"family"`
	A      int64  `json:"a"`
	Paren  bool   `json:"paren,omitempty"`
	P      int64  `json:"p,omitempty"`
	B      int64  `json:"b"`
	C      int64  `json:"c,omitempty"`
	D      int64  `json:"d"`
}

func (linFamily) generate(r *rand.Rand, d int) problem {
	maxA, maxX, maxB := int64(9), int64(9), int64(20)
	if d >= 4 {
		maxA, maxX, maxB = 12, 15, 50
	}
	p := &linProblem{Family: "lin"}
	// x != 0: with x = 0 a slipped coefficient would still divide 0 to the
	// right answer, and a flawed chain must end wrong.
	var x int64
	for x == 0 {
		x = randRange(r, -maxX, maxX)
	}
	if d == 1 {
		p.A = randRange(r, 2, maxA)
	} else {
		p.A = randRange(r, 4, maxA)
		p.C = randRange(r, 1, p.A-2) // A-C >= 2: the division step is never trivial
	}
	for p.B == 0 {
		p.B = randRange(r, -maxB, maxB)
	}
	if d >= 3 {
		p.Paren = true
		for p.P == 0 {
			p.P = randRange(r, -9, 9)
		}
	}
	p.D = p.A*(x+p.P) + p.B - p.C*x
	return p
}

func (linFamily) decode(meta []byte) (problem, error) {
	var p linProblem
	if err := decodeStrict(meta, &p); err != nil {
		return nil, err
	}
	const lim = 1e6
	switch {
	case p.A < 1 || p.A > lim:
		return nil, fmt.Errorf(`field "a": %d is not in 1..1e6`, p.A)
	case p.C < 0 || p.C >= p.A:
		return nil, fmt.Errorf(`field "c": %d is not in 0..a-1 (a=%d)`, p.C, p.A)
	case abs(p.B) > lim || abs(p.D) > lim || abs(p.P) > lim:
		return nil, fmt.Errorf(`fields "b", "d", "p": magnitudes must be at most 1e6`)
	case !p.Paren && p.P != 0:
		return nil, fmt.Errorf(`field "p": %d given without "paren": true`, p.P)
	}
	if (p.D-p.B-p.A*p.P)%(p.A-p.C) != 0 {
		return nil, fmt.Errorf("the equation has no integer root")
	}
	return &p, nil
}

// coef formats k*x.
func coef(k int64) string {
	switch k {
	case 1:
		return "x"
	case -1:
		return "-x"
	}
	return itoa(k) + "x"
}

func (p *linProblem) lhs() string {
	if p.Paren {
		return itoa(p.A) + "(x" + signed(p.P) + ")" + signed(p.B)
	}
	return coef(p.A) + signed(p.B)
}

func (p *linProblem) rhs() string {
	if p.C == 0 {
		return itoa(p.D)
	}
	return coef(p.C) + signed(p.D)
}

func (p *linProblem) prompt() string { return "Solve " + p.lhs() + "=" + p.rhs() }
func (p *linProblem) answer() int64  { return (p.D - p.B - p.A*p.P) / (p.A - p.C) }
func (p *linProblem) meta() any      { return p }

func (p *linProblem) solve(at func(int, calc) int64) []string {
	var steps []string
	next := func(c calc) int64 { return at(len(steps)+1, c) }
	k := p.A // coefficient of x on the left
	b := p.B // constant on the left
	if p.Paren {
		ap := next(calc{op: opMul, args: []int64{p.A, p.P}, want: p.A * p.P})
		steps = append(steps, itoa(p.A)+"(x"+signed(p.P)+")="+coef(p.A)+signed(ap))
		b = next(calc{op: opAdd, args: []int64{ap, p.B}, want: ap + p.B})
		steps = append(steps, itoa(ap)+signed(p.B)+"="+itoa(b))
	}
	if p.C != 0 {
		k = next(calc{op: opSub, args: []int64{p.A, p.C}, want: p.A - p.C})
		steps = append(steps, coef(p.A)+"-"+coef(p.C)+"="+coef(k))
	}
	e := next(calc{op: opSub, args: []int64{p.D, b}, want: p.D - b})
	steps = append(steps, itoa(p.D)+signed(-b)+"="+itoa(e))
	// The division is exact on a correct chain; after a slip it may not be,
	// and then the solver writes the reduced fraction and makes no new slip.
	x := newRat(e, k)
	if x.den == 1 {
		x.num = next(calc{op: opDiv, args: []int64{e, k}, want: x.num})
	}
	return append(steps, "x="+itoa(e)+"/"+itoa(k)+"="+boxed(x.String()))
}
