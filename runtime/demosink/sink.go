package demosink

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultCapacity is how many requests a Sink keeps when New is given 0.
const DefaultCapacity = 1000

// Limits of what one recorded request keeps and what a listing returns.
const (
	MaxRecordedBody = 64 << 10
	DefaultListSize = 100
	MaxDelay        = 30 * time.Second
)

// mask replaces the value of a sensitive header in a listing.
const mask = "••••"

// Request is one recorded request.
type Request struct {
	At             time.Time         `json:"at"`
	Method         string            `json:"method"`
	Path           string            `json:"path"`
	Query          string            `json:"query,omitempty"`
	Headers        map[string]string `json:"headers"`
	IdempotencyKey string            `json:"idempotencyKey,omitempty"`
	// Body is the request body when it is JSON, else the body as a JSON string; at most
	// MaxRecordedBody bytes of it (a cut body is kept as a string, with BodyTruncated set).
	Body          json.RawMessage `json:"body,omitempty"`
	BodyTruncated bool            `json:"bodyTruncated,omitempty"`
	// Status is what the sink answered: 200, or an injected failure.
	Status int `json:"status"`
}

// Sink records requests. It is safe for concurrent use.
type Sink struct {
	count atomic.Int64

	mu   sync.Mutex
	ring []Request // capacity slots; next is where the next request goes
	next int
	full bool
	keys map[uint64]struct{}
	seed maphash.Seed
}

// New returns a Sink that keeps the last capacity requests (DefaultCapacity if capacity <= 0).
func New(capacity int) *Sink {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Sink{
		ring: make([]Request, capacity),
		keys: make(map[uint64]struct{}),
		seed: maphash.MakeSeed(),
	}
}

// Count is how many requests were recorded in all, including those no longer in the ring.
func (s *Sink) Count() int64 { return s.count.Load() }

// DistinctKeys is how many different Idempotency-Key values were seen in all. Count minus
// DistinctKeys, when every request carries a key, is the number of duplicates (retries).
func (s *Sink) DistinctKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// Recent returns up to n recorded requests, newest first (all that are kept when n <= 0).
// Header values are as received, secrets included: Recent is for tests in the same process.
func (s *Sink) Recent(n int) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.next
	if s.full {
		kept = len(s.ring)
	}
	if n <= 0 || n > kept {
		n = kept
	}
	out := make([]Request, 0, n)
	for i := 1; i <= n; i++ {
		j := (s.next - i + len(s.ring)) % len(s.ring)
		out = append(out, s.ring[j])
	}
	return out
}

// Reset forgets every recorded request, key and count.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.ring)
	s.next, s.full = 0, false
	s.keys = make(map[uint64]struct{})
	s.count.Store(0)
}

func (s *Sink) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring[s.next] = r
	s.next++
	if s.next == len(s.ring) {
		s.next, s.full = 0, true
	}
	if r.IdempotencyKey != "" {
		s.keys[maphash.String(s.seed, r.IdempotencyKey)] = struct{}{}
	}
	s.count.Add(1)
}

// Handler serves the sink: GET lists what was recorded (?limit=N, default 100, newest first);
// every other method is recorded and answered 200 {"ok":true}. The query string injects
// failures, for any method:
//
//	fail=CODE        answer CODE (100..599) instead of 200 ({"ok":false,...})
//	failAttempts=N   fail only while the Wayline-Attempt header is <= N (fail defaults to 503)
//	retryAfter=SECS  add a Retry-After header to an injected failure
//	delay=DURATION   wait this long (at most 30s) before answering, to provoke timeouts
//
// Requests that got an injected failure are recorded too, with their Status.
func (s *Sink) Handler(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	if d := args.Peek("delay"); len(d) > 0 {
		delay, err := time.ParseDuration(string(d))
		if err != nil || delay < 0 {
			answerError(ctx, fasthttp.StatusBadRequest, "delay must be a duration like 500ms or 2s")
			return
		}
		time.Sleep(min(delay, MaxDelay))
	}
	status, msg := injectedStatus(ctx)
	if msg != "" {
		answerError(ctx, fasthttp.StatusBadRequest, msg)
		return
	}

	if ctx.IsGet() && status == 0 {
		s.list(ctx)
		return
	}
	if !ctx.IsGet() {
		s.record(s.capture(ctx, status))
	}
	ctx.SetContentType("application/json")
	if status != 0 {
		if ra := args.Peek("retryAfter"); len(ra) > 0 {
			ctx.Response.Header.SetBytesV("Retry-After", ra)
		}
		ctx.SetStatusCode(status)
		ctx.SetBodyString(`{"ok":false,"error":"failure injected by the demo sink (fail=` + strconv.Itoa(status) + `)"}`)
		return
	}
	ctx.SetBodyString(`{"ok":true}`)
}

// injectedStatus is the failure the query asks for (0: none), or a message when the query is
// malformed.
func injectedStatus(ctx *fasthttp.RequestCtx) (int, string) {
	args := ctx.QueryArgs()
	fail, failAttempts := args.Peek("fail"), args.Peek("failAttempts")
	if len(fail) == 0 && len(failAttempts) == 0 {
		return 0, ""
	}
	status := fasthttp.StatusServiceUnavailable
	if len(fail) > 0 {
		n, err := strconv.Atoi(string(fail))
		if err != nil || n < 100 || n > 599 {
			return 0, "fail must be an HTTP status between 100 and 599, like fail=503"
		}
		status = n
	}
	if len(failAttempts) > 0 {
		limit, err := strconv.Atoi(string(failAttempts))
		if err != nil || limit < 0 {
			return 0, "failAttempts must be a whole number, like failAttempts=2"
		}
		attempt, err := strconv.Atoi(string(ctx.Request.Header.Peek("Wayline-Attempt")))
		if err != nil || attempt < 1 {
			attempt = 1 // a call without the header is a first attempt
		}
		if attempt > limit {
			return 0, ""
		}
	}
	return status, ""
}

func (s *Sink) capture(ctx *fasthttp.RequestCtx, status int) Request {
	r := Request{
		At:             time.Now().UTC(),
		Method:         string(ctx.Method()),
		Path:           string(ctx.Path()),
		Query:          string(ctx.URI().QueryString()),
		IdempotencyKey: string(ctx.Request.Header.Peek("Idempotency-Key")),
		Status:         status,
	}
	if status == 0 {
		r.Status = fasthttp.StatusOK
	}
	r.Headers = make(map[string]string, ctx.Request.Header.Len())
	for k, v := range ctx.Request.Header.All() {
		name := string(k)
		if old, ok := r.Headers[name]; ok {
			r.Headers[name] = old + ", " + string(v)
		} else {
			r.Headers[name] = string(v)
		}
	}
	body := ctx.PostBody()
	if len(body) > MaxRecordedBody {
		body, r.BodyTruncated = body[:MaxRecordedBody], true
	}
	switch trimmed := bytes.TrimSpace(body); {
	case len(trimmed) == 0:
	case !r.BodyTruncated && json.Valid(trimmed):
		r.Body = append(json.RawMessage(nil), trimmed...)
	default:
		r.Body, _ = json.Marshal(strings.ToValidUTF8(string(body), "\uFFFD"))
	}
	return r
}

type listing struct {
	Count                   int64     `json:"count"`
	DistinctIdempotencyKeys int       `json:"distinctIdempotencyKeys"`
	Items                   []Request `json:"items"`
}

func (s *Sink) list(ctx *fasthttp.RequestCtx) {
	n := DefaultListSize
	if v := ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		l, err := strconv.Atoi(string(v))
		if err != nil || l < 1 {
			answerError(ctx, fasthttp.StatusBadRequest, "limit must be a positive whole number, like limit=20")
			return
		}
		n = l
	}
	items := s.Recent(n)
	// The listing is served over HTTP: secrets that arrived in headers are masked.
	for i := range items {
		h := make(map[string]string, len(items[i].Headers))
		for k, v := range items[i].Headers {
			if sensitiveHeader(k) && v != "" {
				v = mask
			}
			h[k] = v
		}
		items[i].Headers = h
	}
	out := listing{Count: s.Count(), DistinctIdempotencyKeys: s.DistinctKeys(), Items: items}
	b, err := json.Marshal(out)
	if err != nil {
		answerError(ctx, fasthttp.StatusInternalServerError, "cannot encode the listing: "+err.Error())
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// sensitiveHeader matches the headers whose values the listing masks.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "idempotency-key" {
		return false
	}
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "password", "passwd", "signature", "session", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func answerError(ctx *fasthttp.RequestCtx, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "invalid_request", "message": msg}})
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b)
}
