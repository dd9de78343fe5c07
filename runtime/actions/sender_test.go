package actions

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// seen is what a test server received.
type seen struct {
	method, uri string
	header      http.Header
	body        string
}

// recordingServer answers every request with status and body, and sends what it received on
// the returned channel.
func recordingServer(t *testing.T, status int, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	ch := make(chan seen, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: string(b)}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func newTestSender(t *testing.T, cfg SenderConfig) *Sender {
	t.Helper()
	if cfg.Guard == nil {
		// The test servers listen on loopback, which the guard refuses unless allowed.
		cfg.Guard = &netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	}
	s := NewSender(cfg)
	t.Cleanup(s.Close)
	return s
}

func TestSendDeliversMethodBodyHeadersAuthAndKey(t *testing.T) {
	srv, got := recordingServer(t, 200, `{"ok":true}`)
	s := newTestSender(t, SenderConfig{})
	basic := base64.StdEncoding.EncodeToString([]byte("ann:pa:ss"))
	tests := []struct {
		name   string
		auth   *model.ActionAuth
		header string // which header carries the credential
		want   string
	}{
		{"none", nil, "Authorization", ""},
		{"bearer", &model.ActionAuth{Type: model.AuthBearer, Token: "tok-123"}, "Authorization", "Bearer tok-123"},
		{"basic", &model.ActionAuth{Type: model.AuthBasic, Username: "ann", Password: "pa:ss"}, "Authorization", "Basic " + basic},
		{"apiKey", &model.ActionAuth{Type: model.AuthAPIKey, Header: "X-Api-Key", Value: "k-456"}, "X-Api-Key", "k-456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &model.Action{
				ID: "crm", Method: "PUT", Auth: tc.auth,
				Headers: map[string]string{"X-Source": "wayline-test", "Idempotency-Key": "forged", "wayline-attempt": "99"},
			}
			r := s.Send(context.Background(), Call{
				Action: a, URL: srv.URL + "/v1/users/u%2F1?x=1&y=a+b", Body: []byte(`{"a":1}`),
				IdempotencyKey: "key-" + tc.name, Attempt: 3,
			})
			if !r.OK || r.Retryable || r.Err != "" || r.Status != 200 {
				t.Fatalf("result = %+v, want OK 200", r)
			}
			if string(r.Body) != `{"ok":true}` {
				t.Errorf("body = %q, want the server's", r.Body)
			}
			req := <-got
			checks := []struct{ what, got, want string }{
				{"method", req.method, "PUT"},
				{"request URI (escaped path kept)", req.uri, "/v1/users/u%2F1?x=1&y=a+b"},
				{"body", req.body, `{"a":1}`},
				{"Content-Type", req.header.Get("Content-Type"), "application/json"},
				{"Idempotency-Key", req.header.Get("Idempotency-Key"), "key-" + tc.name},
				{"Wayline-Attempt", req.header.Get("Wayline-Attempt"), "3"},
				{"User-Agent", req.header.Get("User-Agent"), DefaultUserAgent},
				{"X-Source", req.header.Get("X-Source"), "wayline-test"},
				{tc.header, req.header.Get(tc.header), tc.want},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if n := len(req.header.Values("Idempotency-Key")); n != 1 {
				t.Errorf("Idempotency-Key sent %d times, want once", n)
			}
		})
	}
}

func TestSendWithoutBodySendsNoContentType(t *testing.T) {
	srv, got := recordingServer(t, 204, "")
	s := newTestSender(t, SenderConfig{UserAgent: "custom-agent"})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "GET"}, URL: srv.URL + "/ping"})
	if !r.OK || r.Status != 204 {
		t.Fatalf("result = %+v, want OK 204", r)
	}
	req := <-got
	if req.method != "GET" || req.header.Get("Content-Type") != "" {
		t.Errorf("got %s with Content-Type %q, want GET without one", req.method, req.header.Get("Content-Type"))
	}
	if req.header.Get("User-Agent") != "custom-agent" {
		t.Errorf("User-Agent = %q, want the configured one", req.header.Get("User-Agent"))
	}
	if req.header.Get("Idempotency-Key") != "" || req.header.Get("Wayline-Attempt") != "" {
		t.Errorf("empty key and attempt 0 still sent headers: %v", req.header)
	}
}

func TestSendClassifiesStatus(t *testing.T) {
	tests := []struct {
		status        int
		body          string
		ok, retryable bool
		errPrefix     string
	}{
		{200, "", true, false, ""},
		{201, "", true, false, ""},
		{204, "", true, false, ""},
		{302, "", false, false, "HTTP 302: redirects are not followed"},
		{400, `{"error":"bad field"}`, false, false, `HTTP 400: {"error":"bad field"}`},
		{401, "nope", false, false, "HTTP 401: nope (check the action's auth)"},
		{404, "", false, false, "HTTP 404 Not Found"},
		{408, "slow", false, true, "HTTP 408: slow"},
		{409, "dup", false, false, "HTTP 409: dup"},
		{422, "invalid", false, false, "HTTP 422: invalid"},
		{425, "early", false, true, "HTTP 425: early"},
		{429, "slow down", false, true, "HTTP 429: slow down"},
		{500, "boom\nline two", false, true, "HTTP 500: boom line two"},
		{502, "", false, true, "HTTP 502 Bad Gateway"},
		{503, "maintenance", false, true, "HTTP 503: maintenance"},
		{504, "", false, true, "HTTP 504 Gateway Timeout"},
	}
	s := newTestSender(t, SenderConfig{})
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv, _ := recordingServer(t, tc.status, tc.body)
			r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL, Body: []byte(`{}`)})
			if r.Status != tc.status || r.OK != tc.ok || r.Retryable != tc.retryable {
				t.Fatalf("status %d: got Status %d OK %v Retryable %v, want OK %v Retryable %v (Err %q)",
					tc.status, r.Status, r.OK, r.Retryable, tc.ok, tc.retryable, r.Err)
			}
			if tc.ok && r.Err != "" {
				t.Errorf("OK result has Err %q", r.Err)
			}
			if !strings.HasPrefix(r.Err, tc.errPrefix) || (tc.errPrefix == "") != (r.Err == "") {
				t.Errorf("Err = %q, want it to start with %q", r.Err, tc.errPrefix)
			}
		})
	}
}

func TestSendErrQuotesOnlyTheStartOfTheBody(t *testing.T) {
	long := strings.Repeat("x", 150) + "\r\n" + strings.Repeat("y", 500)
	srv, _ := recordingServer(t, 500, long)
	s := newTestSender(t, SenderConfig{})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
	want := "HTTP 500: " + strings.Repeat("x", 150) + "  " + strings.Repeat("y", 48)
	if r.Err != want {
		t.Errorf("Err = %q\nwant  %q", r.Err, want)
	}
	if len(r.Body) != len(long) {
		t.Errorf("Body has %d bytes, want the whole %d", len(r.Body), len(long))
	}
}

func TestSendReadsRetryAfter(t *testing.T) {
	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name, header string
		status       int
		min, max     time.Duration
	}{
		{"seconds on 503", "7", 503, 7 * time.Second, 7 * time.Second},
		{"HTTP date on 429", date, 429, 28 * time.Second, 31 * time.Second},
		{"garbage", "soon", 503, 0, 0},
		{"absent", "", 503, 0, 0},
	}
	s := newTestSender(t, SenderConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
			if !r.Retryable || r.RetryAfter < tc.min || r.RetryAfter > tc.max {
				t.Errorf("Retry-After %q: got RetryAfter %s Retryable %v, want %s..%s and retryable", tc.header, r.RetryAfter, r.Retryable, tc.min, tc.max)
			}
		})
	}
}

// blockingServer holds every request until the test ends.
func blockingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

func TestSendTimesOutOnTheActionTimeout(t *testing.T) {
	srv := blockingServer(t)
	s := newTestSender(t, SenderConfig{})
	a := &model.Action{Method: "POST", Timeout: model.Duration(150 * time.Millisecond)}
	r := s.Send(context.Background(), Call{Action: a, URL: srv.URL, Body: []byte(`{}`)})
	if !r.Retryable || r.Status != 0 || r.Err != "timeout after 150ms" {
		t.Errorf("result = %+v, want retryable \"timeout after 150ms\"", r)
	}
	if r.Latency < 100*time.Millisecond || r.Latency > 2*time.Second {
		t.Errorf("latency %s, want about the 150ms timeout", r.Latency)
	}
}

func TestSendUsesTheDefaultTimeout(t *testing.T) {
	srv := blockingServer(t)
	s := newTestSender(t, SenderConfig{DefaultTimeout: 100 * time.Millisecond})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
	if !r.Retryable || r.Err != "timeout after 100ms" {
		t.Errorf("result = %+v, want retryable \"timeout after 100ms\"", r)
	}
}

func TestSendHonoursAnEarlierCallerDeadline(t *testing.T) {
	srv := blockingServer(t)
	s := newTestSender(t, SenderConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := s.Send(ctx, Call{Action: &model.Action{Method: "POST", Timeout: model.Duration(10 * time.Second)}, URL: srv.URL})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Send took %s despite a 150ms context deadline", took)
	}
	if !r.Retryable || !strings.HasPrefix(r.Err, "timeout after") || !strings.Contains(r.Err, "caller's deadline") {
		t.Errorf("result = %+v, want a retryable timeout naming the caller's deadline", r)
	}
}

func TestSendReturnsWhenTheContextIsCanceled(t *testing.T) {
	srv := blockingServer(t)
	s := newTestSender(t, SenderConfig{})
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("dispatcher stopping")) })
	start := time.Now()
	r := s.Send(ctx, Call{Action: &model.Action{Method: "POST", Timeout: model.Duration(30 * time.Second)}, URL: srv.URL})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Send took %s after its context was canceled at 100ms", took)
	}
	if !r.Retryable || r.Status != 0 || !strings.HasPrefix(r.Err, "canceled after") || !strings.HasSuffix(r.Err, ": dispatcher stopping") {
		t.Errorf("result = %+v, want a retryable \"canceled after ...: dispatcher stopping\"", r)
	}

	r = s.Send(ctx, Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
	if !r.Retryable || !strings.HasPrefix(r.Err, "not sent") {
		t.Errorf("Send on a canceled context = %+v, want a retryable \"not sent\"", r)
	}
}

func TestSendReportsConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newTestSender(t, SenderConfig{})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: "http://" + addr + "/x"})
	if !r.Retryable || r.Status != 0 || !strings.HasPrefix(r.Err, "connection refused") {
		t.Errorf("result = %+v, want retryable \"connection refused...\"", r)
	}
}

func TestSendRejectsAnUntrustedCertificateAsFinal(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	srv.StartTLS()
	defer srv.Close()
	s := newTestSender(t, SenderConfig{})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
	if r.Retryable || r.OK || !strings.HasPrefix(r.Err, "TLS certificate not accepted") {
		t.Errorf("result = %+v, want a final \"TLS certificate not accepted\"", r)
	}
}

func TestSendKeepsMalformedResponsesOutOfErrShort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 40; i++ {
			w.Header().Add("X-Big", strings.Repeat("a", 1000))
		}
	}))
	defer srv.Close()
	s := newTestSender(t, SenderConfig{})
	r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL})
	if !r.Retryable || !strings.HasPrefix(r.Err, "network error: ") || len(r.Err) > 300 {
		t.Errorf("40 KB of response headers: Retryable %v, Err (%d bytes) %q; want a retryable network error under 300 bytes", r.Retryable, len(r.Err), r.Err)
	}
}

func TestSendRejectsUnsendableCallsAsFinal(t *testing.T) {
	secret := "s3cr3t-value"
	tests := []struct {
		name string
		call Call
		want string
	}{
		{"no action", Call{URL: "http://127.0.0.1:1/"}, "no action definition"},
		{"ftp scheme", Call{Action: &model.Action{}, URL: "ftp://example.com/x"}, `scheme is "ftp"`},
		{"relative", Call{Action: &model.Action{}, URL: "/just/a/path"}, `scheme is ""`},
		{"no host", Call{Action: &model.Action{}, URL: "http:///path"}, "no host"},
		{"unparsable, secret in query", Call{Action: &model.Action{}, URL: "http://[::1?api_key=" + secret}, "not valid"},
		{"credentials in URL", Call{Action: &model.Action{}, URL: "http://u:" + secret + "@127.0.0.1:1/"}, "holds credentials"},
		{"bad header value", Call{Action: &model.Action{Headers: map[string]string{"X-A": "a\r\nEvil: 1"}}, URL: "http://127.0.0.1:1/"}, "line break"},
		{"bad header name", Call{Action: &model.Action{Headers: map[string]string{"X A": "1"}}, URL: "http://127.0.0.1:1/"}, "not valid"},
		{"bearer without token", Call{Action: &model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: Mask}}, URL: "http://127.0.0.1:1/"}, "no token"},
		{"unknown auth", Call{Action: &model.Action{Auth: &model.ActionAuth{Type: "oauth", Token: secret}}, URL: "http://127.0.0.1:1/"}, "unknown auth type"},
		{"token with newline", Call{Action: &model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: secret + "\n"}}, URL: "http://127.0.0.1:1/"}, "line break"},
	}
	s := newTestSender(t, SenderConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Send(context.Background(), tc.call)
			if r.OK || r.Retryable || r.Status != 0 || !strings.Contains(r.Err, tc.want) {
				t.Errorf("result = %+v, want a final failure mentioning %q", r, tc.want)
			}
			if strings.Contains(r.Err, secret) {
				t.Errorf("Err %q leaks a secret", r.Err)
			}
		})
	}
}

func TestSendCapsTheResponseBody(t *testing.T) {
	big := strings.Repeat("z", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = io.WriteString(w, big)
			return
		}
		_, _ = io.WriteString(w, "small")
	}))
	defer srv.Close()
	s := newTestSender(t, SenderConfig{MaxResponseBytes: 1000})
	a := &model.Action{Method: "GET"}
	r := s.Send(context.Background(), Call{Action: a, URL: srv.URL + "/big"})
	if !r.OK || len(r.Body) != 1000 || !r.Truncated || string(r.Body) != big[:1000] {
		t.Fatalf("got OK %v, %d body bytes, Truncated %v (Err %q); want OK, 1000 bytes, truncated", r.OK, len(r.Body), r.Truncated, r.Err)
	}
	// The cut connection must not poison the pool.
	for i := 0; i < 3; i++ {
		r = s.Send(context.Background(), Call{Action: a, URL: srv.URL + "/small"})
		if !r.OK || string(r.Body) != "small" || r.Truncated {
			t.Fatalf("call %d after a truncated one: %+v", i, r)
		}
	}
}

func TestSendKeepsConnectionsAlive(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	s := newTestSender(t, SenderConfig{})
	for i := 0; i < 20; i++ {
		if r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: srv.URL, Body: []byte(`{}`)}); !r.OK {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 sequential calls opened %d connections, want 1 (keep-alive)", n)
	}
}

// TestSendResendsOnAStaleKeepAliveConnection uses a server that answers one request per
// connection and then closes it without saying so, as servers with short idle timeouts do.
func TestSendResendsOnAStaleKeepAliveConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var requests atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				requests.Add(1)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(20 * time.Millisecond)
			}()
		}
	}()
	s := newTestSender(t, SenderConfig{})
	url := "http://" + ln.Addr().String() + "/hook"
	for i := 0; i < 3; i++ {
		r := s.Send(context.Background(), Call{Action: &model.Action{Method: "POST"}, URL: url, Body: []byte(`{}`), IdempotencyKey: "k"})
		if !r.OK {
			t.Fatalf("call %d on a server that drops idle connections: %+v", i, r)
		}
		time.Sleep(50 * time.Millisecond) // let the server close the connection
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3", n)
	}
}

func TestSendIsSafeForConcurrentUse(t *testing.T) {
	var n atomic.Int32
	keys := sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		keys.Store(r.Header.Get("Idempotency-Key"), true)
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	s := newTestSender(t, SenderConfig{MaxConnsPerHost: 4})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				r := s.Send(ctx, Call{Action: &model.Action{Method: "POST"}, URL: srv.URL, Body: []byte(`{}`), IdempotencyKey: fmt.Sprintf("%d-%d", g, i), Attempt: 1})
				cancel()
				if !r.OK {
					t.Errorf("goroutine %d call %d: %+v", g, i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	distinct := 0
	keys.Range(func(any, any) bool { distinct++; return true })
	if n.Load() != 200 || distinct != 200 {
		t.Errorf("server saw %d requests with %d distinct keys, want 200 and 200", n.Load(), distinct)
	}
}

func TestSenderConfigValidate(t *testing.T) {
	if err := (SenderConfig{}).Validate(); err != nil {
		t.Errorf("zero config: %v, want valid", err)
	}
	if err := DefaultSenderConfig().Validate(); err != nil {
		t.Errorf("default config: %v, want valid", err)
	}
	bad := SenderConfig{MaxConnsPerHost: -1, DefaultTimeout: time.Hour, MaxResponseBytes: -5, UserAgent: "a\nb"}
	err := bad.Validate()
	for _, field := range []string{"MaxConnsPerHost", "DefaultTimeout", "MaxResponseBytes", "UserAgent"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %s", err, field)
		}
	}
	if got := NewSender(bad).Config(); got != DefaultSenderConfig() {
		t.Errorf("NewSender with invalid fields uses %+v, want the defaults", got)
	}
}

func TestSendRefusesInternalAddressesUnlessAllowed(t *testing.T) {
	srv, got := recordingServer(t, 200, "ok")
	s := NewSender(SenderConfig{}) // the zero config guards
	t.Cleanup(s.Close)
	a := &model.Action{ID: "a", Method: "POST"}
	for _, u := range []string{srv.URL + "/x", "http://localhost:" + srv.URL[strings.LastIndexByte(srv.URL, ':')+1:] + "/x",
		"http://169.254.169.254/latest/meta-data/", "http://[::1]:9/", "http://10.0.0.1:9/"} {
		r := s.Send(context.Background(), Call{Action: a, URL: u, Body: []byte(`{}`)})
		if r.OK || r.Retryable || !strings.Contains(r.Err, "refused by the outbound guard") {
			t.Errorf("%s: got %+v, want a final failure refused by the guard", u, r)
		}
	}
	select {
	case req := <-got:
		t.Fatalf("the loopback server received %s %s; the guard must stop it before dialing", req.method, req.uri)
	default:
	}
}
