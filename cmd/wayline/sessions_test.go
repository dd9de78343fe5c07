package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testAdminPassword = "admin-password-for-tests"

// browser is a client that holds a session cookie the way a browser does.
type browser struct {
	t       *testing.T
	n       *node
	session string
	csrf    string
}

func (b *browser) do(method, path, body string, withCSRF bool) (int, map[string]any, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.n.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if b.session != "" {
		req.AddCookie(&http.Cookie{Name: "wayline_session", Value: b.session})
	}
	if withCSRF {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header
}

func signIn(t *testing.T, n *node, user, password string) *browser {
	t.Helper()
	b := &browser{t: t, n: n}
	status, m, h := b.do("POST", "/v1/sessions", `{"username":"`+user+`","password":"`+password+`"}`, false)
	if status != 201 {
		t.Fatalf("sign in as %s: %d %v", user, status, m)
	}
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		switch c.Name {
		case "wayline_session":
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
			b.session = c.Value
		case "wayline_csrf":
			if c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("csrf cookie %+v: want readable by the page, SameSite=Strict", c)
			}
			if c.Value != m["csrfToken"] {
				t.Errorf("csrf cookie %q differs from the answer's csrfToken %v", c.Value, m["csrfToken"])
			}
		}
	}
	b.csrf, _ = m["csrfToken"].(string)
	if b.session == "" || b.csrf == "" {
		t.Fatalf("sign in set no session cookie or CSRF token: %v %v", h, m)
	}
	return b
}

// People sign in with a password and use the API with the session cookie; writes need the CSRF
// header; roles apply as for keys; signing out ends the session.
func TestSessionsUsersAndCSRF(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t), "--admin-password", testAdminPassword)

	anon := &browser{t: t, n: n}
	if status, m, _ := anon.do("POST", "/v1/sessions", `{"username":"admin","password":"wrong password"}`, false); status != 401 || mErrCode(m) != "unauthenticated" {
		t.Errorf("wrong password: %d %v; want 401 unauthenticated", status, m)
	}
	admin := signIn(t, n, "admin", testAdminPassword)
	if status, m, _ := admin.do("GET", "/v1/me", "", false); status != 200 || m["kind"] != "user" || m["role"] != "admin" || m["csrfToken"] != admin.csrf {
		t.Errorf("GET /v1/me: %d %v", status, m)
	}
	// A write with the cookie but without the CSRF header is refused, with it accepted.
	def := `{"name":"user.signup","identityField":"userId","identityNamespace":"user","schema":{"type":"object","properties":{"userId":{"type":"string"},"plan":{"type":"string"}}}}`
	if status, m, _ := admin.do("POST", "/v1/event-definitions", def, false); status != 403 || mErrCode(m) != "csrf_invalid" {
		t.Errorf("write without X-CSRF-Token: %d %v; want 403 csrf_invalid", status, m)
	}
	wrong := *admin
	wrong.csrf = "forged"
	if status, m, _ := wrong.do("POST", "/v1/event-definitions", def, true); status != 403 || mErrCode(m) != "csrf_invalid" {
		t.Errorf("write with a forged X-CSRF-Token: %d %v; want 403 csrf_invalid", status, m)
	}
	if status, m, _ := admin.do("POST", "/v1/event-definitions", def, true); status != 201 {
		t.Fatalf("write with the CSRF header: %d %v", status, m)
	}

	// Users: an admin creates a viewer, who may read but not write.
	if status, m, _ := admin.do("POST", "/v1/users", `{"username":"Vera","role":"viewer","password":"viewer-password"}`, true); status != 201 || m["id"] != "vera" || m["passwordHash"] != nil {
		t.Fatalf("create user: %d %v", status, m)
	}
	if status, m, _ := admin.do("POST", "/v1/users", `{"username":"x","role":"viewer","password":"short"}`, true); status != 422 || mErrField(m) != "password" {
		t.Errorf("short password: %d %v; want 422 naming password", status, m)
	}
	if status, m, _ := admin.do("GET", "/v1/users", "", false); status != 200 || len(m["items"].([]any)) != 2 {
		t.Errorf("list users: %d %v", status, m)
	}
	viewer := signIn(t, n, "vera", "viewer-password")
	if status, _, _ := viewer.do("GET", "/v1/journeys", "", false); status != 200 {
		t.Errorf("viewer reads journeys: %d", status)
	}
	if status, m, _ := viewer.do("POST", "/v1/journeys", `{"id":"j1"}`, true); status != 403 || mErrCode(m) != "forbidden" {
		t.Errorf("viewer creates a journey: %d %v; want 403 forbidden", status, m)
	}
	if status, _, _ := viewer.do("GET", "/v1/users", "", false); status != 403 {
		t.Errorf("viewer lists users: %d; want 403", status)
	}
	// Expressions are checked against the event schema, with the usual error shape.
	status, m, _ := viewer.do("POST", "/v1/expressions/check", `{"expression":"event.data.plam == 'pro'","events":["user.signup"]}`, true)
	if status != 200 || m["valid"] != false || !strings.Contains(toJSON(m), `"field":"expression"`) || !strings.Contains(toJSON(m), "plam") {
		t.Errorf("check a misspelt field: %d %v", status, m)
	}
	if status, m, _ := viewer.do("POST", "/v1/expressions/check", `{"expression":"event.data.plan == 'pro'","events":["user.signup"]}`, true); status != 200 || m["valid"] != true {
		t.Errorf("check a good expression: %d %v", status, m)
	}
	// A bearer key still works beside sessions.
	n.must(200, "GET", "/v1/me", nil)

	// Admins cannot delete themselves; deleting a user ends their sessions.
	if status, _, _ := admin.do("DELETE", "/v1/users/admin", "", true); status != 409 {
		t.Errorf("admin deletes self: %d; want 409", status)
	}
	if status, _, _ := admin.do("DELETE", "/v1/users/vera", "", true); status != 204 {
		t.Errorf("delete vera: %d", status)
	}
	if status, _, _ := viewer.do("GET", "/v1/journeys", "", false); status != 401 {
		t.Errorf("a deleted user's session: %d; want 401", status)
	}
	// Sign out: the cookie stops working.
	if status, m, _ := admin.do("DELETE", "/v1/sessions/current", "", false); status != 403 {
		t.Errorf("sign out without CSRF: %d %v; want 403", status, m)
	}
	if status, _, _ := admin.do("DELETE", "/v1/sessions/current", "", true); status != 204 {
		t.Errorf("sign out: %d", status)
	}
	if status, _, _ := admin.do("GET", "/v1/me", "", false); status != 401 {
		t.Errorf("after sign out: %d; want 401", status)
	}

	// The designer page (the placeholder in a build without -tags designer) is served at /.
	resp, err := http.Get(n.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Wayline") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("GET /: %d %s %v", resp.StatusCode, body, resp.Header)
	}
}

// `wayline users add --data` creates a user on a stopped node's data directory, and the node
// then lets them sign in.
func TestUsersAddOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	n := startNode(t, dir, freeAddr(t), "--admin-password", testAdminPassword)
	if err := n.term(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wayline(t), "users", "add", "ed@example.com", "--role", "editor", "--password-stdin", "--data", dir)
	cmd.Stdin = strings.NewReader("editor-password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wayline users add: %v\n%s", err, out)
	}
	n = startNode(t, dir, freeAddr(t))
	b := signIn(t, n, "ed@example.com", "editor-password")
	if status, m, _ := b.do("GET", "/v1/me", "", false); status != 200 || m["role"] != "editor" {
		t.Errorf("me: %d %v", status, m)
	}
}

func mErrCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func mErrField(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["field"].(string)
	return s
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
