package xla

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/stretchr/testify/require"
)

// cpuKept is the CPU engine's kept set (trainer/engine/cpu/sample.go):
// sort by logit, ties by lower id; the first k; then the shortest prefix
// whose renormalised probability reaches p.
func cpuKept(z []float32, k int, p float32) map[int]bool {
	ids := make([]int, len(z))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return z[ids[a]] > z[ids[b]] })
	if k > 0 && k < len(ids) {
		ids = ids[:k]
	}
	if p > 0 && p < 1 {
		probs := make([]float64, len(ids))
		var tot float64
		for i, id := range ids {
			probs[i] = math.Exp(float64(z[id] - z[ids[0]]))
			tot += probs[i]
		}
		var cum float64
		for i, q := range probs {
			cum += q / tot
			if cum >= float64(p) {
				ids = ids[:i+1]
				break
			}
		}
	}
	kept := map[int]bool{}
	for _, id := range ids {
		kept[id] = true
	}
	return kept
}

// TestFilterMatchesCPUKeptSet runs filterTopKP on logits with many ties
// (a coarse grid, as bfloat16 logits are) and checks that the tokens it
// keeps are exactly the CPU engine's, tie-breaking included.
func TestFilterMatchesCPUKeptSet(t *testing.T) {
	backend, err := simplego.New("ops_sequential")
	require.NoError(t, err)
	const B, V = 64, 37 // V prime: no P below is a multiple of a tied probability
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float32, B*V)
	ks := make([]int32, B)
	ps := make([]float32, B)
	pChoices := []float32{0, 1, 0.2, 0.5, 0.75, 0.9}
	for b := range B {
		levels := 1 + rng.IntN(6) // few distinct values: ties everywhere
		for i := range V {
			z[b*V+i] = float32(rng.IntN(levels)) * 0.5
		}
		ks[b] = int32(rng.IntN(V + 5))
		ps[b] = pChoices[rng.IntN(len(pChoices))]
	}
	// Hand-made rows: all logits equal with P = 0.5 and 0.61 (the first
	// 19 and 23 ids), and k = 2 out of one leader and three tied
	// runners-up (the leader and the lowest id). A P that is an exact
	// multiple of the tied probability (0.6 with V = 40) is left to rounding:
	// the CPU engine sums in float64, the graph in float32.
	copy(z[0:V], make([]float32, V))
	ks[0], ps[0] = 0, 0.5
	copy(z[V:2*V], make([]float32, V))
	ks[1], ps[1] = 0, 0.61
	for i := range V {
		z[2*V+i] = -5
	}
	z[2*V+7], z[2*V+3], z[2*V+9], z[2*V+5] = 2, 1, 1, 1
	ks[2], ps[2] = 2, 0

	ex, err := NewExec(backend, func(zn, kn, pn *Node) *Node {
		zmax := ReduceAndKeep(zn, ReduceMax, -1)
		return filterTopKP(zn, zmax, Exp(Sub(zn, zmax)), kn, pn)
	})
	require.NoError(t, err)
	out, err := ex.Exec(tensors.FromFlatDataAndDimensions(z, B, V), tensors.FromFlatDataAndDimensions(ks, B),
		tensors.FromFlatDataAndDimensions(ps, B))
	require.NoError(t, err)
	e, err := tensors.CopyFlatData[float32](out[0])
	require.NoError(t, err)
	for b := range B {
		want := cpuKept(z[b*V:(b+1)*V], int(ks[b]), ps[b])
		got := map[int]bool{}
		for i := range V {
			if e[b*V+i] > 0 {
				got[i] = true
			}
		}
		require.Equal(t, want, got, "row %d: k=%d p=%v logits %v", b, ks[b], ps[b], z[b*V:(b+1)*V])
	}
	require.Len(t, cpuKept(z[0:V], 0, 0.5), 19)
	require.Len(t, cpuKept(z[V:2*V], 0, 0.61), 23)
	require.Equal(t, map[int]bool{7: true, 3: true}, cpuKept(z[2*V:3*V], 2, 0))
}
