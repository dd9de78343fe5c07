package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wayline/wayline/plugins/internal/wasmbuild"
	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/sdk/abi"
)

func newHost(t testing.TB, allow ...string) *Host {
	t.Helper()
	prefixes, err := netguard.ParseAllow(allow)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Guard: &netguard.Guard{Allow: prefixes}, MaxInstances: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func mustC(t testing.TB, name string) []byte {
	t.Helper()
	b, err := wasmbuild.C("plugins/testdata/sandbox/" + name + ".c")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manifest(t testing.TB, js string) *Manifest {
	t.Helper()
	m, err := ParseManifest([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const misbehaveManifest = `{"name":"misbehave","version":"1.0.0","kinds":["condition"],
	"allowedHosts":["127.0.0.1","169.254.169.254","localhost"],
	"limits":{"memoryPages":64,"timeout":"100ms","maxHttpCalls":2,"maxOutputBytes":4096}}`

func loadMisbehave(t testing.TB, h *Host) *Plugin {
	t.Helper()
	p, err := h.Load(context.Background(), mustC(t, "misbehave"), manifest(t, misbehaveManifest))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func call(p *Plugin, input string) Result {
	return p.Call(context.Background(), &Call{Kind: abi.KindCondition, Input: []byte(input)})
}

func TestSandboxContainsMisbehaviour(t *testing.T) {
	h := newHost(t)
	p := loadMisbehave(t, h)
	cases := []struct {
		mode     string
		wantCode string
		wantMsg  string
	}{
		{"loop", CodeTimeout, "deadline"},
		{"bomb", CodeTrapped, "trapped"},
		{"trap", CodeTrapped, "unreachable"},
		{"badptr", CodeTrapped, "outside"},
		{"hugelen", CodeLimit, "maxOutputBytes"},
		{"silent", CodeFailed, "no output"},
		{"fail", CodeFailed, "upstream down"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			start := time.Now()
			r := call(p, `{"mode":"`+c.mode+`"}`)
			if r.Err == nil {
				t.Fatalf("mode %s: want error %s, got output %s", c.mode, c.wantCode, r.Output)
			}
			if r.Err.Code != c.wantCode || !strings.Contains(r.Err.Message, c.wantMsg) {
				t.Fatalf("mode %s: want %s containing %q, got %s: %s", c.mode, c.wantCode, c.wantMsg, r.Err.Code, r.Err.Message)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("mode %s took %v: the host did not contain it", c.mode, time.Since(start))
			}
			// The plugin, and the host, keep working after each misbehaviour.
			if ok := call(p, `{"mode":"ok"}`); ok.Err != nil || string(ok.Output) != `{"result":true}` {
				t.Fatalf("after %s the next call failed: %+v", c.mode, ok.Err)
			}
			if ok := call(p, `{"mode":"ok"}`); ok.Memory > 64*65536 {
				t.Fatalf("instance memory %d exceeds the 64-page limit", ok.Memory)
			}
		})
	}
	if c := (&CallError{Code: CodeFailed, Guest: abi.ErrUpstream}); !c.Retryable() {
		t.Errorf("an upstream failure must be retryable")
	}
}

func TestLoadRefusesBadModules(t *testing.T) {
	h := newHost(t)
	m := manifest(t, `{"name":"x","version":"1.0.0","kinds":["condition"]}`)
	cases := []struct {
		name string
		wasm []byte
		m    *Manifest
		want string
	}{
		{"malformed bytes", []byte("not wasm at all, just text"), m, "not a WebAssembly binary"},
		{"truncated module", mustC(t, "misbehave")[:200], m, "not a valid WebAssembly module"},
		{"forbidden import", mustC(t, "forbidden_import"), m, "imports env.system"},
		{"socket import", mustC(t, "socket_import"), m, "sock_accept"},
		{"no version marker", mustC(t, "no_marker"), m, "wayline_abi_version_1"},
		{"kind without handler", mustC(t, "misbehave"), manifest(t, `{"name":"x","version":"1.0.0","kinds":["action"]}`), "wayline_action"},
		{"over binary limit", mustC(t, "misbehave"), manifest(t, `{"name":"x","version":"1.0.0","kinds":["condition"],"limits":{"maxBinaryBytes":1000}}`), "maxBinaryBytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Load(context.Background(), c.wasm, c.m)
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want a field error containing %q, got %v", c.want, err)
			}
		})
	}
}

// testServer answers on loopback and counts requests.
func testServer(t testing.TB, h http.Handler) (base string, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return "http://" + ln.Addr().String(), port
}

func TestHTTPGoesOnlyWhereAllowed(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	base, port := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.WriteHeader(200)
	}))
	req := func(url string) string {
		return fmt.Sprintf(`{"mode":"http","req":{"method":"GET","url":%q}}`, url)
	}

	// Without an operator allow-list, loopback and the metadata address are refused at dial.
	strict := loadMisbehave(t, newHost(t))
	for _, u := range []string{base + "/x", "http://localhost:" + port + "/x", "http://169.254.169.254/latest/meta-data/", "http://example.org/"} {
		r := call(strict, req(u))
		if r.Err != nil || !strings.Contains(string(r.Output), `"result":false`) {
			t.Fatalf("%s: want a refused request (result false), got %s %v", u, r.Output, r.Err)
		}
	}
	if hits != 0 {
		t.Fatalf("a refused request reached the server (%d hits)", hits)
	}

	// With loopback allowed by the operator and by the manifest, the call goes through.
	open := loadMisbehave(t, newHost(t, "127.0.0.1"))
	r := call(open, req(base+"/x"))
	if r.Err != nil || !strings.Contains(string(r.Output), "http 200") || r.HTTPCalls != 1 {
		t.Fatalf("allowed request: got %s %v (http calls %d)", r.Output, r.Err, r.HTTPCalls)
	}
	// A host the manifest does not list stays refused even when the address is allowed.
	r = call(open, req("http://127.0.0.2:"+port+"/x"))
	if r.Err != nil || !strings.Contains(string(r.Output), "status -2") {
		t.Fatalf("host outside allowedHosts: got %s %v", r.Output, r.Err)
	}
	if hits != 1 {
		t.Fatalf("server saw %d requests, want 1", hits)
	}
}

type memKV map[string][]byte

func (m memKV) Get(k []byte) ([]byte, bool, error) { v, ok := m[string(k)]; return v, ok, nil }
func (m memKV) Set(k, v []byte) error              { m[string(k)] = v; return nil }
func (m memKV) Delete(k []byte) error              { delete(m, string(k)); return nil }

func TestKeyValueStore(t *testing.T) {
	p := loadMisbehave(t, newHost(t))
	kv := memKV{}
	for i := 1; i <= 3; i++ {
		r := p.Call(context.Background(), &Call{Kind: abi.KindCondition, Input: []byte(`{"mode":"count"}`), KV: kv})
		if r.Err != nil || !strings.Contains(string(r.Output), fmt.Sprintf(`"reason":"%d"`, i)) {
			t.Fatalf("call %d: %s %v", i, r.Output, r.Err)
		}
	}
	if string(kv["count"]) != "3" {
		t.Fatalf("store holds %q, want 3", kv["count"])
	}
	r := p.Call(context.Background(), &Call{Kind: abi.KindCondition, Input: []byte(`{"mode":"count"}`), KV: kv, ReadOnlyKV: true})
	if r.Err != nil || !strings.Contains(string(r.Output), `"result":false`) || string(kv["count"]) != "3" {
		t.Fatalf("a read-only call must not write: %s %v, store %q", r.Output, r.Err, kv["count"])
	}
	r = p.Call(context.Background(), &Call{Kind: abi.KindCondition, Input: []byte(`{"mode":"count"}`)})
	if r.Err != nil || !strings.Contains(string(r.Output), `"result":false`) {
		t.Fatalf("a call without a store must see unavailable: %s %v", r.Output, r.Err)
	}
}

func TestConcurrentCallsShareTheBoundedPool(t *testing.T) {
	p := loadMisbehave(t, newHost(t))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				mode := "ok"
				if i%25 == 0 {
					mode = "trap"
				}
				r := call(p, `{"mode":"`+mode+`"}`)
				if (mode == "ok") != (r.Err == nil) {
					errs <- fmt.Errorf("mode %s: %s %v", mode, r.Output, r.Err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(p.slots); n > 4 {
		t.Fatalf("%d live instances, the pool allows 4", n)
	}
}

func TestWeatherDataSourceGoExample(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	base, _ := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Query().Get("city") == "Atlantis" {
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"tempC":18.5,"condition":"rain"}`)
	}))
	wasm, mj, err := wasmbuild.Example("weather")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(mj)
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, "127.0.0.1")
	p, err := h.Load(context.Background(), wasm, m)
	if err != nil {
		t.Fatal(err)
	}
	in := func(city string) []byte {
		b, _ := json.Marshal(map[string]any{"abi": 1, "kind": "datasource", "config": map[string]any{"baseUrl": base}, "group": "current", "params": map[string]any{"city": city}})
		return b
	}
	var logs []string
	r := p.Call(context.Background(), &Call{Kind: abi.KindDataSource, Input: in("Paris"), Secrets: map[string]string{"apiKey": "k1"}, Log: func(_ int32, msg string) { logs = append(logs, msg) }})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var out struct{ Fields map[string]any }
	if err := json.Unmarshal(r.Output, &out); err != nil || out.Fields["tempC"] != 18.5 {
		t.Fatalf("fields: %s (%v)", r.Output, err)
	}
	if len(seen) != 1 || !strings.Contains(seen[0], "city=Paris") || !strings.HasSuffix(seen[0], "Bearer k1") {
		t.Fatalf("server saw %v", seen)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "Paris") {
		t.Fatalf("logs %v", logs)
	}
	r = p.Call(context.Background(), &Call{Kind: abi.KindDataSource, Input: in("Atlantis")})
	if r.Err == nil || r.Err.Guest != abi.ErrInvalidInput {
		t.Fatalf("unknown city: want invalid_input, got %+v", r.Err)
	}
	r = p.Call(context.Background(), &Call{Kind: abi.KindDataSource, Input: []byte(`{"abi":1,"kind":"datasource","config":{},"group":"current","params":{"city":"Paris"}}`)})
	if r.Err == nil || r.Err.Guest != abi.ErrInvalidConfig {
		t.Fatalf("missing baseUrl: want invalid_config, got %+v", r.Err)
	}
	r = p.Call(context.Background(), &Call{Kind: abi.KindDataSource, Input: []byte(`{not json`)})
	if r.Err == nil || r.Err.Guest != abi.ErrInvalidInput {
		t.Fatalf("malformed input: want invalid_input, got %+v", r.Err)
	}
}

var _ = netip.Addr{}
