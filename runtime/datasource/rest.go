package datasource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bytedance/sonic"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/time/rate"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// Limits of REST sources.
const (
	DefaultRESTTimeout  = 5 * time.Second
	MaxRESTTimeout      = time.Minute
	DefaultRESTMaxBytes = 1 << 20
	MaxRESTMaxBytes     = 16 << 20
	maxRESTRedirects    = 5
)

// restCall is a group's compiled request: path and query templates over params.
type restCall struct {
	method string
	path   *expr.StringTemplate
	query  []queryParam // sorted by name
}

type queryParam struct {
	name string
	tmpl *expr.StringTemplate
}

// compileREST compiles a group's request templates (see model.DataSourceGroup.Path).
func compileREST(g model.DataSourceGroup, env *expr.Env) (*restCall, error) {
	c := &restCall{method: strings.ToUpper(g.Method)}
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.method != http.MethodGet && c.method != http.MethodPost {
		return nil, fmt.Errorf("method: %q is not supported; use GET or POST", g.Method)
	}
	var err error
	if c.path, err = env.CompileStringTemplate(g.Path); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	names := make([]string, 0, len(g.Query))
	for n := range g.Query {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t, err := env.CompileStringTemplate(g.Query[n])
		if err != nil {
			return nil, fmt.Errorf("query.%s: %w", n, err)
		}
		c.query = append(c.query, queryParam{n, t})
	}
	return c, nil
}

// RESTFetcher asks REST data sources for groups: one HTTP client per source (rebuilt when the
// source changes), every connection dialled through Guard, calls capped per source, OAuth2
// tokens kept until they expire. Safe for concurrent use.
type RESTFetcher struct {
	// Guard checks every address a call (or a token request, or a redirect) dials. Nil
	// refuses every internal address.
	Guard *netguard.Guard

	mu      sync.Mutex
	clients map[string]*restClient // by source id
}

// restClient is what a source keeps between calls.
type restClient struct {
	updated time.Time // the definition it was built for
	http    *http.Client
	limiter *rate.Limiter      // nil: no cap
	tokens  oauth2.TokenSource // oauth2 only; caches the token until it expires
	timeout time.Duration
	max     int64
}

func (f *RESTFetcher) client(src *Source) *restClient {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[src.Def.ID]; ok && c.updated.Equal(src.Def.UpdatedAt) {
		return c
	}
	if f.clients == nil {
		f.clients = map[string]*restClient{}
	}
	cfg := src.Def.REST
	guard := f.Guard
	if guard == nil {
		guard = &netguard.Guard{}
	}
	c := &restClient{updated: src.Def.UpdatedAt, timeout: cfg.Timeout.D(), max: cfg.MaxResponseBytes}
	if c.timeout <= 0 {
		c.timeout = DefaultRESTTimeout
	}
	if c.max <= 0 {
		c.max = DefaultRESTMaxBytes
	}
	c.http = &http.Client{
		Timeout: c.timeout,
		Transport: &http.Transport{
			DialContext:           guard.DialContext,
			Proxy:                 nil, // a proxy would dial on our behalf, past the guard
			TLSHandshakeTimeout:   c.timeout,
			ResponseHeaderTimeout: c.timeout,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Each redirect dials through the guard again; here only the count and scheme.
			if len(via) >= maxRESTRedirects {
				return fmt.Errorf("more than %d redirects", maxRESTRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("a redirect to %q (only http and https are followed)", req.URL.Scheme)
			}
			return nil
		},
	}
	if cfg.RatePerSecond > 0 {
		burst := int(cfg.RatePerSecond)
		if burst < 1 {
			burst = 1
		}
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RatePerSecond), burst)
	}
	if a := cfg.Auth; a != nil && a.Type == model.AuthOAuth2 {
		cc := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes}
		// The token source keeps this context for every token request it makes: it carries
		// the guarded client, so the token endpoint is dialled through the guard too.
		c.tokens = cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, c.http))
	}
	if old, ok := f.clients[src.Def.ID]; ok {
		old.http.CloseIdleConnections()
	}
	f.clients[src.Def.ID] = c
	return c
}

// Fetch calls the source for one group and returns the JSON object it answers.
func (f *RESTFetcher) Fetch(ctx context.Context, src *Source, group string, params map[string]any) (map[string]any, error) {
	cfg := src.Def.REST
	g := src.Groups[group]
	if cfg == nil || g == nil || g.rest == nil {
		return nil, errors.New("the source has no REST settings (rest.baseUrl)")
	}
	c := f.client(src)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("over its cap of %g calls a second, no turn came within the timeout (%s): raise rest.ratePerSecond or the cache TTL", cfg.RatePerSecond, c.timeout)
		}
	}
	req, err := f.request(ctx, c, cfg, g.rest, params)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrRefused) {
			return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), err)
		}
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return nil, fmt.Errorf("%s %s: no answer within %s (rest.timeout)", req.Method, redactURL(req.URL), c.timeout)
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s %s: the answer did not arrive within %s (rest.timeout)", req.Method, redactURL(req.URL), c.timeout)
		}
		return nil, fmt.Errorf("%s %s: reading the answer: %w", req.Method, redactURL(req.URL), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("%s %s: answered HTTP %d: %s", req.Method, redactURL(req.URL), resp.StatusCode, snippet(body))
	}
	if int64(len(body)) > c.max {
		return nil, fmt.Errorf("%s %s: the answer is larger than %d bytes (rest.maxResponseBytes)", req.Method, redactURL(req.URL), c.max)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, fmt.Errorf("%s %s: answered Content-Type %q, not JSON: %s", req.Method, redactURL(req.URL), ct, snippet(body))
		}
	}
	fields, err := decodeRESTAnswer(body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), err)
	}
	return fields, nil
}

// decodeRESTAnswer reads a REST source's answer (bytes from outside): one JSON object whose
// members are the group's fields.
func decodeRESTAnswer(body []byte) (map[string]any, error) {
	var fields map[string]any
	if err := sonic.ConfigStd.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("the answer is not a JSON object (a group's fields are the members of one object): %s", snippet(body))
	}
	return fields, nil
}

// request builds the call: base URL + rendered path, rendered query, auth and headers; a POST
// sends the parameters as a JSON object.
func (f *RESTFetcher) request(ctx context.Context, c *restClient, cfg *model.RESTSource, rc *restCall, params map[string]any) (*http.Request, error) {
	act := &expr.Activation{Params: params}
	path, err := rc.path.Render(act, url.PathEscape)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/") + "/" + strings.TrimLeft(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("the URL built from rest.baseUrl and the path is not valid: %w", err)
	}
	if len(rc.query) > 0 {
		q := u.Query()
		for _, p := range rc.query {
			v, err := p.tmpl.Render(act, nil)
			if err != nil {
				return nil, fmt.Errorf("query.%s: %w", p.name, err)
			}
			q.Set(p.name, v)
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	if rc.method == http.MethodPost {
		b, err := sonic.ConfigStd.Marshal(params)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, rc.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wayline")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range cfg.Headers {
		req.Header.Set(k, v)
	}
	if a := cfg.Auth; a != nil {
		switch a.Type {
		case model.AuthBearer:
			req.Header.Set("Authorization", "Bearer "+a.Token)
		case model.AuthBasic:
			req.SetBasicAuth(a.Username, a.Password)
		case model.AuthAPIKey:
			req.Header.Set(a.Header, a.Value)
		case model.AuthOAuth2:
			tok, err := c.tokens.Token()
			if err != nil {
				return nil, fmt.Errorf("getting an OAuth2 token from %s: %w", a.TokenURL, err)
			}
			tok.SetAuthHeader(req)
		}
	}
	return req, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// redactURL drops the query, which may carry parameters from profiles, from error messages.
func redactURL(u *url.URL) string {
	v := *u
	v.RawQuery, v.User = "", nil
	return v.String()
}

// snippet returns the start of a body, for an error message.
func snippet(b []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(b[:min(len(b), n)]), "?")
	if len(b) > n {
		s += "…"
	}
	if strings.TrimSpace(s) == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}
