package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/demosink"
)

func newSink(t *testing.T) (*demosink.Sink, string) {
	t.Helper()
	s, url, closeFn, err := demosink.Serve("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return s, url
}

// setupWorkspace defines an event type, a REST action to the sink and a journey:
// signup → condition (pro?) → [pro] action "hello" → end
//
//	→ [else] wait 2s → action "hello" → update profile → end
func setupWorkspace(t *testing.T, n *node, sinkURL string) {
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "signup", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId", "email"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string", "minLength": 1},
			"email":  map[string]any{"type": "string", "format": "email"},
			"plan":   map[string]any{"type": "string", "enum": []string{"free", "pro"}},
			"age":    map[string]any{"type": "integer"},
		}},
	})
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "quit", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "properties": map[string]any{"userId": map[string]any{"type": "string"}}},
	})
	n.must(201, "POST", "/v1/actions", map[string]any{
		"id": "hello", "name": "Hello", "method": "POST", "url": sinkURL + "/hello/{{ event.data.userId }}",
		"auth":    map[string]any{"type": "bearer", "token": "s3cret-token"},
		"payload": json.RawMessage(`{"email":"{{ event.data.email }}","user":"{{ profile.id }}","plan":"{{ has(event.data.plan) ? event.data.plan : 'free' }}","age":"{{ has(event.data.age) ? event.data.age : 0 }}"}`),
		"timeout": "5s", "retry": map[string]any{"maxAttempts": 3, "initialBackoff": "100ms", "maxBackoff": "1s"},
	})
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "onboard", "name": "Onboarding", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "is-pro"},
			{"id": "is-pro", "kind": "condition", "branches": []map[string]any{{"id": "pro", "expression": `has(event.data.plan) && event.data.plan == "pro"`, "next": "hello-now"}}, "else": "pause"},
			{"id": "hello-now", "kind": "action", "action": "hello", "next": "end"},
			{"id": "pause", "kind": "wait", "duration": "2s", "next": "hello-later"},
			{"id": "hello-later", "kind": "action", "action": "hello", "next": "mark"},
			{"id": "mark", "kind": "update_profile", "set": map[string]string{"greeted": "true", "greetedAt": "string(now)"}, "next": "end"},
			{"id": "end", "kind": "end"},
		},
		"rules": map[string]any{"exitEvents": []map[string]any{{"event": "quit"}}},
	}})
	v := n.must(200, "POST", "/v1/journeys/onboard/validate", nil)
	if v["valid"] != true {
		t.Fatalf("journey should be valid: %v", v)
	}
	n.must(200, "POST", "/v1/journeys/onboard/publish", nil)
}

func TestEndToEndJourneyDeliversTemplatedCallsAndFiresWaits(t *testing.T) {
	sink, sinkURL := newSink(t)
	n := startNode(t, t.TempDir(), freeAddr(t))
	setupWorkspace(t, n, sinkURL)

	// One pro user (immediate call), and through a batch and NDJSON, free users (after 2s).
	r := n.must(202, "POST", "/v1/events", map[string]any{"id": "evt-1", "type": "signup", "data": map[string]any{"userId": "ada", "email": "ada@example.com", "plan": "pro", "age": 36}})
	if r["status"] != "accepted" || r["id"] != "evt-1" {
		t.Fatalf("single event answer: %v", r)
	}
	r = n.must(202, "POST", "/v1/events", []map[string]any{
		{"type": "signup", "data": map[string]any{"userId": "bob", "email": "bob@example.com"}},
		{"type": "signup", "data": map[string]any{"userId": "cy", "email": "cy@example.com", "plan": "free"}},
	})
	if r["accepted"] != float64(2) {
		t.Fatalf("batch answer: %v", r)
	}
	nd := n.call("POST", "/v1/events", `{"type":"signup","data":{"userId":"dee","email":"dee@example.com"}}`+"\n"+`{"type":"signup","data":{"userId":"eve"}}`+"\n", "Content-Type", "application/x-ndjson")
	lines := strings.Split(strings.TrimSpace(string(nd.body)), "\n")
	if nd.status != 200 || len(lines) != 3 || !strings.Contains(lines[0], `"accepted"`) || !strings.Contains(lines[1], `"rejected"`) || !strings.Contains(lines[2], `"summary"`) {
		t.Fatalf("ndjson answer (%d):\n%s", nd.status, nd.body)
	}
	if !strings.Contains(lines[1], `"data.email"`) {
		t.Fatalf("the rejected line should name the missing field data.email: %s", lines[1])
	}
	// Duplicate event id: accepted again as a duplicate, nothing changes.
	r = n.must(202, "POST", "/v1/events", map[string]any{"id": "evt-1", "type": "signup", "data": map[string]any{"userId": "ada", "email": "ada@example.com", "plan": "pro"}})
	if r["status"] != "duplicate" {
		t.Fatalf("a repeated id should be a duplicate: %v", r)
	}

	// The pro user's call arrives at once, templated, with auth and an idempotency key.
	eventually(t, 5*time.Second, "pro call delivered", func() (bool, string) { return sink.Count() >= 1, fmt.Sprint(sink.Count()) })
	first := sink.Recent(10)
	var ada *demosink.Request
	for i := range first {
		if first[i].Path == "/hello/ada" {
			ada = &first[i]
		}
	}
	if ada == nil {
		t.Fatalf("no call for ada: %+v", first)
	}
	var body map[string]any
	if err := json.Unmarshal(ada.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["email"] != "ada@example.com" || body["user"] != "user:ada" || body["plan"] != "pro" || body["age"] != float64(36) {
		t.Fatalf("templated payload: %s", ada.Body)
	}
	if ada.IdempotencyKey == "" || ada.Headers["Authorization"] == "" {
		t.Fatalf("call lacks idempotency key or auth: %+v", ada)
	}

	// The free users wait 2s, then get theirs; the profile is updated.
	time.Sleep(1500 * time.Millisecond)
	if c := sink.Count(); c != 1 {
		t.Fatalf("free users should still be waiting: %d calls", c)
	}
	eventually(t, 8*time.Second, "waits fired", func() (bool, string) { return sink.Count() == 4, fmt.Sprint(sink.Count()) })
	if sink.DistinctKeys() != 4 {
		t.Fatalf("each call should carry its own idempotency key: %d distinct of %d", sink.DistinctKeys(), sink.Count())
	}
	eventually(t, 5*time.Second, "profile updated", func() (bool, string) {
		p := n.must(200, "GET", "/v1/profiles/user:bob", nil)
		attrs, _ := p["attributes"].(map[string]any)
		return attrs["greeted"] == true, fmt.Sprint(p)
	})

	// Reports count what happened.
	rep := n.must(200, "GET", "/v1/journeys/onboard/report", nil)
	totals := rep["totals"].(map[string]any)
	if totals["entered"] != float64(4) || totals["completed"] != float64(4) {
		t.Fatalf("report totals: %v", totals)
	}
	acts := rep["actions"].(map[string]any)["hello"].(map[string]any)
	if acts["sent"] != float64(4) {
		t.Fatalf("action report: %v", acts)
	}
	trace := n.must(200, "GET", "/v1/profiles/user:bob/trace", nil)
	if steps := trace["steps"].([]any); len(steps) < 6 {
		t.Fatalf("trace too short: %v", steps)
	}
	recent := n.must(200, "GET", "/v1/events/recent?type=signup", nil)
	if !strings.Contains(fmt.Sprint(recent), "data.email") {
		t.Fatalf("the event debugger should show the rejection and its field: %v", recent)
	}
	// Secrets are never returned.
	a := n.call("GET", "/v1/actions/hello", nil)
	if strings.Contains(string(a.body), "s3cret-token") {
		t.Fatalf("secret leaked: %s", a.body)
	}
	// The test call renders the action for a sample and calls it once.
	tc := n.must(200, "POST", "/v1/actions/hello/test", map[string]any{"event": map[string]any{"data": map[string]any{"userId": "sample", "email": "s@example.com"}}, "profile": map[string]any{"id": "user:sample"}})
	if tc["ok"] != true || sink.Count() != 5 || sink.Recent(1)[0].Path != "/hello/sample" {
		t.Fatalf("test call: %v (sink has %d calls)", tc, sink.Count())
	}
	// Metrics count what was received.
	m := n.call("GET", "/metrics", nil)
	if m.status != 200 || !strings.Contains(string(m.body), `wayline_events_total{status="accepted"} 4`) || !strings.Contains(string(m.body), `wayline_events_total{status="duplicate"} 1`) {
		t.Fatalf("metrics do not count the events:\n%s", m.body)
	}
	// Graceful shutdown.
	if err := n.term(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.stderr.String(), "stopped cleanly") {
		t.Fatalf("no clean stop:\n%s", n.stderr.String())
	}
}

func TestKillNineLosesNothingAndFiresEachWaitOnce(t *testing.T) {
	sink, sinkURL := newSink(t)
	data, addr := t.TempDir(), freeAddr(t)
	n := startNode(t, data, addr)
	setupWorkspace(t, n, sinkURL)

	// 200 free users park on the 2s wait; every event is acknowledged before the kill.
	const users = 200
	var batch []map[string]any
	for i := 0; i < users; i++ {
		batch = append(batch, map[string]any{"id": fmt.Sprintf("k-%d", i), "type": "signup", "data": map[string]any{"userId": fmt.Sprintf("k%d", i), "email": fmt.Sprintf("k%d@example.com", i)}})
	}
	for i := 0; i < users; i += 50 {
		r := n.must(202, "POST", "/v1/events", batch[i:i+50])
		if r["accepted"] != float64(50) {
			t.Fatalf("batch: %v", r)
		}
	}
	n.kill()
	if sink.Count() != 0 {
		t.Fatalf("no call should have gone out before the wait: %d", sink.Count())
	}
	time.Sleep(2500 * time.Millisecond) // the waits fall due while the node is down

	n2 := startNode(t, data, addr)
	// Resending the same events after the restart changes nothing (dedupe survived the kill).
	r := n2.must(202, "POST", "/v1/events", batch[:50])
	if r["accepted"] != float64(50) || !strings.Contains(string(mustJSON(r)), "duplicate") {
		t.Fatalf("resent events should be duplicates: %v", r)
	}
	eventually(t, 15*time.Second, "every missed wait fired", func() (bool, string) {
		return sink.Count() >= users, fmt.Sprint(sink.Count())
	})
	time.Sleep(time.Second)
	if sink.Count() != users || sink.DistinctKeys() != users {
		t.Fatalf("want exactly %d calls with %d distinct keys, got %d calls, %d keys", users, users, sink.Count(), sink.DistinctKeys())
	}
	rep := n2.must(200, "GET", "/v1/journeys/onboard/report", nil)
	totals := rep["totals"].(map[string]any)
	if totals["entered"] != float64(users) {
		t.Fatalf("each profile should enter once: %v", totals)
	}
	eventually(t, 5*time.Second, "all completed", func() (bool, string) {
		rep := n2.must(200, "GET", "/v1/journeys/onboard/report", nil)
		tot := rep["totals"].(map[string]any)
		return tot["completed"] == float64(users), fmt.Sprint(tot)
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// An NDJSON stream is answered line by line while it is still being sent, and its length is
// not bound by the JSON body limit.
func TestNDJSONStreamIsAnsweredWhileItArrives(t *testing.T) {
	_, sinkURL := newSink(t)
	n := startNode(t, t.TempDir(), freeAddr(t), "--max-body", "65536", "--max-batch", "500")
	setupWorkspace(t, n, sinkURL)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", n.url+"/v1/events", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	writeLines := func(from, to int) {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"id":"nd-%d","type":"signup","data":{"userId":"nd%d","email":"nd%d@example.com","plan":"pro"}}`+"\n", i, i, i)
		}
		if _, err := pw.Write([]byte(b.String())); err != nil {
			t.Error(err)
		}
	}
	type answer struct {
		resp *http.Response
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- answer{resp, err}
	}()
	writeLines(0, 500) // one full chunk
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.resp.Body.Close()
	sc := bufio.NewScanner(a.resp.Body)
	for i := 0; i < 500; i++ {
		if !sc.Scan() {
			t.Fatalf("answer for line %d did not arrive before the rest of the stream was sent: %v", i+1, sc.Err())
		}
		if !strings.Contains(sc.Text(), fmt.Sprintf(`"line":%d,`, i+1)) || !strings.Contains(sc.Text(), `"accepted"`) {
			t.Fatalf("line %d answered %s", i+1, sc.Text())
		}
	}
	// The rest: far more than the 64 KiB JSON body limit, plus one bad line.
	writeLines(500, 3000)
	pw.Write([]byte("{not json\n"))
	pw.Close()
	lines := 500
	var summary string
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"summary"`) {
			summary = sc.Text()
			break
		}
		lines++
	}
	if lines != 3001 || !strings.Contains(summary, `"accepted":3000`) || !strings.Contains(summary, `"rejected":1`) {
		t.Fatalf("got %d answer lines and summary %s", lines, summary)
	}
}

// `make run` is `wayline serve --demo`: the demo workspace loads, its journey runs and its
// built-in sink receives the welcome call.
func TestDemoWorkspaceRunsEndToEnd(t *testing.T) {
	for i := 0; i < 3; i++ { // route registration once depended on map order: start it a few times
		n := startNode(t, t.TempDir(), freeAddr(t), "--demo")
		r := n.must(202, "POST", "/v1/events", map[string]any{"type": "user.signup", "data": map[string]any{"userId": "ada", "email": "ada@example.com", "plan": "pro"}})
		if r["status"] != "accepted" {
			t.Fatalf("demo event: %v", r)
		}
		eventually(t, 5*time.Second, "the demo sink got the welcome call", func() (bool, string) {
			s := n.call("GET", "/demo/sink", nil)
			return s.status == 200 && strings.Contains(string(s.body), `"count":1`), string(s.body)
		})
		if err := n.term(); err != nil {
			t.Fatal(err)
		}
	}
}
