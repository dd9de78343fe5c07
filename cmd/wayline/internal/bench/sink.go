package bench

import (
	"net"
	"strconv"
	"time"

	"github.com/bytedance/sonic"
	"github.com/valyala/fasthttp"
)

// sink is the local action endpoint the bench journeys call. Each payload carries the time the
// event was sent (sentAt) and, for waits, when it was due (dueAt), both in Unix nanoseconds; the
// sink records event→action latency and timer lag.
type sink struct {
	url    string
	srv    *fasthttp.Server
	ln     net.Listener
	action *recorder // event sent → action received
	lag    *recorder // timer due → action received
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{url: "http://" + ln.Addr().String(), ln: ln, action: newRecorder(200_000), lag: newRecorder(200_000)}
	s.srv = &fasthttp.Server{Handler: s.handle, Name: "bench-sink"}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *sink) handle(ctx *fasthttp.RequestCtx) {
	now := time.Now()
	var p struct {
		SentAt string `json:"sentAt"`
		DueAt  string `json:"dueAt"`
	}
	if sonic.Unmarshal(ctx.PostBody(), &p) == nil {
		if ns, err := strconv.ParseInt(p.SentAt, 10, 64); err == nil && ns > 0 {
			s.action.add(now.Sub(time.Unix(0, ns)))
		}
		if ns, err := strconv.ParseInt(p.DueAt, 10, 64); err == nil && ns > 0 {
			s.lag.add(now.Sub(time.Unix(0, ns)))
		}
	}
	ctx.SetStatusCode(200)
	ctx.SetBodyString(`{"ok":true}`)
}

func (s *sink) close() { s.srv.Shutdown() }

// ceilingServer is the HTTP ceiling: a bare fasthttp server that answers the ingest API's
// shapes without doing anything — 202 for one event, one NDJSON line per input line.
type ceilingServer struct {
	url string
	srv *fasthttp.Server
}

func startCeilingServer() (*ceilingServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &ceilingServer{url: "http://" + ln.Addr().String()}
	c.srv = &fasthttp.Server{Name: "bench-ceiling", Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/readyz" {
			ctx.SetStatusCode(200)
			return
		}
		body := ctx.PostBody()
		if string(ctx.Request.Header.ContentType()) == "application/x-ndjson" {
			out := make([]byte, 0, 64*64)
			line := 0
			for i := 0; i < len(body); i++ {
				if body[i] == '\n' {
					line++
					out = append(out, `{"line":`...)
					out = strconv.AppendInt(out, int64(line), 10)
					out = append(out, `,"status":"accepted"}`+"\n"...)
				}
			}
			out = append(out, `{"summary":{"accepted":`...)
			out = strconv.AppendInt(out, int64(line), 10)
			out = append(out, `}}`+"\n"...)
			ctx.SetContentType("application/x-ndjson")
			ctx.SetBody(out)
			return
		}
		ctx.SetStatusCode(202)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"id":"x","status":"accepted"}`)
	}}
	go c.srv.Serve(ln)
	return c, nil
}

func (c *ceilingServer) close() { c.srv.Shutdown() }
