package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Event types and journeys the bench defines on the node under test. A second run against the
// same node finds them already there (409) and goes on.
func setupWorkspace(nodeURL, key, sinkURL string) error {
	// One schema for all three types: the sink action's payload reads every field, and a
	// journey's expressions may only read declared fields.
	schema := func(map[string]any) map[string]any {
		return map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string"},
			"sentAt": map[string]any{"type": "string"},
			"dueAt":  map[string]any{"type": "string", "format": "date-time"},
			"dueNs":  map[string]any{"type": "string"},
		}}
	}
	steps := []struct {
		path string
		body any
	}{
		{"/v1/event-definitions", map[string]any{"name": "bench.noop", "identityField": "userId", "identityNamespace": "bench", "schema": schema(nil)}},
		{"/v1/event-definitions", map[string]any{"name": "bench.signup", "identityField": "userId", "identityNamespace": "bench", "schema": schema(nil)}},
		{"/v1/event-definitions", map[string]any{"name": "bench.wait", "identityField": "userId", "identityNamespace": "bench",
			"schema": schema(nil)}},
		{"/v1/actions", map[string]any{"id": "bench-sink", "name": "Bench sink", "method": "POST", "url": sinkURL + "/action",
			"payload": json.RawMessage(`{"user":"{{ profile.id }}","sentAt":"{{ event.data.sentAt }}","dueAt":"{{ has(event.data.dueNs) ? event.data.dueNs : '' }}"}`),
			"timeout": "10s", "retry": map[string]any{"maxAttempts": 5, "initialBackoff": "100ms", "maxBackoff": "2s"}}},
		// The demo journey's shape: entry → condition on a profile field → REST action → end.
		{"/v1/journeys", map[string]any{"id": "bench-demo", "name": "Bench: demo shape", "draft": map[string]any{"nodes": []map[string]any{
			{"id": "in", "kind": "event", "event": "bench.signup", "next": "tier"},
			{"id": "tier", "kind": "condition", "branches": []map[string]any{{"id": "gold", "expression": `has(profile.attributes.tier) && profile.attributes.tier == "gold"`, "next": "call"}}, "else": "call"},
			{"id": "call", "kind": "action", "action": "bench-sink", "next": "end"},
			{"id": "end", "kind": "end"},
		}}}},
		// Waits: park until the due time the event carries, then call the sink.
		{"/v1/journeys", map[string]any{"id": "bench-waits", "name": "Bench: timers", "draft": map[string]any{"nodes": []map[string]any{
			{"id": "in", "kind": "event", "event": "bench.wait", "next": "park"},
			{"id": "park", "kind": "wait", "untilExpression": `timestamp(event.data.dueAt)`, "next": "call"},
			{"id": "call", "kind": "action", "action": "bench-sink", "next": "end"},
			{"id": "end", "kind": "end"},
		}}}},
		{"/v1/journeys/bench-demo/publish", nil},
		{"/v1/journeys/bench-waits/publish", nil},
	}
	for _, s := range steps {
		status, body, err := post(nodeURL+s.path, key, s.body)
		if err != nil {
			return err
		}
		if status >= 300 && status != 409 {
			return fmt.Errorf("POST %s: %d %s", s.path, status, body)
		}
	}
	return nil
}

func post(url, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest("POST", url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}
