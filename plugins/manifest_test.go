package plugins

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseManifestNamesTheField(t *testing.T) {
	cases := []struct{ js, field string }{
		{`{"name":"Bad Name","version":"1.0.0","kinds":["condition"]}`, "name"},
		{`{"name":"ok","version":"1.0","kinds":["condition"]}`, "version"},
		{`{"name":"ok","version":"1.0.0","kinds":[]}`, "kinds"},
		{`{"name":"ok","version":"1.0.0","kinds":["filter"]}`, "kinds[0]"},
		{`{"name":"ok","version":"1.0.0","kinds":["action","action"]}`, "kinds[1]"},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"allowedHosts":["https://x.com/"]}`, "allowedHosts[0]"},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"limits":{"timeout":"forever"}}`, ""},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"limits":{"memoryPages":100000}}`, "limits.memoryPages"},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"limits":{"timeout":"1h"}}`, "limits.timeout"},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"limitz":{}}`, "limitz"},
		{`{"name":"ok","version":"1.0.0","kinds":"action"}`, "kinds"},
		{`{"name":"ok","version":"1.0.0","kinds":["action"],"configSchema":[1]}`, "configSchema"},
		{`{"name":"ok"`, ""},
	}
	for _, c := range cases {
		_, err := ParseManifest([]byte(c.js))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: want a field error, got %v", c.js, err)
			continue
		}
		if fe.Field != c.field {
			t.Errorf("%s: error names field %q, want %q (%v)", c.js, fe.Field, c.field, err)
		}
	}
}

func TestManifestDefaultsByKind(t *testing.T) {
	m, err := ParseManifest([]byte(`{"name":"tier","version":"2.1.0","kinds":["condition"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Limits.Timeout.D() != 20*time.Millisecond || m.Limits.MaxHTTPCalls != 0 || m.Limits.MemoryPages == 0 {
		t.Errorf("condition defaults: %+v", m.Limits)
	}
	m, _ = ParseManifest([]byte(`{"name":"crm","version":"1.0.0","kinds":["action"],"allowedHosts":["*.example.com","crm.local"]}`))
	if m.Limits.Timeout.D() != 10*time.Second || m.Limits.MaxHTTPCalls == 0 {
		t.Errorf("action defaults: %+v", m.Limits)
	}
	for host, want := range map[string]bool{"api.example.com": true, "example.com": false, "evil-example.com": false, "CRM.local": true, "crm.local.evil": false} {
		if got := m.HostAllowed(host); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"name":"x","version":"1.0.0","kinds":["condition"],"limits":{"timeout":"20ms"}}`))
	f.Add([]byte(`{"name":"x","version":"1.0.0","kinds":["action"],"allowedHosts":["*.a.b"],"configSchema":{"type":"object"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "plugin: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if m.Limits.Timeout <= 0 || m.Limits.MemoryPages == 0 || m.Limits.MaxInputBytes <= 0 {
			t.Fatalf("accepted manifest without filled limits: %+v", m.Limits)
		}
	})
}
