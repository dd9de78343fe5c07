package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/auth"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/ingest"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/users"
)

// Per-event statuses in ingest answers.
const (
	statusAccepted     = "accepted"
	statusDuplicate    = "duplicate"
	statusNotQualified = "not_qualified"
	statusRejected     = "rejected"
	statusFailed       = "failed" // valid but not committed: retry it
)

// itemResult is the answer for one event of a batch or NDJSON line.
type itemResult struct {
	Index  *int          `json:"index,omitempty"`
	Line   int           `json:"line,omitempty"`
	ID     string        `json:"id,omitempty"`
	Status string        `json:"status"`
	Error  *apierr.Error `json:"error,omitempty"`
	Errors apierr.List   `json:"errors,omitempty"`
}

// submitTimeout bounds how long an ingest request waits for its commit.
const submitTimeout = 30 * time.Second

func (s *Server) ingest(ctx *fasthttp.RequestCtx) {
	var key *model.APIKey
	if secret := bearer(ctx); secret != "" {
		k, ok := s.d.Keys.Lookup(secret)
		if !ok {
			writeErr(ctx, apierr.New(401, apierr.Unauthenticated, "Authorization", "unknown API key"))
			return
		}
		if !auth.Allows(k.Role, model.RoleIngest) {
			writeErr(ctx, apierr.New(403, apierr.Forbidden, "", "sending events needs the ingest, editor or admin role; your key has %s", k.Role))
			return
		}
		key = k
	} else if len(ctx.Request.Header.Cookie(users.SessionCookie)) > 0 {
		// A person signed in to the designer (test mode sends test events from the browser):
		// the session's CSRF token is checked, and viewers may not send.
		u, ok := s.sessionUser(ctx)
		if !ok {
			return
		}
		if !auth.Allows(u.Role, model.RoleIngest) {
			writeErr(ctx, apierr.New(403, apierr.Forbidden, "", "sending events needs the editor or admin role; you are %s", u.Role))
			return
		}
		key = &model.APIKey{ID: "user:" + u.ID, Name: u.Username, Role: u.Role}
	}
	ct := string(ctx.Request.Header.ContentType())
	switch {
	case strings.HasPrefix(ct, "application/x-ndjson"), strings.HasPrefix(ct, "application/jsonl"):
		s.ingestNDJSON(ctx, key)
		return
	case ct == "" || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/plain") ||
		strings.HasPrefix(ct, "application/x-www-form-urlencoded"): // curl -d's default

	default:
		writeErr(ctx, apierr.New(415, apierr.UnsupportedMedia, "Content-Type", "send application/json (one event or an array) or application/x-ndjson, not %q", ct))
		return
	}
	body, err := s.readBody(ctx)
	if err != nil {
		s.metrics.rejected(1)
		writeErr(ctx, err)
		return
	}
	raws, itemErrs, berr := ingest.DecodeBatch(body, s.cfg.Limits)
	if berr != nil {
		s.metrics.rejected(1)
		writeErr(ctx, berr)
		return
	}
	t := bytes.TrimSpace(body)
	isArray := len(t) > 0 && t[0] == '['
	results := s.process(ctx.RemoteIP().String(), raws, itemErrs, key, isArray)
	if !isArray && len(results) == 1 {
		r := results[0]
		switch r.Status {
		case statusRejected:
			if r.Error != nil {
				writeErr(ctx, r.Error)
			} else {
				writeErr(ctx, r.Errors)
			}
		case statusFailed:
			writeErr(ctx, r.Error)
		default:
			writeJSON(ctx, 202, map[string]any{"id": r.ID, "status": r.Status})
		}
		return
	}
	counts := map[string]int{}
	for i := range results {
		idx := i
		results[i].Index = &idx
		counts[results[i].Status]++
	}
	status := 202
	if counts[statusRejected]+counts[statusFailed] > 0 {
		status = 207
	}
	writeJSON(ctx, status, map[string]any{"accepted": counts[statusAccepted] + counts[statusDuplicate] + counts[statusNotQualified],
		"rejected": counts[statusRejected], "failed": counts[statusFailed], "results": results})
}

// ingestNDJSON answers a stream of newline-delimited events line by line while it is still
// arriving: the response body is written by a stream writer that reads the request body in
// chunks of at most MaxBatchEvents lines, commits each chunk, and flushes one JSON line per input
// line, then a summary line. Memory stays bounded whatever the stream's length.
func (s *Server) ingestNDJSON(ctx *fasthttp.RequestCtx, key *model.APIKey) {
	var r io.Reader = ctx.RequestBodyStream()
	if r == nil {
		r = bytes.NewReader(ctx.PostBody())
	}
	ip := ctx.RemoteIP().String()
	ctx.SetStatusCode(200)
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		s.streamNDJSON(r, w, ip, key)
	})
}

func (s *Server) streamNDJSON(r io.Reader, w *bufio.Writer, ip string, key *model.APIKey) {
	lr := ingest.NewLineReader(r, s.cfg.Limits.MaxLineBytes)
	chunk := make([]ingest.RawEvent, 0, s.cfg.Limits.MaxBatchEvents)
	lines := make([]int, 0, cap(chunk))
	errs := make([]*apierr.Error, 0, cap(chunk))
	total := map[string]int{}
	seen := 0
	var writeErr error
	flush := func() {
		if len(chunk) == 0 {
			return
		}
		res := s.process(ip, chunk, errs, key, false)
		for i := range res {
			res[i].Line = lines[i]
			total[res[i].Status]++
			b, _ := sonic.Marshal(res[i])
			w.Write(b)
			w.WriteByte('\n')
		}
		if err := w.Flush(); err != nil && writeErr == nil {
			writeErr = err // the client went away; its events are committed all the same
		}
		chunk, lines, errs = chunk[:0], lines[:0], errs[:0]
	}
	var fatal error
	for writeErr == nil {
		line, n, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		seen++
		if seen > s.cfg.NDJSONMaxLines {
			fatal = apierr.New(413, apierr.TooManyEvents, "", "more than %d lines in one request; split the stream", s.cfg.NDJSONMaxLines)
			break
		}
		var ae *apierr.Error
		if err != nil {
			if !errors.As(err, &ae) {
				fatal = apierr.New(400, apierr.InvalidRequest, "", "could not read the body after line %d: %v", seen-1, err)
				break
			}
			chunk = append(chunk, ingest.RawEvent{})
		} else {
			ev, derr := ingest.DecodeEvent(line, s.cfg.Limits)
			chunk = append(chunk, ev)
			ae = derr
		}
		lines = append(lines, n)
		errs = append(errs, ae)
		if len(chunk) == cap(chunk) {
			flush()
		}
	}
	flush()
	summary := map[string]any{"accepted": total[statusAccepted] + total[statusDuplicate] + total[statusNotQualified],
		"rejected": total[statusRejected], "failed": total[statusFailed], "lines": seen}
	if fatal != nil {
		summary["error"] = apierr.As(fatal)
	}
	b, _ := sonic.Marshal(map[string]any{"summary": summary})
	w.Write(b)
	w.WriteByte('\n')
	w.Flush()
}

// process validates, normalises and submits a batch; it returns one result per input. With
// indexFields (a JSON array body), the fields of errors found here get the item's index, as
// those of decoding already have: "[3].data.plan", "[3].type".
func (s *Server) process(ip string, raws []ingest.RawEvent, itemErrs []*apierr.Error, key *model.APIKey, indexFields bool) []itemResult {
	snap := s.d.Catalog.Current()
	now := time.Now().UTC()
	results := make([]itemResult, len(raws))
	envs := make([]*model.Envelope, 0, len(raws))
	qualified := make([]bool, 0, len(raws))
	slots := make([]int, 0, len(raws))
	for i := range raws {
		raw := &raws[i]
		if i < len(itemErrs) && itemErrs[i] != nil {
			results[i] = itemResult{Status: statusRejected, ID: raw.ID, Error: itemErrs[i]}
			s.recent.reject(raw.Type, raw.ID, now, itemErrs[i])
			continue
		}
		t, ok := snap.Events[raw.Type]
		if !ok {
			e := apierr.New(400, apierr.UnknownEventType, "type", "event type %q is not defined; define it under /v1/event-definitions", raw.Type)
			results[i] = itemResult{Status: statusRejected, ID: raw.ID, Error: e}
			if indexFields {
				results[i].Error = ingest.ForItem(i, apierr.List{e})[0]
			}
			s.recent.reject(raw.Type, raw.ID, now, e)
			continue
		}
		if key == nil {
			if !t.Def.Public {
				e := apierr.New(401, apierr.Unauthenticated, "Authorization", "event type %q is not public; send an API key as \"Authorization: Bearer KEY\"", raw.Type)
				results[i] = itemResult{Status: statusRejected, ID: raw.ID, Error: e}
				s.recent.reject(raw.Type, raw.ID, now, e)
				continue
			}
			if !s.limiter.allow(ip, now) {
				e := apierr.New(429, apierr.RateLimited, "", "too many public events from %s; slow down or use an API key", ip)
				results[i] = itemResult{Status: statusRejected, ID: raw.ID, Error: e}
				s.recent.reject(raw.Type, raw.ID, now, e)
				continue
			}
		}
		env, errs := ingest.Normalise(*raw, t.Def, t.Schema, now)
		if len(errs) > 0 {
			s.recent.reject(raw.Type, raw.ID, now, errs[0])
			if indexFields {
				errs = ingest.ForItem(i, errs)
			}
			results[i] = itemResult{Status: statusRejected, ID: raw.ID}
			if len(errs) == 1 {
				results[i].Error = errs[0]
			} else {
				results[i].Errors = errs
			}
			continue
		}
		results[i].ID = env.ID
		envs = append(envs, &env)
		qualified = append(qualified, qualifies(t, &env, now))
		slots = append(slots, i)
	}
	s.metrics.rejected(len(raws) - len(envs))
	if len(envs) == 0 {
		return results
	}
	sctx, cancel := context.WithTimeout(context.Background(), submitTimeout)
	defer cancel()
	start := time.Now()
	outcomes := s.d.Router.Submit(sctx, envs, qualified)
	s.metrics.observeCommit(time.Since(start))
	for j, o := range outcomes {
		i := slots[j]
		switch {
		case o.Err != nil:
			results[i].Status = statusFailed
			code := apierr.Unavailable
			msg := "the event was not stored (" + o.Err.Error() + "); send it again"
			if errors.Is(o.Err, engine.ErrStopped) {
				msg = "the node is shutting down; send the event again, to this or another node"
			}
			results[i].Error = &apierr.Error{Status: 503, Code: code, Message: msg}
		case o.Duplicate:
			results[i].Status = statusDuplicate
		case !qualified[j]:
			results[i].Status = statusNotQualified
		default:
			results[i].Status = statusAccepted
		}
		s.recent.accept(envs[j], results[i].Status)
	}
	s.metrics.accepted(results)
	return results
}

// qualifies evaluates an event type's qualifying expression; an evaluation error disqualifies.
func qualifies(t *catalog.EventType, env *model.Envelope, now time.Time) bool {
	if t.Qualifier == nil {
		return true
	}
	ok, err := t.Qualifier.EvalBool(&expr.Activation{Now: now,
		Event:   map[string]any{"id": env.ID, "type": env.Type, "timestamp": env.Timestamp, "identity": env.Identity, "data": env.Data},
		Profile: map[string]any{}, Vars: map[string]any{}, Journey: map[string]any{}})
	return err == nil && ok
}
