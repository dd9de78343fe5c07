package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/wayline/wayline/runtime/auth"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// These tests serve the real handlers, metadata store and keys over an in-memory listener; the
// plugin host is a fake that implements the PluginHost interface the real one (cmd/wayline)
// implements. The real host is exercised end to end in cmd/wayline.

const (
	adminKey  = "api-test-admin-key-0123456789"
	viewerKey = "api-test-viewer-key-0123456789"
)

// fakeHost accepts modules that start with \0asm and manifests with a name, a MAJOR.MINOR.PATCH
// version and kinds; Run echoes what it was given.
type fakeHost struct {
	mu   sync.Mutex
	runs []fakeRun
}

type fakeRun struct {
	Name, Version, Kind string
	Input, Config       json.RawMessage
	Secrets             map[string]string
}

func (f *fakeHost) Check(ctx context.Context, wasm, manifest []byte) (PluginCheck, error) {
	var m struct {
		Name        string   `json:"name"`
		Version     string   `json:"version"`
		Kinds       []string `json:"kinds"`
		Description string   `json:"description"`
		// The real host keeps the config schema in the normalised manifest too.
		ConfigSchema json.RawMessage `json:"configSchema,omitempty"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return PluginCheck{}, &PluginError{Field: "manifest", Reason: "is not valid JSON"}
	}
	if strings.Count(m.Version, ".") != 2 {
		return PluginCheck{}, &PluginError{Field: "manifest.version", Reason: "must be a semantic version MAJOR.MINOR.PATCH such as 1.0.0"}
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return PluginCheck{}, &PluginError{Field: "module", Reason: "is not a WebAssembly binary"}
	}
	nm := map[string]any{"name": m.Name, "version": m.Version, "kinds": m.Kinds, "description": m.Description, "limits": map[string]any{"timeout": "20ms"}}
	if len(m.ConfigSchema) > 0 {
		nm["configSchema"] = m.ConfigSchema
	}
	norm, _ := json.Marshal(nm)
	return PluginCheck{Name: m.Name, Version: m.Version, Kinds: m.Kinds, Manifest: norm}, nil
}

func (f *fakeHost) Run(ctx context.Context, name, version, kind string, input, config []byte, secrets map[string]string) PluginRun {
	f.mu.Lock()
	f.runs = append(f.runs, fakeRun{name, version, kind, input, config, secrets})
	f.mu.Unlock()
	if strings.Contains(string(input), `"fail"`) {
		return PluginRun{Error: &PluginRunError{Code: "plugin_failed", GuestCode: "upstream", Message: "the CRM answered 503"}, Duration: time.Millisecond}
	}
	out, _ := json.Marshal(map[string]any{"ok": true, "echo": map[string]any{"input": json.RawMessage(input), "config": json.RawMessage(config)}})
	return PluginRun{Output: out, Duration: 1500 * time.Microsecond, MemoryBytes: 1 << 20, Logs: []PluginLog{{Level: "info", Message: "ran"}}}
}

func (f *fakeHost) last() fakeRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[len(f.runs)-1]
}

type apiClient struct {
	t    *testing.T
	http *http.Client
}

type apiResp struct {
	status int
	body   []byte
	header http.Header
}

func (r apiResp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %s", r.status, r.body)
	}
	return m
}

// errOf returns the first error of an error answer: code and field.
func (r apiResp) errOf(t *testing.T) (code, field, msg string) {
	t.Helper()
	var e struct {
		Error  *struct{ Code, Field, Message string }  `json:"error"`
		Errors []struct{ Code, Field, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("answer %d is not JSON: %s", r.status, r.body)
	}
	switch {
	case e.Error != nil:
		return e.Error.Code, e.Error.Field, e.Error.Message
	case len(e.Errors) > 0:
		return e.Errors[0].Code, e.Errors[0].Field, e.Errors[0].Message
	}
	t.Fatalf("answer %d is not an error: %s", r.status, r.body)
	return
}

func newAPI(t *testing.T, host PluginHost) (*apiClient, *meta.Store) {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	md := meta.New(st)
	keys, err := auth.New(md)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.Create("admin", model.RoleAdmin, adminKey); err != nil {
		t.Fatal(err)
	}
	if _, _, err := keys.Create("viewer", model.RoleViewer, viewerKey); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.New(md, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(DefaultConfig(), Deps{Meta: md, Catalog: cat, Keys: keys, Plugins: host, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
		st.Close()
	})
	c := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) { return ln.Dial() }}}
	return &apiClient{t: t, http: c}, md
}

func (c *apiClient) raw(method, path, ctype string, body []byte, headers ...string) apiResp {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://wayline"+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResp{resp.StatusCode, b, resp.Header}
}

func (c *apiClient) json(method, path string, body any, headers ...string) apiResp {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	return c.raw(method, path, "application/json", b, headers...)
}

func (c *apiClient) must(status int, method, path string, body any, headers ...string) map[string]any {
	c.t.Helper()
	r := c.json(method, path, body, headers...)
	if r.status != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.obj(c.t)
}

// multipartBody builds an upload; parts are name, content pairs.
func multipartBody(parts ...string) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(parts); i += 2 {
		fw, _ := w.CreateFormFile(parts[i], parts[i]+".bin")
		fw.Write([]byte(parts[i+1]))
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

func manifestJSON(name, version string, kinds ...string) string {
	b, _ := json.Marshal(map[string]any{"name": name, "version": version, "kinds": kinds, "description": "a " + name + " plugin"})
	return string(b)
}

func (c *apiClient) upload(manifest, module string, headers ...string) apiResp {
	c.t.Helper()
	body, ctype := multipartBody("manifest", manifest, "module", module)
	return c.raw("POST", "/v1/plugins", ctype, body, headers...)
}

func wasmOf(n int, fill byte) string {
	return "\x00asm\x01\x00\x00\x00" + strings.Repeat(string([]byte{fill}), n)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestPluginUploadStoresVersionsImmutablyAndContentAddressed(t *testing.T) {
	c, md := newAPI(t, &fakeHost{})
	// Larger than the 1 MiB JSON body limit: the upload reads its own stream.
	big := wasmOf(3<<20, 'a')
	r := c.upload(manifestJSON("crm", "1.0.0", "action"), big)
	if r.status != 201 {
		t.Fatalf("first upload: %d %s", r.status, r.body)
	}
	p := r.obj(t)
	vs := p["versions"].([]any)
	v0 := vs[0].(map[string]any)
	if p["name"] != "crm" || len(vs) != 1 || v0["sha256"] != sha(big) || v0["size"] != float64(len(big)) || p["description"] != "a crm plugin" {
		t.Fatalf("upload answer: %s", r.body)
	}
	if r.header.Get("ETag") != "1" {
		t.Errorf("ETag %q, want the revision 1", r.header.Get("ETag"))
	}
	stored, err := md.GetRaw(meta.KindPluginBinary, sha(big))
	if err != nil || string(stored) != big {
		t.Fatalf("the module is not stored under its sha256: %v", err)
	}
	mod := c.raw("GET", "/v1/plugins/crm/versions/1.0.0/module", "", nil)
	if mod.status != 200 || string(mod.body) != big || mod.header.Get("Content-Type") != "application/wasm" || mod.header.Get("ETag") != `"`+sha(big)+`"` {
		t.Fatalf("module download: %d %q (%d bytes)", mod.status, mod.header, len(mod.body))
	}

	again := c.upload(manifestJSON("crm", "1.0.0", "action"), big)
	if again.status != 200 {
		t.Fatalf("the same bytes again: %d %s, want 200", again.status, again.body)
	}
	other := c.upload(manifestJSON("crm", "1.0.0", "action"), wasmOf(10, 'b'))
	if code, field, msg := other.errOf(t); other.status != 409 || code != "plugin_version_exists" || field != "manifest.version" || !strings.Contains(msg, "raise the version") {
		t.Fatalf("other bytes under the same version: %d %s", other.status, other.body)
	}
	otherManifest := c.upload(manifestJSON("crm", "1.0.0", "action", "condition"), big)
	if code, _, msg := otherManifest.errOf(t); otherManifest.status != 409 || code != "plugin_version_exists" || !strings.Contains(msg, "another manifest") {
		t.Fatalf("another manifest under the same version: %d %s", otherManifest.status, otherManifest.body)
	}
	next := c.upload(manifestJSON("crm", "1.1.0", "action"), wasmOf(10, 'b'))
	if next.status != 201 || len(next.obj(t)["versions"].([]any)) != 2 {
		t.Fatalf("a second version: %d %s", next.status, next.body)
	}
	get := c.must(200, "GET", "/v1/plugins/crm", nil)
	if get["revision"] != float64(2) || len(get["versions"].([]any)) != 2 {
		t.Fatalf("GET after two versions: %v", get)
	}
	list := c.must(200, "GET", "/v1/plugins?limit=10", nil)
	if items := list["items"].([]any); len(items) != 1 || list["nextCursor"] != "" {
		t.Fatalf("list: %v", list)
	}
	if r := c.raw("GET", "/v1/plugins/crm/versions/9.9.9/module", "", nil); r.status != 404 {
		t.Fatalf("an unknown version's module: %d", r.status)
	}
	if r := c.raw("GET", "/v1/plugins/nope", "", nil); r.status != 404 {
		t.Fatalf("an unknown plugin: %d", r.status)
	}
}

func TestPluginUploadRefusalsNameThePart(t *testing.T) {
	c, _ := newAPI(t, &fakeHost{})
	good := manifestJSON("crm", "1.0.0", "action")
	body, ctype := multipartBody("manifest", good)
	noModule := c.raw("POST", "/v1/plugins", ctype, body)
	body, ctype = multipartBody("manifest", good, "module", wasmOf(4, 0), "extra", "x")
	extra := c.raw("POST", "/v1/plugins", ctype, body)
	body, ctype = multipartBody("manifest", good, "manifest", good, "module", wasmOf(4, 0))
	twice := c.raw("POST", "/v1/plugins", ctype, body)
	body, ctype = multipartBody("manifest", good, "module", "")
	empty := c.raw("POST", "/v1/plugins", ctype, body)
	tests := []struct {
		name        string
		r           apiResp
		status      int
		code, field string
		hint        string
	}{
		{"not multipart", c.raw("POST", "/v1/plugins", "application/json", []byte(`{}`)), 415, "unsupported_media", "Content-Type", "multipart/form-data"},
		{"no boundary", c.raw("POST", "/v1/plugins", "multipart/form-data", []byte(`x`)), 400, "invalid_request", "Content-Type", "boundary"},
		{"garbage", c.raw("POST", "/v1/plugins", "multipart/form-data; boundary=zz", []byte("not multipart at all")), 400, "invalid_request", "manifest", "missing"},
		{"no module", noModule, 400, "invalid_request", "module", "missing"},
		{"extra part", extra, 400, "invalid_request", "extra", "unknown part"},
		{"manifest twice", twice, 400, "invalid_request", "manifest", "twice"},
		{"empty module", empty, 400, "invalid_request", "module", "empty"},
		{"bad manifest", c.upload(manifestJSON("crm", "1.0", "action"), wasmOf(4, 0)), 422, "plugin_invalid", "manifest.version", "semantic version"},
		{"not wasm", c.upload(good, "hello"), 422, "plugin_invalid", "module", "WebAssembly"},
		{"manifest not JSON", c.upload("{", wasmOf(4, 0)), 422, "plugin_invalid", "manifest", "JSON"},
		{"bad name", c.upload(manifestJSON("CRM/x", "1.0.0", "action"), wasmOf(4, 0)), 422, "plugin_invalid", "manifest.name", "not usable"},
	}
	for _, tc := range tests {
		code, field, msg := tc.r.errOf(t)
		if tc.r.status != tc.status || code != tc.code || field != tc.field || !strings.Contains(msg, tc.hint) {
			t.Errorf("%s: %d %s; want %d %s field %q saying %q", tc.name, tc.r.status, tc.r.body, tc.status, tc.code, tc.field, tc.hint)
		}
	}
	if r := c.raw("GET", "/v1/plugins", "", nil); !strings.Contains(string(r.body), `"items":[]`) {
		t.Fatalf("refused uploads stored something: %s", r.body)
	}
}

func TestPluginUploadIsIdempotentWithAKey(t *testing.T) {
	c, _ := newAPI(t, &fakeHost{})
	body, ctype := multipartBody("manifest", manifestJSON("crm", "1.0.0", "action"), "module", wasmOf(2<<20, 'c'))
	first := c.raw("POST", "/v1/plugins", ctype, body, "Idempotency-Key", "push-1")
	again := c.raw("POST", "/v1/plugins", ctype, body, "Idempotency-Key", "push-1")
	if first.status != 201 || again.status != 201 || !bytes.Equal(first.body, again.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a retried upload must get the first answer: %d %d %q", first.status, again.status, again.header.Get("Idempotent-Replayed"))
	}
	body2, ctype2 := multipartBody("manifest", manifestJSON("crm", "1.0.1", "action"), "module", wasmOf(8, 'c'))
	if r := c.raw("POST", "/v1/plugins", ctype2, body2, "Idempotency-Key", "push-1"); r.status != 422 {
		t.Fatalf("the key with another body: %d %s", r.status, r.body)
	}
}

func TestPluginEndpointsWithoutAHostAnswer503(t *testing.T) {
	c, _ := newAPI(t, nil)
	r := c.upload(manifestJSON("crm", "1.0.0", "action"), wasmOf(4, 0))
	if code, _, msg := r.errOf(t); r.status != 503 || code != "unavailable" || !strings.Contains(msg, "plugins are not enabled") {
		t.Fatalf("upload without a host: %d %s", r.status, r.body)
	}
	if r := c.json("POST", "/v1/plugins/crm/versions/1.0.0/run", map[string]any{}); r.status != 503 {
		t.Fatalf("run without a host: %d %s", r.status, r.body)
	}
	if r := c.json("GET", "/v1/plugins", nil); r.status != 200 {
		t.Fatalf("listing needs no host: %d %s", r.status, r.body)
	}
}

func TestPluginSecretsAreWriteOnly(t *testing.T) {
	c, md := newAPI(t, &fakeHost{})
	if r := c.upload(manifestJSON("crm", "1.0.0", "action"), wasmOf(4, 0)); r.status != 201 {
		t.Fatal(r.status, string(r.body))
	}
	up := c.json("PUT", "/v1/plugins/crm", map[string]any{"description": "CRM", "config": map[string]any{"list": "vip"},
		"secrets": map[string]any{"apiKey": "s3cret-1", "other": "s3cret-2"}}, "If-Match", "1")
	if up.status != 200 || strings.Contains(string(up.body), "s3cret") {
		t.Fatalf("update: %d %s", up.status, up.body)
	}
	p := up.obj(t)
	if p["revision"] != float64(2) || p["description"] != "CRM" || p["secretsSet"].(map[string]any)["apiKey"] != true || p["secrets"].(map[string]any)["apiKey"] != "••••" {
		t.Fatalf("update answer: %s", up.body)
	}
	for _, path := range []string{"/v1/plugins/crm", "/v1/plugins"} {
		if r := c.json("GET", path, nil); strings.Contains(string(r.body), "s3cret") {
			t.Fatalf("GET %s returns a secret: %s", path, r.body)
		}
	}
	// The mask keeps, "" and null delete, a value replaces, names left out keep.
	c.must(200, "PUT", "/v1/plugins/crm", map[string]any{"secrets": map[string]any{"apiKey": "••••", "other": nil, "third": "s3cret-3"}, "revision": 2})
	var stored model.Plugin
	if err := md.Get(meta.KindPlugin, "crm", &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Secrets["apiKey"] != "s3cret-1" || stored.Secrets["third"] != "s3cret-3" || len(stored.Secrets) != 2 || string(stored.Config) != `{"list":"vip"}` || stored.Description != "CRM" {
		t.Fatalf("stored after merge: %+v (config %s)", stored.Secrets, stored.Config)
	}
	stale := c.json("PUT", "/v1/plugins/crm", map[string]any{"description": "lost"}, "If-Match", "1")
	if code, _, _ := stale.errOf(t); stale.status != 409 || code != "version_conflict" {
		t.Fatalf("a stale revision: %d %s", stale.status, stale.body)
	}
	tests := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"config": []int{1}}, "config"},
		{map[string]any{"secrets": map[string]any{"bad name": "x"}}, "secrets.bad name"},
		{map[string]any{"secrets": map[string]any{"never": "••••"}}, "secrets.never"},
		{map[string]any{"name": "other"}, "name"},
		{map[string]any{"versions": []any{}}, "versions"},
	}
	for _, tc := range tests {
		r := c.json("PUT", "/v1/plugins/crm", tc.body)
		if _, field, _ := r.errOf(t); r.status/100 != 4 || field != tc.field {
			t.Errorf("PUT %v: %d %s, want field %s", tc.body, r.status, r.body, tc.field)
		}
	}
	if r := c.json("PUT", "/v1/plugins/nope", map[string]any{}); r.status != 404 {
		t.Fatalf("PUT of an unknown plugin: %d", r.status)
	}
}

func TestPluginRunUsesStoredSecretsAndMergedConfig(t *testing.T) {
	host := &fakeHost{}
	c, _ := newAPI(t, host)
	c.upload(manifestJSON("crm", "1.0.0", "action", "condition"), wasmOf(4, 0))
	c.must(200, "PUT", "/v1/plugins/crm", map[string]any{"config": map[string]any{"list": "vip", "region": "eu"}, "secrets": map[string]any{"apiKey": "k1"}})
	r := c.must(200, "POST", "/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "action", "input": map[string]any{"payload": map[string]any{"a": 1}}, "config": map[string]any{"list": "gold"}})
	run := host.last()
	if run.Kind != "action" || run.Secrets["apiKey"] != "k1" || string(run.Config) != `{"list":"gold","region":"eu"}` || !strings.Contains(string(run.Input), `"payload"`) {
		t.Fatalf("the host got %+v (config %s)", run, run.Config)
	}
	if r["durationMicros"] != float64(1500) || r["memoryBytes"] != float64(1<<20) || r["output"].(map[string]any)["ok"] != true || len(r["logs"].([]any)) != 1 || r["error"] != nil {
		t.Fatalf("run answer: %v", r)
	}
	failed := c.must(200, "POST", "/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "action", "input": map[string]any{"fail": true}})
	if e := failed["error"].(map[string]any); e["code"] != "plugin_failed" || e["guestCode"] != "upstream" || failed["output"] != nil {
		t.Fatalf("a failed run: %v", failed)
	}
	tests := []struct {
		path  string
		body  any
		want  int
		field string
	}{
		{"/v1/plugins/crm/versions/1.0.0/run", map[string]any{}, 422, "kind"}, // two kinds: say which
		{"/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "datasource"}, 422, "kind"},
		{"/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "action", "input": []int{1}}, 422, "input"},
		{"/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "action", "config": "x"}, 422, "config"},
		{"/v1/plugins/crm/versions/1.0.0/run", map[string]any{"kind": "action", "nope": 1}, 400, "nope"},
		{"/v1/plugins/crm/versions/2.0.0/run", map[string]any{"kind": "action"}, 404, "version"},
		{"/v1/plugins/nope/versions/1.0.0/run", map[string]any{"kind": "action"}, 404, ""},
	}
	for _, tc := range tests {
		r := c.json("POST", tc.path, tc.body)
		if _, field, _ := r.errOf(t); r.status != tc.want || field != tc.field {
			t.Errorf("POST %s %v: %d %s, want %d field %q", tc.path, tc.body, r.status, r.body, tc.want, tc.field)
		}
	}
	// A viewer may not run plugins.
	req, _ := http.NewRequest("POST", "http://wayline/v1/plugins/crm/versions/1.0.0/run", strings.NewReader(`{"kind":"action"}`))
	req.Header.Set("Authorization", "Bearer "+viewerKey)
	if resp, err := c.http.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("a viewer ran a plugin: %v %v", resp.StatusCode, err)
	}
}

func weatherSource() map[string]any {
	return map[string]any{"id": "weather", "name": "Weather", "kind": "plugin", "plugin": map[string]any{"name": "wx"},
		"groups": []any{map[string]any{"name": "current", "params": map[string]any{"city": "profile.attributes.city"},
			"fields": map[string]any{"type": "object", "properties": map[string]any{"tempC": map[string]any{"type": "number"}}}}},
		"cacheTtl": "5m", "onError": "default"}
}

func TestDataSourcesPinTheirPluginAndReportEveryField(t *testing.T) {
	c, _ := newAPI(t, &fakeHost{})
	c.upload(manifestJSON("wx", "1.0.0", "datasource"), wasmOf(4, 1))
	c.upload(manifestJSON("wx", "1.1.0", "datasource"), wasmOf(4, 2))
	c.upload(manifestJSON("cond", "1.0.0", "condition"), wasmOf(4, 3))
	d := c.must(201, "POST", "/v1/data-sources", weatherSource())
	if d["plugin"].(map[string]any)["version"] != "1.1.0" || d["version"] != float64(1) || d["cacheTtl"] != "5m0s" {
		t.Fatalf("created: %v", d)
	}
	if r := c.json("POST", "/v1/data-sources", weatherSource()); r.status != 409 {
		t.Fatalf("a second create with the same id: %d", r.status)
	}
	upd := weatherSource()
	upd["plugin"] = map[string]any{"name": "wx", "version": "1.0.0", "config": map[string]any{"units": "metric"}}
	u := c.must(200, "PUT", "/v1/data-sources/weather", upd, "If-Match", "1")
	if u["version"] != float64(2) || u["plugin"].(map[string]any)["version"] != "1.0.0" {
		t.Fatalf("updated: %v", u)
	}
	if r := c.json("PUT", "/v1/data-sources/weather", upd, "If-Match", "1"); r.status != 409 {
		t.Fatalf("a stale update: %d", r.status)
	}
	if l := c.must(200, "GET", "/v1/data-sources", nil); len(l["items"].([]any)) != 1 {
		t.Fatalf("list: %v", l)
	}

	tests := []struct {
		name   string
		mutate func(m map[string]any)
		code   string
		field  string
	}{
		{"dash in id", func(m map[string]any) { m["id"] = "my-source" }, "invalid_request", "id"},
		{"no name", func(m map[string]any) { m["name"] = " " }, "invalid_request", "name"},
		{"unknown kind", func(m map[string]any) { m["kind"] = "graphql" }, "invalid_request", "kind"},
		{"rest kind with a plugin", func(m map[string]any) { m["kind"] = "rest" }, "invalid_request", "plugin"},
		{"no plugin", func(m map[string]any) { delete(m, "plugin") }, "invalid_request", "plugin"},
		{"unknown plugin", func(m map[string]any) { m["plugin"] = map[string]any{"name": "nope"} }, "unknown_plugin", "plugin.name"},
		{"unknown version", func(m map[string]any) { m["plugin"] = map[string]any{"name": "wx", "version": "3.0.0"} }, "unknown_plugin", "plugin.version"},
		{"not a data source", func(m map[string]any) { m["plugin"] = map[string]any{"name": "cond", "version": "1.0.0"} }, "unknown_plugin", "plugin.version"},
		{"config not an object", func(m map[string]any) { m["plugin"] = map[string]any{"name": "wx", "config": []int{1}} }, "invalid_request", "plugin.config"},
		{"no groups", func(m map[string]any) { m["groups"] = []any{} }, "invalid_request", "groups"},
		{"bad group name", func(m map[string]any) { m["groups"] = []any{map[string]any{"name": "1st"}} }, "invalid_request", "groups[0].name"},
		{"same group twice", func(m map[string]any) {
			m["groups"] = []any{map[string]any{"name": "a"}, map[string]any{"name": "a"}}
		}, "invalid_request", "groups[1].name"},
		{"bad param", func(m map[string]any) {
			m["groups"] = []any{map[string]any{"name": "a", "params": map[string]any{"city": "profile.attributes.city +"}}}
		}, "invalid_expression", "groups[0].params.city"},
		{"unknown variable", func(m map[string]any) {
			m["groups"] = []any{map[string]any{"name": "a", "params": map[string]any{"city": "customer.city"}}}
		}, "invalid_expression", "groups[0].params.city"},
		{"fields not a schema", func(m map[string]any) {
			m["groups"] = []any{map[string]any{"name": "a", "fields": []int{1}}}
		}, "invalid_schema", "groups[0].fields"},
		{"negative ttl", func(m map[string]any) { m["cacheTtl"] = "-5m" }, "invalid_request", "cacheTtl"},
		{"bad onError", func(m map[string]any) { m["onError"] = "ignore" }, "invalid_request", "onError"},
	}
	for _, tc := range tests {
		m := weatherSource()
		m["id"] = "other"
		tc.mutate(m)
		r := c.json("POST", "/v1/data-sources", m)
		code, field, msg := r.errOf(t)
		if r.status/100 != 4 || code != tc.code || field != tc.field || msg == "" {
			t.Errorf("%s: %d %s; want %s field %s", tc.name, r.status, r.body, tc.code, tc.field)
		}
	}
}

func TestDeletesAreRefusedWhileInUse(t *testing.T) {
	c, _ := newAPI(t, &fakeHost{})
	c.upload(manifestJSON("wx", "1.0.0", "datasource"), wasmOf(4, 1))
	c.upload(manifestJSON("crm", "1.0.0", "action"), wasmOf(4, 2))
	c.upload(manifestJSON("tier", "1.0.0", "condition"), wasmOf(4, 3))
	c.must(201, "POST", "/v1/data-sources", weatherSource())
	c.must(201, "POST", "/v1/actions", map[string]any{"id": "sync", "name": "Sync", "kind": "plugin", "plugin": map[string]any{"name": "crm", "version": "1.0.0"}})
	c.must(201, "POST", "/v1/journeys", map[string]any{"id": "j1", "draft": map[string]any{"nodes": []any{
		map[string]any{"id": "c", "kind": "condition", "branches": []any{
			map[string]any{"id": "gold", "plugin": map[string]any{"name": "tier"}, "next": "e"},
			map[string]any{"id": "warm", "expression": "ds.weather.current.tempC > 20", "next": "e"}}, "else": "e"},
		map[string]any{"id": "e", "kind": "end"}}}})

	for _, tc := range []struct{ path, code, user string }{
		{"/v1/plugins/wx", "plugin_in_use", "data source weather"},
		{"/v1/plugins/crm", "plugin_in_use", "action sync"},
		{"/v1/plugins/tier", "plugin_in_use", "journey j1 (draft)"},
		{"/v1/data-sources/weather", "in_use", "journey j1 (draft)"},
	} {
		r := c.json("DELETE", tc.path, nil)
		if code, _, msg := r.errOf(t); r.status != 409 || code != tc.code || !strings.Contains(msg, tc.user) {
			t.Errorf("DELETE %s: %d %s; want 409 %s naming %q", tc.path, r.status, r.body, tc.code, tc.user)
		}
	}
	// Drop the users one by one; then the deletes go through.
	c.must(200, "PUT", "/v1/journeys/j1", map[string]any{"draft": map[string]any{"nodes": []any{}}})
	c.must(204, "DELETE", "/v1/data-sources/weather", nil)
	c.must(204, "DELETE", "/v1/plugins/wx", nil)
	c.must(204, "DELETE", "/v1/plugins/tier", nil)
	c.must(204, "DELETE", "/v1/actions/sync", nil)
	c.must(204, "DELETE", "/v1/plugins/crm", nil)
	if r := c.json("DELETE", "/v1/plugins/crm", nil); r.status != 404 {
		t.Fatalf("a second delete: %d", r.status)
	}
}

func TestPluginActionsNeedAnExistingActionPlugin(t *testing.T) {
	host := &fakeHost{}
	c, _ := newAPI(t, host)
	c.upload(manifestJSON("crm", "1.0.0", "action"), wasmOf(4, 2))
	c.upload(manifestJSON("tier", "1.0.0", "condition"), wasmOf(4, 3))
	act := func(name, version string) map[string]any {
		return map[string]any{"id": "sync", "name": "Sync", "kind": "plugin", "plugin": map[string]any{"name": name, "version": version, "config": map[string]any{"list": "vip"}},
			"payload": map[string]any{"email": "{{ event.data.email }}"}}
	}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{act("nope", "1.0.0"), "plugin.name"},
		{act("crm", "2.0.0"), "plugin.version"},
		{act("tier", "1.0.0"), "plugin.version"},
		{act("crm", ""), "plugin.version"},
		{map[string]any{"id": "sync", "name": "Sync", "kind": "plugin", "method": "POST", "plugin": map[string]any{"name": "crm", "version": "1.0.0"}}, "method"},
	} {
		r := c.json("POST", "/v1/actions", tc.body)
		if _, field, _ := r.errOf(t); r.status != 422 || field != tc.field {
			t.Errorf("create %v: %d %s, want 422 field %s", tc.body["plugin"], r.status, r.body, tc.field)
		}
	}
	c.must(201, "POST", "/v1/actions", act("crm", "1.0.0"))
	if r := c.json("PUT", "/v1/actions/sync", act("tier", "1.0.0")); r.status != 422 {
		t.Fatalf("an update to a condition plugin: %d %s", r.status, r.body)
	}
	// The test call runs the plugin with the rendered payload and the action's config.
	r := c.must(200, "POST", "/v1/actions/sync/test", map[string]any{"event": map[string]any{"data": map[string]any{"email": "ann@example.com"}}, "profile": map[string]any{"id": "u-1"}})
	run := host.last()
	if r["ok"] != true || run.Kind != "action" || !strings.Contains(string(run.Input), `"ann@example.com"`) || !strings.Contains(string(run.Input), `"idempotencyKey"`) || string(run.Config) != `{"list":"vip"}` {
		t.Fatalf("test call: %v; host got %+v", r, run)
	}
}

// A data source's or plugin action's config is checked against the plugin's configSchema when
// it is saved, the way a journey node's is at validate and publish: a missing or mistyped
// setting is a clear error then, not a failed call later.
func TestPluginConfigIsCheckedAgainstTheSchemaOfThePinnedVersion(t *testing.T) {
	c, _ := newAPI(t, &fakeHost{})
	withSchema := func(name, kind string) string {
		b, _ := json.Marshal(map[string]any{"name": name, "version": "1.0.0", "kinds": []string{kind},
			"configSchema": map[string]any{"type": "object", "required": []string{"baseUrl"}, "properties": map[string]any{
				"baseUrl": map[string]any{"type": "string"}, "units": map[string]any{"enum": []string{"metric", "imperial"}}}}})
		return string(b)
	}
	if r := c.upload(withSchema("wx", "datasource"), wasmOf(4, 1)); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := c.upload(withSchema("crm", "action"), wasmOf(4, 2)); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	source := func(cfg map[string]any) map[string]any {
		m := weatherSource()
		m["plugin"] = map[string]any{"name": "wx", "config": cfg}
		return m
	}
	action := func(cfg map[string]any) map[string]any {
		return map[string]any{"id": "sync", "name": "Sync", "kind": "plugin", "plugin": map[string]any{"name": "crm", "version": "1.0.0", "config": cfg}}
	}
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		field      string
	}{
		{"source without a required setting", "/v1/data-sources", source(map[string]any{"units": "metric"}), "plugin.config.baseUrl"},
		{"source with a value the schema refuses", "/v1/data-sources", source(map[string]any{"baseUrl": "http://x", "units": "kelvin"}), "plugin.config.units"},
		{"action without config", "/v1/actions", action(nil), "plugin.config.baseUrl"},
		{"action with a mistyped setting", "/v1/actions", action(map[string]any{"baseUrl": 7}), "plugin.config.baseUrl"},
	} {
		r := c.json("POST", tc.path, tc.body)
		_, field, msg := r.errOf(t)
		if r.status/100 != 4 || field != tc.field || !strings.Contains(msg, "config") {
			t.Errorf("%s: %d %s; want a 4xx on field %s", tc.name, r.status, r.body, tc.field)
		}
	}
	c.must(201, "POST", "/v1/data-sources", source(map[string]any{"baseUrl": "http://127.0.0.1:9", "units": "metric"}))
	c.must(201, "POST", "/v1/actions", action(map[string]any{"baseUrl": "http://127.0.0.1:9"}))
	if r := c.json("PUT", "/v1/actions/sync", action(map[string]any{"list": "vip"}), "If-Match", "1"); r.status != 422 {
		t.Errorf("an update that drops a required setting: %d %s", r.status, r.body)
	}
}
