package actions

import (
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
)

func validAction() *model.Action {
	return &model.Action{
		ID:      "notify-crm_2",
		Name:    "Notify CRM",
		Method:  "POST",
		URL:     "https://api.example.com/v1/users/{{ profile.id }}/events?src={{event.type}}",
		Headers: map[string]string{"X-Source": "wayline"},
		Auth:    &model.ActionAuth{Type: model.AuthBearer, Token: "t"},
		Payload: json.RawMessage(`{"user":"{{ profile.id }}"}`),
		Timeout: d(30 * time.Second),
		Retry:   model.RetryPolicy{MaxAttempts: 5, InitialBackoff: d(time.Second), MaxBackoff: d(time.Minute)},
	}
}

func TestValidateActionAcceptsGoodDefinitions(t *testing.T) {
	tests := map[string]func(a *model.Action){
		"as is":                 func(a *model.Action) {},
		"no auth":               func(a *model.Action) { a.Auth = nil },
		"auth none":             func(a *model.Action) { a.Auth = &model.ActionAuth{Type: model.AuthNone} },
		"basic, empty password": func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "basic", Username: "u"} },
		"apiKey":                func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "apiKey", Header: "X-Api-Key", Value: "v"} },
		"templated host":        func(a *model.Action) { a.URL = "https://{{ vars.tenant }}.example.com/hook" },
		"templated port":        func(a *model.Action) { a.URL = "https://api.example.com:{{ vars.port }}/hook" },
		"plain http":            func(a *model.Action) { a.URL = "http://127.0.0.1:8080/demo/sink" },
		"zero retry and timeout": func(a *model.Action) {
			a.Retry, a.Timeout = model.RetryPolicy{}, 0
		},
		"max values": func(a *model.Action) {
			a.Timeout, a.Retry.MaxAttempts, a.RateLimit = d(5*time.Minute), 20, 1000
			a.Retry.InitialBackoff, a.Retry.MaxBackoff = d(time.Hour), d(24*time.Hour)
		},
		"every method": func(a *model.Action) {}, // checked below
		"64-char id":   func(a *model.Action) { a.ID = strings.Repeat("a", 64) },
		"no payload":   func(a *model.Action) { a.Payload = nil; a.Method = "GET" },
	}
	for name, mutate := range tests {
		a := validAction()
		mutate(a)
		if errs := ValidateAction(a); errs != nil {
			t.Errorf("%s: ValidateAction = %v, want no errors", name, errs)
		}
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		a := validAction()
		a.Method = m
		if errs := ValidateAction(a); errs != nil {
			t.Errorf("method %s: %v, want valid", m, errs)
		}
	}
}

func TestValidateActionReportsEachFieldWithWhatToDo(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *model.Action)
		fields []string // every field that must be reported
		hint   string   // part of the first message
	}{
		{"empty id", func(a *model.Action) { a.ID = "" }, []string{"id"}, "1 to 64 characters"},
		{"id too long", func(a *model.Action) { a.ID = strings.Repeat("a", 65) }, []string{"id"}, "1 to 64"},
		{"id with capitals", func(a *model.Action) { a.ID = "Notify" }, []string{"id"}, "a-z"},
		{"id with slash", func(a *model.Action) { a.ID = "a/b" }, []string{"id"}, "a-z"},
		{"no name", func(a *model.Action) { a.Name = "  " }, []string{"name"}, "required"},
		{"long name", func(a *model.Action) { a.Name = strings.Repeat("n", 201) }, []string{"name"}, "at most 200"},
		{"lower-case method", func(a *model.Action) { a.Method = "post" }, []string{"method"}, "GET, POST"},
		{"HEAD", func(a *model.Action) { a.Method = "HEAD" }, []string{"method"}, "not supported"},
		{"no url", func(a *model.Action) { a.URL = "" }, []string{"url"}, "required"},
		{"relative url", func(a *model.Action) { a.URL = "/v1/hook" }, []string{"url"}, "http:// or https://"},
		{"ftp url", func(a *model.Action) { a.URL = "ftp://example.com/x" }, []string{"url"}, "http:// or https://"},
		{"templated scheme", func(a *model.Action) { a.URL = "{{ vars.url }}" }, []string{"url"}, "http:// or https://"},
		{"unclosed template", func(a *model.Action) { a.URL = "https://x.com/{{ profile.id" }, []string{"url"}, "never closed"},
		{"stray close", func(a *model.Action) { a.URL = "https://x.com/a}}" }, []string{"url"}, "without its"},
		{"empty template", func(a *model.Action) { a.URL = "https://x.com/{{ }}" }, []string{"url"}, "empty template"},
		{"no host", func(a *model.Action) { a.URL = "https:///path" }, []string{"url"}, "no host"},
		{"credentials in url", func(a *model.Action) { a.URL = "https://u:p@x.com/" }, []string{"url"}, "set auth instead"},
		{"spaces around url", func(a *model.Action) { a.URL = " https://x.com/" }, []string{"url"}, "spaces"},
		{"bad url", func(a *model.Action) { a.URL = "https://[::1/x" }, []string{"url"}, "not a valid URL"},
		{"bad payload", func(a *model.Action) { a.Payload = json.RawMessage(`{"a":`) }, []string{"payload"}, "not valid JSON"},
		{"unknown auth", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "oauth2"} }, []string{"auth.type"}, "none, bearer, basic or apiKey"},
		{"bearer without token", func(a *model.Action) { a.Auth.Token = "" }, []string{"auth.token"}, "required"},
		{"bearer with only a mask", func(a *model.Action) { a.Auth.Token = Mask }, []string{"auth.token"}, "required"},
		{"basic without username", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "basic", Password: "p"} }, []string{"auth.username"}, "required"},
		{"basic username with colon", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "basic", Username: "a:b"} }, []string{"auth.username"}, ":"},
		{"apiKey without header or value", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "apiKey"} }, []string{"auth.header", "auth.value"}, "X-API-Key"},
		{"apiKey bad header", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "apiKey", Header: "X Key", Value: "v"} }, []string{"auth.header"}, "not a valid header name"},
		{"apiKey reserved header", func(a *model.Action) {
			a.Auth = &model.ActionAuth{Type: "apiKey", Header: "idempotency-key", Value: "v"}
		}, []string{"auth.header"}, "may not be Idempotency-Key"},
		{"token with newline", func(a *model.Action) { a.Auth.Token = "a\nb" }, []string{"auth.token"}, "line break"},
		{"negative timeout", func(a *model.Action) { a.Timeout = d(-time.Second) }, []string{"timeout"}, "negative"},
		{"timeout over 5m", func(a *model.Action) { a.Timeout = d(6 * time.Minute) }, []string{"timeout"}, "longer than"},
		{"too many attempts", func(a *model.Action) { a.Retry.MaxAttempts = 21 }, []string{"retry.maxAttempts"}, "up to 20"},
		{"negative attempts", func(a *model.Action) { a.Retry.MaxAttempts = -1 }, []string{"retry.maxAttempts"}, "up to 20"},
		{"negative backoffs", func(a *model.Action) {
			a.Retry.InitialBackoff, a.Retry.MaxBackoff = d(-1), d(-1)
		}, []string{"retry.initialBackoff", "retry.maxBackoff"}, "negative"},
		{"initial above max", func(a *model.Action) {
			a.Retry.InitialBackoff, a.Retry.MaxBackoff = d(time.Minute), d(time.Second)
		}, []string{"retry.initialBackoff"}, "longer than retry.maxBackoff"},
		{"initial above default max", func(a *model.Action) {
			a.Retry.InitialBackoff, a.Retry.MaxBackoff = d(10*time.Minute), 0
		}, []string{"retry.initialBackoff"}, "the default when 0"},
		{"huge backoffs", func(a *model.Action) {
			a.Retry.InitialBackoff, a.Retry.MaxBackoff = d(2*time.Hour), d(48*time.Hour)
		}, []string{"retry.initialBackoff", "retry.maxBackoff"}, "longer than"},
		{"negative rate", func(a *model.Action) { a.RateLimit = -1 }, []string{"rateLimit"}, "0 for no cap"},
		{"NaN rate", func(a *model.Action) { a.RateLimit = math.NaN() }, []string{"rateLimit"}, "finite"},
		{"bad header name", func(a *model.Action) { a.Headers = map[string]string{"X Bad": "1"} }, []string{"headers.X Bad"}, "not valid"},
		{"header value with CRLF", func(a *model.Action) { a.Headers = map[string]string{"X-A": "1\r\nX-B: 2"} }, []string{"headers.X-A"}, "line break"},
		{"reserved header", func(a *model.Action) { a.Headers = map[string]string{"idempotency-key": "mine"} }, []string{"headers.idempotency-key"}, "remove it"},
		{"content-length header", func(a *model.Action) { a.Headers = map[string]string{"Content-Length": "3"} }, []string{"headers.Content-Length"}, "computed"},
		{"authorization with bearer", func(a *model.Action) { a.Headers = map[string]string{"Authorization": "x"} }, []string{"headers.Authorization"}, "replaced by auth"},
		{"same header twice", func(a *model.Action) { a.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, []string{"headers.x-a"}, "set twice"},
		{"apiKey header repeated", func(a *model.Action) {
			a.Auth = &model.ActionAuth{Type: "apiKey", Header: "X-Key", Value: "v"}
			a.Headers = map[string]string{"x-key": "other"}
		}, []string{"headers.x-key"}, "also auth.header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validAction()
			tc.mutate(a)
			errs := ValidateAction(a)
			if len(errs) != len(tc.fields) {
				t.Fatalf("got %d errors %v, want exactly fields %v", len(errs), errs, tc.fields)
			}
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
				if e.Status != http.StatusUnprocessableEntity || e.Code != apierr.InvalidRequest || e.Message == "" {
					t.Errorf("error %+v: want status 422, code %s and a message", e, apierr.InvalidRequest)
				}
			}
			for _, f := range tc.fields {
				if !slices.Contains(fields, f) {
					t.Errorf("fields %v, want %q among them", fields, f)
				}
			}
			if !strings.Contains(errs[0].Message, tc.hint) {
				t.Errorf("message %q, want it to say %q", errs[0].Message, tc.hint)
			}
		})
	}
}

func TestValidateActionReportsEveryProblemAtOnce(t *testing.T) {
	errs := ValidateAction(&model.Action{Method: "FETCH", RateLimit: -1, Retry: model.RetryPolicy{MaxAttempts: 99}})
	want := []string{"id", "name", "method", "url", "retry.maxAttempts", "rateLimit"}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if errs := ValidateAction(nil); len(errs) != 1 {
		t.Errorf("ValidateAction(nil) = %v, want one error", errs)
	}
}

func validPluginAction() *model.Action {
	return &model.Action{
		ID:      "crm-sync",
		Name:    "Sync to CRM",
		Kind:    model.ActionPlugin,
		Plugin:  &model.PluginRef{Name: "crm-sync", Version: "1.0.0", Config: json.RawMessage(`{"list":"vip"}`)},
		Payload: json.RawMessage(`{"email":"{{ event.data.email }}"}`),
		Timeout: d(5 * time.Second),
		Retry:   model.RetryPolicy{MaxAttempts: 3},
	}
}

func TestValidateActionAcceptsPluginActions(t *testing.T) {
	tests := map[string]func(a *model.Action){
		"as is":          func(a *model.Action) {},
		"no payload":     func(a *model.Action) { a.Payload = nil },
		"no config":      func(a *model.Action) { a.Plugin.Config = nil },
		"null config":    func(a *model.Action) { a.Plugin.Config = json.RawMessage(`null`) },
		"auth none":      func(a *model.Action) { a.Auth = &model.ActionAuth{Type: model.AuthNone} },
		"explicit rest":  func(a *model.Action) { *a = *validAction(); a.Kind = model.ActionREST },
		"rest, no kind":  func(a *model.Action) { *a = *validAction() },
		"zero retry etc": func(a *model.Action) { a.Retry, a.Timeout, a.RateLimit = model.RetryPolicy{}, 0, 0 },
	}
	for name, mutate := range tests {
		a := validPluginAction()
		mutate(a)
		if errs := ValidateAction(a); errs != nil {
			t.Errorf("%s: ValidateAction = %v, want no errors", name, errs)
		}
	}
}

func TestValidatePluginActionReportsEachField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(a *model.Action)
		fields []string
		hint   string
	}{
		{"unknown kind", func(a *model.Action) { a.Kind = "grpc" }, []string{"kind"}, `"rest" (the default), "plugin", "email", "sms" or "push"`},
		{"no plugin", func(a *model.Action) { a.Plugin = nil }, []string{"plugin"}, "required"},
		{"no plugin name", func(a *model.Action) { a.Plugin.Name = " " }, []string{"plugin.name"}, "GET /v1/plugins"},
		{"version not pinned", func(a *model.Action) { a.Plugin.Version = "" }, []string{"plugin.version"}, "pin the version"},
		{"config not an object", func(a *model.Action) { a.Plugin.Config = json.RawMessage(`[1]`) }, []string{"plugin.config"}, "JSON object"},
		{"method set", func(a *model.Action) { a.Method = "POST" }, []string{"method"}, "no method"},
		{"url set", func(a *model.Action) { a.URL = "https://x.example.com" }, []string{"url"}, "no url"},
		{"headers set", func(a *model.Action) { a.Headers = map[string]string{"X-A": "1"} }, []string{"headers"}, "no headers"},
		{"auth set", func(a *model.Action) { a.Auth = &model.ActionAuth{Type: "bearer", Token: "t"} }, []string{"auth"}, "PUT /v1/plugins"},
		{"bad payload", func(a *model.Action) { a.Payload = json.RawMessage(`{`) }, []string{"payload"}, "not valid JSON"},
		{"bad retry", func(a *model.Action) { a.Retry.MaxAttempts = 50 }, []string{"retry.maxAttempts"}, "up to 20"},
		{"bad id", func(a *model.Action) { a.ID = "Crm" }, []string{"id"}, "a-z"},
		{"rest action with a plugin", func(a *model.Action) {
			p := a.Plugin
			*a = *validAction()
			a.Plugin = p
		}, []string{"plugin"}, `kind "plugin"`},
		{"rest action keeps its checks", func(a *model.Action) {
			*a = *validAction()
			a.Kind, a.URL = model.ActionREST, ""
		}, []string{"url"}, "required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validPluginAction()
			tc.mutate(a)
			errs := ValidateAction(a)
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
				if e.Status != http.StatusUnprocessableEntity || e.Code != apierr.InvalidRequest || e.Message == "" {
					t.Errorf("error %+v: want status 422, code %s and a message", e, apierr.InvalidRequest)
				}
			}
			if !slices.Equal(fields, tc.fields) {
				t.Fatalf("fields %v (%v), want exactly %v", fields, errs, tc.fields)
			}
			if !strings.Contains(errs[0].Message, tc.hint) {
				t.Errorf("message %q, want it to say %q", errs[0].Message, tc.hint)
			}
		})
	}
}
