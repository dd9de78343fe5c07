package api

import (
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/meta"
)

func crmSource() map[string]any {
	return map[string]any{"id": "crm", "name": "CRM", "kind": "rest", "cacheTtl": "5m",
		"rest": map[string]any{"baseUrl": "https://crm.example.com/api", "timeout": "2s", "ratePerSecond": 20,
			"headers": map[string]any{"X-Api-Token": "h-secret", "Accept-Language": "en"},
			"auth":    map[string]any{"type": "oauth2", "tokenUrl": "https://crm.example.com/oauth/token", "clientId": "app", "clientSecret": "s3cret"}},
		"groups": []any{map[string]any{"name": "customer", "params": map[string]any{"id": "profile.id"},
			"path": "/customers/{{ params.id }}", "query": map[string]any{"fields": "tier"},
			"fields": map[string]any{"type": "object", "properties": map[string]any{"tier": map[string]any{"type": "string"}}}}}}
}

func TestRESTDataSourcesKeepSecretsWriteOnly(t *testing.T) {
	c, md := newAPI(t, nil)
	d := c.must(201, "POST", "/v1/data-sources", crmSource())
	rest := d["rest"].(map[string]any)
	auth := rest["auth"].(map[string]any)
	if auth["clientSecret"] != "••••" || rest["headers"].(map[string]any)["X-Api-Token"] != "••••" || rest["headers"].(map[string]any)["Accept-Language"] != "en" {
		t.Fatalf("secrets not masked on create: %v", rest)
	}
	if d["secretsSet"].(map[string]any)["clientSecret"] != true {
		t.Fatalf("secretsSet: %v", d["secretsSet"])
	}
	// An update that sends back what it read keeps the stored secrets.
	d["name"] = "CRM 2"
	delete(d, "secretsSet")
	c.must(200, "PUT", "/v1/data-sources/crm", d, "If-Match", "1")
	for _, path := range []string{"/v1/data-sources/crm", "/v1/data-sources"} {
		r := c.json("GET", path, nil)
		if strings.Contains(string(r.body), "s3cret") || strings.Contains(string(r.body), "h-secret") {
			t.Fatalf("GET %s returns a secret: %s", path, r.body)
		}
	}
	var stored struct {
		REST struct {
			Auth    struct{ ClientSecret string }
			Headers map[string]string
		}
	}
	if err := md.Get(meta.KindDataSource, "crm", &stored); err != nil {
		t.Fatal(err)
	}
	if stored.REST.Auth.ClientSecret != "s3cret" || stored.REST.Headers["X-Api-Token"] != "h-secret" {
		t.Fatalf("the update lost the stored secrets: %+v", stored.REST)
	}
}

func TestRESTDataSourceRefusalsNameTheField(t *testing.T) {
	c, _ := newAPI(t, nil)
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		code   string
		field  string
	}{
		{"no rest", func(m map[string]any) { delete(m, "rest") }, "invalid_request", "rest"},
		{"relative base", func(m map[string]any) { m["rest"].(map[string]any)["baseUrl"] = "/api" }, "invalid_request", "rest.baseUrl"},
		{"ftp base", func(m map[string]any) { m["rest"].(map[string]any)["baseUrl"] = "ftp://x/" }, "invalid_request", "rest.baseUrl"},
		{"long timeout", func(m map[string]any) { m["rest"].(map[string]any)["timeout"] = "2h" }, "invalid_request", "rest.timeout"},
		{"negative rate", func(m map[string]any) { m["rest"].(map[string]any)["ratePerSecond"] = -1 }, "invalid_request", "rest.ratePerSecond"},
		{"huge cap", func(m map[string]any) { m["rest"].(map[string]any)["maxResponseBytes"] = 1 << 40 }, "invalid_request", "rest.maxResponseBytes"},
		{"unknown auth", func(m map[string]any) { m["rest"].(map[string]any)["auth"] = map[string]any{"type": "kerberos"} }, "invalid_request", "rest.auth.type"},
		{"oauth2 no token url", func(m map[string]any) { delete(m["rest"].(map[string]any)["auth"].(map[string]any), "tokenUrl") }, "invalid_request", "rest.auth.tokenUrl"},
		{"masked secret on create", func(m map[string]any) {
			m["rest"].(map[string]any)["auth"].(map[string]any)["clientSecret"] = "••••"
		}, "invalid_request", "rest.auth.clientSecret"},
		{"bearer no token", func(m map[string]any) { m["rest"].(map[string]any)["auth"] = map[string]any{"type": "bearer"} }, "invalid_request", "rest.auth.token"},
		{"bad method", func(m map[string]any) { m["groups"].([]any)[0].(map[string]any)["method"] = "DELETE" }, "invalid_request", "groups[0].method"},
		{"path syntax", func(m map[string]any) { m["groups"].([]any)[0].(map[string]any)["path"] = "/c/{{ params.id + }}" }, "invalid_expression", "groups[0].path"},
		{"path reads profile", func(m map[string]any) { m["groups"].([]any)[0].(map[string]any)["path"] = "/c/{{ profile.id }}" }, "invalid_expression", "groups[0].path"},
		{"query syntax", func(m map[string]any) {
			m["groups"].([]any)[0].(map[string]any)["query"] = map[string]any{"q": "{{ params.( }}"}
		}, "invalid_expression", "groups[0].query.q"},
		{"plugin on rest", func(m map[string]any) { m["plugin"] = map[string]any{"name": "x"} }, "invalid_request", "plugin"},
	}
	for _, tc := range tests {
		m := crmSource()
		tc.mutate(m)
		r := c.json("POST", "/v1/data-sources", m)
		code, field, msg := r.errOf(t)
		if r.status/100 != 4 || code != tc.code || field != tc.field || msg == "" {
			t.Errorf("%s: %d %s; want %s field %s", tc.name, r.status, r.body, tc.code, tc.field)
		}
	}
}
