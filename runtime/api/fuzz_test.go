package api

import (
	"encoding/json"
	"testing"

	"github.com/wayline/wayline/runtime/model"
)

// FuzzAdminBodies feeds arbitrary bytes to the admin API's decoders and checks: they never
// panic, and every refusal is a clear error.
func FuzzAdminBodies(f *testing.F) {
	for _, seed := range []string{
		`{"name":"signup","identityField":"userId","identityNamespace":"user","schema":{"type":"object","properties":{"userId":{"type":"string"}}},"qualifier":"event.data.userId != ''"}`,
		`{"id":"hook","name":"Hook","method":"POST","url":"https://example.com/{{ profile.id }}","auth":{"type":"bearer","token":"t"},"payload":{"a":"{{ event.data.x }}"},"timeout":"5s","retry":{"maxAttempts":3}}`,
		`{"id":"j","draft":{"nodes":[{"id":"a","kind":"event","event":"signup","next":"b"},{"id":"b","kind":"end"}]}}`,
		`{"id":"weather","name":"Weather","kind":"plugin","plugin":{"name":"weather","config":{"units":"metric"}},"groups":[{"name":"current","params":{"city":"profile.attributes.city"},"fields":{"type":"object"}}],"cacheTtl":"5m","onError":"default"}`,
		`{"description":"d","config":{"a":1},"secrets":{"apiKey":"••••","old":null,"new":"v"},"revision":2}`,
		`{"kind":"datasource","input":{"group":"current"},"config":{"units":"metric"}}`,
		`{"timeout":true}`, `{"schema":{"type":"nope"}}`, `[]`, `{`, `{"unknown":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d model.EventDefinition
		if err := decodeStrict(body, &d); err == nil {
			if _, err := checkEventDef(&d); err != nil && err.Error() == "" {
				t.Fatal("empty error for an event definition")
			}
		} else if err.Error() == "" {
			t.Fatal("empty decode error")
		}
		var a model.Action
		if err := decodeStrict(body, &a); err == nil {
			if err := checkAction(&a); err != nil && err.Error() == "" {
				t.Fatal("empty error for an action")
			}
		}
		var j journeyInput
		_ = decodeStrict(body, &j)
		var ds model.DataSource
		_ = decodeStrict(body, &ds)
		var pu pluginUpdate
		if decodeStrict(body, &pu) == nil {
			if err := checkConfigObject(pu.Config, "config"); err != nil && err.Error() == "" {
				t.Fatal("empty error for a plugin config")
			}
			if _, err := mergePluginSecrets(map[string]string{"apiKey": "k"}, pu.Secrets); err != nil && err.Error() == "" {
				t.Fatal("empty error for plugin secrets")
			}
		}
		var run pluginRunInput
		if decodeStrict(body, &run) == nil {
			if c, err := mergeConfig(json.RawMessage(`{"a":1}`), run.Config); err == nil && !json.Valid(c) {
				t.Fatalf("merged config %s is not JSON", c)
			}
		}
	})
}
