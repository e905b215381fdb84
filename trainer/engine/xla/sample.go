package xla

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// bisectSteps is the number of halvings of the top-k / top-p threshold
// searches: the kept set is exact unless two values lie within
// range/2^bisectSteps of the threshold.
const bisectSteps = 32

// sampleRows draws one token per row of logits [B, V] (float32) on the
// device and returns it (int32) with its log-probability at temperature 1.
// Per row: u [B] is a uniform in [0, 1) drawn on the host from the
// request's own random stream; temp [B] (0 = greedy: argmax, ties to the
// lowest id), topK [B] (int32, 0 = off) and topP [B] (0 or 1 = off).
//
// The draw is the CPU engine's: the smallest id whose cumulative kept
// probability (in id order) exceeds u times the kept total. With filter
// false the graph omits top-k / top-p (cheaper: no threshold searches);
// with it, top-k keeps the logits >= the k-th largest and top-p the
// smallest set of most probable tokens whose mass reaches P, both found by
// bisection on a threshold, so tokens tied at the threshold are all kept
// (the CPU engine breaks such ties by lower id).
func sampleRows(logits, u, temp, topK, topP *Node, filter bool) (tok, lp *Node) {
	g := logits.Graph()
	B, V := logits.Shape().Dimensions[0], logits.Shape().Dimensions[1]
	f32 := dtypes.Float32
	lse := logSumExp(logits)
	greedy := ArgMax(logits, -1, dtypes.Int32)
	t := ExpandAxes(MaxScalar(temp, 1e-6), -1)
	z := Div(logits, t)
	zmax := ReduceAndKeep(z, ReduceMax, -1)
	e := Exp(Sub(z, zmax))
	if filter {
		// top-k: the largest threshold tau with count(z >= tau) >= k.
		k := ExpandAxes(ConvertDType(topK, f32), -1)
		lo, hi := ReduceAndKeep(z, ReduceMin, -1), zmax
		for i := 0; i < bisectSteps; i++ {
			mid := DivScalar(Add(lo, hi), 2)
			cnt := ReduceAndKeep(ConvertDType(GreaterOrEqual(z, mid), f32), ReduceSum, -1)
			ok := GreaterOrEqual(cnt, k)
			lo, hi = Where(ok, mid, lo), Where(ok, hi, mid)
		}
		useK := ExpandAxes(GreaterThan(topK, ScalarZero(g, dtypes.Int32)), -1)
		e = Where(And(useK, LessThan(z, lo)), ZerosLike(e), e)
		// top-p: the largest tau with sum(p[p >= tau]) >= P.
		pr := Div(e, ReduceAndKeep(e, ReduceSum, -1))
		P := ExpandAxes(topP, -1)
		plo, phi := ZerosLike(P), ReduceAndKeep(pr, ReduceMax, -1)
		for i := 0; i < bisectSteps; i++ {
			mid := DivScalar(Add(plo, phi), 2)
			mass := ReduceAndKeep(Where(GreaterOrEqual(pr, mid), pr, ZerosLike(pr)), ReduceSum, -1)
			ok := GreaterOrEqual(mass, P)
			plo, phi = Where(ok, mid, plo), Where(ok, phi, mid)
		}
		useP := And(GreaterThan(P, ZerosLike(P)), LessThan(P, OnesLike(P)))
		e = Where(And(useP, LessThan(pr, plo)), ZerosLike(e), e)
	}
	idx := inverseCDF(e, MulScalar(ExpandAxes(u, -1), 1)) // [B]
	// Rounding can push the target past the last kept token: fall back to
	// the most probable kept token rather than a zero-probability one.
	picked := Gather(e, Concatenate([]*Node{Iota(g, shapes.Make(dtypes.Int32, B, 1), 0), ExpandAxes(idx, -1)}, 1))
	idx = Where(GreaterThan(picked, ZerosLike(picked)), idx, ArgMax(e, -1, dtypes.Int32))
	tok = Where(GreaterThan(temp, ZerosLike(temp)), idx, greedy)
	at := Gather(logits, Concatenate([]*Node{Iota(g, shapes.Make(dtypes.Int32, B, 1), 0), ExpandAxes(tok, -1)}, 1))
	_ = V
	return tok, Sub(at, Reshape(lse, B))
}

// inverseCDF returns, per row of the non-negative weights e [B, V], the
// smallest index i with cumsum(e)[i] > u * sum(e), for u [B, 1] in [0, 1).
// It works on sqrt(V)-sized blocks (block sums, then the chosen block) with
// triangular matrix products, so the cost is O(B V) and not the O(V^2) of
// a windowed cumulative sum over the whole vocabulary.
func inverseCDF(e, u *Node) *Node {
	g := e.Graph()
	B, V := e.Shape().Dimensions[0], e.Shape().Dimensions[1]
	bs := int(math.Ceil(math.Sqrt(float64(V))))
	nb := (V + bs - 1) / bs
	if pad := nb*bs - V; pad > 0 {
		e = Concatenate([]*Node{e, Zeros(g, shapes.Make(e.DType(), B, pad))}, 1)
	}
	e3 := Reshape(e, B, nb, bs)
	bsum := ReduceSum(e3, -1) // [B, nb]
	total := ReduceAndKeep(bsum, ReduceSum, -1)
	target := Mul(u, total) // [B, 1]
	cumB := Einsum("bj,jk->bk", bsum, upperTri(g, nb))
	blk := ReduceSum(ConvertDType(LessOrEqual(cumB, target), dtypes.Int32), -1)
	blk = MinScalar(blk, nb-1)                                                  // [B]
	sel := OneHot(blk, nb, e.DType())                                           // [B, nb]
	before := ReduceAndKeep(Sub(Mul(cumB, sel), Mul(bsum, sel)), ReduceSum, -1) // cumulative mass before the block
	inBlk := Einsum("bj,bjk->bk", sel, e3)                                      // [B, bs]
	cumIn := Add(Einsum("bj,jk->bk", inBlk, upperTri(g, bs)), before)
	off := ReduceSum(ConvertDType(LessOrEqual(cumIn, target), dtypes.Int32), -1)
	off = MinScalar(off, bs-1)
	return MinScalar(Add(MulScalar(blk, bs), off), V-1)
}

// upperTri is the [n, n] float32 matrix with 1 where row <= column.
func upperTri(g *Graph, n int) *Node {
	sh := shapes.Make(dtypes.Int32, n, n)
	return ConvertDType(LessOrEqual(Iota(g, sh, 0), Iota(g, sh, 1)), dtypes.Float32)
}
