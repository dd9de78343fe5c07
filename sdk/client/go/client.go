package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends events to Wayline nodes. Make one with New, share it between goroutines, and
// Close it when done.
type Client struct {
	cfg   Config
	http  *http.Client
	nodes *nodes
	stats counters

	// ctx ends when Close gives up waiting (or has finished): in-flight streamed batches stop.
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup // maintain and the batcher
	sends  sync.WaitGroup // streamed batches in flight

	q         *queue
	slots     chan struct{} // one per streamed batch in flight
	flushNow  chan struct{} // Flush asks the batcher not to linger
	stop      chan struct{} // closed by Close: the batcher ends
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Stats are the client's counters since New. Each event given to Send, SendBatch or Enqueue
// ends in exactly one of Acked, Rejected, Failed and Dropped.
type Stats struct {
	Enqueued   int64 // events accepted by Enqueue
	Sent       int64 // events sent at least once
	Acked      int64 // events the node stored or already had (accepted, duplicate, not_qualified)
	Duplicates int64 // of Acked, those the node already had
	Retried    int64 // re-sends of events, summed over attempts
	Dropped    int64 // events dropped from a full queue (Overflow DropOldest)
	Rejected   int64 // events refused for good (bad input, bad key)
	Failed     int64 // events not stored after every attempt, or cut off by Close
}

type counters struct {
	enqueued, sent, acked, duplicates, retried, dropped, rejected, failed atomic.Int64
}

// New makes a client. With several URLs it measures each node's latency first (at most two
// seconds), so that the first request already goes to the fastest.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	urls := make([]string, 0, len(cfg.URLs))
	for _, u := range cfg.URLs {
		nu, _ := normaliseURL(u) // checked by Validate
		urls = append(urls, nu)
	}
	cfg.URLs = urls
	dial := &net.Dialer{Timeout: min(cfg.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dial.DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: max(64, 2*cfg.Concurrency),
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	c := &Client{
		cfg:      cfg,
		http:     &http.Client{Transport: tr},
		nodes:    newNodes(urls),
		q:        newQueue(cfg.QueueSize),
		slots:    make(chan struct{}, cfg.Concurrency),
		flushNow: make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if len(urls) > 1 {
		c.probe(c.ctx, c.nodes.all(false))
	}
	c.bg.Add(2)
	go c.maintain()
	go c.batchLoop()
	return c, nil
}

// Nodes returns the nodes as the client sees them now.
func (c *Client) Nodes() []NodeInfo { return c.nodes.info() }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{Enqueued: s.enqueued.Load(), Sent: s.sent.Load(), Acked: s.acked.Load(), Duplicates: s.duplicates.Load(),
		Retried: s.retried.Load(), Dropped: s.dropped.Load(), Rejected: s.rejected.Load(), Failed: s.failed.Load()}
}

// item is one event on its way.
type item struct {
	ev    Event
	line  []byte // the encoded JSON object
	seq   int64  // Enqueue order, for Flush
	index int    // SendBatch: position in the caller's slice
	res   Result
}

func newItem(ev Event) (*item, error) {
	if ev.ID == "" {
		ev.ID = NewID()
	}
	line, err := appendEvent(nil, &ev)
	if err != nil {
		return nil, err
	}
	return &item{ev: ev, line: line, index: -1}, nil
}

// Send sends one event in its own request and waits for the node's answer, retrying as the
// package comment says. The error is nil when the event was acknowledged; otherwise it is an
// *APIError (rejected or failed; also in the Result) or the context's error.
func (c *Client) Send(ctx context.Context, ev Event) (Result, error) {
	if c.closed.Load() {
		return Result{}, ErrClosed
	}
	it, err := newItem(ev)
	if err != nil {
		return Result{}, err
	}
	c.deliver(ctx, []*item{it}, formatSingle)
	return it.res, resultErr(ctx, it.res)
}

// SendBatch sends events as JSON arrays of at most BatchSize events and BatchBytes bytes each,
// one request after the other, and waits for every answer. Only events that may succeed later
// are retried. Results are in the order of evs; the error is nil when every event was
// acknowledged, a *BatchError when some were rejected or failed, or the context's error.
func (c *Client) SendBatch(ctx context.Context, evs []Event) ([]Result, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	items := make([]*item, len(evs))
	for i, ev := range evs {
		it, err := newItem(ev)
		if err != nil {
			return nil, err
		}
		it.index = i
		items[i] = it
	}
	for start := 0; start < len(items); {
		end, size := start, 0
		for end < len(items) && end-start < c.cfg.BatchSize && (end == start || size+len(items[end].line)+1 <= c.cfg.BatchBytes) {
			size += len(items[end].line) + 1
			end++
		}
		c.deliver(ctx, items[start:end], formatArray)
		start = end
	}
	out := make([]Result, len(items))
	var be BatchError
	for i, it := range items {
		out[i] = it.res
		switch it.res.Status {
		case StatusRejected:
			be.Rejected++
		case StatusFailed:
			be.Failed++
		default:
			continue
		}
		if be.First == nil {
			be.First = it.res.Err
		}
	}
	if err := ctx.Err(); err != nil && be.Failed > 0 {
		return out, err
	}
	if be.Rejected+be.Failed > 0 {
		return out, &be
	}
	return out, nil
}

func resultErr(ctx context.Context, r Result) error {
	if r.Acked() {
		return nil
	}
	if err := ctx.Err(); err != nil && r.Status == StatusFailed {
		return err
	}
	if r.Err != nil {
		return r.Err
	}
	return errors.New("client: event not acknowledged: " + r.Status)
}

// deliver sends items until each has a final result in it.res, retrying what may succeed later.
func (c *Client) deliver(ctx context.Context, items []*item, f format) {
	c.deliverFrom(ctx, items, f, true)
}

// deliverFrom is deliver; fresh says the items have not been sent before (for Stats).
func (c *Client) deliverFrom(ctx context.Context, items []*item, f format, fresh bool) {
	pending := items
	var lastErr *APIError
	for attempt := 1; ; attempt++ {
		if attempt == 1 && fresh {
			c.stats.sent.Add(int64(len(pending)))
		} else {
			c.stats.retried.Add(int64(len(pending)))
		}
		e := c.nodes.pick()
		out := c.attempt(ctx, e, pending, f)
		if ctx.Err() != nil && out.whole != nil {
			c.finishAll(pending, StatusFailed, ctxError(ctx, c))
			return
		}
		var retry []*item
		switch {
		case out.whole != nil && out.tooLarge && len(pending) > 1 && f == formatArray:
			// The node's batch limit is lower than ours: halve the request until it fits.
			half := len(pending) / 2
			c.deliverFrom(ctx, pending[:half], f, false)
			c.deliverFrom(ctx, pending[half:], f, false)
			return
		case out.whole != nil && out.whole.Retryable():
			retry, lastErr = pending, out.whole
		case out.whole != nil:
			c.finishAll(pending, StatusRejected, out.whole)
			return
		default:
			for i, it := range pending {
				a := &out.answers[i]
				switch {
				case a.Status == StatusAccepted || a.Status == StatusDuplicate || a.Status == StatusNotQualified:
					c.finish(it, Result{ID: it.ev.ID, Status: a.Status})
				case a.Status == StatusRejected && !a.err.Retryable():
					c.finish(it, Result{ID: it.ev.ID, Status: StatusRejected, Err: a.err})
				default: // failed, rate limited, or no answer for it
					retry = append(retry, it)
					if a.err != nil {
						lastErr = a.err
					} else if lastErr == nil {
						lastErr = &APIError{Code: "unavailable", Message: "the node's answer ended before this event's result"}
					}
				}
			}
		}
		if out.nodeDown {
			c.nodes.down(e)
		} else if out.whole == nil {
			c.nodes.up(e, 0)
		}
		if len(retry) == 0 {
			return
		}
		if attempt >= c.cfg.MaxAttempts {
			msg := *lastErr
			msg.Message += " (gave up after " + strconv.Itoa(attempt) + " attempts)"
			c.finishAll(retry, StatusFailed, &msg)
			return
		}
		// After a node failure, go to another healthy node at once; otherwise back off.
		if !(out.nodeDown && c.nodes.anotherHealthy(e)) {
			if !sleep(ctx, c.backoff(attempt)) {
				c.finishAll(retry, StatusFailed, ctxError(ctx, c))
				return
			}
		}
		pending = retry
	}
}

// backoff returns the wait before attempt+1: full jitter over an exponential ceiling.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.cfg.Backoff
	for i := 1; i < attempt && ceil < c.cfg.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.cfg.MaxBackoff)
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// ctxError says why an event was given up when its context ended.
func ctxError(ctx context.Context, c *Client) *APIError {
	switch {
	case ctx == c.ctx:
		return &APIError{Code: "closed", Message: "the client was closed before the node acknowledged the event; give Close more time to flush"}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &APIError{Code: "timeout", Message: "the context's deadline passed before the node acknowledged the event"}
	default:
		return &APIError{Code: "canceled", Message: "the context was canceled before the node acknowledged the event"}
	}
}

func (c *Client) finishAll(items []*item, status string, err *APIError) {
	for _, it := range items {
		c.finish(it, Result{ID: it.ev.ID, Status: status, Err: err})
	}
}

// finish records an event's final result.
func (c *Client) finish(it *item, r Result) {
	if r.Err != nil && it.index >= 0 && strings.HasPrefix(r.Err.Field, "[") {
		r.Err = reindex(r.Err, it.index)
	}
	it.res = r
	switch r.Status {
	case StatusAccepted, StatusNotQualified:
		c.stats.acked.Add(1)
	case StatusDuplicate:
		c.stats.acked.Add(1)
		c.stats.duplicates.Add(1)
	case StatusRejected:
		c.stats.rejected.Add(1)
	case StatusFailed:
		c.stats.failed.Add(1)
	}
}

// reindex rewrites an error field's leading "[k]" (the index in one request) to the event's
// index in the caller's slice.
func reindex(e *APIError, index int) *APIError {
	end := strings.IndexByte(e.Field, ']')
	if end < 0 {
		return e
	}
	if _, err := strconv.Atoi(e.Field[1:end]); err != nil {
		return e
	}
	c := *e
	c.Field = "[" + strconv.Itoa(index) + "]" + e.Field[end+1:]
	return &c
}
