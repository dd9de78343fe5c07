package api

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
)

// MessageEndpoints serves what recipients and providers call back on: the open pixel, click
// redirects, unsubscribe links and delivery callbacks (runtime/channels.Handlers). They carry
// no API key: each request is authenticated by the signed token in its query. Handlers are
// called concurrently.
type MessageEndpoints interface {
	Open(ctx *fasthttp.RequestCtx)
	Click(ctx *fasthttp.RequestCtx)
	Unsubscribe(ctx *fasthttp.RequestCtx)
	SMSStatus(ctx *fasthttp.RequestCtx)
	PushStatus(ctx *fasthttp.RequestCtx)
}

// registerMessageEndpoints registers the public message endpoints as ordinary routes (role ""),
// so they are in the route list and the OpenAPI drift test.
func (s *Server) registerMessageEndpoints(r *router.Router) {
	m := s.d.Messages
	h := func(f func(MessageEndpoints) fasthttp.RequestHandler) fasthttp.RequestHandler {
		if m == nil {
			return func(ctx *fasthttp.RequestCtx) {
				writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "messages are not enabled on this node"))
			}
		}
		return f(m)
	}
	open := h(func(m MessageEndpoints) fasthttp.RequestHandler { return m.Open })
	click := h(func(m MessageEndpoints) fasthttp.RequestHandler { return m.Click })
	unsub := h(func(m MessageEndpoints) fasthttp.RequestHandler { return m.Unsubscribe })
	s.handle(r, "GET", "/v1/track/open", "", open)
	s.handle(r, "GET", "/v1/track/click", "", click)
	s.handle(r, "GET", "/v1/unsubscribe", "", unsub)
	s.handle(r, "POST", "/v1/unsubscribe", "", unsub) // RFC 8058 one-click
	s.handle(r, "POST", "/v1/callbacks/sms", "", h(func(m MessageEndpoints) fasthttp.RequestHandler { return m.SMSStatus }))
	s.handle(r, "POST", "/v1/callbacks/push", "", h(func(m MessageEndpoints) fasthttp.RequestHandler { return m.PushStatus }))
}
