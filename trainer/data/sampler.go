package data

import (
	"errors"
	"fmt"
	"math/bits"
)

// Sampler draws example indices in epochs. Epoch e visits every index of
// [0, N) once, in a permutation that depends only on (Seed, e); Pos is the
// number of indices of the current epoch already drawn. It is plain data:
// a checkpoint that stores it (JSON) and restores it continues with exactly
// the indices an uninterrupted run would have drawn. Not safe for
// concurrent use.
type Sampler struct {
	Seed  uint64 `json:"seed"`
	N     int    `json:"n"`     // dataset size
	Epoch int    `json:"epoch"` // current epoch, from 0
	Pos   int    `json:"pos"`   // next position within the epoch, in [0, N]

	perm      []int // permutation of Epoch, rebuilt lazily
	permEpoch int
}

// NewSampler starts at epoch 0, position 0.
func NewSampler(n int, seed uint64) *Sampler {
	return &Sampler{Seed: seed, N: n}
}

// Validate checks a (possibly restored) sampler, and that it belongs to a
// dataset of n examples.
func (s *Sampler) Validate(n int) error {
	var errs []error
	if s.N <= 0 {
		errs = append(errs, fmt.Errorf("sampler n = %d: must be > 0", s.N))
	}
	if s.N != n {
		errs = append(errs, fmt.Errorf("sampler was saved for a dataset of %d examples but this one has %d; resume with the same dataset", s.N, n))
	}
	if s.Epoch < 0 {
		errs = append(errs, fmt.Errorf("sampler epoch = %d: must be >= 0", s.Epoch))
	}
	if s.Pos < 0 || s.Pos > s.N {
		errs = append(errs, fmt.Errorf("sampler pos = %d: must be in [0, n = %d]", s.Pos, s.N))
	}
	return errors.Join(errs...)
}

// Next returns the next k indices, continuing into the next epoch (with
// its own permutation) when the current one runs out; so one batch may
// hold the last examples of an epoch and the first of the next.
func (s *Sampler) Next(k int) []int {
	out := make([]int, 0, k)
	if s.N <= 0 {
		return out
	}
	for len(out) < k {
		if s.Pos >= s.N {
			s.Epoch++
			s.Pos = 0
		}
		p := s.permutation()
		take := min(k-len(out), s.N-s.Pos)
		out = append(out, p[s.Pos:s.Pos+take]...)
		s.Pos += take
	}
	return out
}

func (s *Sampler) permutation() []int {
	if s.perm != nil && s.permEpoch == s.Epoch && len(s.perm) == s.N {
		return s.perm
	}
	s.perm = Permutation(s.N, s.Seed, uint64(s.Epoch))
	s.permEpoch = s.Epoch
	return s.perm
}

// Permutation returns a permutation of [0, n) determined by (seed, stream):
// a Fisher-Yates shuffle driven by PCG-DXSM, written out here rather than
// taken from math/rand so that the order can never change with the Go
// version.
func Permutation(n int, seed, stream uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newPCG(seed, stream)
	for i := n - 1; i > 0; i-- {
		j := int(r.below(uint64(i + 1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// pcg is the 128-bit PCG generator with the DXSM output function (the one
// math/rand/v2 names PCG), seeded from (seed, stream).
type pcg struct{ hi, lo uint64 }

func newPCG(seed, stream uint64) *pcg {
	r := &pcg{hi: seed ^ 0x9e3779b97f4a7c15, lo: stream ^ 0xd1b54a32d192ed03}
	r.next() // mix the seed in before the first output
	return r
}

func (r *pcg) next() uint64 {
	const (
		mulHi = 2549297995355413924
		mulLo = 4865540595714422341
		incHi = 6364136223846793005
		incLo = 1442695040888963407
	)
	// state = state * mul + inc (mod 2^128)
	hi, lo := bits.Mul64(r.lo, mulLo)
	hi += r.hi*mulLo + r.lo*mulHi
	lo, c := bits.Add64(lo, incLo, 0)
	hi, _ = bits.Add64(hi, incHi, c)
	r.hi, r.lo = hi, lo
	// DXSM output
	const cheapMul = 0xda942042e4dd58b5
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> (3 * 16)
	hi *= lo | 1
	return hi
}

// below returns a uniform value in [0, n) without modulo bias (Lemire).
func (r *pcg) below(n uint64) uint64 {
	hi, lo := bits.Mul64(r.next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), n)
		}
	}
	return hi
}

// Batch returns the examples for the next k indices of s.
func (d *Dataset) Batch(s *Sampler, k int) []Example {
	idx := s.Next(k)
	out := make([]Example, len(idx))
	for i, j := range idx {
		out[i] = d.Examples[j]
	}
	return out
}
