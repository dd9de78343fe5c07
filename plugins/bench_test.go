package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wayline/wayline/plugins/internal/wasmbuild"
	"github.com/wayline/wayline/sdk/abi"
)

// conditionInput1KB is a condition input padded to about 1 KB, the size the benchmarks use.
func conditionInput1KB(tb testing.TB) []byte {
	attrs := map[string]any{"points": 1200.0, "purchases": 7.0, "daysSinceLastVisit": 3.0, "emailOpens": 12.0, "country": "FR", "city": "Paris"}
	in := map[string]any{"abi": 1, "kind": "condition", "config": map[string]any{"tier": "gold"},
		"event":   map[string]any{"id": "e-1", "type": "purchase", "timestamp": "2026-11-23T10:00:00Z", "identity": "u-1", "data": map[string]any{"total": 42.5, "sku": "A-1"}},
		"profile": map[string]any{"id": "u-1", "attributes": attrs}, "vars": map[string]any{}, "now": "2026-11-23T10:00:00.123Z"}
	for i := 0; ; i++ {
		b, _ := json.Marshal(in)
		if len(b) >= 1000 {
			return b
		}
		attrs[fmt.Sprintf("pad%02d", i)] = strings.Repeat("x", 20)
	}
}

// BenchmarkConditionNativeGo is the same condition as a plain Go function: decode, compare.
func BenchmarkConditionNativeGo(b *testing.B) {
	in := conditionInput1KB(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Config  struct{ Tier string }
			Profile struct{ Attributes map[string]any }
		}
		if err := sonic.Unmarshal(in, &v); err != nil {
			b.Fatal(err)
		}
		if p, _ := v.Profile.Attributes["points"].(float64); p < 1000 || v.Config.Tier != "gold" {
			b.Fatal("wrong answer")
		}
	}
}

// BenchmarkBareWazeroRoundTrip is the ceiling: plain wazero, no limits, a guest that returns
// a fixed output; the host writes 1 KB in, calls, and reads the output back.
func BenchmarkBareWazeroRoundTrip(b *testing.B) {
	wasm := mustC(b, "bare")
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	if f := mod.ExportedFunction("_initialize"); f != nil {
		if _, err := f.Call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	in := conditionInput1KB(b)
	res, err := mod.ExportedFunction(abi.ExportAlloc).Call(ctx, uint64(len(in)))
	if err != nil {
		b.Fatal(err)
	}
	ptr := uint32(res[0])
	fn := mod.ExportedFunction(abi.ExportCondition)
	stack := make([]uint64, 2)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		mod.Memory().Write(ptr, in)
		stack[0], stack[1] = uint64(ptr), uint64(len(in))
		if err := fn.CallWithStack(ctx, stack); err != nil {
			b.Fatal(err)
		}
		out, ok := mod.Memory().Read(uint32(stack[0]>>32), uint32(stack[0]))
		if !ok || len(append([]byte(nil), out...)) == 0 {
			b.Fatal("no output")
		}
	}
}

// BenchmarkHostRoundTrip is the bare module through this host: pool, watchdog deadline,
// loop instrumentation, output copy. The difference to BenchmarkBareWazeroRoundTrip is what
// enforcing the limits costs.
func BenchmarkHostRoundTrip(b *testing.B) {
	m := manifest(b, `{"name":"bare","version":"1.0.0","kinds":["condition"]}`)
	benchCondition(b, mustC(b, "bare"), m, 1, false)
}

// BenchmarkHostRoundTripUnbounded is the same without loop instrumentation: no per-call
// goroutine, no deadline. It isolates what the instrumentation costs.
func BenchmarkHostRoundTripUnbounded(b *testing.B) {
	m := manifest(b, `{"name":"bare","version":"1.0.0","kinds":["condition"]}`)
	benchCondition(b, mustC(b, "bare"), m, 1, true)
}

// BenchmarkCondition runs each language's loyalty-tier-style condition with a 1 KB input, one
// call per evaluation and in batches of 64 (one crossing, one deadline).
func BenchmarkCondition(b *testing.B) {
	type lang struct {
		name string
		load func() ([]byte, []byte, error)
	}
	langs := []lang{
		{"go", func() ([]byte, []byte, error) {
			w, err := wasmbuild.Go("plugins/testdata/bench/goloyalty")
			return w, []byte(`{"name":"goloyalty","version":"1.0.0","kinds":["condition"],"limits":{"timeout":"1s"}}`), err
		}},
		{"rust", func() ([]byte, []byte, error) { return wasmbuild.Example("loyalty-tier") }},
		{"c", func() ([]byte, []byte, error) { return wasmbuild.Example("propensity-score") }},
		{"assemblyscript", func() ([]byte, []byte, error) {
			w, err := os.ReadFile(filepath.Join(wasmbuild.Root(), "bin", "plugins", "asloyalty.wasm"))
			return w, []byte(`{"name":"asloyalty","version":"1.0.0","kinds":["condition"]}`), err
		}},
	}
	for _, l := range langs {
		wasm, mj, err := l.load()
		if err != nil {
			b.Logf("%s: skipped: %v", l.name, err)
			continue
		}
		m, err := ParseManifest(mj)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", l.name, batch), func(b *testing.B) { benchCondition(b, wasm, m, batch, false) })
		}
		b.Run(l.name+"/unbounded", func(b *testing.B) { benchCondition(b, wasm, m, 1, true) })
	}
}

func benchCondition(b *testing.B, wasm []byte, m *Manifest, batch int, unbounded bool) {
	// A long deadline: a busy machine can pause a microsecond call for longer than a condition's
	// 20 ms default, and one such pause would end the whole benchmark.
	lim := *m
	lim.Limits.Timeout = Duration(5 * time.Second)
	m = &lim
	h, err := New(Config{MaxInstances: 1, UnboundedLoops: unbounded})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	p, err := h.Load(context.Background(), wasm, m)
	if err != nil {
		b.Fatal(err)
	}
	in := conditionInput1KB(b)
	c := &Call{Kind: abi.KindCondition, Input: in}
	if batch > 1 {
		if !p.HasConditionBatch() {
			b.Skip("no batch handler")
		}
		var one map[string]json.RawMessage
		json.Unmarshal(in, &one)
		items := make([]string, batch)
		for i := range items {
			items[i] = `{"event":` + string(one["event"]) + `,"profile":` + string(one["profile"]) + `,"vars":{}}`
		}
		c = &Call{Kind: KindConditionBatch, Input: []byte(`{"abi":1,"kind":"condition","config":` + string(one["config"]) + `,"now":"2026-11-23T10:00:00Z","items":[` + strings.Join(items, ",") + `]}`)}
	}
	if r := p.Call(context.Background(), c); r.Err != nil {
		b.Fatal(r.Err)
	}
	b.ReportAllocs()
	b.ReportMetric(0, "ns/op")
	n := 0
	for b.Loop() {
		if r := p.Call(context.Background(), c); r.Err != nil {
			b.Fatal(r.Err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*batch), "ns/eval")
}
