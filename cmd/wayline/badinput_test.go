package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// Limits the bad-input node runs with: small, so that going over them is cheap.
const (
	badMaxBody  = 64 << 10
	badMaxBatch = 5
	badMaxDepth = 6
)

// apiError is one error of the API's error shape.
type apiError struct {
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Field   *string `json:"field"`
}

func (e apiError) String() string {
	f := "(none)"
	if e.Field != nil {
		f = *e.Field
	}
	return fmt.Sprintf("code=%s field=%s message=%q", e.Code, f, e.Message)
}

// errorsOf decodes {"error":{...}} or {"errors":[...]}, checking that exactly one is present and
// that every error has a code and a message.
func errorsOf(t *testing.T, what string, r response) []apiError {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json; body: %s", what, ct, r.body)
	}
	var shape struct {
		Error  *apiError  `json:"error"`
		Errors []apiError `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &shape); err != nil {
		t.Fatalf("%s: the answer is not JSON (%v): %s", what, err, r.body)
	}
	var out []apiError
	switch {
	case shape.Error != nil && shape.Errors != nil:
		t.Fatalf("%s: the answer has both error and errors: %s", what, r.body)
	case shape.Error != nil:
		out = []apiError{*shape.Error}
	case len(shape.Errors) > 0:
		out = shape.Errors
	default:
		t.Fatalf("%s: the answer has neither {\"error\":{...}} nor a non-empty {\"errors\":[...]}: %s", what, r.body)
	}
	for _, e := range out {
		if e.Code == "" || e.Message == "" {
			t.Errorf("%s: an error lacks its code or message: %s", what, r.body)
		}
		if e.Field != nil && *e.Field == "" {
			t.Errorf("%s: an error has an empty field (it should be absent): %s", what, r.body)
		}
	}
	return out
}

// findError returns the error with code and field (field "": none), or fails listing what came.
func findError(t *testing.T, what string, errs []apiError, code, field string) apiError {
	t.Helper()
	for _, e := range errs {
		f := ""
		if e.Field != nil {
			f = *e.Field
		}
		if e.Code == code && f == field {
			return e
		}
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.String())
	}
	t.Fatalf("%s: no error with code=%s field=%q; got:\n  %s", what, code, field, strings.Join(got, "\n  "))
	return apiError{}
}

// expectError checks status and that the answer holds an error with code and field.
func expectError(t *testing.T, what string, r response, status int, code, field string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body: %s", what, r.status, status, r.body)
	}
	return findError(t, what, errorsOf(t, what, r), code, field)
}

// healthy fails unless the node process is still running and answers /healthz and /readyz.
func (n *node) healthy(t *testing.T, after string) {
	t.Helper()
	select {
	case <-n.done:
		t.Fatalf("after %s the node exited:\n%s", after, n.stderr.String())
	default:
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(n.url + p)
		if err != nil {
			t.Fatalf("after %s, GET %s: %v\nnode log:\n%s", after, p, err, n.stderr.String())
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after %s, GET %s answers %d, want 200", after, p, resp.StatusCode)
		}
	}
}

// streamCall sends body without a Content-Length (chunked), with the admin key.
func (n *node) streamCall(method, path, contentType string, body string) response {
	n.t.Helper()
	req, err := http.NewRequest(method, n.url+path, io.MultiReader(strings.NewReader(body)))
	if err != nil {
		n.t.Fatal(err)
	}
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v\nnode log:\n%s", method, path, err, n.stderr.String())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: b, header: resp.Header}
}

// nested returns data whose value "n" nests k objects: an event carrying it is 2+k levels deep.
func nested(userID string, k int) map[string]any {
	var v any = 1
	for i := 0; i < k; i++ {
		v = map[string]any{"x": v}
	}
	return map[string]any{"userId": userID, "n": v}
}

// setupBadInputWorkspace defines what the bad requests are checked against: two event types
// (signup with a closed schema, visit with none), an action, a live journey "good" and a draft
// journey "bad" that the invalid drafts are written to.
func setupBadInputWorkspace(t *testing.T, n *node) {
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "signup", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
			"userId": map[string]any{"type": "string"},
			"email":  map[string]any{"type": "string"},
			"age":    map[string]any{"type": "integer"},
			"plan":   map[string]any{"type": "string", "enum": []string{"free", "pro"}},
			"pad":    map[string]any{"type": "string"},
		}},
	})
	n.must(201, "POST", "/v1/event-definitions", map[string]any{"name": "visit", "identityField": "userId", "identityNamespace": "user"})
	n.must(201, "POST", "/v1/actions", map[string]any{
		"id": "hello", "name": "Hello", "method": "POST", "url": "https://example.invalid/hello/{{ event.data.userId }}",
		"auth": map[string]any{"type": "bearer", "token": "s3cret-token"},
	})
	simple := map[string]any{"nodes": []map[string]any{
		{"id": "start", "kind": "event", "event": "signup", "next": "end"},
		{"id": "end", "kind": "end"},
	}}
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "good", "name": "Good", "draft": simple})
	n.must(200, "POST", "/v1/journeys/good/publish", nil)
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "bad", "name": "Bad", "draft": simple})
}

func TestBadInputGetsClearErrorsAndChangesNothing(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t),
		"--max-body", fmt.Sprint(badMaxBody), "--max-batch", fmt.Sprint(badMaxBatch), "--max-depth", fmt.Sprint(badMaxDepth))
	setupBadInputWorkspace(t, n)

	// Controls: right at the limits, events are accepted.
	n.must(202, "POST", "/v1/events", map[string]any{"type": "visit", "data": nested("deep", badMaxDepth-2)})
	batch := make([]map[string]any, badMaxBatch)
	for i := range batch {
		batch[i] = map[string]any{"type": "visit", "data": map[string]any{"userId": fmt.Sprintf("ok%d", i)}}
	}
	if r := n.must(202, "POST", "/v1/events", batch); r["accepted"] != float64(badMaxBatch) {
		t.Fatalf("a batch of %d (the limit) should be accepted whole: %v", badMaxBatch, r)
	}

	tooMany := make([]map[string]any, badMaxBatch+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"type": "visit", "data": map[string]any{"userId": "ghost"}}
	}
	big := map[string]any{"type": "signup", "data": map[string]any{"userId": "ghost", "pad": strings.Repeat("x", badMaxBody+1000)}}
	bigJSON, _ := json.Marshal(big)
	loopNoWait := []map[string]any{
		{"id": "start", "kind": "event", "event": "signup", "next": "check"},
		{"id": "check", "kind": "condition", "branches": []map[string]any{{"id": "again", "expression": "true", "next": "bump"}}, "else": "end"},
		{"id": "bump", "kind": "update_profile", "set": map[string]string{"n": "1"}, "next": "check"},
		{"id": "end", "kind": "end"},
	}
	withCondition := func(expr string) []map[string]any {
		return []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "check"},
			{"id": "check", "kind": "condition", "branches": []map[string]any{{"id": "b", "expression": expr, "next": "end"}}, "else": "end"},
			{"id": "end", "kind": "end"},
		}
	}

	cases := []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		code, field  string
	}{
		// Events.
		{"malformed JSON", "POST", "/v1/events", `{"type":"signup","data":{"userId":`, nil, 400, "invalid_json", ""},
		{"empty body", "POST", "/v1/events", ``, nil, 400, "invalid_json", ""},
		{"not an object", "POST", "/v1/events", `"signup"`, nil, 400, "invalid_json", ""},
		{"a string for an integer", "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "ghost", "age": "forty"}}, nil, 400, "invalid_event", "data.age"},
		{"a value outside the enum", "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "ghost", "plan": "gold"}}, nil, 400, "invalid_event", "data.plan"},
		{"a field the schema closes out", "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "ghost", "emial": "a@b.c"}}, nil, 400, "invalid_event", "data.emial"},
		{"a number for the type", "POST", "/v1/events", `{"type":5,"data":{"userId":"ghost"}}`, nil, 400, "invalid_event", "type"},
		{"no type", "POST", "/v1/events", `{"data":{"userId":"ghost"}}`, nil, 400, "invalid_event", "type"},
		{"an array for data", "POST", "/v1/events", `{"type":"visit","data":[1]}`, nil, 400, "invalid_event", "data"},
		{"unknown event type", "POST", "/v1/events", map[string]any{"type": "nosuch", "data": map[string]any{"userId": "ghost"}}, nil, 400, "unknown_event_type", "type"},
		{"missing identity field", "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"email": "ghost@example.com"}}, nil, 400, "missing_identity", "data.userId"},
		{"identity an empty string", "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": ""}}, nil, 400, "missing_identity", "data.userId"},
		{"identity a blank override", "POST", "/v1/events", map[string]any{"type": "visit", "identity": "  ", "data": map[string]any{"userId": "ghost"}}, nil, 400, "missing_identity", "identity"},
		{"identity an object", "POST", "/v1/events", map[string]any{"type": "visit", "data": map[string]any{"userId": map[string]any{"a": 1}}}, nil, 400, "missing_identity", "data.userId"},
		{"oversized body", "POST", "/v1/events", bigJSON, nil, 413, "body_too_large", ""},
		{"too many events", "POST", "/v1/events", tooMany, nil, 413, "too_many_events", ""},
		{"too deep", "POST", "/v1/events", map[string]any{"type": "visit", "data": nested("ghost", badMaxDepth-1)}, nil, 400, "too_deep", ""},
		{"very deep", "POST", "/v1/events", `{"type":"visit","data":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`, nil, 400, "too_deep", ""},
		{"unknown top-level field", "POST", "/v1/events", map[string]any{"type": "visit", "userId": "ghost", "data": map[string]any{"userId": "ghost"}}, nil, 400, "invalid_event", "userId"},
		{"bad event id", "POST", "/v1/events", map[string]any{"id": "evt 1/2", "type": "visit", "data": map[string]any{"userId": "ghost"}}, nil, 400, "invalid_event", "id"},
		{"too long event id", "POST", "/v1/events", map[string]any{"id": strings.Repeat("e", 200), "type": "visit", "data": map[string]any{"userId": "ghost"}}, nil, 400, "invalid_event", "id"},
		{"timestamp far in the future", "POST", "/v1/events", map[string]any{"type": "visit", "timestamp": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), "data": map[string]any{"userId": "ghost"}}, nil, 400, "invalid_event", "timestamp"},
		{"timestamp not RFC 3339", "POST", "/v1/events", map[string]any{"type": "visit", "timestamp": "yesterday", "data": map[string]any{"userId": "ghost"}}, nil, 400, "invalid_event", "timestamp"},
		{"wrong content type", "POST", "/v1/events", `<event type="visit"/>`, []string{"Content-Type", "application/xml"}, 415, "unsupported_media", "Content-Type"},

		// Event definitions.
		{"event definition with a bad schema", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId", "identityNamespace": "user", "schema": map[string]any{"type": "objekt"}}, nil, 422, "invalid_schema", "schema.type"},
		{"event definition with a non-object schema", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId", "identityNamespace": "user", "schema": []int{1}}, nil, 422, "invalid_schema", "schema"},
		{"event definition with a bad identityField", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "user id", "identityNamespace": "user"}, nil, 422, "invalid_request", "identityField"},
		{"event definition with an undeclared identityField", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "uid", "identityNamespace": "user",
			"schema": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{"userId": map[string]any{"type": "string"}}}}, nil, 422, "invalid_request", "identityField"},
		{"event definition without a namespace", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId"}, nil, 422, "invalid_request", "identityNamespace"},
		{"event definition with a bad name", "POST", "/v1/event-definitions", map[string]any{"name": "1 order", "identityField": "userId", "identityNamespace": "user"}, nil, 422, "invalid_request", "name"},
		{"event definition with a bad qualifier", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId", "identityNamespace": "user", "qualifier": "event.data.total >"}, nil, 422, "invalid_expression", "qualifier"},
		{"event definition with an unknown field", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId", "identityNamespace": "user", "identity_field": "x"}, nil, 400, "invalid_request", "identity_field"},
		{"event definition with a wrong type", "POST", "/v1/event-definitions", map[string]any{"name": "order", "identityField": "userId", "identityNamespace": "user", "public": "yes"}, nil, 400, "invalid_request", "public"},
		{"event definition created twice", "POST", "/v1/event-definitions", map[string]any{"name": "signup", "identityField": "userId", "identityNamespace": "user"}, nil, 409, "already_exists", "name"},
		{"event definition updated with a stale If-Match", "PUT", "/v1/event-definitions/signup", map[string]any{"identityField": "userId", "identityNamespace": "user"}, []string{"If-Match", "99"}, 409, "version_conflict", "revision"},

		// Actions.
		{"action with a bad URL", "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM", "method": "POST", "url": "ftp://crm.example.com"}, nil, 422, "invalid_request", "url"},
		{"action with a bad URL template", "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM", "method": "POST", "url": "https://crm.example.com/{{ event.data. }}"}, nil, 422, "invalid_expression", "url"},
		{"action with an unknown auth type", "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM", "method": "POST", "url": "https://crm.example.com", "auth": map[string]any{"type": "magic"}}, nil, 422, "invalid_request", "auth.type"},
		{"action missing its token", "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM", "method": "POST", "url": "https://crm.example.com", "auth": map[string]any{"type": "bearer"}}, nil, 422, "invalid_request", "auth.token"},
		{"action with a bad method", "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM", "method": "FETCH", "url": "https://crm.example.com"}, nil, 422, "invalid_request", "method"},
		{"action created twice", "POST", "/v1/actions", map[string]any{"id": "hello", "name": "Hello", "method": "POST", "url": "https://example.invalid/"}, nil, 409, "already_exists", "id"},
		{"action updated with a stale If-Match", "PUT", "/v1/actions/hello", map[string]any{"name": "Hello", "method": "POST", "url": "https://example.invalid/"}, []string{"If-Match", "99"}, 409, "version_conflict", "revision"},

		// Journeys.
		{"journey with a wrong type", "POST", "/v1/journeys", `{"id":"j2","name":5}`, nil, 400, "invalid_request", "name"},
		{"journey with a bad id", "POST", "/v1/journeys", map[string]any{"id": "Not An Id"}, nil, 422, "invalid_request", "id"},
		{"journey with malformed JSON", "POST", "/v1/journeys", `{"id":"j2",`, nil, 400, "invalid_json", ""},
		{"journey with two JSON values", "POST", "/v1/journeys", `{"id":"j2"} {"id":"j3"}`, nil, 400, "invalid_json", ""},
		{"journey with an unknown field", "POST", "/v1/journeys", map[string]any{"id": "j2", "drafts": map[string]any{}}, nil, 400, "invalid_request", "drafts"},
		{"journey created twice", "POST", "/v1/journeys", map[string]any{"id": "good"}, nil, 409, "already_exists", "id"},
		{"journey updated with a stale If-Match", "PUT", "/v1/journeys/bad", map[string]any{"name": "Bad"}, []string{"If-Match", "99"}, 409, "version_conflict", "revision"},
		{"journey updated with a malformed If-Match", "PUT", "/v1/journeys/bad", map[string]any{"name": "Bad"}, []string{"If-Match", "latest"}, 400, "invalid_request", "If-Match"},
		{"publishing an unknown journey", "POST", "/v1/journeys/nosuch/publish", nil, nil, 404, "not_found", ""},
		{"a bad list limit", "GET", "/v1/journeys?limit=0", nil, nil, 400, "invalid_request", "limit"},

		// Routing.
		{"unknown endpoint", "GET", "/v1/nothing-here", nil, nil, 404, "not_found", ""},
		{"wrong method", "PATCH", "/v1/journeys/good", map[string]any{}, nil, 405, "method_not_allowed", ""},
		{"wrong method on ingest", "DELETE", "/v1/events", nil, nil, 405, "method_not_allowed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			what := tc.method + " " + tc.path
			r := n.call(tc.method, tc.path, tc.body, tc.headers...)
			expectError(t, what, r, tc.status, tc.code, tc.field)
			n.healthy(t, what)
		})
	}

	t.Run("oversized streamed body", func(t *testing.T) {
		r := n.streamCall("POST", "/v1/events", "application/json", string(bigJSON))
		expectError(t, "POST /v1/events (chunked)", r, 413, "body_too_large", "")
		n.healthy(t, "a chunked oversized body")
	})

	// Invalid journeys: validate says why (200, valid false), publish refuses (422); the draft
	// stays a draft and no version is made.
	journeyCases := []struct {
		name        string
		nodes       []map[string]any
		code, field string
		node        string
	}{
		{"a loop with no wait", loopNoWait, "journey_invalid", "nodes[1]", "check"},
		{"an unreachable node", []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "end"},
			{"id": "end", "kind": "end"},
			{"id": "orphan", "kind": "wait", "duration": "1h", "next": "end"},
		}, "journey_invalid", "nodes[2]", "orphan"},
		{"a dangling edge", []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "nowhere"},
			{"id": "end", "kind": "end"},
		}, "journey_invalid", "nodes[0].next", "start"},
		{"a condition without else", []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "check"},
			{"id": "check", "kind": "condition", "branches": []map[string]any{{"id": "b", "expression": "true", "next": "end"}}},
			{"id": "end", "kind": "end"},
		}, "journey_invalid", "nodes[1].else", "check"},
		{"a CEL syntax error", withCondition(`event.data.plan == `), "invalid_expression", "nodes[1].branches[0].expression", "check"},
		{"a CEL type error", withCondition(`1 + "a" > 2`), "invalid_expression", "nodes[1].branches[0].expression", "check"},
		{"a non-bool condition", withCondition(`"x"`), "invalid_expression", "nodes[1].branches[0].expression", "check"},
		{"an unknown field in CEL", withCondition(`event.data.emial == "a@b.c"`), "invalid_expression", "nodes[1].branches[0].expression", "check"},
		{"an unknown action", []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "send"},
			{"id": "send", "kind": "action", "action": "nosuch", "next": "end"},
			{"id": "end", "kind": "end"},
		}, "unknown_action", "nodes[1].action", "send"},
		{"an unknown event type", []map[string]any{
			{"id": "start", "kind": "event", "event": "nosuch", "next": "end"},
			{"id": "end", "kind": "end"},
		}, "journey_invalid", "nodes[0].event", "start"},
	}
	puts := 0
	for _, tc := range journeyCases {
		t.Run("journey with "+tc.name, func(t *testing.T) {
			n.must(200, "PUT", "/v1/journeys/bad", map[string]any{"draft": map[string]any{"nodes": tc.nodes}})
			puts++
			v := n.call("POST", "/v1/journeys/bad/validate", nil)
			if v.status != 200 {
				t.Fatalf("validate: status %d, want 200; body: %s", v.status, v.body)
			}
			var vr struct {
				Valid  *bool      `json:"valid"`
				Errors []apiError `json:"errors"`
			}
			if err := json.Unmarshal(v.body, &vr); err != nil || vr.Valid == nil || *vr.Valid {
				t.Fatalf("validate: want {\"valid\":false,...}; body: %s", v.body)
			}
			e := findError(t, "validate", vr.Errors, tc.code, tc.field)
			if !strings.HasPrefix(e.Message, "node "+tc.node+": ") {
				t.Errorf("validate: message %q should start with \"node %s: \"", e.Message, tc.node)
			}
			p := n.call("POST", "/v1/journeys/bad/publish", nil)
			expectError(t, "publish", p, 422, tc.code, tc.field)
			n.healthy(t, "publishing a journey with "+tc.name)
		})
	}

	t.Run("a batch answers item by item", func(t *testing.T) {
		r := n.must(207, "POST", "/v1/events", []map[string]any{
			{"type": "visit", "data": map[string]any{"userId": "batch-ok"}},
			{"type": "signup", "data": map[string]any{"userId": "ghost", "age": "x"}},
			{"type": "visit", "extra": true},
			{"type": "nosuch"},
		})
		if r["accepted"] != float64(1) || r["rejected"] != float64(3) {
			t.Fatalf("want 1 accepted and 3 rejected: %v", r)
		}
		results, _ := r["results"].([]any)
		want := []struct{ status, code, field string }{
			{"accepted", "", ""},
			{"rejected", "invalid_event", "[1].data.age"},
			{"rejected", "invalid_event", "[2].extra"},
			{"rejected", "unknown_event_type", "[3].type"},
		}
		if len(results) != len(want) {
			t.Fatalf("%d results, want %d: %v", len(results), len(want), r)
		}
		for i, w := range want {
			res, _ := results[i].(map[string]any)
			errObj, _ := res["error"].(map[string]any)
			if res["index"] != float64(i) || res["status"] != w.status {
				t.Errorf("result %d: index %v status %v, want %d %s", i, res["index"], res["status"], i, w.status)
			}
			if w.code != "" && (errObj["code"] != w.code || errObj["field"] != w.field) {
				t.Errorf("result %d: error %v, want code=%s field=%s (batch fields carry the item's index)", i, errObj, w.code, w.field)
			}
		}
		n.healthy(t, "a mixed batch")
	})

	t.Run("an NDJSON stream answers line by line", func(t *testing.T) {
		stream := strings.Join([]string{
			`{"type":"visit","data":{"userId":"nd1"}}`,
			`{"type":"visit","data":{"userId":`,
			`this is not JSON at all`,
			``,
			`{"type":"signup","data":{"userId":"ghost","age":"x"}}`,
			`{"type":"visit","data":{"userId":"nd2"}}`,
		}, "\n") + "\n"
		r := n.call("POST", "/v1/events", stream, "Content-Type", "application/x-ndjson")
		if r.status != 200 {
			t.Fatalf("status %d, want 200: %s", r.status, r.body)
		}
		lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
		want := []struct {
			line         int
			status, code string
		}{
			{1, "accepted", ""},
			{2, "rejected", "invalid_json"},
			{3, "rejected", "invalid_json"},
			{5, "rejected", "invalid_event"},
			{6, "accepted", ""},
		}
		if len(lines) != len(want)+1 {
			t.Fatalf("%d answer lines, want %d (one per event line, then a summary):\n%s", len(lines), len(want)+1, r.body)
		}
		for i, w := range want {
			var got struct {
				Line   int       `json:"line"`
				Status string    `json:"status"`
				Error  *apiError `json:"error"`
			}
			if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
				t.Fatalf("answer line %d is not JSON: %s", i+1, lines[i])
			}
			code := ""
			if got.Error != nil {
				code = got.Error.Code
			}
			if got.Line != w.line || got.Status != w.status || code != w.code {
				t.Errorf("answer %d: line %d status %s code %q; want line %d status %s code %q", i+1, got.Line, got.Status, code, w.line, w.status, w.code)
			}
		}
		var sum struct {
			Summary map[string]any `json:"summary"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum.Summary["accepted"] != float64(2) || sum.Summary["rejected"] != float64(3) {
			t.Errorf("summary %q, want 2 accepted and 3 rejected", lines[len(lines)-1])
		}
		n.healthy(t, "an NDJSON stream with garbage lines")
	})

	// Nothing invalid was created, and what existed is as it was.
	t.Run("nothing changed", func(t *testing.T) {
		ids := func(path, key string) []string {
			r := n.must(200, "GET", path, nil)
			items, _ := r["items"].([]any)
			var out []string
			for _, it := range items {
				m, _ := it.(map[string]any)
				out = append(out, fmt.Sprint(m[key]))
			}
			sort.Strings(out)
			return out
		}
		if got := strings.Join(ids("/v1/journeys", "id"), ","); got != "bad,good" {
			t.Errorf("journeys %q, want bad,good", got)
		}
		// The node defines the reaction events (message.opened, …) itself at start-up.
		if got := strings.Join(ids("/v1/event-definitions", "name"), ","); got != "message.clicked,message.delivered,message.failed,message.opened,signup,visit" {
			t.Errorf("event definitions %q, want signup,visit", got)
		}
		if got := strings.Join(ids("/v1/actions", "id"), ","); got != "hello" {
			t.Errorf("actions %q, want hello", got)
		}
		bad := n.must(200, "GET", "/v1/journeys/bad", nil)
		if bad["status"] != "draft" || bad["versions"] != float64(0) || bad["liveVersion"] != nil {
			t.Errorf("journey bad should be an unpublished draft: %v", bad)
		}
		// Created at revision 1, then one revision per accepted PUT: failed publishes and stale
		// updates wrote nothing.
		if bad["revision"] != float64(1+puts) {
			t.Errorf("journey bad: revision %v, want %d (1 + %d accepted updates)", bad["revision"], 1+puts, puts)
		}
		if v := n.must(200, "GET", "/v1/journeys/bad/versions", nil); len(v["items"].([]any)) != 0 {
			t.Errorf("journey bad has versions: %v", v)
		}
		good := n.must(200, "GET", "/v1/journeys/good", nil)
		if good["status"] != "live" || good["versions"] != float64(1) || good["liveVersion"] != float64(1) {
			t.Errorf("journey good should be live at version 1: %v", good)
		}
		if d := n.must(200, "GET", "/v1/event-definitions/signup", nil); d["version"] != float64(1) {
			t.Errorf("event definition signup changed: %v", d)
		}
		if a := n.must(200, "GET", "/v1/actions/hello", nil); a["version"] != float64(1) || a["url"] != "https://example.invalid/hello/{{ event.data.userId }}" {
			t.Errorf("action hello changed: %v", a)
		}
		expectError(t, "GET /v1/profiles/user:ghost", n.call("GET", "/v1/profiles/user:ghost", nil), 404, "not_found", "")
		// Still taking events.
		if r := n.must(202, "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "after", "age": 3}}); r["status"] != "accepted" {
			t.Errorf("a good event after the bad ones: %v", r)
		}
		n.healthy(t, "all bad input")
	})
}
