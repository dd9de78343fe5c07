package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wayline/wayline/plugins/internal/wasmbuild"
	"github.com/wayline/wayline/sdk/abi"
)

// The conformance suite runs every example plugin (one per SDK language at least) through the
// same checks: its cases.json (input → expected output or error code), malformed input answered
// with invalid_input rather than a trap, the batch condition handler agreeing with one call per
// item, and thousands of calls on one instance without memory growth.

type conformanceCase struct {
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
	RawInput *string         `json:"rawInput"`
	Output   json.RawMessage `json:"output"`
	Error    string          `json:"error"`
}

// exampleServer plays the third parties the examples call: the weather service and the CRM.
func exampleServer(t *testing.T) string {
	base, _ := testServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/current"), strings.HasPrefix(r.URL.Path, "/v1/forecast"):
			switch r.URL.Query().Get("city") {
			case "Atlantis":
				w.WriteHeader(404)
			case "Brokenville":
				w.WriteHeader(503)
			default:
				if strings.HasSuffix(r.URL.Path, "forecast") {
					fmt.Fprint(w, `{"tempC":21,"condition":"sun"}`)
					return
				}
				fmt.Fprint(w, `{"tempC":18.5,"condition":"rain"}`)
			}
		case r.URL.Path == "/contacts" && r.Method == http.MethodPost:
			if r.Header.Get("Authorization") != "Bearer test-key" || r.Header.Get("Idempotency-Key") == "" {
				w.WriteHeader(401)
				return
			}
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			email, _ := body["email"].(string)
			switch {
			case r.Header.Get("X-Test-Status") == "500", strings.HasPrefix(email, "fail500@"):
				w.WriteHeader(500)
			case strings.HasPrefix(email, "reject400@"):
				w.WriteHeader(400)
			default:
				w.WriteHeader(201)
				fmt.Fprint(w, `{"id":"c-123"}`)
			}
		default:
			w.WriteHeader(404)
		}
	}))
	return base
}

func TestConformanceOfExamples(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(wasmbuild.Root(), "plugins", "examples", "*", "cases.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no example cases found: %v", err)
	}
	base := exampleServer(t)
	h := newHost(t, "127.0.0.1")
	for _, casesPath := range dirs {
		name := filepath.Base(filepath.Dir(casesPath))
		t.Run(name, func(t *testing.T) {
			wasm, mj, err := wasmbuild.Example(name)
			if err != nil {
				if os.Getenv("WAYLINE_REQUIRE_PLUGINS") != "" {
					t.Fatal(err)
				}
				t.Skip(err)
			}
			m, err := ParseManifest(mj)
			if err != nil {
				t.Fatalf("manifest.json: %v", err)
			}
			p, err := h.Load(context.Background(), wasm, m)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			raw, err := os.ReadFile(casesPath)
			if err != nil {
				t.Fatal(err)
			}
			var cases []conformanceCase
			if err := json.Unmarshal(raw, &cases); err != nil {
				t.Fatalf("cases.json: %v", err)
			}
			kind := m.Kinds[0]
			sawMalformed := false
			var conditionInputs [][]byte
			var conditionOutputs []map[string]any
			for _, c := range cases {
				in := []byte(strings.ReplaceAll(string(c.Input), "{{server}}", base))
				if c.RawInput != nil {
					in = []byte(*c.RawInput)
					sawMalformed = sawMalformed || !json.Valid(in)
				}
				r := p.Call(context.Background(), &Call{Kind: kind, Input: in, Secrets: map[string]string{"apiKey": "test-key"}})
				if c.Error != "" {
					if r.Err == nil || r.Err.Code != CodeFailed || r.Err.Guest.String() != c.Error {
						t.Errorf("%s: want error %s, got output %s, error %+v", c.Name, c.Error, r.Output, r.Err)
					}
					continue
				}
				if r.Err != nil {
					t.Errorf("%s: %v", c.Name, r.Err)
					continue
				}
				var got, want any
				if err := json.Unmarshal(r.Output, &got); err != nil {
					t.Errorf("%s: output is not JSON: %s", c.Name, r.Output)
					continue
				}
				json.Unmarshal(c.Output, &want)
				if !subset(want, got) {
					t.Errorf("%s: output %s does not contain %s", c.Name, r.Output, c.Output)
				}
				if kind == abi.KindCondition {
					conditionInputs = append(conditionInputs, in)
					conditionOutputs = append(conditionOutputs, got.(map[string]any))
				}
			}
			if !sawMalformed {
				t.Errorf("cases.json has no malformed-input case; every example must show it answers invalid_input")
			}
			if kind == abi.KindCondition {
				checkBatchAgrees(t, p, conditionInputs, conditionOutputs)
			}
			checkNoGrowth(t, p, kind, cases, base)
		})
	}
}

// checkBatchAgrees sends the valid condition cases through the batch handler and expects the
// same answers as one call each.
func checkBatchAgrees(t *testing.T, p *Plugin, inputs [][]byte, outputs []map[string]any) {
	if !p.HasConditionBatch() {
		t.Errorf("a condition plugin built with a Wayline SDK exports %s", abi.ExportConditionBatch)
		return
	}
	// Cases may differ in config; batch those that share the first case's config.
	var first map[string]json.RawMessage
	json.Unmarshal(inputs[0], &first)
	var items []string
	var want []map[string]any
	for i, in := range inputs {
		var one map[string]json.RawMessage
		json.Unmarshal(in, &one)
		if string(one["config"]) != string(first["config"]) {
			continue
		}
		vars := one["vars"]
		if len(vars) == 0 {
			vars = json.RawMessage("{}")
		}
		items = append(items, `{"event":`+string(one["event"])+`,"profile":`+string(one["profile"])+`,"vars":`+string(vars)+`}`)
		want = append(want, outputs[i])
	}
	now := first["now"]
	if len(now) == 0 {
		now = json.RawMessage(`"2026-11-23T10:00:00Z"`)
	}
	in := `{"abi":1,"kind":"condition","config":` + string(first["config"]) + `,"now":` + string(now) + `,"items":[` + strings.Join(items, ",") + `]}`
	r := p.Call(context.Background(), &Call{Kind: KindConditionBatch, Input: []byte(in)})
	if r.Err != nil {
		t.Fatalf("batch: %v", r.Err)
	}
	var got struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(r.Output, &got); err != nil || len(got.Results) != len(want) {
		t.Fatalf("batch answered %s for %d items", r.Output, len(want))
	}
	for i := range want {
		if got.Results[i]["result"] != want[i]["result"] {
			t.Errorf("batch item %d: %v, one call said %v", i, got.Results[i], want[i])
		}
	}
}

// checkNoGrowth calls the first successful case many times on one instance. Memory may grow
// while a guest's allocator or garbage collector finds its working size, but not round after
// round: growth in every one of the last rounds is a leak (in alloc/free or the output buffer).
func checkNoGrowth(t *testing.T, p *Plugin, kind string, cases []conformanceCase, base string) {
	var in []byte
	for _, c := range cases {
		if c.Error == "" && c.RawInput == nil {
			in = []byte(strings.ReplaceAll(string(c.Input), "{{server}}", base))
			break
		}
	}
	if in == nil {
		return
	}
	n := 2000
	if strings.Contains(string(in), base) {
		n = 1000 // the case makes an HTTP call each time
	}
	call := func() Result {
		return p.Call(context.Background(), &Call{Kind: kind, Input: in, Secrets: map[string]string{"apiKey": "test-key"}})
	}
	for range n {
		call()
	}
	sizes := []uint32{call().Memory}
	for range 3 {
		for range n {
			if r := call(); r.Err != nil {
				t.Fatalf("repeated call: %v", r.Err)
			}
		}
		sizes = append(sizes, call().Memory)
	}
	if sizes[1] > sizes[0] && sizes[2] > sizes[1] && sizes[3] > sizes[2] {
		t.Errorf("memory grew in every round of %d calls (%v bytes): the plugin leaks", n, sizes)
	}
}

// subset reports whether every field of want is in got with the same value.
func subset(want, got any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(want, got)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range wm {
		if !subset(v, gm[k]) {
			return false
		}
	}
	return true
}
