package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runSend runs `wayline send` with args and stdin, and returns its exit code, stdout and stderr.
func runSend(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(wayline(t), append([]string{"send"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("wayline send did not finish in 60s:\n%s\n%s", out.String(), errb.String())
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

func defineSignal(n *node) {
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "signal", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId", "email"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string", "minLength": 1},
			"email":  map[string]any{"type": "string", "format": "email"},
		}},
	})
}

func signalLine(i int, id bool) string {
	if id {
		return fmt.Sprintf(`{"id":"sig-%d","type":"signal","data":{"userId":"s%d","email":"s%d@example.com"}}`, i, i, i)
	}
	return fmt.Sprintf(`{"type":"signal","timestamp":"2024-05-01T12:00:00Z","data":{"userId":"s%d","email":"s%d@example.com"}}`, i, i)
}

// summaryRow returns the count on the summary's row name, or -1.
func summaryRow(out, name string) int {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +([0-9,]+)$`).FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	var n int
	fmt.Sscan(strings.ReplaceAll(m[1], ",", ""), &n)
	return n
}

func TestSendStreamsAFileAndReportsRejectionsByLine(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	defineSignal(n)
	var b strings.Builder
	line := 0
	add := func(s string) { line++; b.WriteString(s + "\n") }
	for i := 0; i < 3000; i++ {
		switch i {
		case 1000:
			add(`{"type":"signal","data":{"userId":"nomail"}}`) // the node rejects it
		case 2000:
			add(`{"type":"signal","data":`) // not JSON
		case 2500:
			add(`{"type":"signal","colour":"red","data":{}}`) // unknown field
			add("")
		}
		add(signalLine(i, false))
	}
	file := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runSend(t, "", nil, "--url", n.url, "--key", testAdminKey, file)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (some events rejected)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if summaryRow(out, "accepted") != 3000 || summaryRow(out, "rejected") != 3 || summaryRow(out, "failed") != 0 || summaryRow(out, "duplicates") != 0 {
		t.Fatalf("summary:\n%s", out)
	}
	for _, want := range []string{
		"line 1001: rejected: invalid_event: data.email: ",
		"line 2002: rejected: not valid JSON",
		"line 2503: rejected: colour: unknown field",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary should say %q:\n%s", want, out)
		}
	}
	// stderr is not a terminal here: no progress redraws, one final line.
	if strings.Contains(errOut, "\r") || !strings.Contains(errOut, "sent 3,001 events from "+file) {
		t.Errorf("stderr should hold one final line:\n%q", errOut)
	}
	if got := n.call("GET", "/metrics", nil); !strings.Contains(string(got.body), `wayline_events_total{status="accepted"} 3000`) {
		t.Fatalf("the node should have accepted 3000 events")
	}
}

func TestSendReadsStdinWithTheKeyFromTheEnvironmentAndCountsDuplicates(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	defineSignal(n)
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString(signalLine(i, true) + "\r\n")
	}
	env := []string{"WAYLINE_KEY=" + testAdminKey, "WAYLINE_URL=" + n.url}
	code, out, errOut := runSend(t, b.String(), env, "-")
	if code != 0 || summaryRow(out, "accepted") != 500 || summaryRow(out, "rejected") != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The same events again: stored once, so all duplicates, and that is a success.
	code, out, errOut = runSend(t, b.String(), env)
	if code != 0 || summaryRow(out, "duplicates") != 500 || summaryRow(out, "accepted") != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// A wrong key: every event rejected, and the reason says so.
	code, out, _ = runSend(t, signalLine(1, true)+"\n", nil, "--url", n.url, "--key", "wrong-key-0123456789")
	if code != 1 || summaryRow(out, "rejected") != 1 || !strings.Contains(out, "unauthenticated") {
		t.Fatalf("a wrong key: exit %d\n%s", code, out)
	}
}

func TestSendRefusesBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"a.ndjson", "b.ndjson"},
		{filepath.Join(t.TempDir(), "missing.ndjson")},
		{"--url", "ftp://example.com"},
		{"--nope"},
	} {
		code, _, errOut := runSend(t, "", nil, args...)
		if code != 2 || errOut == "" {
			t.Errorf("wayline send %v: exit %d, want 2 with a message: %q", args, code, errOut)
		}
	}
}
