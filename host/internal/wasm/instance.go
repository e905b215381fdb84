package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// instance is one module instance with its reusable call state. It is used
// by one goroutine at a time (the pool hands it out).
type instance struct {
	mod         api.Module
	mem         api.Memory
	alloc, free api.Function
	entry       api.Function
	reqPtr      uint32 // the reused request buffer (0: none yet)
	reqCap      uint32
	buf         []byte // host-side request encoding buffer
	stack       [2]uint64
	ctx         callCtx            // the context of metered calls
	cancel      context.CancelFunc // of DeadlineCloseOnContextDone calls
	dead        bool               // discard on release
}

// callCtx is the context a metered call runs under: the caller's context
// plus the call's deadline. The checkpoint host function (meter.go) finds
// it in the context it receives and calls expired; it runs on the calling
// goroutine, so the fields need no synchronisation.
type callCtx struct {
	parent   context.Context
	deadline time.Time
	reason   error // why the call was stopped; nil while it runs
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callCtx) Done() <-chan struct{}       { return c.parent.Done() }
func (c *callCtx) Value(key any) any           { return c.parent.Value(key) }
func (c *callCtx) Err() error {
	if c.reason != nil {
		return c.reason
	}
	return c.parent.Err()
}

// expired reports whether the call must stop, recording why.
func (c *callCtx) expired() bool {
	if err := c.parent.Err(); err != nil {
		c.reason = err
		return true
	}
	if !time.Now().Before(c.deadline) {
		c.reason = context.DeadlineExceeded
		return true
	}
	return false
}

// errStopped is what the checkpoint panics with to abort a call; the call
// is then classified from its context.
var errStopped = errors.New("stopped at a deadline checkpoint")

// checkpoint is the host function rewind_host.checkpoint that metered
// modules call every meterFuel loop iterations (meter.go). It aborts the
// call when its deadline has passed or its caller gave up, and otherwise
// returns the next fuel.
func checkpoint(ctx context.Context, _ api.Module, stack []uint64) {
	if c, ok := ctx.(*callCtx); ok {
		if c.expired() {
			panic(errStopped)
		}
	} else if ctx.Err() != nil {
		panic(errStopped)
	} else if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		panic(errStopped)
	}
	stack[0] = meterFuel
}

func (p *Plugin) instantiate(ctx context.Context) (*instance, error) {
	p.idMu.Lock()
	id := p.nextID
	p.nextID++
	p.idMu.Unlock()
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], p.cfg.Seed)
	binary.LittleEndian.PutUint64(seed[8:], id)
	mc := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithRandSource(rand.NewChaCha8(seed))
	// Clocks, sleep, stdio, filesystem and environment keep wazero's
	// sandboxed defaults: fake clocks, no-op sleep, discarded output, no
	// mounts, no variables, no arguments.
	metered := p.cfg.Deadline == DeadlineMeter
	what := "instantiating"
	if metered {
		// The start function (exported as meterStart by meter) and
		// _initialize are called below, each as a call of its own.
		mc = mc.WithStartFunctions()
	} else {
		what = "instantiating (the start function, then _initialize)"
		mc = mc.WithStartFunctions("_initialize")
	}
	ictx, cancel := context.WithTimeout(experimental.WithMemoryAllocator(ctx, allocator), p.cfg.Timeout)
	defer cancel()
	mod, err := p.runtime.InstantiateModule(ictx, p.compiled, mc)
	if err != nil {
		return nil, classify(err, what, ictx)
	}
	in := &instance{
		mod:   mod,
		mem:   mod.ExportedMemory("memory"),
		alloc: mod.ExportedFunction("rewind_alloc"),
		free:  mod.ExportedFunction("rewind_free"),
	}
	if metered {
		for _, start := range []struct{ export, what string }{{meterStart, "the start function"}, {"_initialize", "_initialize"}} {
			if mod.ExportedFunction(start.export) == nil {
				continue
			}
			if _, err := in.callNamed(ctx, p, start.export, start.what); err != nil {
				in.close(ctx)
				return nil, err
			}
		}
	}
	if p.entry != "" {
		in.entry = mod.ExportedFunction(p.entry)
	}
	if p.hasInit {
		if err := p.initInstance(ctx, in); err != nil {
			in.close(ctx)
			return nil, err
		}
	}
	return in, nil
}

func (p *Plugin) initInstance(ctx context.Context, in *instance) error {
	var resp []byte
	err := in.call(ctx, p, "rewind_init", func(dst []byte) []byte {
		return appendInit(dst, p.cfg.Name, p.cfg.Options)
	}, func(b []byte) error {
		resp = b
		return decodeAck(b)
	})
	if err != nil {
		return fmt.Errorf("rewind_init: %w", err)
	}
	_ = resp
	return nil
}

func (in *instance) close(ctx context.Context) { _ = in.mod.Close(ctx) }

// classify turns a wazero call error into an *Error. ctx is the call's
// context: when it has ended, the call was stopped for that reason.
func classify(err error, what string, ctx context.Context) *Error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("%s: ran past its deadline: %w", what, context.DeadlineExceeded)}
		case sys.ExitCodeContextCanceled:
			return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("%s: %w", what, context.Canceled)}
		}
		return fail(abi.StatusTrap, "%s: the module exited with code %d", what, exit.ExitCode())
	}
	if errors.Is(err, errStopped) && (ctx == nil || ctx.Err() == nil) {
		// Stopped at a checkpoint by a deadline the context has not
		// reported yet (its timer has not fired).
		return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("%s: ran past its deadline: %w", what, context.DeadlineExceeded)}
	}
	if ctx != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("%s: ran past its deadline: %w", what, ctx.Err())}
		}
		return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("%s: %w", what, ctx.Err())}
	}
	return fail(abi.StatusTrap, "%s: %v", what, err)
}

// begin arms the deadline for one call and returns the context to run it
// under; end disarms it.
func (in *instance) begin(ctx context.Context, p *Plugin) context.Context {
	if p.cfg.Deadline == DeadlineCloseOnContextDone {
		c, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		in.cancel = cancel
		return c
	}
	in.ctx = callCtx{parent: ctx, deadline: time.Now().Add(p.cfg.Timeout)}
	return &in.ctx
}

func (in *instance) end() {
	if in.cancel != nil {
		in.cancel()
		in.cancel = nil
	}
	in.ctx.parent = context.Background() // do not retain the caller's context
}

// callSimple calls a no-argument export under the deadline.
func (in *instance) callSimple(ctx context.Context, p *Plugin, name string) (uint64, error) {
	return in.callNamed(ctx, p, name, name)
}

// callNamed is callSimple with the name messages give the function.
func (in *instance) callNamed(ctx context.Context, p *Plugin, name, what string) (uint64, error) {
	f := in.mod.ExportedFunction(name)
	cctx := in.begin(ctx, p)
	defer in.end()
	if err := f.CallWithStack(cctx, in.stack[:]); err != nil {
		in.dead = true
		return 0, classify(err, what, cctx)
	}
	return in.stack[0], nil
}

// response returns a view of the packed response in guest memory after
// checking its range and size cap.
func (in *instance) response(p *Plugin, packed uint64) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	if n == 0 {
		in.dead = true
		return nil, fail(abi.StatusMalformed, "empty response (ptr %d, len 0)", ptr)
	}
	if limit := uint32(p.cfg.MaxOutputKiB) * 1024; n > limit {
		in.dead = true
		return nil, fail(abi.StatusOversized, "response of %d bytes is over the %d KiB cap (max_output_kib)", n, p.cfg.MaxOutputKiB)
	}
	b, ok := in.mem.Read(ptr, n)
	if !ok {
		in.dead = true
		return nil, fail(abi.StatusMalformed, "response range [%d, %d) is outside the module's %d-byte memory", ptr, uint64(ptr)+uint64(n), in.mem.Size())
	}
	return b, nil
}

// call runs one entry: encode writes the request, decode reads the
// response view (valid only during decode). A GuestError from decode keeps
// the instance; any other failure discards it.
func (in *instance) call(ctx context.Context, p *Plugin, name string, encode func([]byte) []byte, decode func([]byte) error) error {
	in.buf = encode(in.buf[:0])
	req := in.buf
	if len(req) > 1<<30 {
		return fail(abi.StatusError, "request of %d bytes is too large", len(req))
	}
	cctx := in.begin(ctx, p)
	defer in.end()
	if uint32(len(req)) > in.reqCap || in.reqPtr == 0 {
		if in.reqPtr != 0 {
			in.stack[0], in.stack[1] = uint64(in.reqPtr), uint64(in.reqCap)
			if err := in.free.CallWithStack(cctx, in.stack[:]); err != nil {
				in.dead = true
				return classify(err, "rewind_free", cctx)
			}
			in.reqPtr, in.reqCap = 0, 0
		}
		size := max(uint32(len(req)), 4096)
		in.stack[0] = uint64(size)
		if err := in.alloc.CallWithStack(cctx, in.stack[:]); err != nil {
			in.dead = true
			return classify(err, "rewind_alloc", cctx)
		}
		in.reqPtr, in.reqCap = uint32(in.stack[0]), size
		if in.reqPtr == 0 {
			in.dead = true
			return fail(abi.StatusMalformed, "rewind_alloc(%d) returned 0", size)
		}
	}
	if !in.mem.Write(in.reqPtr, req) {
		in.dead = true
		return fail(abi.StatusMalformed, "rewind_alloc returned %d, outside the module's memory", in.reqPtr)
	}
	f := in.entry
	if name != p.entry {
		f = in.mod.ExportedFunction(name)
	}
	in.stack[0], in.stack[1] = uint64(in.reqPtr), uint64(len(req))
	if err := f.CallWithStack(cctx, in.stack[:]); err != nil {
		in.dead = true
		return classify(err, name, cctx)
	}
	b, err := in.response(p, in.stack[0])
	if err != nil {
		return err
	}
	if err := decode(b); err != nil {
		var ge guestError
		if errors.As(err, &ge) {
			return &Error{Status: abi.StatusError, Err: err}
		}
		in.dead = true
		if len(b) > 200 {
			b = b[:200]
		}
		return &Error{Status: abi.StatusMalformed, Err: fmt.Errorf("%s response %q: %w", name, b, err)}
	}
	return nil
}

// do runs one call on a pooled instance.
func (p *Plugin) do(ctx context.Context, encode func([]byte) []byte, decode func([]byte) error) error {
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed {
		return fail(abi.StatusCrash, "the plugin is closed")
	}
	var in *instance
	select {
	case in = <-p.pool:
	case <-ctx.Done():
		return &Error{Status: abi.StatusTimeout, Err: fmt.Errorf("waiting for a free instance: %w", ctx.Err())}
	}
	defer func() {
		if in != nil && in.dead {
			// Closed in the background: releasing a memory the guest
			// filled takes about 0.4 s per GiB, which the caller should
			// not wait for. Close waits for these.
			p.closing.Add(1)
			go func(in *instance) {
				defer p.closing.Done()
				in.close(context.Background())
			}(in)
			in = nil
		}
		p.pool <- in
	}()
	if in == nil {
		var err error
		if in, err = p.instantiate(ctx); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e
			}
			return fail(abi.StatusCrash, "instantiating a replacement instance: %v", err)
		}
	}
	return in.call(ctx, p, p.entry, encode, decode)
}

// hostGenerate serves rewind.generate: it runs the configured Generate on
// the request in guest memory and writes the answer into a buffer from the
// guest's rewind_alloc.
func (p *Plugin) hostGenerate(ctx context.Context, m api.Module, stack []uint64) {
	ptr, n := uint32(stack[0]), uint32(stack[1])
	reply := func(b []byte) {
		alloc := m.ExportedFunction("rewind_alloc")
		res, err := alloc.Call(ctx, uint64(len(b)))
		if err != nil || len(res) != 1 || !m.Memory().Write(uint32(res[0]), b) {
			panic(fmt.Errorf("rewind.generate: cannot return %d bytes to the guest", len(b)))
		}
		stack[0] = res[0]<<32 | uint64(len(b))
	}
	req, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("rewind.generate: request range [%d, %d) outside memory", ptr, uint64(ptr)+uint64(n)))
	}
	gctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		gctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	out, err := p.cfg.Generate(gctx, append([]byte(nil), req...))
	if err != nil {
		reply(appendError(nil, err.Error()))
		return
	}
	reply(out)
}
