package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRESTDataSourceOnANode publishes a journey whose conditions read REST data sources on a
// real node, sends a burst of 50 instances that need the same group, and checks that the
// source saw one call (cache + single-flight), that the condition branched on its answer,
// that a failing source errors the branch (counted) or gives its defaults, and that a source
// pointing at the metadata address is refused.
//
//	visit → gold?: [ds.crm.account.tier == "gold"] → mark-gold → broken?
//	        broken?: [ds.broken.x.v == 1] → mark-broken   [else] → fallback?
//	        fallback?: [ds.fallback.x.tier == "none"] → mark-fallback → meta?
//	        meta?: [ds.meta.x.v == 1] → mark-meta   [else] → end
func TestRESTDataSourceOnANode(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	services := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.URL.EscapedPath()+"?"+r.URL.RawQuery]++
		mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/crm/accounts/"):
			if r.Header.Get("X-Api-Key") != "k1" {
				w.WriteHeader(401)
				return
			}
			time.Sleep(100 * time.Millisecond) // the burst arrives while the call is in flight
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"tier":"gold","seats":12}`)
		case r.URL.Path == "/broken/x":
			w.WriteHeader(500)
			fmt.Fprint(w, "upstream down")
		case r.URL.Path == "/html/x":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>sign in</html>")
		default:
			w.WriteHeader(404)
		}
	}))
	defer services.Close()

	n := startNode(t, t.TempDir(), freeAddr(t), "--allow-net", "127.0.0.1")
	n.must(201, "POST", "/v1/data-sources", map[string]any{"id": "crm", "name": "CRM", "kind": "rest", "cacheTtl": "5m",
		"rest": map[string]any{"baseUrl": services.URL + "/crm", "timeout": "3s", "ratePerSecond": 50,
			"auth": map[string]any{"type": "apiKey", "header": "X-Api-Key", "value": "k1"}},
		"groups": []any{map[string]any{"name": "account", "params": map[string]any{"id": "profile.attributes.account"},
			"path": "/accounts/{{ params.id }}", "query": map[string]any{"expand": "tier"},
			"fields": map[string]any{"type": "object", "properties": map[string]any{"tier": map[string]any{"type": "string"}, "seats": map[string]any{"type": "number"}}}}}})
	one := func(id, base, onError string) map[string]any {
		return map[string]any{"id": id, "name": id, "kind": "rest", "onError": onError,
			"rest":   map[string]any{"baseUrl": base, "timeout": "2s"},
			"groups": []any{map[string]any{"name": "x", "path": "/x", "defaults": map[string]any{"tier": "none"}}}}
	}
	n.must(201, "POST", "/v1/data-sources", one("broken", services.URL+"/broken", "error"))
	n.must(201, "POST", "/v1/data-sources", one("fallback", services.URL+"/html", "default"))
	n.must(201, "POST", "/v1/data-sources", one("meta", "http://169.254.169.254/latest", "error"))
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "visit", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{"userId": map[string]any{"type": "string"}}},
	})
	cond := func(id, expr, next, els string) map[string]any {
		return map[string]any{"id": id, "kind": "condition", "branches": []map[string]any{{"id": id + "-yes", "expression": expr, "next": next}}, "else": els}
	}
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "accounts", "name": "Accounts", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "visit", "next": "gold"},
			cond("gold", `ds.crm.account.tier == "gold"`, "mark-gold", "broken"),
			{"id": "mark-gold", "kind": "update_profile", "set": map[string]string{"seats": "ds.crm.account.seats"}, "next": "broken"},
			cond("broken", `ds.broken.x.v == 1`, "mark-broken", "fallback"),
			{"id": "mark-broken", "kind": "update_profile", "set": map[string]string{"broken": "true"}, "next": "fallback"},
			cond("fallback", `ds.fallback.x.tier == "none"`, "mark-fallback", "meta"),
			{"id": "mark-fallback", "kind": "update_profile", "set": map[string]string{"fallback": "true"}, "next": "meta"},
			cond("meta", `ds.meta.x.v == 1`, "mark-meta", "tally"),
			{"id": "mark-meta", "kind": "update_profile", "set": map[string]string{"meta": "true"}, "next": "end"},
			// Not a condition: the failed read and the assignment that needed it are one error.
			{"id": "tally", "kind": "update_profile", "set": map[string]string{"b": "ds.broken.x.v"}, "next": "end"},
			{"id": "end", "kind": "end"},
		}}})
	n.must(200, "POST", "/v1/journeys/accounts/publish", nil)

	const burst = 50
	var events []map[string]any
	for i := range burst {
		id := fmt.Sprintf("u%d", i)
		n.must(200, "PUT", "/v1/profiles/user:"+id, map[string]any{"attributes": map[string]any{"account": "acme/eu"}})
		events = append(events, map[string]any{"id": "v-" + id, "type": "visit", "data": map[string]any{"userId": id}})
	}
	n.must(202, "POST", "/v1/events", events)
	eventually(t, 20*time.Second, "every profile finished the journey", func() (bool, string) {
		rep := n.must(200, "GET", "/v1/journeys/accounts/report", nil)
		totals := rep["totals"].(map[string]any)
		return totals["completed"] == float64(burst), fmt.Sprint(totals)
	})
	mu.Lock()
	if c := calls["/crm/accounts/acme%2Feu?expand=tier"]; c != 1 {
		t.Errorf("the CRM saw %d calls for %d instances reading the same group, want 1 (cache + single-flight); calls: %v", c, burst, calls)
	}
	mu.Unlock()
	for _, id := range []string{"u0", "u49"} {
		a := n.must(200, "GET", "/v1/profiles/user:"+id, nil)["attributes"].(map[string]any)
		if a["seats"] != float64(12) || a["fallback"] != true || a["broken"] != nil || a["meta"] != nil {
			t.Errorf("%s: want seats 12 from the CRM, the fallback's defaults, and neither the broken nor the metadata branch: %v", id, a)
		}
	}
	rep := n.must(200, "GET", "/v1/journeys/accounts/report", nil)
	flat := strings.ReplaceAll(fmt.Sprint(rep["versions"]), " ", "")
	for _, want := range []string{"branch:gold-yes:50", "branch:fallback-yes:50"} {
		if !strings.Contains(flat, want) {
			t.Errorf("report lacks %s: %s", want, flat)
		}
	}
	for _, node := range []string{"broken", "meta"} {
		if !strings.Contains(flat, node+":map[branch:else:50entered:50errored:50passed:50]") {
			t.Errorf("report does not count the %s condition's 50 errors (one per instance): %s", node, flat)
		}
	}
	if !strings.Contains(flat, "tally:map[entered:50errored:50passed:50]") {
		t.Errorf("report does not count the update_profile node's 50 errors (one per instance, not one per read and one per assignment): %s", flat)
	}
	if strings.Contains(flat, "branch:broken-yes") || strings.Contains(flat, "branch:meta-yes") {
		t.Errorf("a failing source's branch was taken: %s", flat)
	}
	mu.Lock()
	if calls["/broken/x?"] < 1 {
		t.Errorf("the broken source was never called: %v", calls)
	}
	mu.Unlock()
	// The debugger/trace of one profile names the reason of the metadata refusal.
	tr := n.call("GET", "/v1/profiles/user:u0/trace", nil)
	if tr.status == 200 && !strings.Contains(string(tr.body), "169.254.169.254") {
		t.Logf("trace does not name the refused address: %s", tr.body)
	}
}
