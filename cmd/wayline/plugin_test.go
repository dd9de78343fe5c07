package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The plugin tests run the real binary and the real wazero host with the Go example plugin
// (plugins/examples/weather, a data-source adapter), built here for wasip1.

var (
	weatherOnce sync.Once
	weatherPath string
	weatherErr  error
)

// weatherWasm builds plugins/examples/weather once per test binary and returns the module's path.
func weatherWasm(t *testing.T) string {
	t.Helper()
	weatherOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wayline-weather")
		if err != nil {
			weatherErr = err
			return
		}
		weatherPath = filepath.Join(dir, "weather.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", weatherPath, "./plugins/examples/weather")
		cmd.Dir = filepath.Join("..", "..")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			weatherErr = fmt.Errorf("building the weather plugin (see plugins/examples/weather/build.sh): %v\n%s", err, out)
		}
	})
	if weatherErr != nil {
		t.Fatal(weatherErr)
	}
	return weatherPath
}

// runWayline runs the binary with args and returns its exit code, stdout and stderr.
func runWayline(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(wayline(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("wayline %s did not finish in 2 minutes:\n%s\n%s", strings.Join(args, " "), out.String(), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// weatherService is a stand-in for the weather API the plugin calls; it records the
// Authorization header it got.
func weatherService(t *testing.T) (*httptest.Server, *atomic.Value) {
	t.Helper()
	var auth atomic.Value
	auth.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		if r.URL.Path != "/v1/current" || r.URL.Query().Get("city") == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tempC":18.5,"condition":"rain","city":%q}`, r.URL.Query().Get("city"))
	}))
	t.Cleanup(srv.Close)
	return srv, &auth
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// errCode returns an error answer's code, field and message.
func errCode(t *testing.T, r response) (string, string, string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Field, Message string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not an error answer (%d): %s", r.status, r.body)
	}
	return e.Error.Code, e.Error.Field, e.Error.Message
}

func TestPluginPushRunAndManageOnANode(t *testing.T) {
	wasmPath := weatherWasm(t)
	weather, gotAuth := weatherService(t)
	n := startNode(t, t.TempDir(), freeAddr(t), "--allow-net", "127.0.0.1")
	dir := t.TempDir()
	manifest, err := os.ReadFile(filepath.Join("..", "..", "plugins", "examples", "weather", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifestPath := writeFile(t, dir, "manifest.json", manifest)
	cli := []string{"--url", n.url, "--key", testAdminKey}

	// Push, then push the same files again: nothing changes.
	code, out, errOut := runWayline(t, nil, append([]string{"plugin", "push", "--manifest", manifestPath, "--wasm", wasmPath}, cli...)...)
	if code != 0 || !strings.Contains(out, "uploaded weather 1.0.0 (datasource;") {
		t.Fatalf("plugin push: exit %d\n%s%s\nnode:\n%s", code, out, errOut, n.stderr.String())
	}
	code, out, errOut = runWayline(t, []string{"WAYLINE_URL=" + n.url, "WAYLINE_KEY=" + testAdminKey}, "plugin", "push", "--manifest", manifestPath, "--wasm", wasmPath)
	if code != 0 || !strings.Contains(out, "already uploaded") {
		t.Fatalf("pushing the same bytes again (URL and key from WAYLINE_*): exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runWayline(t, nil, append([]string{"plugin", "list"}, cli...)...)
	if code != 0 || !regexpMatch(`weather\s+1\.0\.0\s+datasource\s+1\.0\.0\s+-`, out) {
		t.Fatalf("plugin list: exit %d\n%s%s", code, out, errOut)
	}

	// Other bytes under the same version are refused, naming the field; so are a module that
	// is not wasm and a manifest with a bad field.
	orig, _ := os.ReadFile(wasmPath)
	changed := append(append([]byte(nil), orig...), 0x00, 0x07, 0x04, 't', 'e', 's', 't', 0xaa, 0xbb) // a custom section
	code, _, errOut = runWayline(t, nil, append([]string{"plugin", "push", "--manifest", manifestPath, "--wasm", writeFile(t, dir, "changed.wasm", changed)}, cli...)...)
	if code != 1 || !strings.Contains(errOut, "plugin_version_exists (field manifest.version)") || !strings.Contains(errOut, "raise the version") {
		t.Fatalf("other bytes under the same version: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runWayline(t, nil, append([]string{"plugin", "push", "--manifest", manifestPath, "--wasm", writeFile(t, dir, "bad.wasm", []byte("this is not wasm"))}, cli...)...)
	if code != 1 || !strings.Contains(errOut, "plugin_invalid (field module)") || !strings.Contains(errOut, "not a WebAssembly binary") {
		t.Fatalf("a malformed module: exit %d\n%s", code, errOut)
	}
	badManifest := bytes.Replace(manifest, []byte(`"version": "1.0.0"`), []byte(`"version": "1.0"`), 1)
	code, _, errOut = runWayline(t, nil, append([]string{"plugin", "push", "--manifest", writeFile(t, dir, "bad.json", badManifest), "--wasm", wasmPath}, cli...)...)
	if code != 1 || !strings.Contains(errOut, "plugin_invalid (field manifest.version)") || !strings.Contains(errOut, "semantic version") {
		t.Fatalf("a bad manifest: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runWayline(t, nil, "plugin", "push", "--manifest", filepath.Join(dir, "missing.json"), "--wasm", wasmPath, "--url", n.url, "--key", testAdminKey)
	if code != 2 || !strings.Contains(errOut, "--manifest") {
		t.Fatalf("a missing manifest file: exit %d\n%s", code, errOut)
	}

	// Re-uploading over raw HTTP answers 200 with the same bytes, 409 with others.
	body, ctype := uploadBody(t, manifest, orig)
	if r := n.call("POST", "/v1/plugins", body, "Content-Type", ctype); r.status != 200 {
		t.Fatalf("the same bytes over HTTP: %d %s", r.status, r.body)
	}
	body, ctype = uploadBody(t, manifest, changed)
	if r := n.call("POST", "/v1/plugins", body, "Content-Type", ctype); r.status != 409 {
		t.Fatalf("other bytes over HTTP: %d %s", r.status, r.body)
	}

	// Secrets and config: write-only secrets, masked everywhere.
	up := n.must(200, "PUT", "/v1/plugins/weather", map[string]any{"config": map[string]any{"units": "metric"}, "secrets": map[string]any{"apiKey": "wk-s3cret"}}, "If-Match", "1")
	if up["secretsSet"].(map[string]any)["apiKey"] != true {
		t.Fatalf("secretsSet: %v", up)
	}
	for _, path := range []string{"/v1/plugins", "/v1/plugins/weather"} {
		if r := n.call("GET", path, nil); r.status != 200 || strings.Contains(string(r.body), "wk-s3cret") {
			t.Fatalf("GET %s: %d, returns the secret? %s", path, r.status, r.body)
		}
	}
	if _, out, _ := runWayline(t, nil, append([]string{"plugin", "list", "--json"}, cli...)...); strings.Contains(out, "wk-s3cret") || !strings.Contains(out, `"apiKey": true`) {
		t.Fatalf("plugin list --json: %s", out)
	}

	// The module can be downloaded as uploaded.
	if r := n.call("GET", "/v1/plugins/weather/versions/1.0.0/module", nil); r.status != 200 || !bytes.Equal(r.body, orig) || r.header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("module download: %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
	}

	// A test run calls the local weather service through the host, with the stored secret.
	run := n.must(200, "POST", "/v1/plugins/weather/versions/1.0.0/run", map[string]any{"kind": "datasource",
		"input": map[string]any{"group": "current", "params": map[string]any{"city": "Paris"}}, "config": map[string]any{"baseUrl": weather.URL}})
	fields, _ := run["output"].(map[string]any)["fields"].(map[string]any)
	if run["error"] != nil || fields["tempC"] != 18.5 || fields["city"] != "Paris" || run["durationMicros"].(float64) <= 0 || run["memoryBytes"].(float64) <= 0 || run["httpCalls"] != float64(1) {
		t.Fatalf("run: %v", run)
	}
	if logs := fmt.Sprint(run["logs"]); !strings.Contains(logs, "weather current for Paris") {
		t.Fatalf("run logs: %s", logs)
	}
	if got := gotAuth.Load(); got != "Bearer wk-s3cret" {
		t.Fatalf("the weather service got Authorization %q; want the stored secret", got)
	}
	// A plugin error is reported in the answer, naming what the plugin said.
	bad := n.must(200, "POST", "/v1/plugins/weather/versions/1.0.0/run", map[string]any{"input": map[string]any{"group": "current", "params": map[string]any{"city": "Paris"}}})
	if e, _ := bad["error"].(map[string]any); e["code"] != "plugin_failed" || e["guestCode"] != "invalid_config" || !strings.Contains(fmt.Sprint(e["message"]), "baseUrl") {
		t.Fatalf("a run without baseUrl: %v", bad)
	}

	// A data source uses the plugin: the plugin cannot be deleted until the source goes.
	ds := n.must(201, "POST", "/v1/data-sources", map[string]any{"id": "weather", "name": "Weather", "kind": "plugin",
		"plugin": map[string]any{"name": "weather", "config": map[string]any{"baseUrl": weather.URL}},
		"groups": []any{map[string]any{"name": "current", "params": map[string]any{"city": "profile.attributes.city"}}}})
	if ds["plugin"].(map[string]any)["version"] != "1.0.0" {
		t.Fatalf("the data source did not pin the latest version: %v", ds)
	}
	r := n.call("DELETE", "/v1/plugins/weather", nil)
	if c, _, msg := errCode(t, r); r.status != 409 || c != "plugin_in_use" || !strings.Contains(msg, "data source weather") {
		t.Fatalf("deleting a plugin in use: %d %s", r.status, r.body)
	}
	n.must(204, "DELETE", "/v1/data-sources/weather", nil)
	n.must(204, "DELETE", "/v1/plugins/weather", nil)
	if _, out, _ := runWayline(t, nil, append([]string{"plugin", "list"}, cli...)...); !strings.Contains(out, "no plugins") {
		t.Fatalf("plugin list after the delete: %s", out)
	}
}

func uploadBody(t *testing.T, manifest, wasm []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range []struct {
		name string
		data []byte
	}{{"manifest", manifest}, {"module", wasm}} {
		fw, err := w.CreateFormFile(p.name, p.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(p.data)
	}
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// `wayline plugin test` runs the same module locally, with the same host and limits.
func TestPluginTestRunsLocally(t *testing.T) {
	wasmPath := weatherWasm(t)
	weather, gotAuth := weatherService(t)
	dir := t.TempDir()
	manifestPath := filepath.Join("..", "..", "plugins", "examples", "weather", "manifest.json")
	input := writeFile(t, dir, "input.json", []byte(`{"group":"current","params":{"city":"Lyon"}}`))
	config := writeFile(t, dir, "config.json", []byte(`{"baseUrl":"`+weather.URL+`"}`))

	code, out, errOut := runWayline(t, nil, "plugin", "test", "--wasm", wasmPath, "--kind", "datasource", "--input", input,
		"--manifest", manifestPath, "--config", config, "--secret", "apiKey=local-key", "--allow-net", "127.0.0.1")
	if code != 0 || !strings.Contains(out, `"tempC": 18.5`) || !strings.Contains(errOut, "log info: weather current for Lyon") || !regexpMatch(`ran in \S+ · memory [0-9.]+ MiB · 1 HTTP call`, errOut) {
		t.Fatalf("plugin test: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if gotAuth.Load() != "Bearer local-key" {
		t.Fatalf("the secret from --secret did not reach the plugin: %q", gotAuth.Load())
	}

	// Without --allow-net the SSRF guard refuses loopback, and the plugin says so.
	code, _, errOut = runWayline(t, []string{"WAYLINE_ALLOW_NET="}, "plugin", "test", "--wasm", wasmPath, "--input", input, "--manifest", manifestPath, "--config", config)
	if code != 1 || !strings.Contains(errOut, "plugin error plugin_failed (upstream)") {
		t.Fatalf("a call to loopback without --allow-net: exit %d\n%s", code, errOut)
	}
	// The default manifest allows no hosts at all.
	code, _, errOut = runWayline(t, nil, "plugin", "test", "--wasm", wasmPath, "--kind", "datasource", "--input", input, "--config", config, "--allow-net", "127.0.0.1")
	if code != 1 || !strings.Contains(errOut, "plugin error plugin_failed") {
		t.Fatalf("the default manifest: exit %d\n%s", code, errOut)
	}

	// The Go SDK exports every handler; one the plugin did not register fails when called.
	code, _, errOut = runWayline(t, nil, "plugin", "test", "--wasm", wasmPath, "--kind", "condition", "--input", input)
	if code != 1 || !strings.Contains(errOut, "plugin error plugin_failed (internal): no condition handler") {
		t.Fatalf("a kind the plugin does not serve: exit %d\n%s", code, errOut)
	}

	bad := writeFile(t, dir, "bad.json", []byte(`{"group":`))
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"--kind", "datasource", "--input", input}, "--wasm is required"},
		{[]string{"--wasm", wasmPath, "--kind", "datasource"}, "--input is required"},
		{[]string{"--wasm", wasmPath, "--input", input}, "--kind is required"},
		{[]string{"--wasm", wasmPath, "--kind", "widget", "--input", input}, `--kind "widget"`},
		{[]string{"--wasm", wasmPath, "--kind", "action", "--input", input, "--manifest", manifestPath}, "--kind action: the manifest"},
		{[]string{"--wasm", wasmPath, "--kind", "datasource", "--input", bad}, "--input " + bad + ": not valid JSON"},
		{[]string{"--wasm", wasmPath, "--kind", "datasource", "--input", input, "--config", filepath.Join(dir, "nope.json")}, "--config"},
		{[]string{"--wasm", input, "--kind", "datasource", "--input", input}, "not a WebAssembly binary"},
		{[]string{"--wasm", wasmPath, "--kind", "datasource", "--input", input, "--secret", "novalue"}, "NAME=VALUE"},
		{[]string{"--wasm", wasmPath, "--kind", "datasource", "--input", input, "--allow-net", "not-an-ip"}, "--allow-net"},
	} {
		code, _, errOut := runWayline(t, nil, append([]string{"plugin", "test"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.hint) {
			t.Errorf("plugin test %s: exit %d, want 2 saying %q:\n%s", strings.Join(tc.args, " "), code, tc.hint, errOut)
		}
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }
