package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Pipe coalesces calls to one peer's path: callers hand it items; a few sender goroutines take
// whatever has queued and send it as one request, so under load a thousand forwarded events
// or replicated batches cost a handful of round trips, and when idle an item goes at once.
// Items in one request keep the order they were queued in.
type Pipe struct {
	c        *Client
	addr     string
	path     string
	maxBytes int
	q        chan *pipeCall
	stop     chan struct{}
	drained  chan struct{} // closed once Close has answered every queued call
	wg       sync.WaitGroup
	once     sync.Once
}

type pipeCall struct {
	ctx  context.Context
	item []byte
	res  []byte
	err  error
	done chan struct{}
}

// NewPipe starts a pipe with senders concurrent requests of up to maxBytes each.
func NewPipe(c *Client, addr, path string, senders, maxBytes int) *Pipe {
	p := &Pipe{c: c, addr: addr, path: path, maxBytes: maxBytes, q: make(chan *pipeCall, 4096), stop: make(chan struct{}), drained: make(chan struct{})}
	for i := 0; i < senders; i++ {
		p.wg.Add(1)
		go p.send()
	}
	return p
}

// ErrClosed is returned by a closed pipe.
var ErrClosed = errors.New("transport: pipe closed")

// Do sends one item and waits for its answer.
func (p *Pipe) Do(ctx context.Context, item []byte) ([]byte, error) {
	select {
	case <-p.stop:
		return nil, ErrClosed
	default:
	}
	c := &pipeCall{ctx: ctx, item: item, done: make(chan struct{})}
	select {
	case p.q <- c:
	case <-p.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-p.drained:
		// Closed while queued: the senders are gone; Close answered it or it was queued
		// after Close emptied the queue.
		select {
		case <-c.done:
			return c.res, c.err
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the senders; calls waiting in the queue fail with ErrClosed.
func (p *Pipe) Close() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		for {
			select {
			case c := <-p.q:
				c.err = ErrClosed
				close(c.done)
				continue
			default:
			}
			break
		}
		close(p.drained)
	})
	p.wg.Wait()
}

func (p *Pipe) send() {
	defer p.wg.Done()
	var calls []*pipeCall
	for {
		calls = calls[:0]
		select {
		case c := <-p.q:
			calls = append(calls, c)
		case <-p.stop:
			return
		}
		size := len(calls[0].item)
	more:
		for size < p.maxBytes {
			select {
			case c := <-p.q:
				calls = append(calls, c)
				size += len(c.item)
			default:
				break more
			}
		}
		p.flush(calls)
	}
}

func (p *Pipe) flush(calls []*pipeCall) {
	items := make([][]byte, 0, len(calls))
	live := calls[:0:0]
	ctx := context.Background()
	for _, c := range calls {
		if c.ctx.Err() != nil {
			c.err = c.ctx.Err()
			close(c.done)
			continue
		}
		if d, ok := c.ctx.Deadline(); ok {
			if cur, has := ctx.Deadline(); !has || d.After(cur) {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(context.Background(), d)
				defer cancel()
			}
		}
		items = append(items, c.item)
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	body, err := p.c.Post(ctx, p.addr, p.path, EncodeItems(items))
	var res [][]byte
	if err == nil {
		res, err = DecodeItems(body)
		if err == nil && len(res) != len(live) {
			err = fmt.Errorf("transport: %s answered %d items for %d", p.addr, len(res), len(live))
		}
	}
	for i, c := range live {
		if err != nil {
			c.err = err
		} else {
			c.res = res[i]
		}
		close(c.done)
	}
}

// EncodeItems frames items as a count and length-prefixed byte strings.
func EncodeItems(items [][]byte) []byte {
	n := 4
	for _, it := range items {
		n += 4 + len(it)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(items)))
	for _, it := range items {
		b = binary.BigEndian.AppendUint32(b, uint32(len(it)))
		b = append(b, it...)
	}
	return b
}

// DecodeItems reads EncodeItems' framing, refusing truncated or padded input.
func DecodeItems(b []byte) ([][]byte, error) {
	if len(b) < 4 {
		return nil, errors.New("transport: framed items: shorter than the count")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b))/4 {
		return nil, fmt.Errorf("transport: framed items: count %d does not fit in %d bytes", n, len(b))
	}
	items := make([][]byte, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(b) < 4 {
			return nil, fmt.Errorf("transport: framed items: item %d has no length", i)
		}
		l := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(l) > uint64(len(b)) {
			return nil, fmt.Errorf("transport: framed items: item %d claims %d bytes, %d left", i, l, len(b))
		}
		items = append(items, b[:l:l])
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("transport: framed items: %d bytes after the last item", len(b))
	}
	return items, nil
}

// HandleItems registers a handler for framed items: it answers one result per item.
func (s *Server) HandleItems(path string, h func(from string, items [][]byte) ([][]byte, error)) {
	s.Handle(path, func(from string, body []byte) ([]byte, error) {
		items, err := DecodeItems(body)
		if err != nil {
			return nil, &StatusError{Status: 400, Msg: err.Error()}
		}
		res, err := h(from, items)
		if err != nil {
			return nil, err
		}
		return EncodeItems(res), nil
	})
}
