package client

// Helpers that run the real wayline binary on loopback, copied (trimmed) from
// cmd/wayline/node_test.go: the SDK's tests talk to a real node, not to a fake.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

const testAdminKey = "test-admin-key-0123456789"

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// repoRoot finds the module root above the test's working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/wayline/wayline\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/wayline/wayline above the working directory")
		}
		dir = parent
	}
}

// wayline builds the node binary once per test run.
func wayline(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			binErr = err
			return
		}
		binDir, err = os.MkdirTemp("", "wayline-client-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(binDir, "wayline")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/wayline")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/wayline: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type node struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	addr   string
	data   string
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startNode starts `wayline serve` and waits until /readyz answers.
func startNode(t *testing.T, data, addr string, extra ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--listen", addr, "--admin-key", testAdminKey,
		"--shutdown-timeout", "5s", "--log-level", "warn"}, extra...)
	cmd := exec.Command(wayline(t), args...)
	n := &node{t: t, cmd: cmd, url: "http://" + addr, addr: addr, data: data, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = n.stderr
	cmd.Stdout = n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		select {
		case <-n.done:
		default:
			cmd.Process.Kill()
			<-n.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			t.Fatalf("node exited during start:\n%s", n.stderr.String())
		default:
		}
		resp, err := http.Get(n.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("node did not become ready:\n%s", n.stderr.String())
	return nil
}

func (n *node) kill() {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

func (n *node) term() {
	n.t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.t.Fatalf("node did not stop within 20s of SIGTERM:\n%s", n.stderr.String())
	}
}

// must sends a request with the admin key and fails the test unless the status is status.
func (n *node) must(status int, method, path string, body any) map[string]any {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			n.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, n.url+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v\nnode log:\n%s", method, path, err, n.stderr.String())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		n.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	var m map[string]any
	if len(b) > 0 && json.Unmarshal(b, &m) != nil {
		n.t.Fatalf("%s %s: not a JSON object: %s", method, path, b)
	}
	return m
}

var eventsTotal = regexp.MustCompile(`(?m)^wayline_events_total\{status="([a-z_]+)"\} ([0-9.e+]+)$`)

// events returns the node's wayline_events_total counters by status (since it started).
func (n *node) events() map[string]int {
	n.t.Helper()
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		n.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]int{}
	for _, m := range eventsTotal.FindAllStringSubmatch(string(b), -1) {
		f, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = int(f)
	}
	return out
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s (%s)", what, timeout, last)
}

// definePing defines the "ping" event type: identity data.userId in namespace "user", email
// required. With journey, also a journey that every ping enters (re-entrance after 1ms), whose
// report counts the events stored, duplicates excluded.
func definePing(t *testing.T, n *node, journey bool) {
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "ping", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId", "email"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string", "minLength": 1},
			"email":  map[string]any{"type": "string", "format": "email"},
			"n":      map[string]any{"type": "integer"},
		}},
	})
	if !journey {
		return
	}
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "count", "name": "Count pings", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "ping", "next": "end"},
			{"id": "end", "kind": "end"},
		},
		"rules": map[string]any{"reentrance": map[string]any{"mode": "after", "wait": "1ms"}},
	}})
	n.must(200, "POST", "/v1/journeys/count/publish", nil)
}

func ping(i int) Event {
	u := "u" + strconv.Itoa(i)
	return Event{Type: "ping", Data: map[string]any{"userId": u, "email": u + "@example.com", "n": i}}
}

// entered returns how many instances entered the "count" journey.
func entered(t *testing.T, n *node) int {
	rep := n.must(200, "GET", "/v1/journeys/count/report", nil)
	totals, _ := rep["totals"].(map[string]any)
	f, _ := totals["entered"].(float64)
	return int(f)
}

func summary(s Stats) string {
	return strings.TrimPrefix(fmt.Sprintf("%+v", s), "client.")
}
