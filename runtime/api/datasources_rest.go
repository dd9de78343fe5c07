package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
)

// Limits on a REST data source.
const (
	maxDSQueryParams = 50
	maxDSHeaders     = 50
	maxDSRate        = 10_000
)

// checkRESTSource validates the REST settings of a "rest" data source and its groups' request
// templates (path and query, over params).
func checkRESTSource(d *model.DataSource, bad func(field, format string, args ...any), add func(*apierr.Error)) {
	r := d.REST
	if r == nil {
		bad("rest", "rest is required for a REST data source: {\"baseUrl\":\"https://crm.example.com/api\"}")
		return
	}
	if u, err := url.Parse(r.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("rest.baseUrl", "rest.baseUrl must be an absolute http or https URL such as https://crm.example.com/api; got %q", clipText(r.BaseURL, 120))
	} else if u.User != nil {
		bad("rest.baseUrl", "rest.baseUrl must not carry credentials; use rest.auth")
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("rest.baseUrl", "rest.baseUrl must not have a query or fragment; put query parameters in each group's query")
	}
	if t := r.Timeout.D(); t < 0 || t > datasource.MaxRESTTimeout {
		bad("rest.timeout", "rest.timeout must be between 0 (the default, 5s) and %s; got %s", datasource.MaxRESTTimeout, t)
	}
	if r.RatePerSecond < 0 || r.RatePerSecond > maxDSRate {
		bad("rest.ratePerSecond", "rest.ratePerSecond must be between 0 (no cap) and %d; got %g", maxDSRate, r.RatePerSecond)
	}
	if r.MaxResponseBytes < 0 || r.MaxResponseBytes > datasource.MaxRESTMaxBytes {
		bad("rest.maxResponseBytes", "rest.maxResponseBytes must be between 0 (the default, 1 MiB) and %d; got %d", datasource.MaxRESTMaxBytes, r.MaxResponseBytes)
	}
	if len(r.Headers) > maxDSHeaders {
		bad("rest.headers", "at most %d headers, not %d", maxDSHeaders, len(r.Headers))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		if k == "" || strings.ContainsAny(k, " :\r\n\t") || textproto.CanonicalMIMEHeaderKey(k) == "Host" || textproto.CanonicalMIMEHeaderKey(k) == "Content-Length" {
			bad("rest.headers", "%q is not a header this source may set", clipText(k, 60))
		} else if strings.ContainsAny(r.Headers[k], "\r\n") {
			bad("rest.headers."+k, "a header value cannot hold a line break")
		}
	}
	if a := r.Auth; a != nil {
		need := func(field, v, what string) {
			if strings.TrimSpace(v) == "" {
				bad("rest.auth."+field, "rest.auth.%s is required for %q auth: %s", field, a.Type, what)
			}
		}
		switch a.Type {
		case "", model.AuthNone:
		case model.AuthBearer:
			need("token", a.Token, "the bearer token")
		case model.AuthBasic:
			need("username", a.Username, "the user name")
			need("password", a.Password, "the password")
		case model.AuthAPIKey:
			need("header", a.Header, "the header that carries the key, such as X-API-Key")
			need("value", a.Value, "the key")
			if strings.ContainsAny(a.Header, " :\r\n\t") {
				bad("rest.auth.header", "%q is not a header name", clipText(a.Header, 60))
			}
		case model.AuthOAuth2:
			need("clientId", a.ClientID, "the client id")
			need("clientSecret", a.ClientSecret, "the client secret")
			if u, err := url.Parse(a.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("rest.auth.tokenUrl", "rest.auth.tokenUrl must be the absolute http(s) URL of the token endpoint; got %q", clipText(a.TokenURL, 120))
			}
		default:
			bad("rest.auth.type", "auth type %q is not known; use none, bearer, basic, apiKey or oauth2", clipText(a.Type, 40))
		}
		if strings.ContainsAny(a.Token+a.Value+a.Username, "\r\n") {
			bad("rest.auth", "credentials cannot hold line breaks")
		}
	}
	penv, err := expr.NewParamsEnv()
	if err != nil {
		bad("rest", "%v", err)
		return
	}
	for i, g := range d.Groups {
		f := fmt.Sprintf("groups[%d]", i)
		switch strings.ToUpper(g.Method) {
		case "", http.MethodGet, http.MethodPost:
		default:
			bad(f+".method", "method %q is not supported; use GET (the default) or POST (the parameters are sent as a JSON object)", clipText(g.Method, 20))
		}
		if _, err := penv.CompileStringTemplate(g.Path); err != nil {
			add(withFieldErr(err, f+".path", "the path template reads the group's parameters as params.<name>, such as /customers/{{ params.id }}"))
		}
		if len(g.Query) > maxDSQueryParams {
			bad(f+".query", "at most %d query parameters, not %d", maxDSQueryParams, len(g.Query))
		}
		for _, k := range slices.Sorted(maps.Keys(g.Query)) {
			if k == "" {
				bad(f+".query", "query parameter names cannot be empty")
				continue
			}
			if _, err := penv.CompileStringTemplate(g.Query[k]); err != nil {
				add(withFieldErr(err, f+".query."+k, "query templates read the group's parameters as params.<name>"))
			}
		}
	}
}

// withFieldErr turns a compile error into a 422 on field, with a hint.
func withFieldErr(err error, field, hint string) *apierr.Error {
	e := apierr.As(err)
	msg := e.Message
	if strings.Contains(msg, "undeclared reference") {
		msg += " (" + hint + ")"
	}
	return apierr.New(422, e.Code, field, "%s", msg)
}

// redactedSource is a data source as the API returns it: secrets masked, with flags saying
// which are set.
type redactedSource struct {
	model.DataSource
	SecretsSet map[string]bool `json:"secretsSet,omitempty"`
}

// redactSource masks a REST source's credentials and sensitive header values.
func redactSource(d model.DataSource) redactedSource {
	out := redactedSource{DataSource: d}
	if d.REST == nil {
		return out
	}
	r := *d.REST
	if r.Auth != nil {
		a := *r.Auth
		out.SecretsSet = map[string]bool{"token": a.Token != "", "password": a.Password != "", "value": a.Value != "", "clientSecret": a.ClientSecret != ""}
		a.Token, a.Password, a.Value, a.ClientSecret = maskSet(a.Token), maskSet(a.Password), maskSet(a.Value), maskSet(a.ClientSecret)
		r.Auth = &a
	}
	if r.Headers != nil {
		h := make(map[string]string, len(r.Headers))
		for k, v := range r.Headers {
			if actions.IsSensitiveHeader(k) {
				v = maskSet(v)
			}
			h[k] = v
		}
		r.Headers = h
	}
	out.REST = &r
	return out
}

func maskSet(s string) string {
	if s == "" {
		return ""
	}
	return actions.Mask
}

// mergeSourceSecrets completes an update with the stored credentials that come back masked or
// empty (for the same auth type), and sensitive headers that come back masked. A mask with
// nothing to restore is cleared, so validation reports the secret missing.
func mergeSourceSecrets(updated, stored *model.DataSource) {
	if updated.REST == nil {
		return
	}
	r := *updated.REST
	var sr *model.RESTSource
	if stored != nil {
		sr = stored.REST
	}
	if r.Auth != nil {
		a := *r.Auth
		keep := func(v, old string) string {
			if v == "" || v == actions.Mask {
				return old
			}
			return v
		}
		if sr != nil && sr.Auth != nil && sr.Auth.Type == a.Type {
			a.Token, a.Password = keep(a.Token, sr.Auth.Token), keep(a.Password, sr.Auth.Password)
			a.Value, a.ClientSecret = keep(a.Value, sr.Auth.Value), keep(a.ClientSecret, sr.Auth.ClientSecret)
		}
		for _, p := range []*string{&a.Token, &a.Password, &a.Value, &a.ClientSecret} {
			if *p == actions.Mask {
				*p = ""
			}
		}
		r.Auth = &a
	}
	if len(r.Headers) > 0 {
		h := maps.Clone(r.Headers)
		for k, v := range h {
			if v != actions.Mask {
				continue
			}
			h[k] = ""
			if sr != nil {
				for sk, sv := range sr.Headers {
					if strings.EqualFold(sk, k) {
						h[k] = sv
					}
				}
			}
		}
		r.Headers = h
	}
	updated.REST = &r
}
