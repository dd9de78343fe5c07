package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilesImport imports a file of 2,500 profiles (more than one chunk) with bad lines in
// it through `wayline profiles import`, and checks the summary, the exit status, the per-line
// errors and the stored profiles; then the endpoint's streamed answer directly.
func TestProfilesImport(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	var b bytes.Buffer
	const count = 2500
	for i := range count {
		switch i {
		case 10:
			b.WriteString(`{"id":"nocolon","attributes":{"a":1}}` + "\n")
		case 20:
			b.WriteString(`{"id":"user:x","attributes":{"a":1},"plan":"pro"}` + "\n")
		case 30:
			b.WriteString("{not json\n")
		default:
			fmt.Fprintf(&b, `{"id":"user:%d","attributes":{"n":%d,"tags":["a"]}}`+"\n", i, i)
		}
	}
	// The same profile twice: applied in order.
	b.WriteString(`{"id":"user:0","attributes":{"plan":"pro"},"test":true}` + "\n")
	file := filepath.Join(t.TempDir(), "profiles.ndjson")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wayline(t), "profiles", "import", "--url", n.url, "--key", testAdminKey, file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1 (some lines rejected)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"imported 2,498 · rejected 3 · failed 0", "line 11: rejected id:", "line 21: rejected plan:", "line 31: rejected"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "read 2,501 lines from "+file) {
		t.Errorf("stderr: %s", stderr.String())
	}
	p := n.must(200, "GET", "/v1/profiles/user:0", nil)
	if a := p["attributes"].(map[string]any); a["plan"] != "pro" || a["n"] != float64(0) || p["test"] != true {
		t.Errorf("user:0 after two lines: %v", p)
	}
	if a := n.must(200, "GET", "/v1/profiles/user:2499", nil)["attributes"].(map[string]any); a["n"] != float64(2499) {
		t.Errorf("user:2499: %v", a)
	}

	// The endpoint answers a result per line, in order, then the summary.
	req, _ := http.NewRequest("POST", n.url+"/v1/profiles/import", strings.NewReader("{\"id\":\"user:a\",\"attributes\":{\"x\":1}}\n\n[1]\n"))
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"line":1,"id":"user:a","status":"imported"}` + "\n" +
		`{"line":3,"status":"rejected","error":{"code":"invalid_json","message":"each line must be a JSON object such as {\"id\":\"email:ada@example.com\",\"attributes\":{\"plan\":\"pro\"}}"}}` + "\n" +
		`{"summary":{"lines":2,"imported":1,"rejected":1,"failed":0}}` + "\n"
	if resp.StatusCode != 200 || string(body) != want {
		t.Errorf("import answer %d:\n%s\nwant:\n%s", resp.StatusCode, body, want)
	}
	// JSON is refused with a pointer to NDJSON.
	if r := n.call("POST", "/v1/profiles/import", map[string]any{"id": "user:b"}); r.status != 415 {
		t.Errorf("a JSON body: %d %s, want 415", r.status, r.body)
	}
}
