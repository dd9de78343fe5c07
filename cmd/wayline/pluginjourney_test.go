package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// examplePlugin returns an example plugin's module and manifest: Go examples are built here,
// the others come from `make plugins` (bin/plugins).
func examplePlugin(t *testing.T, name string) (wasm, manifest []byte) {
	t.Helper()
	root := filepath.Join("..", "..")
	manifest, err := os.ReadFile(filepath.Join(root, "plugins", "examples", name, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if name == "weather" {
		wasm, err = os.ReadFile(weatherWasm(t))
	} else {
		wasm, err = os.ReadFile(filepath.Join(root, "bin", "plugins", name+".wasm"))
	}
	if err != nil {
		if os.Getenv("WAYLINE_REQUIRE_PLUGINS") == "" {
			t.Skipf("%v (run `make plugins`)", err)
		}
		t.Fatalf("%v: make test builds the example plugins first (make plugins)", err)
	}
	return wasm, manifest
}

func push(t *testing.T, n *node, name string) {
	t.Helper()
	wasm, manifest := examplePlugin(t, name)
	body, ctype := uploadBody(t, manifest, wasm)
	if r := n.call("POST", "/v1/plugins", body, "Content-Type", ctype); r.status != 201 {
		t.Fatalf("upload %s: %d %s", name, r.status, r.body)
	}
}

// TestExamplePluginsChangeTheJourneyPath publishes a journey that uses every example plugin —
// the loyalty-tier condition (Rust), the propensity-score condition (C), the weather data source
// (Go) and the crm-sync action (AssemblyScript) — on a real node, and checks that each one
// decides where profiles go.
//
//	purchase → tier: [gold: loyalty-tier] → crm (crm-sync) → mark-gold → end
//	                 [else] → score: [likely: propensity-score] → rainy?: [ds.weather.current.condition == "rain"] → mark-rain → end
//	                                 [else] → end                          [else] → end
func TestExamplePluginsChangeTheJourneyPath(t *testing.T) {
	var mu sync.Mutex
	weatherCalls := map[string]int{}
	crmCalls := map[string]int{}
	services := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/current":
			city := r.URL.Query().Get("city")
			weatherCalls[city]++
			cond := "sun"
			if city == "Paris" {
				cond = "rain"
			}
			fmt.Fprintf(w, `{"tempC":14,"condition":%q}`, cond)
		case r.URL.Path == "/contacts" && r.Method == http.MethodPost:
			if r.Header.Get("Authorization") != "Bearer crm-key" {
				w.WriteHeader(401)
				return
			}
			crmCalls[r.Header.Get("Idempotency-Key")]++
			w.WriteHeader(201)
			fmt.Fprint(w, `{"id":"c-1"}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer services.Close()

	n := startNode(t, t.TempDir(), freeAddr(t), "--allow-net", "127.0.0.1")
	for _, name := range []string{"loyalty-tier", "propensity-score", "weather", "crm-sync"} {
		push(t, n, name)
	}
	n.must(200, "PUT", "/v1/plugins/crm-sync", map[string]any{"secrets": map[string]any{"apiKey": "crm-key"}}, "If-Match", "1")
	n.must(201, "POST", "/v1/data-sources", map[string]any{"id": "weather", "name": "Weather", "kind": "plugin",
		"plugin":   map[string]any{"name": "weather", "config": map[string]any{"baseUrl": services.URL}},
		"groups":   []any{map[string]any{"name": "current", "params": map[string]any{"city": "profile.attributes.city"}}},
		"cacheTtl": "1m"})
	n.must(201, "POST", "/v1/actions", map[string]any{"id": "crm", "name": "CRM sync", "kind": "plugin",
		"plugin":  map[string]any{"name": "crm-sync", "version": "1.0.0", "config": map[string]any{"baseUrl": services.URL, "list": "gold"}},
		"payload": json.RawMessage(`{"email":"{{ profile.attributes.email }}"}`),
		"timeout": "5s", "retry": map[string]any{"maxAttempts": 3, "initialBackoff": "50ms", "maxBackoff": "200ms"}})
	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "purchase", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string"}, "total": map[string]any{"type": "number"}}},
	})
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "rewards", "name": "Rewards", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "purchase", "next": "tier"},
			{"id": "tier", "kind": "condition", "branches": []map[string]any{{"id": "gold", "plugin": map[string]any{"name": "loyalty-tier", "config": map[string]any{"tier": "gold"}}, "next": "crm"}}, "else": "score"},
			{"id": "crm", "kind": "action", "action": "crm", "next": "mark-gold"},
			{"id": "mark-gold", "kind": "update_profile", "set": map[string]string{"gold": "true"}, "next": "end"},
			{"id": "score", "kind": "condition", "branches": []map[string]any{{"id": "likely", "plugin": map[string]any{"name": "propensity-score"}, "next": "rainy"}}, "else": "end"},
			{"id": "rainy", "kind": "condition", "branches": []map[string]any{{"id": "rain", "expression": `ds.weather.current.condition == "rain"`, "next": "mark-rain"}}, "else": "end"},
			{"id": "mark-rain", "kind": "update_profile", "set": map[string]string{"umbrella": "ds.weather.current.tempC"}, "next": "end"},
			{"id": "end", "kind": "end"},
		}}})
	v := n.must(200, "POST", "/v1/journeys/rewards/publish", nil)
	// Publishing pinned the plugin versions the draft left open.
	if !strings.Contains(fmt.Sprint(v["version"]), "version:1.0.0") {
		t.Fatalf("published version does not pin the plugins: %v", v["version"])
	}

	profiles := map[string]map[string]any{
		"gold":   {"points": 1500, "email": "gold@example.com"},
		"paris":  {"points": 10, "purchases": 5, "daysSinceLastVisit": 3, "emailOpens": 10, "city": "Paris"},
		"paris2": {"points": 10, "purchases": 6, "daysSinceLastVisit": 1, "emailOpens": 12, "city": "Paris"},
		"lyon":   {"points": 10, "purchases": 5, "daysSinceLastVisit": 3, "emailOpens": 10, "city": "Lyon"},
		"lapsed": {"points": 10, "purchases": 0, "daysSinceLastVisit": 90, "emailOpens": 0, "city": "Paris"},
	}
	var events []map[string]any
	for id, attrs := range profiles {
		n.must(200, "PUT", "/v1/profiles/user:"+id, map[string]any{"attributes": attrs})
		events = append(events, map[string]any{"id": "p-" + id, "type": "purchase", "data": map[string]any{"userId": id, "total": 20}})
	}
	// One request: the engine answers the plugin branches of the whole micro-batch together.
	n.must(202, "POST", "/v1/events", events)

	eventually(t, 10*time.Second, "every profile finished the journey", func() (bool, string) {
		rep := n.must(200, "GET", "/v1/journeys/rewards/report", nil)
		totals := rep["totals"].(map[string]any)
		return totals["completed"] == float64(5), fmt.Sprint(totals)
	})
	attrs := func(id string) map[string]any {
		return n.must(200, "GET", "/v1/profiles/user:"+id, nil)["attributes"].(map[string]any)
	}
	if a := attrs("gold"); a["gold"] != true {
		t.Errorf("the gold profile did not take the loyalty-tier branch: %v", a)
	}
	for _, id := range []string{"paris", "paris2"} {
		if a := attrs(id); a["umbrella"] != float64(14) || a["gold"] != nil {
			t.Errorf("%s: propensity likely + rain in Paris should set umbrella from the data source: %v", id, a)
		}
	}
	for _, id := range []string{"lyon", "lapsed"} {
		if a := attrs(id); a["umbrella"] != nil || a["gold"] != nil {
			t.Errorf("%s should have ended without marks: %v", id, a)
		}
	}
	mu.Lock()
	if weatherCalls["Paris"] != 1 || weatherCalls["Lyon"] != 1 {
		t.Errorf("weather service calls %v: the data source should be read once per city (cache), and never for the lapsed or gold profiles", weatherCalls)
	}
	mu.Unlock()
	eventually(t, 10*time.Second, "the CRM got the gold profile", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(crmCalls) == 1, fmt.Sprint(crmCalls)
	})
	rep := n.must(200, "GET", "/v1/journeys/rewards/report", nil)
	nodes := fmt.Sprint(rep["versions"])
	for _, want := range []string{"branch:gold:1", "branch:likely:3", "branch:rain:2"} {
		if !strings.Contains(strings.ReplaceAll(nodes, " ", ""), want) {
			t.Errorf("report lacks %s: %s", want, nodes)
		}
	}
	if a := rep["actions"].(map[string]any)["crm"].(map[string]any); a["sent"] != float64(1) {
		t.Errorf("crm action report: %v", a)
	}

	// The live journey reads ds.weather.current: renaming the group would break it, so the
	// change is refused.
	r := n.call("PUT", "/v1/data-sources/weather", map[string]any{"id": "weather", "name": "Weather", "kind": "plugin",
		"plugin": map[string]any{"name": "weather", "config": map[string]any{"baseUrl": services.URL}},
		"groups": []any{map[string]any{"name": "now", "params": map[string]any{"city": "profile.attributes.city"}}}}, "If-Match", "1")
	if r.status != 409 || !strings.Contains(string(r.body), "rewards") {
		t.Errorf("renaming a group a live journey reads: %d %s", r.status, r.body)
	}
}
