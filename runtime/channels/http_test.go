package channels

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

func TestSMSPostsTwilioShapedForm(t *testing.T) {
	var got url.Values
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		r.ParseForm()
		got = r.PostForm
		w.WriteHeader(201)
		io.WriteString(w, `{"sid":"SM123","status":"queued"}`)
	}))
	defer srv.Close()
	tr := &Tracker{BaseURL: "https://w.example", Key: []byte("k")}
	s := NewSMS(loopbackGuard(), time.Second, tr)
	defer s.Close()
	a := &model.Action{ID: "sms", Kind: model.ActionSMS, Provider: &model.Provider{URL: srv.URL + "/2010-04-01/Accounts/AC1/Messages.json",
		AccountSID: "AC1", AuthToken: "tok", FromNumber: "+15005550006", StatusCallback: true}}
	r := s.Send(context.Background(), a, &Rendered{To: []string{"+33600000000"}, Text: "Hi Ann"}, Ref{Profile: "user:ann", Action: "sms", Kind: "sms"})
	if !r.OK || r.ProviderID != "SM123" {
		t.Fatalf("send: %+v", r)
	}
	if user != "AC1" || pass != "tok" || got.Get("To") != "+33600000000" || got.Get("From") != "+15005550006" || got.Get("Body") != "Hi Ann" {
		t.Errorf("the provider got auth %s:%s and form %v", user, pass, got)
	}
	if cb := got.Get("StatusCallback"); !strings.HasPrefix(cb, "https://w.example/v1/callbacks/sms?t=") {
		t.Errorf("StatusCallback %q", cb)
	}
}

func TestPushPostsFCMShapedJSONToEveryToken(t *testing.T) {
	var bodies []map[string]any
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		bodies = append(bodies, m)
		io.WriteString(w, `{"name":"projects/p/messages/1"}`)
	}))
	defer srv.Close()
	p := NewPush(loopbackGuard(), time.Second)
	defer p.Close()
	a := &model.Action{ID: "push", Kind: model.ActionPush, Provider: &model.Provider{URL: srv.URL + "/v1/projects/p/messages:send", AuthToken: "ya29"}}
	r := p.Send(context.Background(), a, &Rendered{To: []string{"tokA", "tokB"}, Title: "Sale", Body: "50% off", Data: map[string]string{"sku": "1"}}, Ref{})
	if !r.OK || len(bodies) != 2 || auth != "Bearer ya29" {
		t.Fatalf("send: %+v, %d requests, auth %q", r, len(bodies), auth)
	}
	msg := bodies[0]["message"].(map[string]any)
	n := msg["notification"].(map[string]any)
	if msg["token"] != "tokA" || n["title"] != "Sale" || n["body"] != "50% off" || msg["data"].(map[string]any)["sku"] != "1" {
		t.Errorf("body %v", bodies[0])
	}
}

func TestHTTPProvidersClassifyFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(500)
			io.WriteString(w, "boom")
		case "/400":
			w.WriteHeader(400)
			io.WriteString(w, `{"message":"invalid To"}`)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/huge":
			io.WriteString(w, strings.Repeat("x", 2*maxProviderResponse))
		}
	}))
	defer srv.Close()
	p := NewPush(loopbackGuard(), 100*time.Millisecond)
	defer p.Close()
	for path, want := range map[string]struct {
		retry bool
		text  string
	}{"/500": {true, "HTTP 500"}, "/400": {false, "invalid To"}, "/slow": {true, "in time"}, "/huge": {false, "larger than"}} {
		a := &model.Action{ID: "p", Kind: model.ActionPush, Provider: &model.Provider{URL: srv.URL + path}}
		r := p.Send(context.Background(), a, &Rendered{To: []string{"t"}, Title: "x"}, Ref{})
		if r.OK || r.Retryable != want.retry || !strings.Contains(r.Err, want.text) {
			t.Errorf("%s: %+v, want retryable=%v and %q", path, r, want.retry, want.text)
		}
	}
	guarded := NewPush(nil, time.Second)
	for _, u := range []string{srv.URL, "http://169.254.169.254/computeMetadata/v1/", "http://[::1]:1/"} {
		r := guarded.Send(context.Background(), &model.Action{Kind: model.ActionPush, Provider: &model.Provider{URL: u}}, &Rendered{To: []string{"t"}}, Ref{})
		if r.OK || r.Retryable || !strings.Contains(r.Err, "outbound guard") {
			t.Errorf("%s without an allow-list: %+v, want refused by the guard", u, r)
		}
	}
}

func TestTrackerLinksCannotBeForgedOrRedirectElsewhere(t *testing.T) {
	tr := &Tracker{BaseURL: "https://w.example", Key: []byte("key")}
	ref := Ref{Profile: "user:ann", Instance: "i1", Action: "a", Kind: "email"}
	u, _ := url.Parse(tr.ClickURL(ref, "https://shop.test/x?y=1"))
	q := u.Query()
	got, target, err := tr.CheckClick(q.Get("t"), q.Get("u"), q.Get("s"))
	if err != nil || got != ref || target != "https://shop.test/x?y=1" {
		t.Fatalf("a genuine click: %v %v %q", err, got, target)
	}
	if _, _, err := tr.CheckClick(q.Get("t"), "https://evil.test/", q.Get("s")); err == nil {
		t.Error("a click link with another target must be refused (open redirect)")
	}
	other := &Tracker{BaseURL: "https://w.example", Key: []byte("other")}
	if _, err := other.Parse(q.Get("t")); err == nil {
		t.Error("a token signed with another key must be refused")
	}
	forged := Tracker{BaseURL: "x", Key: []byte("key")}
	if _, err := forged.Parse("eyJwIjoidXNlcjpib2IifQ.AAAA"); err == nil {
		t.Error("a token with a made-up signature must be refused")
	}
}

func FuzzTrackerParse(f *testing.F) {
	tr := &Tracker{BaseURL: "https://w.example", Key: []byte("key")}
	f.Add(tr.Token(Ref{Profile: "user:ann", Action: "a"}))
	f.Add("")
	f.Add("a.b")
	f.Add("....")
	f.Fuzz(func(t *testing.T, tok string) {
		ref, err := tr.Parse(tok)
		if err == nil && tr.Token(ref) == "" {
			t.Fatal("a valid token must re-encode")
		}
		_, _, _ = tr.CheckClick(tok, tok, tok)
	})
}
