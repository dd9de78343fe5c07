// Package instrument rewrites a WebAssembly module so that a host can stop it: it adds a
// mutable i32 global, exported as StopExport, and at the head of every loop a check that takes
// one unit from it and traps (unreachable) once it is at or below zero. A watchdog zeroes the
// global when a call runs past its deadline; the guest traps at its next loop iteration.
//
// Why not wazero's WithCloseOnContextDone: it makes every loop iteration call out of wasm into
// Go to check for a close, which slowed loop-heavy guests (a Go plugin decoding JSON) about
// seven times in wazero v1.12, and starts a goroutine per call (about 1 µs). The check added
// here is a few instructions and one branch per iteration, and one global store per call. Code without loops
// cannot run for long: recursion ends in a stack overflow trap.
//
// Only the global, export and code sections are touched, and only by appending or inserting;
// every instruction is decoded so that a loop opcode is never confused with an immediate. An
// instruction this package does not know makes Rewrite fail rather than guess.
package instrument

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Fuel is what the stop global holds at the start of a call: every loop head takes one, and the
// guest traps when none is left. The watchdog stops a call by setting the global to zero; the
// fuel is the backstop for when it cannot run. Compiled guest code has no Go safepoint, so while
// a guest loops, a garbage collection that has started stopping the world waits for it, and the
// watchdog goroutine waits for the collection: the fuel (about a billion loop iterations, a
// second or a few) ends that loop, and with it the wait.
const Fuel = 1 << 30

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// StopExport is the name of the added global.
const StopExport = "wayline_stop"

// Section ids.
const (
	secCustom   = 0
	secImport   = 2
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
	secData     = 11
	secDataCnt  = 12
	secTag      = 13
	maxSections = 64
)

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("instrument: malformed module")

type section struct {
	id   byte
	body []byte
}

// Rewrite returns the instrumented module and how many loops it guarded.
func Rewrite(wasm []byte) (out []byte, loops int, err error) {
	defer func() {
		// A decoder bug must refuse the module, never take the host down.
		if r := recover(); r != nil {
			out, loops, err = nil, 0, fmt.Errorf("%w: %v", ErrMalformed, r)
		}
	}()
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, 0, fmt.Errorf("%w: not a WebAssembly 1.0 binary", ErrMalformed)
	}
	var secs []section
	r := reader{b: wasm, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		n := r.u32()
		secs = append(secs, section{id: id, body: r.bytes(int(n))})
		if r.err != nil {
			return nil, 0, r.err
		}
		if len(secs) > 4096 {
			return nil, 0, fmt.Errorf("%w: too many sections", ErrMalformed)
		}
	}
	importedGlobals, err := countImportedGlobals(secs)
	if err != nil {
		return nil, 0, err
	}
	// Add the global (appended, so no existing index moves).
	gi := -1
	for i, s := range secs {
		if s.id == secGlobal {
			gi = i
		}
	}
	newGlobal := append(appendSLEB([]byte{0x7f, 0x01, 0x41}, Fuel), 0x0b) // i32, mutable, i32.const Fuel, end
	var globalIndex uint32
	if gi >= 0 {
		body, count, err := appendToVector(secs[gi].body, newGlobal)
		if err != nil {
			return nil, 0, err
		}
		secs[gi].body = body
		globalIndex = importedGlobals + count
	} else {
		globalIndex = importedGlobals
		secs = insertBefore(secs, section{id: secGlobal, body: append([]byte{1}, newGlobal...)}, secExport, secStart, secElement, secDataCnt, secCode, secData)
	}
	exp := appendName(nil, StopExport)
	exp = append(exp, 0x03)
	exp = binary.AppendUvarint(exp, uint64(globalIndex))
	ei := -1
	for i, s := range secs {
		if s.id == secExport {
			ei = i
		}
	}
	if ei >= 0 {
		body, _, err := appendToVector(secs[ei].body, exp)
		if err != nil {
			return nil, 0, err
		}
		secs[ei].body = body
	} else {
		secs = insertBefore(secs, section{id: secExport, body: append([]byte{1}, exp...)}, secStart, secElement, secDataCnt, secCode, secData)
	}
	// g = g - 1; if g <= 0 { unreachable }
	g := binary.AppendUvarint(nil, uint64(globalIndex))
	check := append([]byte{0x23}, g...)           // global.get g
	check = append(check, 0x41, 0x01, 0x6b, 0x24) // i32.const 1, i32.sub, global.set
	check = append(check, g...)
	check = append(check, 0x23)
	check = append(check, g...)
	check = append(check, 0x41, 0x00, 0x4c, 0x04, 0x40, 0x00, 0x0b) // i32.const 0, i32.le_s, if (empty) unreachable end
	for i, s := range secs {
		if s.id != secCode {
			continue
		}
		body, n, err := rewriteCode(s.body, check)
		if err != nil {
			return nil, 0, err
		}
		secs[i].body, loops = body, loops+n
	}
	out = append(make([]byte, 0, len(wasm)+len(wasm)/8), wasm[:8]...)
	for _, s := range secs {
		if s.id == secCustom && isDebugSection(s.body) {
			continue // DWARF offsets would point at the wrong instructions after the rewrite
		}
		out = append(out, s.id)
		out = binary.AppendUvarint(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, loops, nil
}

func isDebugSection(body []byte) bool {
	r := reader{b: body}
	n := r.u32()
	name := r.bytes(int(n))
	return r.err == nil && len(name) > 7 && string(name[:7]) == ".debug_"
}

func insertBefore(secs []section, s section, ids ...byte) []section {
	for i, x := range secs {
		for _, id := range ids {
			if x.id == id {
				return append(secs[:i], append([]section{s}, secs[i:]...)...)
			}
		}
	}
	return append(secs, s)
}

func appendName(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendToVector adds one encoded entry to a section that is a vector; it returns the new body
// and the count before the append.
func appendToVector(body, entry []byte) ([]byte, uint32, error) {
	r := reader{b: body}
	count := r.u32()
	if r.err != nil {
		return nil, 0, r.err
	}
	out := binary.AppendUvarint(nil, uint64(count)+1)
	out = append(out, body[r.i:]...)
	return append(out, entry...), count, nil
}

func countImportedGlobals(secs []section) (uint32, error) {
	var n uint32
	for _, s := range secs {
		if s.id != secImport {
			continue
		}
		r := reader{b: s.body}
		count := r.u32()
		for range count {
			r.bytes(int(r.u32())) // module
			r.bytes(int(r.u32())) // name
			switch kind := r.byte(); kind {
			case 0x00: // function: type index
				r.u32()
			case 0x01: // table: reftype, limits
				r.valType()
				r.limits()
			case 0x02: // memory
				r.limits()
			case 0x03: // global: valtype, mutability
				r.valType()
				r.byte()
				n++
			case 0x04: // tag: attribute, type index
				r.byte()
				r.u32()
			default:
				return 0, fmt.Errorf("%w: import kind 0x%02x", ErrMalformed, kind)
			}
			if r.err != nil {
				return 0, r.err
			}
		}
	}
	return n, nil
}

// rewriteCode inserts check after the block type of every loop in every function body.
func rewriteCode(body, check []byte) ([]byte, int, error) {
	r := reader{b: body}
	count := r.u32()
	out := binary.AppendUvarint(make([]byte, 0, len(body)+len(body)/8), uint64(count))
	loops := 0
	var fn []byte
	for range count {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			return nil, 0, r.err
		}
		var n int
		var err error
		fn, n, err = rewriteFunc(fn[:0], code, check)
		if err != nil {
			return nil, 0, err
		}
		loops += n
		out = binary.AppendUvarint(out, uint64(len(fn)))
		out = append(out, fn...)
	}
	if r.i != len(body) {
		return nil, 0, fmt.Errorf("%w: bytes after the last function body", ErrMalformed)
	}
	return out, loops, nil
}

func rewriteFunc(out, code, check []byte) ([]byte, int, error) {
	r := reader{b: code}
	groups := r.u32()
	for range groups {
		r.u32()
		r.valType()
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	out = append(out, code[:r.i]...)
	loops := 0
	for r.i < len(code) {
		start := r.i
		op := r.instr()
		if r.err != nil {
			return nil, 0, fmt.Errorf("%w at function byte %d", r.err, start)
		}
		out = append(out, code[start:r.i]...)
		if op == 0x03 { // loop: guard every iteration at its head
			out = append(out, check...)
			loops++
		}
	}
	return out, loops, nil
}

// reader decodes the binary format; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
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
	if n < 0 || r.i+n > len(r.b) {
		r.fail("length %d past the end", n)
		return nil
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b
}

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b[min(r.i, len(r.b)):])
	if n <= 0 || n > 5 || v > 0xFFFFFFFF {
		r.fail("bad unsigned LEB128")
		return 0
	}
	r.i += n
	return uint32(v)
}

func (r *reader) u64() {
	_, n := binary.Uvarint(r.b[min(r.i, len(r.b)):])
	if n <= 0 || n > 10 {
		r.fail("bad unsigned LEB128")
		return
	}
	r.i += n
}

// sleb skips a signed LEB128 of at most max bytes.
func (r *reader) sleb(max int) {
	for k := 0; k < max; k++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail("signed LEB128 too long")
}

func (r *reader) limits() {
	flags := r.byte()
	if flags > 0x07 {
		r.fail("limits flags 0x%02x", flags)
		return
	}
	r.u64()
	if flags&1 != 0 {
		r.u64()
	}
}

func (r *reader) valType() {
	switch t := r.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	case 0x63, 0x64: // (ref null? heaptype)
		r.sleb(5)
	default:
		r.fail("value type 0x%02x", t)
	}
}

func (r *reader) blockType() {
	if r.i >= len(r.b) {
		r.fail("unexpected end")
		return
	}
	switch c := r.b[r.i]; {
	case c == 0x63 || c == 0x64: // a reference type with a heap type
		r.i++
		r.sleb(5)
	case c >= 0x40 && c <= 0x7f: // empty, or one value type: one byte
		r.i++
	default: // a type index, as s33
		r.sleb(5)
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.u64()
}

// instr decodes one instruction and returns its opcode.
func (r *reader) instr() byte {
	op := r.byte()
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04 || op == 0x06: // block loop if try
		r.blockType()
	case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 ||
		op == 0x14 || op == 0x15 || op == 0x18 || op == 0xd2 || op == 0xd4 || op == 0xd6:
		r.u32() // one index
	case op == 0x0e: // br_table
		n := r.u32()
		for k := uint32(0); k <= n && r.err == nil; k++ {
			r.u32()
		}
	case op == 0x11 || op == 0x13: // call_indirect: type, table
		r.u32()
		r.u32()
	case op == 0x1c: // select with types
		n := r.u32()
		for k := uint32(0); k < n && r.err == nil; k++ {
			r.valType()
		}
	case op == 0x1f: // try_table
		r.blockType()
		n := r.u32()
		for k := uint32(0); k < n && r.err == nil; k++ {
			switch kind := r.byte(); kind {
			case 0x00, 0x01:
				r.u32()
				r.u32()
			case 0x02, 0x03:
				r.u32()
			default:
				r.fail("catch kind 0x%02x", kind)
			}
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e:
		r.memarg()
	case op == 0x3f || op == 0x40:
		r.u32()
	case op == 0x41:
		r.sleb(5)
	case op == 0x42:
		r.sleb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op == 0xd0: // ref.null heaptype
		r.sleb(5)
	case op == 0xfc:
		r.prefixFC()
	case op == 0xfd:
		r.prefixFD()
	case op == 0xfe:
		sub := r.u32()
		if sub == 0x03 {
			r.byte() // atomic.fence
		} else {
			r.memarg()
		}
	case op <= 0x01, op == 0x05, op == 0x0a, op == 0x0b, op == 0x0f, op == 0x19, op == 0x1a, op == 0x1b,
		op >= 0x45 && op <= 0xc4, op == 0xd1, op == 0xd3:
		// no immediates
	default:
		r.fail("instruction 0x%02x is not one the host can instrument", op)
	}
	return op
}

func (r *reader) prefixFC() {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init data, memory
		r.u32()
		r.u32()
	case sub == 9, sub == 11, sub == 13, sub == 15, sub == 16, sub == 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10, sub == 12, sub == 14: // memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	default:
		r.fail("instruction 0xfc %d is not one the host can instrument", sub)
	}
}

func (r *reader) prefixFD() {
	switch sub := r.u32(); {
	case sub <= 11, sub == 92, sub == 93:
		r.memarg()
	case sub == 12, sub == 13:
		r.bytes(16)
	case sub >= 21 && sub <= 34:
		r.byte()
	case sub >= 84 && sub <= 91:
		r.memarg()
		r.byte()
	case sub <= 0x113:
		// the rest have no immediates
	default:
		r.fail("instruction 0xfd %d is not one the host can instrument", sub)
	}
}
