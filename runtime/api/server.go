// Package api serves Wayline's HTTP API on fasthttp: ingest, the admin API under /v1, health,
// metrics and the OpenAPI document. It reaches the engine, metadata and keys through the small
// set of values in Deps and owns nothing durable itself (the event debugger's recent-events
// rings are in memory by design).
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytedance/sonic"
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/auth"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/ingest"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/users"
)

//go:embed openapi.json
var openAPIDoc []byte

// ActionTester makes a one-off call of an action (the "test call" endpoint).
type ActionTester interface {
	Call(ctx context.Context, a *model.Action, req engine.CallRequest) engine.CallOutcome
}

// Config configures the API. Its zero value works.
type Config struct {
	Listen string // "127.0.0.1:8080" when empty
	Limits ingest.Limits
	// PublicRate is the events per second each client IP may send to public event types;
	// PublicBurst the burst.
	PublicRate  float64
	PublicBurst int
	// RecentEvents is how many accepted and rejected events the debugger keeps per type.
	RecentEvents int
	// NDJSONMaxLines bounds one NDJSON request.
	NDJSONMaxLines int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:8080", Limits: ingest.DefaultLimits(), PublicRate: 20, PublicBurst: 40,
		RecentEvents: 50, NDJSONMaxLines: 1_000_000}
}

// Validate checks the config, naming the field.
func (c Config) Validate() error {
	if c.PublicRate < 0 || c.PublicBurst < 0 || c.RecentEvents < 0 || c.NDJSONMaxLines < 0 {
		return errors.New("api: publicRate, publicBurst, recentEvents and ndjsonMaxLines must not be negative")
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("api: listen %q: want HOST:PORT, like 127.0.0.1:8080", c.Listen)
		}
	}
	return c.Limits.Validate()
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Listen == "" {
		c.Listen = d.Listen
	}
	if c.PublicRate == 0 {
		c.PublicRate = d.PublicRate
	}
	if c.PublicBurst == 0 {
		c.PublicBurst = d.PublicBurst
	}
	if c.RecentEvents == 0 {
		c.RecentEvents = d.RecentEvents
	}
	if c.NDJSONMaxLines == 0 {
		c.NDJSONMaxLines = d.NDJSONMaxLines
	}
	l := c.Limits
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = d.Limits.MaxBodyBytes
	}
	if l.MaxBatchEvents == 0 {
		l.MaxBatchEvents = d.Limits.MaxBatchEvents
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.Limits.MaxDepth
	}
	if l.MaxLineBytes == 0 {
		l.MaxLineBytes = d.Limits.MaxLineBytes
	}
	c.Limits = l
}

// Deps are what the API works with.
type Deps struct {
	Engine *engine.Engine
	// Router commits events; nil: the engine (a single node).
	Router EventRouter
	// Cluster is the cluster this node belongs to; nil: a single node.
	Cluster ClusterView
	// Reports reads counters and dead letters; nil: the engine (a single node).
	Reports Reports
	// Profiles merges imported profiles; nil: the engine (a single node).
	Profiles ProfileWriter
	Meta     *meta.Store
	Catalog  *catalog.Catalog
	Keys     *auth.Keys
	Tester   ActionTester
	// Plugins checks uploads and runs test calls; nil answers 503 where it is needed.
	Plugins PluginHost
	// Users signs people in (sessions for the designer); nil: only API keys authenticate.
	Users *users.Store
	// Designer is the built web designer (index.html and assets/), served at /; nil: not served.
	Designer fs.FS
	// Extra routes (the demo sink) mounted as-is, without auth.
	Extra map[string]fasthttp.RequestHandler
	// Messages serves the public endpoints of sent messages (open pixel, click redirect,
	// unsubscribe, delivery callbacks); nil: they answer 503.
	Messages MessageEndpoints
	Log      *slog.Logger
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	srv     *fasthttp.Server
	routes  []Route
	recent  *recentEvents
	limiter *ipLimiter
	// signInLimiter bounds password attempts per client IP.
	signInLimiter *ipLimiter
	metrics       *metrics
	ready         atomic.Bool

	stop     chan struct{} // closed by Shutdown: ends housekeeping
	stopOnce sync.Once
}

// Route is one registered operation, for the OpenAPI drift test.
type Route struct {
	Method, Path, Role string
}

// New builds the server.
func New(cfg Config, d Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Router == nil {
		d.Router = d.Engine
	}
	if d.Reports == nil {
		d.Reports = d.Engine
	}
	if d.Profiles == nil {
		d.Profiles = d.Engine
	}
	s := &Server{cfg: cfg, d: d, log: d.Log, recent: newRecentEvents(cfg.RecentEvents),
		limiter: newIPLimiter(cfg.PublicRate, cfg.PublicBurst), signInLimiter: newIPLimiter(signInRate, signInBurst), metrics: newMetrics(d.Engine), stop: make(chan struct{})}
	r := router.New()
	r.HandleMethodNotAllowed = true
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeErr(ctx, apierr.New(405, apierr.MethodNotAllowed, "", "method %s is not allowed on %s", ctx.Method(), ctx.Path()))
	}
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeErr(ctx, apierr.New(404, apierr.NotFound, "", "no such endpoint %s %s; see /v1/openapi.json", ctx.Method(), ctx.Path()))
	}
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		s.log.Error("handler panic", "path", string(ctx.Path()), "panic", v)
		writeErr(ctx, apierr.New(500, apierr.Internal, "", "internal error; please report it with the request that caused it"))
	}
	s.register(r)
	s.registerDesigner(r)
	// In path order: the router refuses "/x" after "/x/{rest:*}" (which claims "/x" for its
	// redirect), and map order is random.
	extra := make([]string, 0, len(d.Extra))
	for path := range d.Extra {
		extra = append(extra, path)
	}
	sort.Strings(extra)
	for _, path := range extra {
		r.ANY(path, d.Extra[path])
	}
	s.srv = &fasthttp.Server{
		Handler:                       s.metrics.wrap(r.Handler),
		Name:                          "wayline",
		ReadTimeout:                   60 * time.Second,
		WriteTimeout:                  60 * time.Second,
		IdleTimeout:                   120 * time.Second,
		MaxRequestBodySize:            cfg.Limits.MaxBodyBytes,
		StreamRequestBody:             true,
		DisablePreParseMultipartForm:  true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{s.log},
	}
	return s, nil
}

type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) { f.l.Debug(fmt.Sprintf(format, args...)) }

// Routes returns the registered operations.
func (s *Server) Routes() []Route { return s.routes }

// Handler returns the root handler (for tests that serve it themselves).
func (s *Server) Handler() fasthttp.RequestHandler { return s.srv.Handler }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.ready.Store(true)
	if s.d.Meta != nil {
		go s.housekeeping(s.stop)
	}
	return s.srv.Serve(ln)
}

// Shutdown stops accepting and waits for open requests to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.stopOnce.Do(func() { close(s.stop) })
	return s.srv.ShutdownWithContext(ctx)
}

// handle registers a route that needs role (empty: no key needed).
func (s *Server) handle(r *router.Router, method, path, role string, h fasthttp.RequestHandler) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Role: role})
	if role != "" {
		h = s.afterSettled(s.authorize(role, h))
	}
	r.Handle(method, path, h)
}

// settleWait bounds how long a request waits for metadata hooks; past it the request is served
// from what the node has (a hook stuck for that long is a bug the logs show, not a reason to
// stop answering).
const settleWait = 5 * time.Second

// afterSettled serves a metadata request only once the node's compiled views reflect every
// metadata write it has stored. Without it a record that just arrived from another node could
// be read before the catalog rebuild it triggers has finished: a client would see a journey
// "live" on a node whose engine does not run it yet, and events it sent then would enter
// nothing. Ingest does not wait (it never reads metadata records, only the compiled views).
func (s *Server) afterSettled(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	if s.d.Meta == nil {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) {
		if !s.d.Meta.Settled(settleWait) {
			s.log.Warn("served a request before the metadata hooks settled", "path", string(ctx.Path()), "waited", settleWait)
		}
		h(ctx)
	}
}

func (s *Server) register(r *router.Router) {
	s.handle(r, "GET", "/healthz", "", func(ctx *fasthttp.RequestCtx) { writeJSON(ctx, 200, map[string]any{"status": "ok"}) })
	s.handle(r, "GET", "/readyz", "", s.readyz)
	s.handle(r, "GET", "/metrics", "", s.metrics.handler())
	s.handle(r, "GET", "/v1/openapi.json", "", func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(openAPIDoc)
	})

	s.handle(r, "POST", "/v1/events", "", cors(s.ingest)) // auth per event type: see ingest
	s.handle(r, "OPTIONS", "/v1/events", "", cors(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(204) }))
	s.handle(r, "GET", "/v1/events/recent", model.RoleViewer, s.recentEvents)

	s.handle(r, "POST", "/v1/sessions", "", s.signIn)
	s.handle(r, "DELETE", "/v1/sessions/current", "", s.signOut)
	s.handle(r, "GET", "/v1/me", model.RoleViewer, s.me)
	s.handle(r, "GET", "/v1/users", model.RoleAdmin, s.listUsers)
	s.handle(r, "POST", "/v1/users", model.RoleAdmin, s.createUser)
	s.handle(r, "PUT", "/v1/users/{id}", model.RoleAdmin, s.updateUser)
	s.handle(r, "DELETE", "/v1/users/{id}", model.RoleAdmin, s.deleteUser)
	s.handle(r, "POST", "/v1/expressions/check", model.RoleViewer, s.checkExpression)
	s.handle(r, "POST", "/v1/messages/preview", model.RoleEditor, s.previewMessage)
	s.handle(r, "GET", "/v1/settings", model.RoleViewer, s.getSettings)
	s.handle(r, "PUT", "/v1/settings", model.RoleAdmin, s.putSettings)
	s.registerMessageEndpoints(r)

	s.handle(r, "GET", "/v1/keys", model.RoleAdmin, s.listKeys)
	s.handle(r, "POST", "/v1/keys", model.RoleAdmin, s.createKey)
	s.handle(r, "DELETE", "/v1/keys/{id}", model.RoleAdmin, s.deleteKey)

	s.handle(r, "GET", "/v1/event-definitions", model.RoleViewer, s.listEventDefs)
	s.handle(r, "POST", "/v1/event-definitions", model.RoleEditor, s.createEventDef)
	s.handle(r, "GET", "/v1/event-definitions/{name}", model.RoleViewer, s.getEventDef)
	s.handle(r, "PUT", "/v1/event-definitions/{name}", model.RoleEditor, s.updateEventDef)
	s.handle(r, "DELETE", "/v1/event-definitions/{name}", model.RoleEditor, s.deleteEventDef)

	s.handle(r, "GET", "/v1/actions", model.RoleViewer, s.listActions)
	s.handle(r, "POST", "/v1/actions", model.RoleEditor, s.createAction)
	s.handle(r, "GET", "/v1/actions/{id}", model.RoleViewer, s.getAction)
	s.handle(r, "PUT", "/v1/actions/{id}", model.RoleEditor, s.updateAction)
	s.handle(r, "DELETE", "/v1/actions/{id}", model.RoleEditor, s.deleteAction)
	s.handle(r, "POST", "/v1/actions/{id}/test", model.RoleEditor, s.testAction)
	s.handle(r, "GET", "/v1/dead-letters", model.RoleViewer, s.deadLetters)
	s.handle(r, "POST", "/v1/dead-letters/{id}/retry", model.RoleEditor, s.retryDeadLetter)
	s.handle(r, "DELETE", "/v1/dead-letters/{id}", model.RoleEditor, s.deleteDeadLetter)

	s.handle(r, "GET", "/v1/plugins", model.RoleViewer, s.listPlugins)
	s.handle(r, "POST", "/v1/plugins", model.RoleEditor, s.uploadPlugin)
	s.handle(r, "GET", "/v1/plugins/{name}", model.RoleViewer, s.getPlugin)
	s.handle(r, "PUT", "/v1/plugins/{name}", model.RoleEditor, s.updatePlugin)
	s.handle(r, "DELETE", "/v1/plugins/{name}", model.RoleEditor, s.deletePlugin)
	s.handle(r, "GET", "/v1/plugins/{name}/versions/{version}/module", model.RoleEditor, s.getPluginModule)
	s.handle(r, "POST", "/v1/plugins/{name}/versions/{version}/run", model.RoleEditor, s.runPlugin)

	s.handle(r, "GET", "/v1/data-sources", model.RoleViewer, s.listDataSources)
	s.handle(r, "POST", "/v1/data-sources", model.RoleEditor, s.createDataSource)
	s.handle(r, "GET", "/v1/data-sources/{id}", model.RoleViewer, s.getDataSource)
	s.handle(r, "PUT", "/v1/data-sources/{id}", model.RoleEditor, s.updateDataSource)
	s.handle(r, "DELETE", "/v1/data-sources/{id}", model.RoleEditor, s.deleteDataSource)

	s.handle(r, "GET", "/v1/journeys", model.RoleViewer, s.listJourneys)
	s.handle(r, "POST", "/v1/journeys", model.RoleEditor, s.createJourney)
	s.handle(r, "GET", "/v1/journeys/{id}", model.RoleViewer, s.getJourney)
	s.handle(r, "PUT", "/v1/journeys/{id}", model.RoleEditor, s.updateJourney)
	s.handle(r, "DELETE", "/v1/journeys/{id}", model.RoleEditor, s.deleteJourney)
	s.handle(r, "POST", "/v1/journeys/{id}/validate", model.RoleViewer, s.validateJourney)
	s.handle(r, "POST", "/v1/journeys/{id}/publish", model.RoleEditor, s.publishJourney)
	s.handle(r, "POST", "/v1/journeys/{id}/draft", model.RoleEditor, s.draftFromLive)
	s.handle(r, "POST", "/v1/journeys/{id}/stop", model.RoleEditor, s.stopJourney)
	s.handle(r, "GET", "/v1/journeys/{id}/versions", model.RoleViewer, s.listVersions)
	s.handle(r, "GET", "/v1/journeys/{id}/versions/{version}", model.RoleViewer, s.getVersion)
	s.handle(r, "GET", "/v1/journeys/{id}/report", model.RoleViewer, s.journeyReport)

	s.handle(r, "POST", "/v1/profiles/import", model.RoleEditor, s.importProfiles)
	s.handle(r, "GET", "/v1/profiles/{id}", model.RoleViewer, s.getProfile)
	s.handle(r, "PUT", "/v1/profiles/{id}", model.RoleEditor, s.upsertProfile)
	s.handle(r, "DELETE", "/v1/profiles/{id}", model.RoleEditor, s.deleteProfile)
	s.handle(r, "GET", "/v1/profiles/{id}/trace", model.RoleViewer, s.profileTrace)

	s.handle(r, "GET", "/v1/cluster", model.RoleViewer, s.clusterStatus)
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if !s.ready.Load() {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "the node is starting or shutting down"))
		return
	}
	writeJSON(ctx, 200, map[string]any{"status": "ready", "partitions": s.d.Engine.Partitions()})
}

type ctxKey int

const (
	keyCtx ctxKey = iota
	bodyCtx
	userCtx    // *users.User of a session-authenticated request
	sessionCtx // the session token of a session-authenticated request
)

// bearer returns the presented API key ("" when none).
func bearer(ctx *fasthttp.RequestCtx) string {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(string(h[:len(p)]), p) {
		return strings.TrimSpace(string(h[len(p):]))
	}
	return ""
}

func (s *Server) authorize(role string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		secret := bearer(ctx)
		if secret == "" {
			// People: the designer's session cookie (and the CSRF header on writes).
			if u, ok := s.sessionUser(ctx); ok {
				if !auth.Allows(u.Role, role) {
					writeErr(ctx, apierr.New(403, apierr.Forbidden, "", "this operation needs the %s role; you are signed in as %s", role, u.Role))
					return
				}
				h(ctx)
			}
			return
		}
		key, ok := s.d.Keys.Lookup(secret)
		if !ok {
			writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "Authorization", "unknown API key; create one with POST /v1/keys as an admin"))
			return
		}
		if !auth.Allows(key.Role, role) {
			writeErr(ctx, apierr.New(403, apierr.Forbidden, "", "this operation needs the %s role; your key has %s", role, key.Role))
			return
		}
		ctx.SetUserValue(keyCtx, key)
		h(ctx)
	}
}

// --- JSON helpers ---------------------------------------------------------------------------

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := sonic.Marshal(v)
	if err != nil {
		writeErr(ctx, apierr.As(err))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func writeErr(ctx *fasthttp.RequestCtx, err error) {
	var list apierr.List
	if errors.As(err, &list) && len(list) > 0 {
		status := list[0].Status
		if status == 0 {
			status = 400
		}
		b, _ := json.Marshal(map[string]any{"errors": list})
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBody(b)
		return
	}
	e := apierr.As(err)
	if e.Status == 0 {
		e.Status = 400
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// readBody reads the whole request body up to the body limit.
func (s *Server) readBody(ctx *fasthttp.RequestCtx) ([]byte, error) {
	if b, ok := ctx.UserValue(bodyCtx).([]byte); ok {
		return b, nil
	}
	b, err := s.readBodyOnce(ctx)
	if err == nil {
		ctx.SetUserValue(bodyCtx, b)
	}
	return b, err
}

func (s *Server) readBodyOnce(ctx *fasthttp.RequestCtx) ([]byte, error) {
	limit := s.cfg.Limits.MaxBodyBytes
	if cl := ctx.Request.Header.ContentLength(); cl > limit {
		return nil, apierr.New(413, apierr.BodyTooLarge, "", "the body is %d bytes; the limit is %d (send NDJSON for large volumes)", cl, limit)
	}
	var buf bytes.Buffer
	if r := ctx.RequestBodyStream(); r != nil {
		n, err := buf.ReadFrom(limitReader{r, int64(limit) + 1})
		if err != nil {
			return nil, apierr.New(400, apierr.InvalidRequest, "", "could not read the body: %v", err)
		}
		if n > int64(limit) {
			return nil, apierr.New(413, apierr.BodyTooLarge, "", "the body is larger than the limit of %d bytes (send NDJSON for large volumes)", limit)
		}
		return buf.Bytes(), nil
	}
	b := ctx.PostBody()
	if len(b) > limit {
		return nil, apierr.New(413, apierr.BodyTooLarge, "", "the body is larger than the limit of %d bytes", limit)
	}
	return b, nil
}

// decodeBody decodes a JSON admin request body strictly: unknown fields and wrong types are
// errors naming the field.
func (s *Server) decodeBody(ctx *fasthttp.RequestCtx, v any) error {
	b, err := s.readBody(ctx)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return apierr.New(400, apierr.InvalidJSON, "", "the request body is empty; send a JSON object")
	}
	return decodeStrict(b, v)
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Type == reflect.TypeOf(model.Duration(0)):
			return apierr.New(400, apierr.InvalidRequest, te.Field, "%s is not a duration: write a string like \"30s\", \"15m\", \"2h\" or \"7d\"", te.Value)
		case errors.As(err, &te):
			return apierr.New(400, apierr.InvalidRequest, te.Field, "must be of type %s, not %s", jsonTypeName(te.Type), te.Value)
		case errors.As(err, &se):
			return apierr.New(400, apierr.InvalidJSON, "", "malformed JSON at byte %d: %v", se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return apierr.New(400, apierr.InvalidRequest, f, "unknown field %q; check the spelling against /v1/openapi.json", f)
		default:
			return apierr.New(400, apierr.InvalidJSON, "", "could not decode the body: %v", err)
		}
	}
	if dec.More() {
		return apierr.New(400, apierr.InvalidJSON, "", "the body holds more than one JSON value")
	}
	return nil
}

type limitReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (l limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	return l.r.Read(p)
}

func param(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	// The router matches the path as sent (PathOriginal), so a parameter arrives still
	// percent-encoded ("email%3Aada%40example.com"); decode it once here.
	if strings.IndexByte(v, '%') >= 0 {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// listParams reads ?limit=&cursor=.
func listParams(ctx *fasthttp.RequestCtx) (int, string, error) {
	limit := 100
	if l := ctx.QueryArgs().Peek("limit"); len(l) > 0 {
		n, err := fasthttp.ParseUint(l)
		if err != nil || n < 1 || n > 1000 {
			return 0, "", apierr.New(400, apierr.InvalidRequest, "limit", "limit must be a number from 1 to 1000")
		}
		limit = n
	}
	return limit, string(ctx.QueryArgs().Peek("cursor")), nil
}

func notFound(what, id string) error {
	return apierr.New(404, apierr.NotFound, "", "%s %q does not exist", what, id)
}

func metaErr(err error, what, id string) error {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return notFound(what, id)
	case errors.Is(err, meta.ErrConflict):
		return apierr.New(409, apierr.VersionConflict, "revision", "%s %q was changed by someone else; reload it and apply your change again", what, id)
	}
	return err
}

// jsonTypeName names a Go type the way a JSON user thinks of it.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

// cors lets web pages on any origin send events (the browser client): ingest is the one
// endpoint meant for them, public event types need no key, and a key, when a page sends one, is
// checked like any other. Preflights are answered by the OPTIONS route.
func cors(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		hd := &ctx.Response.Header
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
		hd.Set("Access-Control-Max-Age", "600")
		h(ctx)
	}
}
