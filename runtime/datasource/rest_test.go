package datasource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// loopback lets calls reach test servers on 127.0.0.1.
func loopback() *netguard.Guard {
	return &netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

func restSource(t *testing.T, base string, mod func(*model.DataSource)) *Source {
	t.Helper()
	d := &model.DataSource{ID: "crm", Name: "CRM", Kind: model.DataSourceREST,
		REST: &model.RESTSource{BaseURL: base, Timeout: model.Duration(2 * time.Second)},
		Groups: []model.DataSourceGroup{{Name: "customer", Params: map[string]string{"id": "profile.id"},
			Path: "/customers/{{ params.id }}", Query: map[string]string{"fields": "tier,{{ 'score' }}"}}},
		UpdatedAt: time.Now()}
	if mod != nil {
		mod(d)
	}
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := Compile(d, env)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func act(id string) *expr.Activation {
	return &expr.Activation{Profile: map[string]any{"id": id}}
}

func TestRESTBurstMakesOneCall(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		mu.Lock()
		seen = append(seen, r.URL.RequestURI())
		mu.Unlock()
		time.Sleep(50 * time.Millisecond) // the burst arrives while the call is in flight
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"tier":"gold","score":0.9}`)
	}))
	defer srv.Close()
	svc := NewService(Config{}, map[string]Fetcher{model.DataSourceREST: &RESTFetcher{Guard: loopback()}})
	src := restSource(t, srv.URL+"/api", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			f, err := svc.Read(context.Background(), src, "customer", act("p/1"))
			if err == nil && f["tier"] != "gold" {
				err = fmt.Errorf("fields %v", f)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the source saw %d calls for a burst of 50 reads of the same group, want 1", n)
	}
	if want := "/api/customers/p%2F1?fields=tier%2Cscore"; seen[0] != want {
		t.Fatalf("request %q, want %q (path parameter escaped, query rendered)", seen[0], want)
	}
}

func TestRESTAuth(t *testing.T) {
	for _, tc := range []struct {
		auth   model.DataSourceAuth
		header string
		want   string
	}{
		{model.DataSourceAuth{Type: "bearer", Token: "tok"}, "Authorization", "Bearer tok"},
		{model.DataSourceAuth{Type: "basic", Username: "u", Password: "p"}, "Authorization", "Basic dTpw"},
		{model.DataSourceAuth{Type: "apiKey", Header: "X-Api-Key", Value: "k1"}, "X-Api-Key", "k1"},
	} {
		t.Run(tc.auth.Type, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get(tc.header); got != tc.want {
					w.WriteHeader(401)
					fmt.Fprintf(w, "%s: %q", tc.header, got)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ok":true}`)
			}))
			defer srv.Close()
			a := tc.auth
			src := restSource(t, srv.URL, func(d *model.DataSource) { d.REST.Auth = &a })
			if _, err := (&RESTFetcher{Guard: loopback()}).Fetch(context.Background(), src, "customer", map[string]any{"id": "1"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRESTOAuth2TokenOncePerLifetime: many calls share one token until it expires (less
// oauth2's 10 s early-expiry margin), then one new token is fetched.
func TestRESTOAuth2TokenOncePerLifetime(t *testing.T) {
	var tokens, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" {
			n := tokens.Add(1)
			if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" {
				w.WriteHeader(400)
				return
			}
			if id, secret, ok := r.BasicAuth(); !ok || id != "app" || secret != "s3cret" {
				w.WriteHeader(401)
				fmt.Fprint(w, `{"error":"invalid_client"}`)
				return
			}
			// 11 s: valid for about 1 s, given the 10 s margin.
			fmt.Fprintf(w, `{"access_token":"t%d","token_type":"Bearer","expires_in":11}`, n)
			return
		}
		calls.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer t") {
			w.WriteHeader(401)
			return
		}
		fmt.Fprintf(w, `{"token":%q}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	src := restSource(t, srv.URL, func(d *model.DataSource) {
		d.REST.Auth = &model.DataSourceAuth{Type: "oauth2", TokenURL: srv.URL + "/oauth/token", ClientID: "app", ClientSecret: "s3cret", Scopes: []string{"read"}}
	})
	f := &RESTFetcher{Guard: loopback()}
	for i := range 5 {
		out, err := f.Fetch(context.Background(), src, "customer", map[string]any{"id": i})
		if err != nil {
			t.Fatal(err)
		}
		if out["token"] != "t1" {
			t.Fatalf("call %d used token %v, want t1", i, out["token"])
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Fatalf("the token endpoint was called %d times for 5 calls within one token lifetime, want 1", n)
	}
	time.Sleep(1200 * time.Millisecond)
	out, err := f.Fetch(context.Background(), src, "customer", map[string]any{"id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if n := tokens.Load(); n != 2 || out["token"] != "t2" {
		t.Fatalf("after the token expired: %d token requests and token %v, want 2 and t2", n, out["token"])
	}
}

func TestRESTBadAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/customers/html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		case "/customers/garbage":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "{not json")
		case "/customers/array":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "[1,2]")
		case "/customers/huge":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a":"`+strings.Repeat("x", 2<<20)+`"}`)
		case "/customers/500":
			w.WriteHeader(500)
			fmt.Fprint(w, "boom")
		case "/customers/slow":
			time.Sleep(time.Second)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		}
	}))
	defer srv.Close()
	cases := map[string]string{
		"html":    `Content-Type "text/html", not JSON`,
		"garbage": "not a JSON object",
		"array":   "not a JSON object",
		"huge":    "larger than 1048576 bytes",
		"500":     `answered HTTP 500: "boom"`,
		"slow":    "no answer within 300ms",
	}
	for id, want := range cases {
		t.Run(id, func(t *testing.T) {
			mod := func(d *model.DataSource) { d.REST.Timeout = model.Duration(300 * time.Millisecond) }
			src := restSource(t, srv.URL, mod)
			svc := NewService(Config{}, map[string]Fetcher{model.DataSourceREST: &RESTFetcher{Guard: loopback()}})
			_, err := svc.Read(context.Background(), src, "customer", act(id))
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ds.crm.customer") {
				t.Fatalf("error %v, want one naming ds.crm.customer and saying %q", err, want)
			}
			// With onError "default", the group's defaults are used instead.
			src = restSource(t, srv.URL, func(d *model.DataSource) {
				mod(d)
				d.OnError = "default"
				d.Groups[0].Defaults = map[string]any{"tier": "none"}
			})
			f, err := svc.Read(context.Background(), src, "customer", act(id))
			if err != nil || f["tier"] != "none" {
				t.Fatalf("with onError default: %v, %v; want the defaults", f, err)
			}
		})
	}
}

func TestRESTRefusesInternalAddresses(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	// No allow-list: loopback is refused before any byte is sent.
	src := restSource(t, srv.URL, nil)
	_, err := (&RESTFetcher{}).Fetch(context.Background(), src, "customer", map[string]any{"id": "1"})
	if !errors.Is(err, netguard.ErrRefused) || calls.Load() != 0 {
		t.Fatalf("a call to loopback without an allow-list: %v (%d calls), want netguard.ErrRefused and no call", err, calls.Load())
	}
	// Allowed loopback, but a redirect to the metadata endpoint is refused at dial time.
	src = restSource(t, srv.URL, func(d *model.DataSource) { d.Groups[0].Path = "/redirect"; d.Groups[0].Query = nil })
	_, err = (&RESTFetcher{Guard: loopback()}).Fetch(context.Background(), src, "customer", map[string]any{"id": "1"})
	if !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("a redirect to 169.254.169.254: %v, want netguard.ErrRefused", err)
	}
}

func TestRESTRateCap(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	src := restSource(t, srv.URL, func(d *model.DataSource) {
		d.REST.RatePerSecond = 1
		d.REST.Timeout = model.Duration(200 * time.Millisecond)
	})
	f := &RESTFetcher{Guard: loopback()}
	if _, err := f.Fetch(context.Background(), src, "customer", map[string]any{"id": "1"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.Fetch(context.Background(), src, "customer", map[string]any{"id": "2"})
	if err == nil || !strings.Contains(err.Error(), "cap of 1 calls a second") {
		t.Fatalf("a second call within the second: %v, want the cap's error", err)
	}
}

func TestRESTPostSendsParams(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil || in["id"] != "7" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	src := restSource(t, srv.URL, func(d *model.DataSource) { d.Groups[0].Method = "post" })
	if out, err := (&RESTFetcher{Guard: loopback()}).Fetch(context.Background(), src, "customer", map[string]any{"id": "7"}); err != nil || out["ok"] != true {
		t.Fatalf("%v %v", out, err)
	}
}

// countingFetcher fails or answers, counting calls.
type countingFetcher struct {
	calls int
	err   error
}

func (f *countingFetcher) Fetch(context.Context, *Source, string, map[string]any) (map[string]any, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return map[string]any{"ok": true}, nil
}

func TestAFailedFetchIsRememberedBriefly(t *testing.T) {
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := Compile(&model.DataSource{ID: "crm", Kind: "test", Groups: []model.DataSourceGroup{{Name: "g"}}, CacheTTL: model.Duration(time.Minute)}, env)
	if err != nil {
		t.Fatal(err)
	}
	f := &countingFetcher{err: errors.New("down")}
	svc := NewService(Config{}, map[string]Fetcher{"test": f})
	clock := time.Now()
	svc.now = func() time.Time { return clock }
	for range 3 {
		if _, err := svc.Read(context.Background(), src, "g", &expr.Activation{}); err == nil || !strings.Contains(err.Error(), "down") {
			t.Fatalf("want the failure, got %v", err)
		}
	}
	if f.calls != 1 {
		t.Fatalf("a failing source was asked %d times within FailureTTL, want 1", f.calls)
	}
	clock = clock.Add(FailureTTL + time.Second)
	f.err = nil
	if v, err := svc.Read(context.Background(), src, "g", &expr.Activation{}); err != nil || v["ok"] != true || f.calls != 2 {
		t.Fatalf("after FailureTTL the source is asked again: %v %v (calls %d)", v, err, f.calls)
	}
}
