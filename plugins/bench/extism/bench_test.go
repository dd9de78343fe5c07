// Package extismbench measures the cost of calling a condition plugin through
// the Extism Go SDK, for comparison with Wayline's own plugin host (see
// README.md). It is a separate module so that Extism never enters the
// product's dependencies.
package extismbench

//go:generate ./build.sh

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
)

const wasmPath = "testdata/plugin.wasm"

// conditionInput returns a Wayline condition input (sdk/ABI.md) of exactly
// size bytes, padded with a "bio" profile attribute.
func conditionInput(points, size int) []byte {
	const head = `{"abi":1,"kind":"condition",` +
		`"config":{"tier":"gold"},` +
		`"event":{"id":"e-1","type":"purchase","timestamp":"2026-11-23T10:00:00Z","identity":"u-1","data":{"total":42.5,"sku":"SKU-123","currency":"EUR"}},` +
		`"profile":{"id":"u-1","attributes":{"points":%d,"country":"FR","tier":"silver","email":"ann@example.com","bio":"`
	const tail = `"}},"vars":{},"now":"2026-11-23T10:00:00.123Z"}`
	s := fmt.Sprintf(head, points)
	pad := size - len(s) - len(tail)
	if pad < 0 {
		pad = 0
	}
	return []byte(s + strings.Repeat("x", pad) + tail)
}

var (
	input1KB = conditionInput(1200, 1024)
	wantTrue = []byte(`{"result":true}`)
)

// newPlugin compiles the plugin once and makes one instance, the fastest way
// the SDK offers to call a plugin repeatedly. timeout 0 means no deadline.
func newPlugin(tb testing.TB, timeout time.Duration) *extism.Plugin {
	tb.Helper()
	if _, err := os.Stat(wasmPath); err != nil {
		tb.Fatalf("%v: run ./build.sh (or go generate) first", err)
	}
	ctx := context.Background()
	manifest := extism.Manifest{
		Wasm:    []extism.Wasm{extism.WasmFile{Path: wasmPath}},
		Timeout: uint64(timeout / time.Millisecond),
	}
	compiled, err := extism.NewCompiledPlugin(ctx, manifest, extism.PluginConfig{EnableWasi: true}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { compiled.Close(ctx) })
	p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close(ctx) })
	// The first call runs the reactor's _initialize (Go runtime start-up);
	// keep it out of the measured loop.
	if _, _, err := p.Call("noop", nil); err != nil {
		tb.Fatal(err)
	}
	return p
}

func call(tb testing.TB, p *extism.Plugin, fn string, in []byte) []byte {
	rc, out, err := p.Call(fn, in)
	if err != nil || rc != 0 {
		tb.Fatalf("%s: rc=%d err=%v", fn, rc, err)
	}
	return out
}

func TestCondition(t *testing.T) {
	if len(input1KB) != 1024 {
		t.Fatalf("input is %d bytes, want 1024", len(input1KB))
	}
	p := newPlugin(t, 0)
	for _, tc := range []struct {
		points int
		want   string
	}{{1200, `{"result":true}`}, {1000, `{"result":true}`}, {999, `{"result":false}`}, {0, `{"result":false}`}} {
		if got := call(t, p, "condition", conditionInput(tc.points, 1024)); string(got) != tc.want {
			t.Errorf("points %d: got %s, want %s", tc.points, got, tc.want)
		}
	}
	if _, _, err := p.Call("condition", []byte(`{"profile":`)); err == nil {
		t.Error("malformed input: no error")
	}
	if got := call(t, p, "noop", input1KB); string(got) != "1024" {
		t.Errorf("noop: got %q", got)
	}
	if got := call(t, p, "read", input1KB); string(got) != "1024" {
		t.Errorf("read: got %q", got)
	}
	if got := call(t, p, "noop", nil); string(got) != "0" {
		t.Errorf("noop, no input: got %q", got)
	}
}

func benchCall(b *testing.B, timeout time.Duration, fn string, in, want []byte) {
	p := newPlugin(b, timeout)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rc, out, err := p.Call(fn, in)
		if err != nil || rc != 0 || !bytes.Equal(out, want) {
			b.Fatalf("%s: rc=%d out=%q err=%v", fn, rc, out, err)
		}
	}
}

// BenchmarkExtismCondition1KB: the whole condition call — 1 KB input copied
// in, read by the guest, parsed with encoding/json, {"result":true} out.
func BenchmarkExtismCondition1KB(b *testing.B) {
	benchCall(b, 0, "condition", input1KB, wantTrue)
}

// BenchmarkExtismCondition1KBTimeout: the same with a timeout in the
// manifest, which makes the SDK wrap every call in context.WithTimeout and
// makes wazero watch the context (WithCloseOnContextDone). What that costs
// does not depend on the duration. It is 1 s, not a Wayline condition's 20 ms:
// on a busy 2-core machine a few calls in 10^4 took over 20 ms of wall time,
// and a call that hits the deadline closes the instance, which ends the run.
func BenchmarkExtismCondition1KBTimeout(b *testing.B) {
	benchCall(b, time.Second, "condition", input1KB, wantTrue)
}

// BenchmarkExtismRead1KB: the guest copies the 1 KB input in (pdk.Input) and
// answers its length without parsing it.
func BenchmarkExtismRead1KB(b *testing.B) {
	benchCall(b, 0, "read", input1KB, []byte(strconv.Itoa(len(input1KB))))
}

// BenchmarkExtismNoop: the host hands the guest the 1 KB input, the guest asks
// only its length and answers it: the fixed cost of an Extism call.
func BenchmarkExtismNoop(b *testing.B) {
	benchCall(b, 0, "noop", input1KB, []byte(strconv.Itoa(len(input1KB))))
}

// BenchmarkExtismNoopEmpty: the same with no input.
func BenchmarkExtismNoopEmpty(b *testing.B) {
	benchCall(b, 0, "noop", nil, []byte("0"))
}
