package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func bearerKey(key string) []string { return []string{"Authorization", "Bearer " + key} }

// noKey removes the Authorization header n.call would otherwise send.
var noKey = []string{"Authorization", ""}

func TestRolesAreEnforced(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	n.must(201, "POST", "/v1/event-definitions", map[string]any{"name": "signup", "identityField": "userId", "identityNamespace": "user"})
	n.must(201, "POST", "/v1/event-definitions", map[string]any{"name": "pageview", "identityField": "visitorId", "identityNamespace": "visitor", "public": true})
	n.must(201, "POST", "/v1/actions", map[string]any{"id": "hello", "name": "Hello", "method": "POST", "url": "https://example.invalid/hello"})
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "welcome", "draft": map[string]any{"nodes": []map[string]any{
		{"id": "start", "kind": "event", "event": "signup", "next": "end"},
		{"id": "end", "kind": "end"},
	}}})

	// One key of each role, made by the admin; each secret is shown once, on creation.
	keys := map[string]string{}   // role → secret
	keyIDs := map[string]string{} // role → id
	for _, role := range []string{"admin", "editor", "viewer", "ingest"} {
		r := n.must(201, "POST", "/v1/keys", map[string]any{"name": role + " key", "role": role})
		secret, _ := r["key"].(string)
		id, _ := r["id"].(string)
		if secret == "" || id == "" || r["role"] != role {
			t.Fatalf("creating a %s key: want id, role and key in the answer: %v", role, r)
		}
		if _, ok := r["hash"]; ok {
			t.Fatalf("creating a %s key: the answer shows the hash: %v", role, r)
		}
		keys[role], keyIDs[role] = secret, id
	}
	expectError(t, "POST /v1/keys with an unknown role", n.call("POST", "/v1/keys", map[string]any{"name": "x", "role": "root"}), 422, "invalid_request", "role")

	type check struct {
		who          string
		auth         []string
		method, path string
		body         any
		status       int
		code, field  string // for errors
	}
	var checks []check
	adminOnly := [][2]string{{"GET", "/v1/journeys"}, {"POST", "/v1/journeys"}, {"GET", "/v1/keys"}, {"POST", "/v1/keys"},
		{"GET", "/v1/event-definitions"}, {"DELETE", "/v1/actions/hello"}, {"POST", "/v1/journeys/welcome/publish"}, {"GET", "/v1/events/recent"}}
	for _, op := range adminOnly {
		body := any(nil)
		if op[0] == "POST" {
			body = map[string]any{"id": "sneaky", "name": "sneaky", "role": "admin"}
		}
		checks = append(checks,
			check{"no key", noKey, op[0], op[1], body, 401, "unauthenticated", "Authorization"},
			check{"an unknown key", bearerKey("wl_thisisnotakey"), op[0], op[1], body, 401, "unauthenticated", "Authorization"},
			check{"a Basic header", []string{"Authorization", "Basic " + testAdminKey}, op[0], op[1], body, 401, "unauthenticated", "Authorization"},
		)
	}
	viewer, editor, ingest := bearerKey(keys["viewer"]), bearerKey(keys["editor"]), bearerKey(keys["ingest"])
	checks = append(checks,
		// The viewer reads, validates, and changes nothing.
		check{"viewer", viewer, "GET", "/v1/journeys", nil, 200, "", ""},
		check{"viewer", viewer, "GET", "/v1/journeys/welcome", nil, 200, "", ""},
		check{"viewer", viewer, "GET", "/v1/event-definitions", nil, 200, "", ""},
		check{"viewer", viewer, "GET", "/v1/actions/hello", nil, 200, "", ""},
		check{"viewer", viewer, "GET", "/v1/events/recent", nil, 200, "", ""},
		check{"viewer", viewer, "POST", "/v1/journeys/welcome/validate", nil, 200, "", ""},
		check{"viewer", viewer, "POST", "/v1/journeys", map[string]any{"id": "by-viewer"}, 403, "forbidden", ""},
		check{"viewer", viewer, "PUT", "/v1/journeys/welcome", map[string]any{"name": "Renamed"}, 403, "forbidden", ""},
		check{"viewer", viewer, "DELETE", "/v1/journeys/welcome", nil, 403, "forbidden", ""},
		check{"viewer", viewer, "POST", "/v1/journeys/welcome/publish", nil, 403, "forbidden", ""},
		check{"viewer", viewer, "POST", "/v1/event-definitions", map[string]any{"name": "byviewer", "identityField": "userId", "identityNamespace": "user"}, 403, "forbidden", ""},
		check{"viewer", viewer, "PUT", "/v1/event-definitions/signup", map[string]any{"identityField": "userId", "identityNamespace": "member"}, 403, "forbidden", ""},
		check{"viewer", viewer, "DELETE", "/v1/actions/hello", nil, 403, "forbidden", ""},
		check{"viewer", viewer, "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "by-viewer"}}, 403, "forbidden", ""},
		check{"viewer", viewer, "GET", "/v1/keys", nil, 403, "forbidden", ""},
		// The ingest key sends events and nothing else.
		check{"ingest", ingest, "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "by-ingest"}}, 202, "", ""},
		check{"ingest", ingest, "POST", "/v1/events", map[string]any{"type": "pageview", "data": map[string]any{"visitorId": "v-ingest"}}, 202, "", ""},
		check{"ingest", ingest, "GET", "/v1/journeys", nil, 403, "forbidden", ""},
		check{"ingest", ingest, "GET", "/v1/event-definitions", nil, 403, "forbidden", ""},
		check{"ingest", ingest, "GET", "/v1/events/recent", nil, 403, "forbidden", ""},
		check{"ingest", ingest, "POST", "/v1/journeys", map[string]any{"id": "by-ingest"}, 403, "forbidden", ""},
		check{"ingest", ingest, "GET", "/v1/keys", nil, 403, "forbidden", ""},
		// The editor edits and sends events, but does not manage keys.
		check{"editor", editor, "POST", "/v1/journeys", map[string]any{"id": "by-editor"}, 201, "", ""},
		check{"editor", editor, "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "by-editor"}}, 202, "", ""},
		check{"editor", editor, "GET", "/v1/keys", nil, 403, "forbidden", ""},
		check{"editor", editor, "POST", "/v1/keys", map[string]any{"name": "escalate", "role": "admin"}, 403, "forbidden", ""},
		check{"editor", editor, "DELETE", "/v1/keys/" + keyIDs["viewer"], nil, 403, "forbidden", ""},
		// The second admin manages keys.
		check{"admin", bearerKey(keys["admin"]), "GET", "/v1/keys", nil, 200, "", ""},
		// Events: a public type needs no key; any other does; a key that is sent must be valid.
		check{"no key", noKey, "POST", "/v1/events", map[string]any{"type": "pageview", "data": map[string]any{"visitorId": "v1"}}, 202, "", ""},
		check{"no key", noKey, "POST", "/v1/events", map[string]any{"type": "signup", "data": map[string]any{"userId": "anon"}}, 401, "unauthenticated", "Authorization"},
		check{"an unknown key", bearerKey("wl_thisisnotakey"), "POST", "/v1/events", map[string]any{"type": "pageview", "data": map[string]any{"visitorId": "v2"}}, 401, "unauthenticated", "Authorization"},
		// Health and the contract need no key.
		check{"no key", noKey, "GET", "/healthz", nil, 200, "", ""},
		check{"no key", noKey, "GET", "/readyz", nil, 200, "", ""},
		check{"no key", noKey, "GET", "/v1/openapi.json", nil, 200, "", ""},
	)
	for _, c := range checks {
		what := fmt.Sprintf("%s: %s %s", c.who, c.method, c.path)
		r := n.call(c.method, c.path, c.body, c.auth...)
		if c.code != "" {
			e := expectError(t, what, r, c.status, c.code, c.field)
			if c.status == 403 && !strings.Contains(e.Message, "role") {
				t.Errorf("%s: a 403 should say which role is needed: %q", what, e.Message)
			}
			continue
		}
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d; body: %s", what, r.status, c.status, r.body)
		}
	}

	// Refused writes changed nothing.
	for _, id := range []string{"sneaky", "by-viewer", "by-ingest"} {
		expectError(t, "GET /v1/journeys/"+id, n.call("GET", "/v1/journeys/"+id, nil), 404, "not_found", "")
	}
	if j := n.must(200, "GET", "/v1/journeys/welcome", nil); j["name"] != "welcome" || j["revision"] != float64(1) || j["status"] != "draft" {
		t.Errorf("journey welcome was changed by refused requests: %v", j)
	}
	if d := n.must(200, "GET", "/v1/event-definitions/signup", nil); d["identityNamespace"] != "user" || d["version"] != float64(1) {
		t.Errorf("event definition signup was changed by a refused request: %v", d)
	}
	n.must(200, "GET", "/v1/actions/hello", nil)
	expectError(t, "GET /v1/event-definitions/byviewer", n.call("GET", "/v1/event-definitions/byviewer", nil), 404, "not_found", "")

	// Listing keys never shows a secret or a hash.
	list := n.call("GET", "/v1/keys", nil)
	if list.status != 200 {
		t.Fatalf("GET /v1/keys: status %d: %s", list.status, list.body)
	}
	secrets := []string{testAdminKey}
	for _, s := range keys {
		secrets = append(secrets, s)
	}
	for _, s := range secrets {
		sum := sha256.Sum256([]byte(s))
		h := hex.EncodeToString(sum[:])
		if strings.Contains(string(list.body), s) {
			t.Errorf("GET /v1/keys shows the secret %q…: %s", s[:7], list.body)
		}
		if strings.Contains(string(list.body), h) {
			t.Errorf("GET /v1/keys shows the hash of the secret %q…: %s", s[:7], list.body)
		}
	}
	var listed struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(list.body, &listed); err != nil {
		t.Fatalf("GET /v1/keys is not JSON: %s", list.body)
	}
	if len(listed.Items) != 5 {
		t.Errorf("GET /v1/keys lists %d keys, want 5 (the initial admin and four made here): %s", len(listed.Items), list.body)
	}
	for _, it := range listed.Items {
		var fields []string
		for f := range it {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		if got := strings.Join(fields, ","); got != "createdAt,id,name,prefix,role" {
			t.Errorf("a listed key has fields %s, want createdAt,id,name,prefix,role: %v", got, it)
		}
	}

	// A deleted key stops working at once; an admin cannot delete the key it is using.
	n.must(204, "DELETE", "/v1/keys/"+keyIDs["viewer"], nil)
	expectError(t, "a deleted key", n.call("GET", "/v1/journeys", nil, viewer...), 401, "unauthenticated", "Authorization")
	expectError(t, "an admin deleting its own key", n.call("DELETE", "/v1/keys/"+keyIDs["admin"], nil, bearerKey(keys["admin"])...), 409, "in_use", "")

	// Public events are rate-limited per client IP: a bounded burst gets 429 with a JSON error.
	var (
		sent, accepted, limited atomic.Int64
		mu                      sync.Mutex
		other                   []string
		limitedBody             response
		wg                      sync.WaitGroup
	)
	const maxRequests = 200
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for limited.Load() == 0 {
				i := sent.Add(1)
				if i > maxRequests {
					return
				}
				r := n.call("POST", "/v1/events", map[string]any{"type": "pageview", "data": map[string]any{"visitorId": fmt.Sprintf("burst-%d", i)}}, noKey...)
				switch r.status {
				case 202:
					accepted.Add(1)
				case 429:
					if limited.Add(1) == 1 {
						mu.Lock()
						limitedBody = r
						mu.Unlock()
					}
				default:
					mu.Lock()
					other = append(other, fmt.Sprintf("%d %s", r.status, r.body))
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	if len(other) > 0 {
		t.Errorf("public burst: unexpected answers: %v", other)
	}
	if limited.Load() == 0 {
		t.Fatalf("public burst: %d of %d requests accepted and none got 429", accepted.Load(), min(sent.Load(), maxRequests))
	}
	if accepted.Load() == 0 {
		t.Errorf("public burst: no request was accepted before the limit")
	}
	t.Logf("public burst: %d accepted, %d answered 429", accepted.Load(), limited.Load())
	expectError(t, "a rate-limited public event", limitedBody, 429, "rate_limited", "")
	// A key is not rate-limited by IP.
	n.must(202, "POST", "/v1/events", map[string]any{"type": "pageview", "data": map[string]any{"visitorId": "with-key"}}, ingest...)
}
