package tasks

import (
	"math/rand/v2"
	"slices"
)

// Mistake names a kind of slip that the solver can inject into a step.
type Mistake string

// The mistake kinds. Each applies only to some computations; a step where
// no kind applies (for example a product that is 0) is left correct.
const (
	// MistakeCarry drops one carry of a column addition or of a
	// multiplication by one digit: the result is short by c*10^(i+1).
	MistakeCarry Mistake = "carry"
	// MistakeDigit moves one digit of the result up or down by one
	// (never producing a leading zero, a result of 0 or a sign change).
	MistakeDigit Mistake = "digit"
	// MistakeSign flips a sign: a-b computed as a+b, a negative term or
	// product taken as positive.
	MistakeSign Mistake = "sign"
)

// Mistakes lists every mistake kind, sorted.
func Mistakes() []Mistake { return []Mistake{MistakeCarry, MistakeDigit, MistakeSign} }

// opKind is the operation that a step computes.
type opKind int

const (
	opAdd  opKind = iota // sum of args
	opSub                // args[0] - args[1]
	opMul                // args[0] * args[1] * 10^args[2]; args[1] is one digit when args[2] is given
	opDiv                // args[0] / args[1], exact
	opMod                // (args[0] + args[1]) mod args[2], a move on a clock
	opSwap               // where a ball at args[0] of args[3] cups goes when cups args[1] and args[2] swap
)

// calc is one computation of a step: what it combines and the correct
// result given those (possibly already wrong) inputs.
type calc struct {
	op   opKind
	args []int64
	want int64
}

// slip returns a wrong result of c for mistake kind m, or false when m
// does not apply to c. r picks among the possible slips of that kind.
func slip(r *rand.Rand, c calc, m Mistake) (int64, bool) {
	switch c.op {
	case opMod:
		return slipMod(r, c, m)
	case opSwap:
		return slipSwap(r, c, m)
	}
	if c.want == 0 {
		return 0, false
	}
	switch m {
	case MistakeDigit:
		return slipDigit(r, c.want), true
	case MistakeCarry:
		return slipCarry(r, c)
	case MistakeSign:
		return slipSign(r, c)
	}
	return 0, false
}

// slipMod slips a move on a clock: a digit slip lands one position off
// (either way, around the clock), a sign slip moves the other way; no
// carry is written, so none can be dropped.
func slipMod(r *rand.Rand, c calc, m Mistake) (int64, bool) {
	pos, move, n := c.args[0], c.args[1], c.args[2]
	switch m {
	case MistakeDigit:
		if r.IntN(2) == 0 {
			return mod(c.want+1, n), true
		}
		return mod(c.want-1, n), true
	case MistakeSign:
		v := mod(pos-move, n)
		return v, v != c.want
	}
	return 0, false
}

// slipSwap slips a swap of two cups: a digit slip names a neighbouring
// cup of the right one, a sign slip applies the swap the wrong way round
// (a ball under a swapped cup stays, a ball elsewhere goes to the first
// swapped cup); no carry is written, so none can be dropped.
func slipSwap(r *rand.Rand, c calc, m Mistake) (int64, bool) {
	pos, a, cups := c.args[0], c.args[1], c.args[3]
	switch m {
	case MistakeDigit:
		var near []int64
		for _, v := range []int64{c.want - 1, c.want + 1} {
			if v >= 1 && v <= cups {
				near = append(near, v)
			}
		}
		return near[r.IntN(len(near))], true
	case MistakeSign:
		if c.want != pos {
			return pos, true
		}
		return a, true
	}
	return 0, false
}

// slipDigit moves one digit of v (v != 0) by one.
func slipDigit(r *rand.Rand, v int64) int64 {
	a := abs(v)
	var digits []int64
	for x := a; x > 0; x /= 10 {
		digits = append(digits, x%10)
	}
	i := r.IntN(len(digits))
	pow := int64(1)
	for range i {
		pow *= 10
	}
	d := digits[i]
	up := r.IntN(2) == 0
	switch {
	case d == 9:
		up = false
	case d == 0:
		up = true
	case d == 1 && i == len(digits)-1 && (i > 0 || a == 1):
		up = true // would be a leading zero or a result of 0
	}
	if up {
		a += pow
	} else {
		a -= pow
	}
	if v < 0 {
		return -a
	}
	return a
}

// columnCarries returns the carry out of each column when adding the
// non-negative terms in base 10.
func columnCarries(terms []int64) []int64 {
	var carries []int64
	rest := slices.Clone(terms)
	carry := int64(0)
	for {
		col, more := carry, false
		for i, t := range rest {
			col += t % 10
			rest[i] = t / 10
			if rest[i] > 0 {
				more = true
			}
		}
		carry = col / 10
		carries = append(carries, carry)
		if !more && carry == 0 {
			return carries
		}
	}
}

// mulCarries returns the carry out of each column when multiplying a >= 0
// by the digit d.
func mulCarries(a, d int64) []int64 {
	var carries []int64
	carry := int64(0)
	for a > 0 || carry > 0 {
		col := (a%10)*d + carry
		carry = col / 10
		carries = append(carries, carry)
		a /= 10
	}
	return carries
}

// slipCarry drops one non-zero carry. Forgetting a carry c out of column i
// lowers the result by exactly c*10^(i+1), whatever happens to the carries
// after it.
func slipCarry(r *rand.Rand, c calc) (int64, bool) {
	var carries []int64
	scale := int64(1)
	switch {
	case c.op == opAdd:
		for _, t := range c.args {
			if t < 0 {
				return 0, false
			}
		}
		carries = columnCarries(c.args)
	case c.op == opMul && len(c.args) == 3 && c.args[0] >= 0 && c.args[1] >= 0 && c.args[1] <= 9:
		carries = mulCarries(c.args[0], c.args[1])
		for range c.args[2] {
			scale *= 10
		}
	default:
		return 0, false
	}
	var cols []int
	for i, k := range carries {
		if k > 0 {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return 0, false
	}
	i := cols[r.IntN(len(cols))]
	pow := int64(10)
	for range i {
		pow *= 10
	}
	v := c.want - carries[i]*pow*scale
	if v == 0 {
		return 0, false
	}
	return v, true
}

// slipSign flips a sign in c.
func slipSign(r *rand.Rand, c calc) (int64, bool) {
	switch c.op {
	case opSub:
		if c.args[1] == 0 {
			return 0, false
		}
		v := c.args[0] + c.args[1]
		return v, v != 0
	case opMul:
		if c.want < 0 {
			return -c.want, true
		}
	case opAdd:
		var neg []int
		for i, t := range c.args {
			if t < 0 {
				neg = append(neg, i)
			}
		}
		if len(neg) == 0 {
			return 0, false
		}
		i := neg[r.IntN(len(neg))]
		v := c.want - 2*c.args[i]
		return v, v != 0
	}
	return 0, false
}
