package main

import (
	"strings"
	"testing"
)

// A create retried with the same Idempotency-Key gets the first answer and creates nothing
// new; the same key with another body is refused; revisions stop silent overwrites.
func TestCreatesAreIdempotentAndUpdatesCarryRevisions(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	body := map[string]any{"name": "ci key", "role": "ingest"}
	first := n.call("POST", "/v1/keys", body, "Idempotency-Key", "create-ci-key-1")
	again := n.call("POST", "/v1/keys", body, "Idempotency-Key", "create-ci-key-1")
	if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) {
		t.Fatalf("a retried create must get the first answer:\n%d %s\n%d %s", first.status, first.body, again.status, again.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the replay is not marked")
	}
	list := n.must(200, "GET", "/v1/keys", nil)
	if items := list["items"].([]any); len(items) != 2 { // the admin key and one ingest key
		t.Fatalf("want 2 keys after a retried create, got %d", len(items))
	}
	other := n.call("POST", "/v1/keys", map[string]any{"name": "other", "role": "viewer"}, "Idempotency-Key", "create-ci-key-1")
	if other.status != 422 || other.json(t)["error"].(map[string]any)["code"] != "invalid_idempotency" {
		t.Fatalf("reusing a key with another body: %d %s", other.status, other.body)
	}

	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "rev", "draft": map[string]any{"nodes": []any{}}})
	r := n.call("PUT", "/v1/journeys/rev", map[string]any{"name": "first edit"}, "If-Match", "1")
	if r.status != 200 || r.header.Get("ETag") != "2" {
		t.Fatalf("update with the current revision: %d %s (ETag %q)", r.status, r.body, r.header.Get("ETag"))
	}
	stale := n.call("PUT", "/v1/journeys/rev", map[string]any{"name": "lost edit"}, "If-Match", "1")
	if stale.status != 409 || stale.json(t)["error"].(map[string]any)["code"] != "version_conflict" {
		t.Fatalf("a stale revision must be refused: %d %s", stale.status, stale.body)
	}
	if j := n.must(200, "GET", "/v1/journeys/rev", nil); j["name"] != "first edit" {
		t.Fatalf("the stale edit overwrote the journey: %v", j["name"])
	}
}

// Definitions a published journey depends on cannot change under it in a way that would stop
// its instances.
func TestChangesThatWouldBreakPublishedJourneysAreRefused(t *testing.T) {
	_, sinkURL := newSink(t)
	n := startNode(t, t.TempDir(), freeAddr(t))
	setupWorkspace(t, n, sinkURL)
	a := n.must(200, "GET", "/v1/actions/hello", nil)
	a["payload"] = map[string]any{"x": "{{ event.data.nosuchfield }}"}
	delete(a, "secretsSet")
	r := n.call("PUT", "/v1/actions/hello", a)
	if r.status != 409 || r.json(t)["error"].(map[string]any)["code"] != "in_use" {
		t.Fatalf("an action change that breaks journey onboard must be refused: %d %s", r.status, r.body)
	}
	d := n.must(200, "GET", "/v1/event-definitions/signup", nil)
	delete(d, "fields")
	d["schema"] = map[string]any{"type": "object", "properties": map[string]any{"userId": map[string]any{"type": "string"}}}
	r = n.call("PUT", "/v1/event-definitions/signup", d)
	if r.status != 409 {
		t.Fatalf("dropping fields the journey reads must be refused: %d %s", r.status, r.body)
	}
	// A compatible change goes through.
	a["payload"] = map[string]any{"x": "{{ event.data.email }}"}
	n.must(200, "PUT", "/v1/actions/hello", a)
}

// Web pages on other origins may send events (the browser client); nothing else is opened.
func TestIngestAnswersCORSPreflights(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	pre := n.call("OPTIONS", "/v1/events", nil, "Origin", "https://shop.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	post := n.call("POST", "/v1/events", `{"type":"nope","data":{}}`, "Origin", "https://shop.example")
	if post.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("an ingest answer lacks the CORS header: %v", post.header)
	}
	admin := n.call("GET", "/v1/journeys", nil, "Origin", "https://shop.example")
	if admin.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("the admin API must not be opened to other origins")
	}
}

func TestDeadLetterEndpointsAnswerUnknownIDsClearly(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/dead-letters/3.99/retry"}, {"DELETE", "/v1/dead-letters/3.99"}, {"POST", "/v1/dead-letters/garbage/retry"},
	} {
		r := n.call(c.method, c.path, nil)
		if r.status != 404 || r.json(t)["error"].(map[string]any)["code"] != "not_found" {
			t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if l := n.must(200, "GET", "/v1/dead-letters", nil); len(l["items"].([]any)) != 0 {
		t.Fatalf("a new node has no dead letters: %v", l)
	}
}
