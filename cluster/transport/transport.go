// Package transport is the node-to-node port of a Wayline cluster: requests signed with the
// cluster secret (HMAC-SHA256 over the method, path, time, sender and body), a fasthttp server
// that refuses anything unsigned, stale or from a blocked address, a client, and Pipe, which
// coalesces many small calls to one peer into few requests. It carries bytes; what they mean
// belongs to the callers.
//
// Faults lets tests cut what a node sends to chosen peers (by IP); set on both sides, it splits a
// cluster running on 127.0.0.x the way a network partition would, without network namespaces.
// Only sends are cut: on loopback every TCP connection comes from 127.0.0.1 whatever node
// opened it, so a receiver cannot tell its peers apart by address.
package transport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Headers of a signed request.
const (
	HeaderNode = "X-Wayline-Node"
	HeaderTime = "X-Wayline-Time"
	HeaderSig  = "X-Wayline-Signature"
)

// MaxSkew is how far a request's time may be from the receiver's clock. It bounds replays; it
// orders nothing.
const MaxSkew = 60 * time.Second

// Key is the signing key derived from the cluster secret.
type Key []byte

// DeriveKey derives the request-signing key from the cluster secret (a different key from
// gossip encryption's, derived from the same secret).
func DeriveKey(secret string) Key {
	h := sha256.Sum256([]byte("wayline internal requests v1\x00" + secret))
	return h[:]
}

func (k Key) sign(method, path, node string, unixMilli int64, body []byte) string {
	m := hmac.New(sha256.New, k)
	fmt.Fprintf(m, "%s\n%s\n%s\n%d\n", method, path, node, unixMilli)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Faults blocks sends to chosen IPs, for partition tests. The zero value blocks nothing.
type Faults struct {
	mu      sync.RWMutex
	blocked map[string]bool
}

// Block replaces the set of blocked IPs.
func (f *Faults) Block(ips []string) {
	m := map[string]bool{}
	for _, ip := range ips {
		m[ip] = true
	}
	f.mu.Lock()
	f.blocked = m
	f.mu.Unlock()
}

// Blocked reports whether traffic with host (an IP, or HOST:PORT) is cut.
func (f *Faults) Blocked(host string) bool {
	if f == nil {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.blocked[host]
}

// Handler serves one internal path: it gets the sending node's name and the body, and returns
// the answer body, or an error (answered 500 with its text, or the status of a StatusError).
type Handler func(from string, body []byte) ([]byte, error)

// StatusError is an error answered with a chosen status.
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

// Server is the internal port: it refuses requests that are not signed with the cluster key.
type Server struct {
	key      Key
	log      *slog.Logger
	handlers map[string]Handler
	srv      *fasthttp.Server
}

// NewServer returns a server; add handlers before Serve.
func NewServer(key Key, log *slog.Logger) *Server {
	s := &Server{key: key, log: log, handlers: map[string]Handler{}}
	s.srv = &fasthttp.Server{Handler: s.serve, Name: "wayline-internal", MaxRequestBodySize: 1 << 30,
		ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute,
		NoDefaultServerHeader: true, NoDefaultDate: true, NoDefaultContentType: true}
	return s
}

// Handle registers a handler for a path.
func (s *Server) Handle(path string, h Handler) { s.handlers[path] = h }

// Serve serves until the listener closes.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops the server, letting requests in progress finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	h, ok := s.handlers[string(ctx.Path())]
	if !ok || !ctx.IsPost() {
		ctx.Error("no such internal endpoint", fasthttp.StatusNotFound)
		return
	}
	node := string(ctx.Request.Header.Peek(HeaderNode))
	ms, err := strconv.ParseInt(string(ctx.Request.Header.Peek(HeaderTime)), 10, 64)
	if err != nil || node == "" {
		ctx.Error("unsigned request: the internal port answers cluster members only", fasthttp.StatusUnauthorized)
		return
	}
	if d := time.Since(time.UnixMilli(ms)); d > MaxSkew || d < -MaxSkew {
		ctx.Error("request time is too far from this node's clock (check the clocks, or a replayed request)", fasthttp.StatusUnauthorized)
		return
	}
	want := s.key.sign("POST", string(ctx.Path()), node, ms, ctx.PostBody())
	if !hmac.Equal([]byte(want), ctx.Request.Header.Peek(HeaderSig)) {
		ctx.Error("bad signature: is --cluster-secret the same on every node?", fasthttp.StatusUnauthorized)
		return
	}
	out, err := h(node, ctx.PostBody())
	if err != nil {
		status := fasthttp.StatusInternalServerError
		var se *StatusError
		if errors.As(err, &se) {
			status = se.Status
		}
		ctx.Error(err.Error(), status)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(out)
}

// Client sends signed requests to other nodes.
type Client struct {
	key    Key
	node   string
	faults *Faults
	hc     *fasthttp.Client
}

// NewClient returns a client sending as node.
func NewClient(key Key, node string, faults *Faults) *Client {
	return &Client{key: key, node: node, faults: faults, hc: &fasthttp.Client{
		MaxConnsPerHost: 64, MaxIdleConnDuration: time.Minute, MaxResponseBodySize: 1 << 30,
		ReadTimeout: 2 * time.Minute, WriteTimeout: 2 * time.Minute, NoDefaultUserAgentHeader: true,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			return fasthttp.DialTimeout(addr, min(timeout, 2*time.Second))
		},
	}}
}

// ErrBlocked is returned for a peer cut off by Faults.
var ErrBlocked = errors.New("transport: peer blocked by fault injection")

// Post sends body to addr's path and returns the answer body. A non-200 answer is a
// *StatusError carrying the status and the peer's message.
func (c *Client) Post(ctx context.Context, addr, path string, body []byte) ([]byte, error) {
	if c.faults.Blocked(addr) {
		return nil, ErrBlocked
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.Header.SetMethod("POST")
	ms := time.Now().UnixMilli()
	req.Header.Set(HeaderNode, c.node)
	req.Header.Set(HeaderTime, strconv.FormatInt(ms, 10))
	req.Header.Set(HeaderSig, c.key.sign("POST", path, c.node, ms, body))
	req.SetBodyRaw(body)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		return nil, err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return nil, &StatusError{Status: resp.StatusCode(), Msg: string(bytes.TrimSpace(resp.Body()))}
	}
	return append([]byte(nil), resp.Body()...), nil
}
