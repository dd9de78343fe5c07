package channels

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Reactor is where the public endpoints send what recipients do. Implementations hand events
// to the partition that owns the profile; they must be safe for concurrent use.
type Reactor interface {
	// React submits a reaction event (message.opened, …) for ref's profile; id makes a repeat
	// of the same reaction a duplicate.
	React(ctx context.Context, ref Ref, eventType, id string, data map[string]any) error
	// Unsubscribe records that ref's profile no longer consents to ref's channel.
	Unsubscribe(ctx context.Context, ref Ref) error
}

// Handlers serves the public endpoints of messages: open pixel, click redirect, one-click
// unsubscribe and SMS/push delivery callbacks. They need no API key: each request carries a
// signed reference, checked before anything happens.
type Handlers struct {
	Tracker *Tracker
	Reactor Reactor
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// pixel is a 1×1 transparent GIF.
var pixel, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

func eventData(ref Ref) map[string]any {
	return map[string]any{"profileId": ref.Profile, "journeyId": ref.Journey, "version": float64(ref.Version), "nodeId": ref.Node,
		"instanceId": ref.Instance, "actionId": ref.Action, "channel": ref.Kind, "messageKey": ref.Key}
}

// Open answers the pixel and records message.opened (once per message: repeated opens are
// duplicates of the same event id).
func (h *Handlers) Open(ctx *fasthttp.RequestCtx) {
	ref, err := h.Tracker.Parse(string(ctx.QueryArgs().Peek("t")))
	if err == nil {
		_ = h.Reactor.React(ctx, ref, "message.opened", "open-"+ref.Key, eventData(ref))
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("image/gif")
	ctx.SetBody(pixel)
}

// Click checks a click link, records message.clicked and redirects to the signed target only.
func (h *Handlers) Click(ctx *fasthttp.RequestCtx) {
	q := ctx.QueryArgs()
	ref, target, err := h.Tracker.CheckClick(string(q.Peek("t")), string(q.Peek("u")), string(q.Peek("s")))
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("This link is not valid: it was changed or not made by this service.\n")
		return
	}
	d := eventData(ref)
	d["url"] = target
	_ = h.Reactor.React(ctx, ref, "message.clicked", "click-"+ref.Key+"-"+shortHash(target), d)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Redirect(target, fasthttp.StatusFound)
}

// Unsubscribe records the opt-out: POST (RFC 8058 one-click, from the List-Unsubscribe-Post
// header) or GET (a person following the link).
func (h *Handlers) Unsubscribe(ctx *fasthttp.RequestCtx) {
	ref, err := h.Tracker.Parse(string(ctx.QueryArgs().Peek("t")))
	ctx.SetContentType("text/plain; charset=utf-8")
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetBodyString("This unsubscribe link is not valid.\n")
		return
	}
	if err := h.Reactor.Unsubscribe(ctx, ref); err != nil {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString("Your request could not be recorded right now; please try again in a minute.\n")
		return
	}
	ctx.SetBodyString("You are unsubscribed.\n")
}

// SMSStatus takes a Twilio-style status callback (form fields MessageStatus, ErrorCode) and
// records message.delivered or message.failed.
func (h *Handlers) SMSStatus(ctx *fasthttp.RequestCtx) {
	ref, err := h.Tracker.Parse(string(ctx.QueryArgs().Peek("t")))
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	status, code, ok := ParseSMSStatus(ctx.PostBody())
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetBodyString("expected a form with MessageStatus\n")
		return
	}
	h.delivery(ctx, ref, status, code)
}

// PushStatus takes a JSON delivery report {"status":"delivered"|"failed","error":"…"}.
func (h *Handlers) PushStatus(ctx *fasthttp.RequestCtx) {
	ref, err := h.Tracker.Parse(string(ctx.QueryArgs().Peek("t")))
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	status, code, ok := ParsePushStatus(ctx.PostBody())
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.SetBodyString(`expected {"status":"delivered"} or {"status":"failed","error":"..."}` + "\n")
		return
	}
	h.delivery(ctx, ref, status, code)
}

func (h *Handlers) delivery(ctx *fasthttp.RequestCtx, ref Ref, status, code string) {
	var typ string
	switch status {
	case "delivered", "read":
		typ = "message.delivered"
	case "failed", "undelivered":
		typ = "message.failed"
	default: // queued, sent, …: not an outcome yet
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	d := eventData(ref)
	d["status"], d["errorCode"] = status, code
	if err := h.Reactor.React(ctx, ref, typ, typ+"-"+ref.Key, d); err != nil {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable) // the provider retries
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// ParseSMSStatus reads a Twilio-style callback form. Outside bytes: fuzzed.
func ParseSMSStatus(body []byte) (status, code string, ok bool) {
	if len(body) > 64<<10 {
		return "", "", false
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", false
	}
	status = strings.ToLower(strings.TrimSpace(v.Get("MessageStatus")))
	if status == "" || len(status) > 32 {
		return "", "", false
	}
	return status, clip(v.Get("ErrorCode"), 32), true
}

// ParsePushStatus reads a JSON delivery report. Outside bytes: fuzzed.
func ParsePushStatus(body []byte) (status, code string, ok bool) {
	if len(body) > 64<<10 {
		return "", "", false
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := jsonUnmarshal(body, &r); err != nil {
		return "", "", false
	}
	status = strings.ToLower(strings.TrimSpace(r.Status))
	if status == "" || len(status) > 32 {
		return "", "", false
	}
	return status, clip(r.Error, 64), true
}
