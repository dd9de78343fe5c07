package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// CallRequest is one attempt of an action call.
type CallRequest struct {
	URL            string
	Body           []byte
	IdempotencyKey string
	Attempt        int // 1-based
}

// CallOutcome is what an attempt returned.
type CallOutcome struct {
	OK         bool
	Retryable  bool
	RetryAfter time.Duration
	Status     int
	Err        string
}

// Caller performs action calls for the dispatcher. Call is made from many goroutines at once
// and must honour ctx; Reserve and Backoff are called from partition workers and must not block.
type Caller interface {
	Call(ctx context.Context, a *model.Action, req CallRequest) CallOutcome
	// Reserve returns how long to wait before calling a (its rate cap); 0 means now.
	Reserve(a *model.Action) time.Duration
	// Backoff returns the delay before the next attempt after failed attempts, and false when
	// the action's retry policy is exhausted.
	Backoff(a *model.Action, failed int) (time.Duration, bool)
}

// DispatchConfig configures the outbox dispatcher.
type DispatchConfig struct {
	// Concurrency bounds action calls in flight across the node.
	Concurrency int
	// SweepInterval is how often the outbox is scanned for due entries the dispatcher does not
	// already hold (after a restart, after a dropped hand-off).
	SweepInterval time.Duration
}

// DefaultDispatchConfig returns the defaults.
func DefaultDispatchConfig() DispatchConfig {
	return DispatchConfig{Concurrency: 256, SweepInterval: 2 * time.Second}
}

func (c *DispatchConfig) fill() {
	d := DefaultDispatchConfig()
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = d.SweepInterval
	}
}

// Validate checks the config.
func (c DispatchConfig) Validate() error {
	if c.Concurrency < 0 || c.SweepInterval < 0 {
		return errors.New("engine: dispatch concurrency and sweepInterval must not be negative")
	}
	return nil
}

// Dispatcher drains the outbox. It never writes state: outcomes go back to the partition
// worker. An entry is held (in inflight) from the moment it is picked until its outcome is
// committed, so no entry is called twice at once; after a crash, entries not yet settled are
// called again with the same idempotency key (at-least-once).
type Dispatcher struct {
	e      *Engine
	cfg    DispatchConfig
	caller Caller

	mu       sync.Mutex
	inflight map[string]struct{}
	timers   map[string]*time.Timer // retries scheduled for later

	sem    chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newDispatcher(e *Engine, cfg DispatchConfig, caller Caller) *Dispatcher {
	return &Dispatcher{e: e, cfg: cfg, caller: caller, inflight: map[string]struct{}{},
		timers: map[string]*time.Timer{}, sem: make(chan struct{}, cfg.Concurrency)}
}

func (d *Dispatcher) start(parent context.Context) {
	d.ctx, d.cancel = context.WithCancel(parent)
	d.wg.Add(1)
	go d.sweepLoop()
}

// stop lets calls in flight finish (their results still reach the workers), then returns.
func (d *Dispatcher) stop() {
	if d.cancel == nil {
		return
	}
	d.mu.Lock()
	for k, t := range d.timers {
		t.Stop()
		delete(d.timers, k)
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

func (d *Dispatcher) stopped() bool { return d.ctx == nil || d.ctx.Err() != nil }

// committed is called by a partition worker after each commit attempt: new entries to call and
// entries whose outcome is now durable.
func (d *Dispatcher) committed(pid int, calls []pendingCall, settled []string) {
	if len(settled) > 0 {
		d.mu.Lock()
		for _, k := range settled {
			delete(d.inflight, k)
		}
		d.mu.Unlock()
	}
	for _, c := range calls {
		due := store.DueOf(c.key)
		if wait := time.Until(due); wait > 0 {
			d.later(pid, c.key, wait)
			continue
		}
		d.pick(pid, c.key, c.rec)
	}
}

func (d *Dispatcher) later(pid int, key []byte, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped() {
		return
	}
	k := string(key)
	if _, ok := d.timers[k]; ok {
		return
	}
	d.timers[k] = time.AfterFunc(wait, func() {
		d.mu.Lock()
		delete(d.timers, k)
		d.mu.Unlock()
		d.pick(pid, key, nil)
	})
}

// pick claims an entry and calls it in the background; rec nil means "read it from the store".
func (d *Dispatcher) pick(pid int, key []byte, rec *outboxRec) {
	if d.stopped() {
		return
	}
	k := string(key)
	d.mu.Lock()
	if _, busy := d.inflight[k]; busy {
		d.mu.Unlock()
		return
	}
	d.inflight[k] = struct{}{}
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case d.sem <- struct{}{}:
		case <-d.ctx.Done():
			d.release(k)
			return
		}
		defer func() { <-d.sem }()
		d.call(pid, key, rec)
	}()
}

func (d *Dispatcher) release(k string) {
	d.mu.Lock()
	delete(d.inflight, k)
	d.mu.Unlock()
}

func (d *Dispatcher) call(pid int, key []byte, rec *outboxRec) {
	// Re-read the entry after claiming it: a sweep may have seen it just before its outcome
	// was committed and released.
	raw, ok, err := store.Get(d.e.db, key)
	if err != nil || !ok {
		d.release(string(key))
		return
	}
	if rec == nil {
		rec = &outboxRec{}
		if decode(raw, rec) != nil {
			d.release(string(key))
			return
		}
	}
	res := &callResult{key: key}
	a, known := d.e.Catalog().Action(rec.ActionID)
	switch {
	case !known:
		res.out = CallOutcome{Err: "action " + rec.ActionID + " no longer exists"}
	default:
		if wait := d.caller.Reserve(a); wait > 0 {
			res.capped = wait
			break
		}
		res.out = d.caller.Call(d.ctx, a, CallRequest{URL: rec.URL, Body: rec.Body, IdempotencyKey: rec.Key, Attempt: rec.Attempts + 1})
	}
	if d.ctx.Err() != nil && !res.out.OK {
		// Shutting down mid-call: leave the entry for the next start rather than count a failure.
		d.release(string(key))
		return
	}
	p := d.e.parts[pid]
	var wg sync.WaitGroup
	var out Outcome
	wg.Add(1)
	select {
	case p.in <- &work{kind: workResult, res: res, out: &out, wg: &wg}:
	case <-p.quit:
		d.release(string(key))
	}
}

// sweepLoop periodically picks due outbox entries that nobody holds.
func (d *Dispatcher) sweepLoop() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.SweepInterval)
	defer t.Stop()
	d.sweep()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			d.sweep()
		}
	}
}

func (d *Dispatcher) sweep() {
	now := time.Now()
	for pid := range d.e.parts {
		prefix := store.KindPrefix(pid, store.KindOutbox)
		upper := store.TimeSeqKey(pid, store.KindOutbox, now, ^uint64(0))
		it, err := d.e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
		if err != nil {
			continue
		}
		var keys [][]byte
		for ok := it.First(); ok && len(keys) < 10000; ok = it.Next() {
			keys = append(keys, append([]byte(nil), it.Key()...))
		}
		it.Close()
		for _, k := range keys {
			if d.stopped() {
				return
			}
			d.pick(pid, k, nil)
		}
	}
}

// Pending counts outbox entries not yet settled (for readiness and tests).
func (d *Dispatcher) Pending() int {
	n := 0
	for pid := range d.e.parts {
		prefix := store.KindPrefix(pid, store.KindOutbox)
		it, err := d.e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
		if err != nil {
			continue
		}
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		it.Close()
	}
	return n
}
