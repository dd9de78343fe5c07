package client

import (
	"context"
	"sync"
	"time"
)

// queue is the bounded queue between Enqueue and the batcher, and the bookkeeping Flush
// waits on. One mutex guards both, so that "everything enqueued before Flush" is exact.
type queue struct {
	mu     sync.Mutex
	buf    []*item // ring of cap len(buf)
	head   int
	n      int
	avail  chan struct{} // poked when an item is pushed; read by the batcher
	space  chan struct{} // closed when an item leaves a full queue; nil while nobody waits
	closed chan struct{} // closed by Close: blocked Enqueues return

	enqueued, completed int64
	waiters             []*flushWaiter
}

type flushWaiter struct {
	target    int64 // the seq of the last item enqueued before Flush
	remaining int64
	done      chan struct{}
}

func newQueue(size int) *queue {
	return &queue{buf: make([]*item, size), avail: make(chan struct{}, 1), closed: make(chan struct{})}
}

// pushLocked appends it; the queue has room.
func (q *queue) pushLocked(it *item) {
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
	q.enqueued++
	it.seq = q.enqueued
}

// popLocked removes and returns the oldest item; the queue is not empty.
func (q *queue) popLocked() *item {
	it := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	return it
}

func (q *queue) poke() {
	select {
	case q.avail <- struct{}{}:
	default:
	}
}

// take moves queued items to batch while it holds fewer than maxN items and maxBytes encoded
// bytes (a first item always fits). full reports that the batch can take no more.
func (q *queue) take(batch []*item, size *int, maxN, maxBytes int) (_ []*item, full bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n > 0 && len(batch) < maxN {
		next := len(q.buf[q.head].line) + 1
		if len(batch) > 0 && *size+next > maxBytes {
			return batch, true
		}
		*size += next
		batch = append(batch, q.popLocked())
	}
	return batch, len(batch) >= maxN || *size >= maxBytes
}

// completeLocked records that items have their final result and wakes the Flushes they were
// the last of.
func (q *queue) completeLocked(items []*item) {
	q.completed += int64(len(items))
	kept := q.waiters[:0]
	for _, w := range q.waiters {
		for _, it := range items {
			if it.seq <= w.target {
				w.remaining--
			}
		}
		if w.remaining <= 0 {
			close(w.done)
			continue
		}
		kept = append(kept, w)
	}
	clear(q.waiters[len(kept):])
	q.waiters = kept
}

// Enqueue queues an event for streaming and returns without waiting for it to be sent. When the
// queue is full, Config.Overflow decides: Block waits for room until ctx ends (returning ctx's
// error), DropOldest drops the oldest queued event, ErrorWhenFull returns ErrQueueFull. The
// outcome of each event reaches Config.OnResult and Stats. The event gets its id here when it
// has none; an error in encoding its data is returned at once.
func (c *Client) Enqueue(ctx context.Context, ev Event) error {
	if c.closed.Load() {
		return ErrClosed
	}
	it, err := newItem(ev)
	if err != nil {
		return err
	}
	q := c.q
	for {
		q.mu.Lock()
		if c.closed.Load() {
			q.mu.Unlock()
			return ErrClosed
		}
		if q.n < len(q.buf) {
			q.pushLocked(it)
			q.mu.Unlock()
			q.poke()
			c.stats.enqueued.Add(1)
			return nil
		}
		switch c.cfg.Overflow {
		case ErrorWhenFull:
			q.mu.Unlock()
			return ErrQueueFull
		case DropOldest:
			old := q.popLocked()
			q.pushLocked(it)
			old.res = Result{ID: old.ev.ID, Status: StatusDropped}
			c.stats.dropped.Add(1)
			c.stats.enqueued.Add(1)
			if c.cfg.OnResult != nil {
				// Called before the drop counts as complete, so that Flush returns after it.
				q.mu.Unlock()
				c.cfg.OnResult(old.ev, old.res)
				q.mu.Lock()
			}
			q.completeLocked([]*item{old})
			q.mu.Unlock()
			q.poke()
			return nil
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		case <-q.closed:
			return ErrClosed
		}
	}
}

// Flush asks for queued events to go out without lingering and waits until every event given
// to Enqueue before the call has its outcome (acknowledged, rejected, failed or dropped), or
// until ctx ends (returning its error). Events that failed do not make Flush fail: see Stats
// and OnResult.
func (c *Client) Flush(ctx context.Context) error {
	q := c.q
	q.mu.Lock()
	pending := q.enqueued - q.completed
	if pending == 0 {
		q.mu.Unlock()
		return nil
	}
	w := &flushWaiter{target: q.enqueued, remaining: pending, done: make(chan struct{})}
	q.waiters = append(q.waiters, w)
	q.mu.Unlock()
	select {
	case c.flushNow <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		for i, o := range q.waiters {
			if o == w {
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				break
			}
		}
		q.mu.Unlock()
		return ctx.Err()
	}
}

// Close stops taking events, flushes (waiting until ctx ends at most), then stops the client.
// Events still queued or in flight when ctx ends count as failed, with the code "closed". Send
// and SendBatch calls in progress finish on their own contexts. Close returns the flush's error;
// later calls return the same.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.q.mu.Lock()
		c.closed.Store(true)
		close(c.q.closed)
		c.q.mu.Unlock()
		c.closeErr = c.Flush(ctx)
		close(c.stop)
		c.cancel() // ends in-flight streamed batches (their events fail as "closed") and maintain
		c.bg.Wait()
		c.sends.Wait()
		// What the batcher did not take is failed.
		q := c.q
		q.mu.Lock()
		var left []*item
		for q.n > 0 {
			left = append(left, q.popLocked())
		}
		q.mu.Unlock()
		if len(left) > 0 {
			c.finishAll(left, StatusFailed, ctxError(c.ctx, c))
			c.report(left)
		}
		c.http.CloseIdleConnections()
	})
	return c.closeErr
}

// batchLoop takes batches out of the queue and hands each to a sender, at most Concurrency at
// once. While every sender is busy it takes nothing, so the queue fills and Overflow applies.
func (c *Client) batchLoop() {
	defer c.bg.Done()
	for {
		select {
		case c.slots <- struct{}{}:
		case <-c.stop:
			return
		}
		batch := c.collect()
		if batch == nil {
			<-c.slots
			return
		}
		c.sends.Add(1)
		go func() {
			defer c.sends.Done()
			defer func() { <-c.slots }()
			c.deliver(c.ctx, batch, formatNDJSON)
			c.report(batch)
		}()
	}
}

// collect waits for the first queued event, then gathers more until the batch is full, Linger
// has passed since the first, or Flush asks. It returns nil when the client stops.
func (c *Client) collect() []*item {
	q := c.q
	var batch []*item
	size := 0
	full := false
	for {
		batch, full = q.take(batch, &size, c.cfg.BatchSize, c.cfg.BatchBytes)
		if len(batch) > 0 {
			break
		}
		select {
		case <-q.avail:
		case <-c.stop:
			return nil
		}
	}
	if full {
		return batch
	}
	linger := time.NewTimer(c.cfg.Linger)
	defer linger.Stop()
	for {
		select {
		case <-q.avail:
			if batch, full = q.take(batch, &size, c.cfg.BatchSize, c.cfg.BatchBytes); full {
				return batch
			}
		case <-linger.C:
			batch, _ = q.take(batch, &size, c.cfg.BatchSize, c.cfg.BatchBytes)
			return batch
		case <-c.flushNow:
			batch, _ = q.take(batch, &size, c.cfg.BatchSize, c.cfg.BatchBytes)
			return batch
		case <-c.stop:
			return batch
		}
	}
}

// report hands streamed events' results to OnResult and counts them complete for Flush.
func (c *Client) report(items []*item) {
	if c.cfg.OnResult != nil {
		for _, it := range items {
			c.cfg.OnResult(it.ev, it.res)
		}
	}
	c.q.mu.Lock()
	c.q.completeLocked(items)
	c.q.mu.Unlock()
}
