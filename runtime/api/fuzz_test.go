package api

import (
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
	})
}
