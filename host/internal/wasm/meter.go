package wasm

import (
	"bytes"
	"errors"
	"fmt"
)

// Deadline enforcement by instrumentation ("metering").
//
// wazero's WithCloseOnContextDone compiles a call into the Go runtime at
// every loop header (wazevo's checkModuleExitCode trampoline: an exit from
// native code to Go and back). Go guests run loops everywhere (every byte
// scan, memmove, the GC), so that exit dominated a call: a 400-byte loop
// cost ~15 us. Instead, before compiling, the host rewrites the module:
//
//   - it appends an import meterModule.meterFunc of type () -> i32 (the
//     "checkpoint"), which shifts every defined function's index by one, so
//     calls, ref.func, exports, the start function and element segments
//     are renumbered and the "name" section (debug names) is dropped;
//   - it appends a mutable i32 global, the fuel, initialised to meterFuel;
//   - it removes the start section and exports the start function as
//     meterStart instead, so that the host runs it as a call of its own,
//     under the same deadline checks and with its own name in messages;
//   - it rewrites the "name" section for the new indices, naming
//     functions that had no name by their original index ($N), so that
//     stack traces name the function the author wrote;
//   - at every function entry and after every `loop` instruction it
//     inserts
//
//     global.get $fuel; i32.const 1; i32.sub; global.set $fuel
//     global.get $fuel; i32.eqz
//     if; call $checkpoint; global.set $fuel; end
//
// so a loop iteration costs a few native instructions and every meterFuel
// iterations the guest calls into the host, which checks the call's
// deadline and the caller's context in the guest's own goroutine and
// aborts the call if either has passed (see (*Plugin).checkpoint). No
// watcher goroutine or timer is needed, and no other goroutine has to be
// scheduled for the deadline to fire (native code cannot be preempted, so
// with every P inside a looping guest a timer would never run).
//
// Fuel at function entry covers code without loops: a recursion that
// calls itself twice per level runs 2^depth calls without a loop
// instruction or a deep stack. The rewrite refuses modules that import
// from meterModule or export meterStart themselves.

const (
	meterModule = "rewind_host"
	meterFunc   = "checkpoint"
	// meterStart is the export the module's start function is moved to.
	meterStart = "rewind_host.start"
	// meterFuel loop iterations between checkpoints: a checkpoint costs
	// about as much as 100 iterations of a short loop, so this keeps its
	// share under 1% while checking at least every few tens of
	// microseconds.
	meterFuel = 10000
)

// wasm section ids.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
)

// meter returns the instrumented module. Errors name what could not be
// parsed; a module wazero would reject anyway may be rejected here first.
func meter(bin []byte) ([]byte, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly binary (no \\0asm header)")
	}
	if !bytes.Equal(bin[4:8], []byte{1, 0, 0, 0}) {
		return nil, fmt.Errorf("unsupported WebAssembly binary version % x", bin[4:8])
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := reader{b: bin, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		secs = append(secs, section{id, body})
	}
	// First pass: count function imports and globals, find the types.
	var nTypes, nFuncImports, nGlobals, nFuncs uint32
	start, hasStart := uint32(0), false
	var names []byte // the payload of the "name" section, if any
	for _, s := range secs {
		sr := reader{b: s.body}
		switch s.id {
		case secCustom:
			if sr.name() == "name" {
				names = s.body[sr.i:]
			}
			sr.i = len(sr.b)
		case secFunction:
			nFuncs = sr.count()
			sr.i = len(sr.b)
		case secStart:
			start, hasStart = sr.u32(), true
		case secType:
			nTypes = sr.count()
		case secImport:
			n := sr.count()
			for range n {
				mod, _ := sr.name(), sr.name()
				if mod == meterModule {
					return nil, fmt.Errorf("the module imports from %q, which the host reserves", meterModule)
				}
				switch kind := sr.byte(); kind {
				case 0: // func
					sr.u32()
					nFuncImports++
				case 1: // table: reftype limits
					sr.byte()
					sr.limits()
				case 2: // memory
					sr.limits()
				case 3: // global
					sr.valtype()
					sr.byte()
					nGlobals++
				default:
					return nil, fmt.Errorf("import section: unknown import kind %d", kind)
				}
			}
		case secGlobal:
			nGlobals += sr.count()
		}
		if sr.err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, sr.err)
		}
	}
	m := rewriter{checkpoint: nFuncImports, fuel: nGlobals, start: start, hasStart: hasStart}
	out := append([]byte(nil), bin[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	order := func(id byte) int { // position in the standard section order
		switch id {
		case 12: // data count sits between element and code
			return 95
		case 13: // tag (exception handling) sits between memory and global
			return 55
		}
		return int(id) * 10
	}
	wrote := map[byte]bool{}
	// ensure emits a section the module lacks once the position for it is
	// reached.
	ensure := func(before byte) {
		for _, id := range []byte{secType, secImport, secGlobal} {
			if !wrote[id] && order(id) < order(before) {
				wrote[id] = true
				var body []byte
				var err error
				switch id {
				case secType:
					body, err = m.types(nil, 0)
				case secImport:
					body, err = m.imports(nil, nTypes)
				case secGlobal:
					body, err = m.globals(nil)
				}
				if err != nil {
					panic(err) // empty inputs cannot fail
				}
				emit(id, body)
			}
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			ensure(s.id)
		}
		var body []byte
		var err error
		switch s.id {
		case secCustom:
			if (&reader{b: s.body}).name() == "name" {
				continue // rewritten at the end: function indices changed
			}
			body = s.body
		case secType:
			body, err = m.types(s.body, nTypes)
		case secImport:
			body, err = m.imports(s.body, nTypes)
		case secGlobal:
			body, err = m.globals(s.body)
		case secExport:
			body, err = m.exports(s.body)
		case secStart:
			continue // exported as meterStart (see exports)
		case secElement:
			body, err = m.elements(s.body)
		case secCode:
			body, err = m.code(s.body)
		default:
			body = s.body
		}
		if err != nil {
			return nil, fmt.Errorf("instrumenting section %d: %w", s.id, err)
		}
		wrote[s.id] = true
		emit(s.id, body)
	}
	ensure(255)
	emit(secCustom, m.names(names, nFuncImports+nFuncs))
	return out, nil
}

// rewriter renumbers function indices at or above checkpoint (the index of
// the new import) and knows the fuel global's index.
type rewriter struct {
	checkpoint uint32
	fuel       uint32
	start      uint32 // the start function's original index
	hasStart   bool
}

func (m *rewriter) fn(i uint32) uint32 {
	if i >= m.checkpoint {
		return i + 1
	}
	return i
}

// types appends the checkpoint's type () -> i32 as type nTypes.
func (m *rewriter) types(body []byte, nTypes uint32) ([]byte, error) {
	r := reader{b: body}
	if body != nil {
		r.u32()
	}
	out := appendU32(nil, nTypes+1)
	out = append(out, r.b[r.i:]...)
	out = append(out, 0x60, 0, 1, 0x7f) // func () -> (i32)
	return out, r.err
}

func (m *rewriter) imports(body []byte, checkpointType uint32) ([]byte, error) {
	r := reader{b: body}
	var n uint32
	if body != nil {
		n = r.count()
	}
	out := appendU32(nil, n+1)
	out = append(out, r.b[r.i:]...)
	out = appendName(out, meterModule)
	out = appendName(out, meterFunc)
	out = append(out, 0)
	return appendU32(out, checkpointType), r.err
}

func (m *rewriter) globals(body []byte) ([]byte, error) {
	r := reader{b: body}
	var n uint32
	if body != nil {
		n = r.count()
	}
	out := appendU32(nil, n+1)
	for range n {
		start := r.i
		r.valtype()
		r.byte()
		out = append(out, r.b[start:r.i]...)
		out = m.expr(out, &r, false)
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(out, 0x7f, 1, 0x41) // mut i32 = i32.const meterFuel
	out = appendS64(out, meterFuel)
	return append(out, 0x0b), nil
}

func (m *rewriter) exports(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.count()
	var out []byte
	if m.hasStart {
		out = appendU32(nil, n+1)
		out = appendName(out, meterStart)
		out = append(out, 0)
		out = appendU32(out, m.fn(m.start))
	} else {
		out = appendU32(nil, n)
	}
	for range n {
		name := r.name()
		if name == meterStart {
			return nil, fmt.Errorf("the module exports %q, which the host reserves", meterStart)
		}
		out = appendName(out, name)
		kind := r.byte()
		idx := r.u32()
		if kind == 0 {
			idx = m.fn(idx)
		}
		out = append(out, kind)
		out = appendU32(out, idx)
	}
	return out, r.err
}

func (m *rewriter) elements(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.count()
	out := appendU32(nil, n)
	for range n {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			return nil, fmt.Errorf("element segment flags %d", flags)
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			out = appendU32(out, r.u32())
		}
		if flags&1 == 0 { // active: offset expression
			out = m.expr(out, &r, false)
		}
		if flags&3 != 0 { // elemkind or reftype
			out = append(out, r.byte())
		}
		cnt := r.count()
		out = appendU32(out, cnt)
		for range cnt {
			if flags&4 != 0 {
				out = m.expr(out, &r, false)
			} else {
				out = appendU32(out, m.fn(r.u32()))
			}
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	return out, r.err
}

// names returns the body of a "name" custom section for the rewritten
// module: the module name and local names of the original kept (local
// names renumbered), every function named (the original name, or $N with
// its original index N, the way wazero shows an unnamed function), and
// the checkpoint named after its import. Other subsections are dropped.
// A malformed original name section is ignored: names are debug
// information.
func (m *rewriter) names(orig []byte, nFuncs uint32) []byte {
	var modName, locals []byte
	fnames := map[uint32]string{}
	r := reader{b: orig}
	for r.err == nil && r.i < len(r.b) {
		id := r.byte()
		sub := r.bytes(int(r.u32()))
		if r.err != nil {
			break
		}
		sr := reader{b: sub}
		switch id {
		case 0:
			modName = sub
		case 1:
			n := sr.count()
			for range n {
				i, name := sr.u32(), sr.name()
				if sr.err == nil {
					fnames[i] = name
				}
			}
		case 2:
			n := sr.count()
			locals = appendU32(nil, n)
			for range n {
				i := sr.u32()
				start := sr.i
				for range sr.count() {
					sr.u32()
					sr.name()
				}
				locals = appendU32(locals, m.fn(i))
				locals = append(locals, sr.b[start:sr.i]...)
			}
			if sr.err != nil {
				locals = nil
			}
		}
	}
	sub := func(out []byte, id byte, body []byte) []byte {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		return append(out, body...)
	}
	out := appendName(nil, "name")
	if modName != nil {
		out = sub(out, 0, modName)
	}
	fn := appendU32(nil, nFuncs+1)
	for i := range nFuncs + 1 {
		name := meterModule + "." + meterFunc
		switch orig := i; {
		case i == m.checkpoint:
		default:
			if i > m.checkpoint {
				orig = i - 1
			}
			var ok bool
			if name, ok = fnames[orig]; !ok {
				name = fmt.Sprintf("$%d", orig)
			}
		}
		fn = appendU32(fn, i)
		fn = appendName(fn, name)
	}
	out = sub(out, 1, fn)
	if locals != nil {
		out = sub(out, 2, locals)
	}
	return out
}

func (m *rewriter) code(body []byte) ([]byte, error) {
	r := reader{b: body}
	n := r.count()
	out := appendU32(nil, n)
	var fb []byte
	for i := range n {
		size := r.u32()
		fr := reader{b: r.bytes(int(size))}
		if r.err != nil {
			return nil, fmt.Errorf("function %d: %w", i, r.err)
		}
		fb = fb[:0]
		nl := fr.count()
		fb = appendU32(fb, nl)
		for range nl {
			fb = appendU32(fb, fr.u32())
			start := fr.i
			fr.valtype()
			fb = append(fb, fr.b[start:fr.i]...)
		}
		// Fuel at entry too: a loop-free recursion that calls itself
		// twice per level (2^n calls in n frames) never overflows the
		// stack and never runs a loop.
		fb = m.appendFuel(fb)
		fb = m.expr(fb, &fr, true)
		if fr.err == nil && fr.i != len(fr.b) {
			fr.err = fmt.Errorf("%d bytes after the end of the body", len(fr.b)-fr.i)
		}
		if fr.err != nil {
			return nil, fmt.Errorf("function %d (defined index %d): %w", i+m.checkpoint, i, fr.err)
		}
		out = appendU32(out, uint32(len(fb)))
		out = append(out, fb...)
	}
	return out, r.err
}

// expr copies instructions up to and including the `end` that closes the
// expression, renumbering function indices and, when body is true,
// instrumenting loops.
func (m *rewriter) expr(out []byte, r *reader, body bool) []byte {
	depth := 0
	for r.err == nil {
		if r.i >= len(r.b) {
			r.err = errors.New("unterminated expression")
			break
		}
		start := r.i
		op := r.byte()
		switch op {
		case 0x02, 0x03, 0x04: // block, loop, if
			r.blocktype()
			depth++
			out = append(out, r.b[start:r.i]...)
			if op == 0x03 && body {
				out = m.appendFuel(out)
			}
			continue
		case 0x0b: // end
			out = append(out, op)
			if depth == 0 {
				return out
			}
			depth--
			continue
		case 0x10, 0x12, 0xd2: // call, return_call, ref.func
			out = append(out, op)
			out = appendU32(out, m.fn(r.u32()))
			continue
		}
		r.immediates(op)
		out = append(out, r.b[start:r.i]...)
	}
	return out
}

func (m *rewriter) appendFuel(out []byte) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, m.fuel)
	out = append(out, 0x41, 1, 0x6b, 0x24) // i32.const 1; i32.sub; global.set
	out = appendU32(out, m.fuel)
	out = append(out, 0x23)
	out = appendU32(out, m.fuel)
	out = append(out, 0x45, 0x04, 0x40, 0x10) // i32.eqz; if (empty); call
	out = appendU32(out, m.checkpoint)
	out = append(out, 0x24) // global.set
	out = appendU32(out, m.fuel)
	return append(out, 0x0b) // end
}

// reader decodes the wasm binary encoding. The first error sticks and
// every later read returns zero values.
type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: "+format, append([]any{r.i}, args...)...)
	}
	r.i = len(r.b)
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b)-r.i < n {
		r.fail("want %d bytes, have %d", n, len(r.b)-r.i)
		return nil
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b
}

// leb skips a LEB128 number of at most maxBytes bytes and returns its low
// 64 bits (unsigned interpretation).
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for k := 0; k < maxBytes; k++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << (7 * k)
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 longer than %d bytes", maxBytes)
	return 0
}

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }

// count reads the length of a vector. Every element takes at least one
// byte, so a count above the bytes left is an error: hostile input cannot
// make a loop over it spin for billions of iterations.
func (r *reader) count() uint32 {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(len(r.b)-r.i) {
		r.fail("vector of %d elements in %d bytes", n, len(r.b)-r.i)
		return 0
	}
	return n
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

// valtype reads a value type (numeric, vector or reference).
func (r *reader) valtype() {
	switch c := r.byte(); c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	default:
		if r.err == nil {
			r.fail("unsupported value type 0x%02x", c)
		}
	}
}

func (r *reader) blocktype() {
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return
	}
	switch r.b[r.i] {
	case 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		r.i++
	default:
		r.leb(5) // s33 type index
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.leb(10)
}

// immediates skips the immediates of op (already read).
func (r *reader) immediates(op byte) {
	switch {
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		n := r.count()
		for range n + 1 {
			r.u32()
		}
	case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // typed select
		n := r.count()
		for range n {
			r.valtype()
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x41:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xfc:
		switch sub := r.u32(); {
		case sub <= 7: // saturating truncations
		case sub == 8: // memory.init
			r.u32()
			r.u32()
		case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17):
			r.u32()
		case sub == 10 || sub == 12 || sub == 14:
			r.u32()
			r.u32()
		default:
			r.fail("unknown 0xfc instruction %d", sub)
		}
	case op == 0xfd:
		r.simd()
	case op == 0xfe: // threads
		if sub := r.u32(); sub == 3 {
			r.byte() // atomic.fence
		} else {
			r.memarg()
		}
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1 ||
		(op >= 0x45 && op <= 0xc4):
		// no immediates
	default:
		r.fail("unsupported opcode 0x%02x", op)
	}
}

func (r *reader) simd() {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // loads, stores, load_zero
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub > 0x113:
		r.fail("unknown SIMD instruction %d", sub)
	}
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
