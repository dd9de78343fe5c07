package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A short smoke of `wayline bench` keeps it working; real runs are `make bench`.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and drives load for a few seconds")
	}
	md := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\nkept text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wayline(t), "bench", "--duration", "1s", "--warmup", "300ms", "--conns", "8", "--streams", "2", "--batch", "100",
		"--wait-instances", "300", "--wait-spread", "1s", "--no-ceilings", "--write", md,
		"--plugin-dir", filepath.Join("..", "..", "bin", "plugins"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wayline bench failed: %v\n%s", err, out)
	}
	want := []string{"noop", "demo", "waits", "fired 300 of 300", "rf 3, NDJSON via a non-owner", "Failover after SIGKILL"}
	if os.Getenv("WAYLINE_REQUIRE_PLUGINS") != "" {
		want = append(want, "plugin (rust)", "plugin (go)", "plugin (c)", "plugin (assemblyscript)")
	}
	for _, want := range want {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the bench output lacks %q:\n%s", want, out)
		}
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "skipped:") && os.Getenv("WAYLINE_REQUIRE_PLUGINS") != "" {
		t.Fatalf("a plugin workload was skipped:\n%s", out)
	}
	if !strings.Contains(string(doc), "kept text") || !strings.Contains(string(doc), "wayline-bench:begin") || !strings.Contains(string(doc), "| demo |") {
		t.Fatalf("--write should keep the file and add the table:\n%s", doc)
	}
}
