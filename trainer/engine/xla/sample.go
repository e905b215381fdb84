package xla

import (
	"math"
	"math/bits"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	//lint:ignore ST1001 graph code reads like math with GoMLX's ops unqualified, as GoMLX's own examples write it
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// bisectSteps is the number of halvings of the top-k / top-p threshold
// searches: the kept set is exact unless two values lie within
// range/2^bisectSteps of the threshold.
const bisectSteps = 32

// sampleRows draws one token per row of logits [B, V] (float32) on the
// device and returns it (int32) with its log-probability and the entropy
// (nats) of the row's distribution, both at temperature 1.
// Per row: u [B] is a uniform in [0, 1) drawn on the host from the
// request's own random stream; temp [B] (0 = greedy: argmax, ties to the
// lowest id), topK [B] (int32, 0 = off) and topP [B] (0 or 1 = off).
//
// The kept set is the CPU engine's: top-k keeps the k largest logits and
// top-p, over the renormalised survivors, the smallest set of most
// probable tokens whose mass reaches P, both with ties broken by lower id
// (keepFirst), so exactly k tokens survive top-k even where bfloat16
// logits tie. Each threshold is found by bisection (no sort of the
// vocabulary). With filter false the graph omits both (cheaper: no
// threshold searches). The draw is the smallest id whose cumulative kept
// probability, in id order, exceeds u times the kept total; the CPU engine
// accumulates in probability order when it filters, so the two engines
// draw the same distribution but not the same token for the same u.
func sampleRows(logits, u, temp, topK, topP *Node, filter bool) (tok, lp, ent *Node) {
	g := logits.Graph()
	B := logits.Shape().Dimensions[0]
	lse := logSumExp(logits)
	greedy := ArgMax(logits, -1, dtypes.Int32)
	t := ExpandAxes(MaxScalar(temp, 1e-6), -1)
	z := Div(logits, t)
	zmax := ReduceAndKeep(z, ReduceMax, -1)
	e := Exp(Sub(z, zmax))
	if filter {
		e = filterTopKP(z, zmax, e, topK, topP)
	}
	idx := inverseCDF(e, ExpandAxes(u, -1)) // [B]
	// Rounding can push the target past the last kept token: fall back to
	// the most probable kept token rather than a zero-probability one.
	picked := Gather(e, Concatenate([]*Node{Iota(g, shapes.Make(dtypes.Int32, B, 1), 0), ExpandAxes(idx, -1)}, 1))
	idx = Where(GreaterThan(picked, ZerosLike(picked)), idx, ArgMax(e, -1, dtypes.Int32))
	tok = Where(GreaterThan(temp, ZerosLike(temp)), idx, greedy)
	at := Gather(logits, Concatenate([]*Node{Iota(g, shapes.Make(dtypes.Int32, B, 1), 0), ExpandAxes(tok, -1)}, 1))
	// H = lse - sum_v softmax(logits)_v logits_v.
	probs := Exp(Sub(logits, lse))
	ent = MaxScalar(Sub(Reshape(lse, B), ReduceSum(Mul(probs, logits), -1)), 0)
	return tok, Sub(at, Reshape(lse, B)), ent
}

// filterTopKP zeroes the weights e = exp(z - zmax) [B, V] of the tokens
// that top-k (topK [B] int32, 0 = off) or top-p (topP [B], 0 or 1 = off)
// drop; z are the temperature-scaled logits and zmax [B, 1] their maximum.
func filterTopKP(z, zmax, e, topK, topP *Node) *Node {
	g := z.Graph()
	f32 := dtypes.Float32
	inf := Scalar(g, f32, math.Inf(1))
	// top-k: lo converges to the largest threshold with count(z >=
	// lo) >= k; zk, the smallest logit at or above it, is the k-th
	// largest. Keep what is above zk, then the first ties by id.
	k := ExpandAxes(topK, -1)
	kf := ConvertDType(k, f32)
	lo, hi := ReduceAndKeep(z, ReduceMin, -1), zmax
	for i := 0; i < bisectSteps; i++ {
		mid := DivScalar(Add(lo, hi), 2)
		ok := GreaterOrEqual(countTrue(GreaterOrEqual(z, mid), f32), kf)
		lo, hi = Where(ok, mid, lo), Where(ok, hi, mid)
	}
	zk := ReduceAndKeep(Where(GreaterOrEqual(z, lo), z, BroadcastToShape(inf, z.Shape())), ReduceMin, -1)
	above := GreaterThan(z, zk)
	keepK := Or(above, keepFirst(Equal(z, zk), Sub(k, countTrue(above, dtypes.Int32))))
	useK := GreaterThan(k, ScalarZero(g, dtypes.Int32))
	e = Where(And(useK, LogicalNot(keepK)), ZerosLike(e), e)
	// top-p on the survivors: plo converges to the largest tau with
	// mass(p >= tau) >= P; pth, the smallest kept probability, is
	// where the sorted prefix ends. Keep what is above pth, then as
	// many ties by id as the mass still needs.
	pr := Div(e, ReduceAndKeep(e, ReduceSum, -1))
	P := ExpandAxes(topP, -1)
	plo, phi := ZerosLike(P), ReduceAndKeep(pr, ReduceMax, -1)
	for i := 0; i < bisectSteps; i++ {
		mid := DivScalar(Add(plo, phi), 2)
		mass := ReduceAndKeep(Where(GreaterOrEqual(pr, mid), pr, ZerosLike(pr)), ReduceSum, -1)
		ok := GreaterOrEqual(mass, P)
		plo, phi = Where(ok, mid, plo), Where(ok, phi, mid)
	}
	pth := ReduceAndKeep(Where(And(GreaterOrEqual(pr, plo), GreaterThan(pr, ZerosLike(pr))), pr, BroadcastToShape(inf, pr.Shape())), ReduceMin, -1)
	aboveP := GreaterThan(pr, pth)
	massAbove := ReduceAndKeep(Where(aboveP, pr, ZerosLike(pr)), ReduceSum, -1)
	V := float64(pr.Shape().Dimensions[1])
	need := Ceil(Div(Sub(P, massAbove), MaxScalar(pth, 1e-30)))
	need = ConvertDType(MinScalar(MaxScalar(need, 0), V), dtypes.Int32)
	keepP := Or(aboveP, keepFirst(Equal(pr, pth), need))
	useP := And(GreaterThan(P, ZerosLike(P)), LessThan(P, OnesLike(P)))
	e = Where(And(useP, LogicalNot(keepP)), ZerosLike(e), e)
	return e
}

// countTrue counts the true entries of mask [B, V] per row, as [B, 1] of
// dtype.
func countTrue(mask *Node, dtype dtypes.DType) *Node {
	return ReduceAndKeep(ConvertDType(mask, dtype), ReduceSum, -1)
}

// keepFirst returns the entries of mask [B, V] whose rank among the row's
// true entries, in id order, is below n [B, 1] (int32; n <= 0 keeps
// none). The id bound is found by bisection over [0, V]: ceil(log2(V+1))
// masked counts, O(B V) each, instead of a prefix sum over the vocabulary.
func keepFirst(mask, n *Node) *Node {
	g := mask.Graph()
	B, V := mask.Shape().Dimensions[0], mask.Shape().Dimensions[1]
	ids := Iota(g, shapes.Make(dtypes.Int32, B, V), 1)
	// Invariant: count(mask, id < lo) < n <= count(mask, id < hi), or hi
	// = V when the row has fewer than n.
	lo := Zeros(g, shapes.Make(dtypes.Int32, B, 1))
	hi := BroadcastToDims(Scalar(g, dtypes.Int32, V), B, 1)
	for i := 0; i < bits.Len(uint(V)); i++ {
		mid := DivScalar(Add(lo, hi), 2)
		ok := GreaterOrEqual(countTrue(And(mask, LessThan(ids, mid)), dtypes.Int32), n)
		lo, hi = Where(ok, lo, mid), Where(ok, mid, hi)
	}
	keep := And(mask, LessThan(ids, hi))
	return And(keep, GreaterThan(n, ZerosLike(n)))
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
