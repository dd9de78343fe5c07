package main

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// mailSink is a real SMTP server (go-smtp) on loopback that keeps the messages it receives.
type mailSink struct {
	mu   sync.Mutex
	msgs [][]byte
	addr string
}

type mailSession struct{ s *mailSink }

func (s *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return mailSession{s}, nil }
func (mailSession) Mail(string, *smtp.MailOptions) error        { return nil }
func (mailSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (mailSession) Reset()                                      {}
func (mailSession) Logout() error                               { return nil }
func (ss mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, b)
	ss.s.mu.Unlock()
	return nil
}

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &mailSink{addr: ln.Addr().String()}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func (s *mailSink) messages() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// htmlPart returns the decoded text/html part of a MIME message.
func htmlPart(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var find func(ctype string, enc string, body io.Reader) string
	find = func(ctype, enc string, body io.Reader) string {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("content type %q: %v", ctype, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return ""
				}
				if s := find(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
					return s
				}
			}
		}
		if mt != "text/html" {
			return ""
		}
		if strings.EqualFold(enc, "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		return string(b)
	}
	return find(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
}

var clickLink = regexp.MustCompile(`href="([^"]*/v1/track/click[^"]*)"`)

// TestEmailClickAdvancesAWaitingJourney sends a real email through an SMTP server on loopback,
// follows its tracked link, and checks that the click becomes message.clicked and moves the
// journey that waits for it ("wait for a click, for 3 days"); it also previews the message.
func TestEmailClickAdvancesAWaitingJourney(t *testing.T) {
	sink := startMailSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	n := startNode(t, t.TempDir(), freeAddr(t))

	n.must(201, "POST", "/v1/event-definitions", map[string]any{
		"name": "signup", "identityField": "userId", "identityNamespace": "user",
		"schema": map[string]any{"type": "object", "required": []string{"userId"}, "properties": map[string]any{
			"userId": map[string]any{"type": "string"}, "plan": map[string]any{"type": "string"}}},
	})
	var portNum int
	fmt.Sscan(port, &portNum)
	n.must(201, "POST", "/v1/actions", map[string]any{"id": "welcome", "name": "Welcome email", "kind": "email",
		"provider": map[string]any{"host": host, "port": portNum, "tls": "none", "from": "Shop <news@example.com>"},
		"message": map[string]any{
			"subject": `Welcome, {{ profile.attributes.firstName ?? "friend" }}`,
			"html":    `<p>Hi {{ profile.attributes.firstName }} ({{ event.data.plan }}), <a href="https://shop.example.com/start?x=1&amp;y=2">start here</a></p>`,
			"text":    `Hi {{ profile.attributes.firstName }}, start here: https://shop.example.com/start`}})
	n.must(201, "POST", "/v1/journeys", map[string]any{"id": "onboarding", "name": "Onboarding", "draft": map[string]any{
		"nodes": []map[string]any{
			{"id": "start", "kind": "event", "event": "signup", "next": "send"},
			{"id": "send", "kind": "action", "action": "welcome", "next": "clicked"},
			{"id": "clicked", "kind": "event", "event": "message.clicked", "condition": "event.data.instanceId == journey.instanceId",
				"timeout": "72h", "timeoutNext": "end", "next": "thanks"},
			{"id": "thanks", "kind": "update_profile", "set": map[string]string{"clickedWelcome": "true"}, "next": "end"},
			{"id": "end", "kind": "end"},
		}}})
	n.must(200, "POST", "/v1/journeys/onboarding/publish", nil)
	n.must(200, "PUT", "/v1/profiles/user:ada", map[string]any{"attributes": map[string]any{
		"firstName": "Ada <3", "email": "ada@example.com", "consent": map[string]any{"email": true}}})

	// The preview renders the stored action for the profile and a sample event, HTML-escaped.
	p := n.must(200, "POST", "/v1/messages/preview", map[string]any{"action": "welcome", "profileId": "user:ada",
		"event": map[string]any{"type": "signup", "data": map[string]any{"userId": "ada", "plan": "pro"}}})
	if p["subject"] != "Welcome, Ada <3" || !strings.Contains(p["html"].(string), "Hi Ada &lt;3 (pro)") || len(p["warnings"].([]any)) != 0 {
		t.Errorf("preview: %v", p)
	}
	// Template errors name the field: an unknown event field, and a syntax error.
	r := n.call("POST", "/v1/messages/preview", map[string]any{"kind": "email", "profileId": "user:ada",
		"message": map[string]any{"subject": "{{ event.data.plna }}", "html": "<p>{{#if profile.attributes.vip}}VIP</p>"},
		"event":   map[string]any{"type": "signup", "data": map[string]any{"userId": "ada"}}})
	if r.status != 422 || !strings.Contains(string(r.body), `"field":"message.subject"`) || !strings.Contains(string(r.body), `"field":"message.html"`) {
		t.Errorf("preview of a bad template: %d %s; want 422 naming message.subject and message.html", r.status, r.body)
	}
	// A profile without consent previews with a warning saying why a send would fail.
	p = n.must(200, "POST", "/v1/messages/preview", map[string]any{"kind": "sms", "profile": map[string]any{"attributes": map[string]any{"phone": "+1555"}},
		"message": map[string]any{"text": "code {{ vars.code ?? 'none' }}"}})
	if p["text"] != "code none" || !strings.Contains(fmt.Sprint(p["warnings"]), "no sms consent") {
		t.Errorf("sms preview: %v", p)
	}

	n.must(202, "POST", "/v1/events", map[string]any{"id": "s-ada", "type": "signup", "data": map[string]any{"userId": "ada", "plan": "pro"}})
	var raw []byte
	eventually(t, 15*time.Second, "the SMTP server received the welcome email", func() (bool, string) {
		if m := sink.messages(); len(m) > 0 {
			raw = m[0]
			return true, ""
		}
		return false, "no message yet"
	})
	html := htmlPart(t, raw)
	m := clickLink.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no tracked click link in the HTML part:\n%s", html)
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.HasPrefix(link, n.url+"/v1/track/click") {
		t.Fatalf("click link %q does not point at the node (%s)", link, n.url)
	}
	// The journey waits on the click.
	if inst := fmt.Sprint(n.must(200, "GET", "/v1/profiles/user:ada", nil)["instances"]); !strings.Contains(inst, "clicked") {
		t.Fatalf("the instance is not waiting at the clicked node: %s", inst)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "https://shop.example.com/start?x=1&y=2" {
		t.Fatalf("click: %d Location %q; want a redirect to the link in the message", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A forged link (the signature of another URL) is refused, not redirected.
	forged := strings.Replace(link, "u=", "u=https%3A%2F%2Fevil.example%2F&x=", 1)
	if resp, err := noFollow.Get(forged); err == nil {
		resp.Body.Close()
		if resp.StatusCode/100 == 3 && strings.Contains(resp.Header.Get("Location"), "evil") {
			t.Fatalf("a forged click link redirected to %s", resp.Header.Get("Location"))
		}
	}

	eventually(t, 15*time.Second, "the click moved the journey on", func() (bool, string) {
		a := n.must(200, "GET", "/v1/profiles/user:ada", nil)["attributes"].(map[string]any)
		return a["clickedWelcome"] == true, fmt.Sprint(a)
	})
	rep := n.must(200, "GET", "/v1/journeys/onboarding/report", nil)
	flat := strings.ReplaceAll(fmt.Sprint(rep), " ", "")
	if !strings.Contains(flat, "completed:1") || !strings.Contains(flat, "thanks:map[entered:1") {
		t.Errorf("report: %s", flat)
	}
	if !strings.Contains(flat, "clicked:1") {
		t.Errorf("the action's report does not count the click: %s", flat)
	}
}

// TestSendTestMessage sends one real email through an action's provider from the "send test"
// endpoint: to a typed address, to a stored profile's address, and refuses a profile without
// consent and a send with no recipient.
func TestSendTestMessage(t *testing.T) {
	sink := startMailSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	var portNum int
	fmt.Sscan(port, &portNum)
	n := startNode(t, t.TempDir(), freeAddr(t))
	n.must(201, "POST", "/v1/actions", map[string]any{"id": "hello", "name": "Hello", "kind": "email",
		"provider": map[string]any{"host": host, "port": portNum, "tls": "none", "from": "Shop <news@example.com>"},
		"message":  map[string]any{"subject": `Hello {{ profile.attributes.firstName ?? "there" }}`, "text": "Hi"}})

	r := n.must(200, "POST", "/v1/actions/hello/test", map[string]any{"to": "qa@example.com"})
	if r["ok"] != true || r["status"] != float64(250) || !strings.Contains(fmt.Sprint(r["request"]), "Hello there") {
		t.Fatalf("send test to an address: %v; want ok with SMTP 250 and the rendered subject", r)
	}
	n.must(200, "PUT", "/v1/profiles/user:bo", map[string]any{"attributes": map[string]any{
		"firstName": "Bo", "email": "bo@example.com", "consent": map[string]any{"email": true}}})
	n.must(200, "POST", "/v1/actions/hello/test", map[string]any{"profileId": "user:bo"})
	eventually(t, 10*time.Second, "the SMTP server received both test emails", func() (bool, string) {
		m := sink.messages()
		if len(m) < 2 {
			return false, fmt.Sprintf("%d message(s)", len(m))
		}
		if !bytes.Contains(m[0], []byte("To: <qa@example.com>")) || !bytes.Contains(m[1], []byte("Subject: Hello Bo")) || !bytes.Contains(m[1], []byte("bo@example.com")) {
			return false, fmt.Sprintf("unexpected messages:\n%s\n---\n%s", m[0], m[1])
		}
		return true, ""
	})

	n.must(200, "PUT", "/v1/profiles/user:cy", map[string]any{"attributes": map[string]any{"email": "cy@example.com"}})
	if r := n.call("POST", "/v1/actions/hello/test", map[string]any{"profileId": "user:cy"}); r.status != 422 || !strings.Contains(string(r.body), "no email consent") {
		t.Errorf("send test to a profile without consent: %d %s; want 422 no email consent", r.status, r.body)
	}
	if r := n.call("POST", "/v1/actions/hello/test", nil); r.status != 422 || !strings.Contains(string(r.body), `"field":"to"`) {
		t.Errorf("send test without a recipient: %d %s; want 422 naming to", r.status, r.body)
	}
}
