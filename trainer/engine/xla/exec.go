package xla

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/rewind-rl/rewind/trainer/engine"
)

// execs holds the compiled computations of a policy. GoMLX compiles a
// graph once per distinct input shape; shapes are drawn from fixed buckets
// (buckets.go), so the set stays small and each compiled graph is reused
// across steps. The first call of a (graph, bucket) pair is timed and
// recorded.
type execs struct {
	backend backends.Backend
	mu      sync.Mutex
	byName  map[string]*graph.Exec
	seen    map[string]bool
	stats   []engine.Compile
}

func newExecs(b backends.Backend) *execs {
	return &execs{backend: b, byName: map[string]*graph.Exec{}, seen: map[string]bool{}}
}

// run executes the computation name (built by fn on first use) on args,
// compiling it first, timed, when bucket is new for it.
func (e *execs) run(name, bucket string, fn func([]*graph.Node) []*graph.Node, args []*tensors.Tensor) (out []*tensors.Tensor, err error) {
	e.mu.Lock()
	ex, ok := e.byName[name]
	if !ok {
		ex, err = graph.NewExec(e.backend, fn)
		if err != nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("xla engine: graph %s: %w", name, err)
		}
		ex.SetMaxCache(-1)
		e.byName[name] = ex
	}
	key := name + "|" + bucket
	first := !e.seen[key]
	e.seen[key] = true
	e.mu.Unlock()
	anyArgs := make([]any, len(args))
	for i, a := range args {
		anyArgs[i] = a
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("xla engine: graph %s (%s): %v", name, bucket, r)
		}
	}()
	if first {
		start := time.Now()
		if err := ex.PreCompile(anyArgs...); err != nil {
			return nil, fmt.Errorf("xla engine: compile %s (%s): %w", name, bucket, err)
		}
		e.mu.Lock()
		e.stats = append(e.stats, engine.Compile{Graph: name, Bucket: bucket, Duration: time.Since(start)})
		e.mu.Unlock()
	}
	out, err = ex.Exec(anyArgs...)
	if err != nil {
		return nil, fmt.Errorf("xla engine: run %s (%s): %w", name, bucket, err)
	}
	if live := liveOutputs.Load(); live != nil {
		for _, t := range out {
			live.Store(t, name)
		}
	}
	return out, nil
}

// liveOutputs, when set (by tests), holds every graph output not yet
// released by free, with the graph that made it. Go's garbage collector
// would release a dropped tensor eventually, but it does not see device
// memory: a KV cache left to it on a GPU can exhaust the card first, so
// the engine frees what it replaces and tests check that nothing else is
// left.
var liveOutputs atomic.Pointer[sync.Map]

// compileStats returns a copy of the compile records, in order.
func (e *execs) compileStats() []engine.Compile {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.stats)
}

func dimsKey(ts ...*tensors.Tensor) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, t.Shape().Dimensions)
	}
	return b.String()
}

func free(ts []*tensors.Tensor) {
	live := liveOutputs.Load()
	for _, t := range ts {
		if t != nil {
			if live != nil {
				live.Delete(t)
			}
			t.FinalizeAll()
		}
	}
}

func toHost(t *tensors.Tensor) ([]float32, error) { return tensors.CopyFlatData[float32](t) }
