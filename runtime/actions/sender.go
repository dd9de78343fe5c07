package actions

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// Call is one HTTP attempt of one logical action call.
type Call struct {
	// Action supplies the method, headers, auth and timeout. Its URL and Payload templates are
	// not read: the caller renders them into URL and Body.
	Action *model.Action
	// URL is the rendered, absolute http(s) URL.
	URL string
	// Body is the rendered JSON payload; nil sends no body (and no Content-Type).
	Body []byte
	// IdempotencyKey is sent as the Idempotency-Key header, the same on every retry of one
	// logical call, so the receiver can drop duplicates. Empty sends no header.
	IdempotencyKey string
	// Attempt is the 1-based attempt number, sent as the Wayline-Attempt header (none if < 1).
	Attempt int
}

// Result is what one attempt came to. Exactly one holds: OK (2xx); Retryable (worth trying
// again later: no response, a timeout, 408, 425, 429 or 5xx); or neither (a final failure:
// a bad definition or URL, a redirect, another 4xx).
type Result struct {
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Retryable is true when trying again later may succeed.
	Retryable bool
	// OK is true for a 2xx response.
	OK bool
	// RetryAfter is the server's Retry-After hint (seconds or HTTP date), 0 when none; values
	// beyond MaxRetryAfter are clamped to it.
	RetryAfter time.Duration
	// Err says why the attempt failed, for people: "timeout after 5s", "HTTP 503: <start of
	// body>", "connection refused by 10.0.0.7:443". Empty when OK. It never holds a secret.
	Err string
	// Body is the response body, at most SenderConfig.MaxResponseBytes of it.
	Body []byte
	// Truncated is true when the response body was longer than Body.
	Truncated bool
	// Latency is the time Send took, from the call to the result.
	Latency time.Duration
}

// errSnippetBytes is how much of a failed response's body Err quotes.
const errSnippetBytes = 200

// Sender sends action calls over one keep-alive HTTP client. It is safe for concurrent use;
// create one per process and share it.
type Sender struct {
	cfg    SenderConfig
	client *fasthttp.Client
}

// NewSender returns a Sender; zero or invalid fields of cfg take their defaults (check cfg
// with Validate first to report them).
func NewSender(cfg SenderConfig) *Sender {
	cfg = cfg.withDefaults()
	guard := cfg.Guard
	if guard == nil {
		guard = &netguard.Guard{}
	}
	return &Sender{
		cfg: cfg,
		client: &fasthttp.Client{
			Name:                cfg.UserAgent,
			MaxConnsPerHost:     cfg.MaxConnsPerHost,
			MaxConnWaitTimeout:  MaxTimeout, // a busy pool waits, bounded by the call's own deadline
			MaxIdleConnDuration: 4 * time.Second,
			ReadBufferSize:      16 << 10, // response headers larger than this fail the call
			// Every connection dials through the SSRF guard: the resolved address is checked
			// when it is dialed, so DNS rebinding cannot slip past a check made earlier.
			DialTimeout: guard.DialTimeout,
			// Send the URL as the caller rendered it (and net/url re-escaped it): normalising
			// would decode %2F in path segments that APIs use as ids.
			DisablePathNormalizing: true,
			// Stream bodies so a huge response is cut at MaxResponseBytes instead of failing.
			StreamResponseBody: true,
			// One transparent resend, only for a connection the server closed while idle.
			MaxIdemponentCallAttempts: 2,
			RetryIfErr:                retryStaleConn,
			ConfigureClient: func(hc *fasthttp.HostClient) error {
				// Keep request and response bytes out of fasthttp's error texts.
				hc.SecureErrorLogMessage = true
				return nil
			},
		},
	}
}

// Config returns the configuration in effect, defaults filled in.
func (s *Sender) Config() SenderConfig { return s.cfg }

// Close closes idle keep-alive connections. Calls in flight finish; the Sender stays usable.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// retryStaleConn resends a request once when the server closed a pooled keep-alive connection
// before answering: the classic race of an idle timeout on the server. Every call carries an
// Idempotency-Key, so a receiver that had started on the first copy can drop the second.
func retryStaleConn(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts > 1 {
		return false, false
	}
	return false, errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Send makes one attempt of c and classifies the outcome. It never returns an error: every
// failure is a Result with Err set. It honours ctx: a deadline earlier than the action's
// timeout shortens the call, and cancelling ctx returns at once with a retryable Result (the
// request may or may not have reached the server; the idempotency key covers a resend).
func (s *Sender) Send(ctx context.Context, c Call) Result {
	start := time.Now()
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return Result{Retryable: true, Err: "not sent: " + ctxReason(ctx)}
	}
	req := fasthttp.AcquireRequest()
	timeout, msg := s.build(req, c)
	if msg != "" {
		fasthttp.ReleaseRequest(req)
		return Result{Err: msg, Latency: time.Since(start)}
	}

	deadline := start.Add(timeout)
	callerDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, callerDeadline = d, true
	}
	budget := deadline.Sub(start)

	if ctx.Done() == nil {
		r := s.do(req, deadline, budget, callerDeadline)
		r.Latency = time.Since(start)
		return r
	}
	// fasthttp cannot abort a request in flight, so it runs on its own goroutine, which owns
	// req from here on and ends by the deadline at the latest.
	done := make(chan Result, 1)
	go func() { done <- s.do(req, deadline, budget, callerDeadline) }()
	select {
	case r := <-done:
		r.Latency = time.Since(start)
		return r
	case <-ctx.Done():
		took := time.Since(start)
		r := Result{Retryable: true, Latency: took}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.Err = "timeout after " + fmtDur(budget) + " (the caller's deadline)"
		} else {
			r.Err = "canceled after " + fmtDur(took) + ": " + ctxReason(ctx)
		}
		return r
	}
}

// ctxReason says why ctx ended, with its cause when one was given.
func ctxReason(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the caller's deadline passed"
	}
	return cleanSnippet([]byte(context.Cause(ctx).Error()), errSnippetBytes)
}

// build fills req from c and returns the timeout to apply, or a message saying why c cannot
// be sent (a final failure).
func (s *Sender) build(req *fasthttp.Request, c Call) (time.Duration, string) {
	a := c.Action
	if a == nil {
		return 0, "cannot send: the call has no action definition"
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return 0, "cannot send: the rendered URL is not valid: " + stripURL(err)
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return 0, fmt.Sprintf("cannot send: the rendered URL's scheme is %q; only http and https are supported", u.Scheme)
	}
	if u.Host == "" {
		return 0, "cannot send: the rendered URL has no host; make the action's URL absolute (https://host/path)"
	}
	if u.User != nil {
		return 0, "cannot send: the rendered URL holds credentials (user:password@); put them in the action's auth instead"
	}
	u.Fragment, u.RawFragment = "", ""
	req.SetRequestURI(u.String())

	method := strings.ToUpper(strings.TrimSpace(a.Method))
	if method == "" {
		method = fasthttp.MethodPost
		if c.Body == nil {
			method = fasthttp.MethodGet
		}
	}
	if !isToken(method) {
		return 0, fmt.Sprintf("cannot send: method %q is not valid; use GET, POST, PUT, PATCH or DELETE", a.Method)
	}
	req.Header.SetMethod(method)

	if c.Body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(c.Body)
	}
	for name, value := range a.Headers {
		if isReservedHeader(name) {
			continue
		}
		if !isToken(name) {
			return 0, fmt.Sprintf("cannot send: header name %q is not valid; fix the action's headers", name)
		}
		if !validHeaderValue(value) {
			return 0, fmt.Sprintf("cannot send: the value of header %s holds a line break or control byte; fix the action's headers", name)
		}
		req.Header.Set(name, value)
	}
	if msg := setAuth(req, a.Auth); msg != "" {
		return 0, msg
	}
	if c.IdempotencyKey != "" {
		if !validHeaderValue(c.IdempotencyKey) {
			return 0, "cannot send: the idempotency key holds a line break or control byte"
		}
		req.Header.Set(HeaderIdempotencyKey, c.IdempotencyKey)
	}
	if c.Attempt > 0 {
		req.Header.Set(HeaderAttempt, strconv.Itoa(c.Attempt))
	}
	if sg := a.Signing; sg != nil && len(sg.Secrets) > 0 {
		h := sg.Header
		if h == "" {
			h = HeaderSignature
		}
		if !isToken(h) || isReservedHeader(h) {
			return 0, fmt.Sprintf("cannot send: signing.header %q is not a usable header name; fix the action's signing", h)
		}
		v := Sign(sg.Secrets, time.Now(), c.Body)
		if !strings.Contains(v, "v1=") {
			return 0, "cannot send: signing has no secret set; set signing.secrets on the action"
		}
		req.Header.Set(h, v)
	}

	timeout := a.Timeout.D()
	if timeout <= 0 {
		timeout = s.cfg.DefaultTimeout
	}
	if timeout > MaxTimeout {
		timeout = MaxTimeout
	}
	return timeout, ""
}

// setAuth adds the action's credentials. Messages name the missing field, never its value.
func setAuth(req *fasthttp.Request, auth *model.ActionAuth) string {
	if auth == nil {
		return ""
	}
	switch auth.Type {
	case "", model.AuthNone:
	case model.AuthBearer:
		if auth.Token == "" || auth.Token == Mask {
			return "cannot send: bearer auth has no token; set auth.token on the action"
		}
		if !validHeaderValue(auth.Token) {
			return "cannot send: the bearer token holds a line break or control byte; set auth.token again"
		}
		req.Header.Set("Authorization", "Bearer "+auth.Token)
	case model.AuthBasic:
		if auth.Username == "" {
			return "cannot send: basic auth has no username; set auth.username on the action"
		}
		if auth.Password == Mask {
			return "cannot send: basic auth has a masked password; set auth.password on the action"
		}
		cred := base64.StdEncoding.EncodeToString([]byte(auth.Username + ":" + auth.Password))
		req.Header.Set("Authorization", "Basic "+cred)
	case model.AuthAPIKey:
		if !isToken(auth.Header) {
			return "cannot send: apiKey auth needs a valid header name; set auth.header (e.g. X-API-Key)"
		}
		if isReservedHeader(auth.Header) {
			return fmt.Sprintf("cannot send: apiKey auth may not use header %s; choose another auth.header", auth.Header)
		}
		if auth.Value == "" || auth.Value == Mask {
			return "cannot send: apiKey auth has no value; set auth.value on the action"
		}
		if !validHeaderValue(auth.Value) {
			return "cannot send: the API key holds a line break or control byte; set auth.value again"
		}
		req.Header.Set(auth.Header, auth.Value)
	default:
		return fmt.Sprintf("cannot send: unknown auth type %q; use none, bearer, basic or apiKey", auth.Type)
	}
	return ""
}

// do sends req, which it owns and releases, and reads the response.
func (s *Sender) do(req *fasthttp.Request, deadline time.Time, budget time.Duration, callerDeadline bool) Result {
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)

	if err := s.client.DoDeadline(req, resp, deadline); err != nil {
		return s.networkFailure(err, budget, callerDeadline)
	}
	status := resp.StatusCode()
	r := Result{Status: status}
	if v := resp.Header.Peek("Retry-After"); len(v) > 0 {
		r.RetryAfter = ParseRetryAfter(string(v), time.Now())
	}
	body, truncated, bodyErr := readBodyPrefix(resp, s.cfg.MaxResponseBytes)
	r.Body, r.Truncated = body, truncated

	switch {
	case status >= 200 && status <= 299:
		// The server has accepted the call; a body cut short by a timeout changes nothing.
		r.OK = true
	case status >= 300 && status <= 399:
		r.Err = fmt.Sprintf("HTTP %d: redirects are not followed; point the action at the final URL", status)
	default:
		r.Retryable = retryableStatus(status)
		r.Err = httpErr(status, body)
		if bodyErr != nil && !truncated && len(body) == 0 {
			r.Err += " (reading the body failed: " + s.networkFailure(bodyErr, budget, callerDeadline).Err + ")"
		}
		switch status {
		case 401, 403:
			r.Err += " (check the action's auth)"
		}
	}
	return r
}

// retryableStatus is the classification of a non-2xx, non-3xx status.
func retryableStatus(status int) bool {
	switch {
	case status == 408, status == 425, status == 429:
		return true
	case status >= 500 && status <= 599:
		return true
	}
	return false
}

// httpErr is "HTTP 503: <start of body>", or "HTTP 503 Service Unavailable" for an empty body.
func httpErr(status int, body []byte) string {
	snippet := cleanSnippet(body, errSnippetBytes)
	if snippet == "" {
		return fmt.Sprintf("HTTP %d %s", status, fasthttp.StatusMessage(status))
	}
	return fmt.Sprintf("HTTP %d: %s", status, snippet)
}

// cleanSnippet returns up to n bytes of b as one line of valid UTF-8.
func cleanSnippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// readBodyPrefix reads at most limit bytes of the body. A longer body is cut and its
// connection closed (draining an unbounded body would cost more than a new connection).
func readBodyPrefix(resp *fasthttp.Response, limit int) (body []byte, truncated bool, err error) {
	stream := resp.BodyStream()
	if stream == nil {
		b := resp.Body()
		if len(b) > limit {
			return append([]byte(nil), b[:limit]...), true, nil
		}
		return append([]byte(nil), b...), false, nil
	}
	body, err = io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		if c, ok := stream.(fasthttp.ReadCloserWithError); ok {
			_ = c.CloseWithError(err)
		} else {
			_ = resp.CloseBodyStream()
		}
		return body, false, err
	}
	if len(body) > limit {
		if c, ok := stream.(fasthttp.ReadCloserWithError); ok {
			_ = c.CloseWithError(fasthttp.ErrBodyTooLarge)
		} else {
			_ = resp.CloseBodyStream()
		}
		return body[:limit], true, nil
	}
	// The body is complete; a failure to close only costs the connection.
	_ = resp.CloseBodyStream()
	return body, false, nil
}

// networkFailure turns a transport error into a retryable Result, unless retrying cannot help
// (a certificate the host will keep presenting).
func (s *Sender) networkFailure(err error, budget time.Duration, callerDeadline bool) Result {
	r := Result{Retryable: true}
	var (
		upstream string
		de       *net.DNSError
	)
	if up, ok := errors.AsType[*fasthttp.ErrDialWithUpstream](err); ok {
		upstream = up.Upstream
	}
	switch {
	case errors.Is(err, netguard.ErrRefused):
		// The address will not change by waiting: a final failure, for the error path.
		r.Retryable = false
		r.Err = "refused by the outbound guard: " + cleanSnippet([]byte(err.Error()), errSnippetBytes)
	case errors.Is(err, fasthttp.ErrDialTimeout):
		r.Err = "timeout after " + fmtDur(budget) + " connecting" + to(upstream)
	case isTimeout(err):
		r.Err = "timeout after " + fmtDur(budget)
		if callerDeadline {
			r.Err += " (the caller's deadline)"
		}
	case errors.Is(err, syscall.ECONNREFUSED):
		r.Err = "connection refused" + by(upstream)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		r.Err = "connection reset by the server"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		r.Err = "the server closed the connection without a complete response"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		r.Err = fmt.Sprintf("no free connection to the host (all %d in use); lower the action's rate limit or raise MaxConnsPerHost", s.cfg.MaxConnsPerHost)
	case errors.As(err, &de):
		r.Err = fmt.Sprintf("cannot resolve host %q: %s", de.Name, de.Err)
		if de.IsNotFound {
			r.Err += "; check the host in the action's URL"
		}
	case isCertificate(err):
		r.Retryable = false
		r.Err = "TLS certificate not accepted: " + cleanSnippet([]byte(err.Error()), errSnippetBytes) + "; fix the server's certificate or the URL's host"
	default:
		r.Err = "network error: " + cleanSnippet([]byte(err.Error()), errSnippetBytes)
	}
	return r
}

func to(upstream string) string {
	if upstream == "" {
		return ""
	}
	return " to " + upstream
}

func by(upstream string) string {
	if upstream == "" {
		return ""
	}
	return " by " + upstream
}

// fmtDur writes a duration rounded to what a person reads: "5s", "2.5s", "150ms".
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// stripURL keeps a url.Parse error's reason without the URL, which may carry secrets in its
// query.
func stripURL(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// isTimeout reports a deadline reached while dialing, writing or reading.
func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// isCertificate reports a TLS certificate the client rejected.
func isCertificate(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}
