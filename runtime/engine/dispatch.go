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
	Attempt        int    // 1-based
	Profile        string // the profile the call is for
	// The journey instance that made the call (channels tie tracking and delivery reports to it).
	Journey  string
	Version  int
	Node     string
	Instance string
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
// and must honour ctx; Reserve and Backoff must not block.
type Caller interface {
	Call(ctx context.Context, a *model.Action, req CallRequest) CallOutcome
	// Reserve books the next slot under a's rate cap and returns how long until it; 0 means
	// now. A booked slot is the caller's: it calls without asking again.
	Reserve(a *model.Action) time.Duration
	// Backoff returns the delay before the next attempt after failed attempts, and false when
	// the action's retry policy is exhausted.
	Backoff(a *model.Action, failed int) (time.Duration, bool)
}

// DispatchConfig configures the outbox dispatcher.
type DispatchConfig struct {
	// Concurrency is the number of action calls in flight across the node.
	Concurrency int
	// QueueSize bounds the calls waiting for a free worker; beyond it, calls wait in the
	// outbox for the next sweep.
	QueueSize int
	// SweepInterval is how often the outbox is scanned for due entries the dispatcher does not
	// already hold (after a restart, after a full queue).
	SweepInterval time.Duration
}

// DefaultDispatchConfig returns the defaults.
func DefaultDispatchConfig() DispatchConfig {
	return DispatchConfig{Concurrency: 256, QueueSize: 65536, SweepInterval: 2 * time.Second}
}

func (c *DispatchConfig) fill() {
	d := DefaultDispatchConfig()
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = d.SweepInterval
	}
}

// Validate checks the config.
func (c DispatchConfig) Validate() error {
	if c.Concurrency < 0 || c.QueueSize < 0 || c.SweepInterval < 0 {
		return errors.New("engine: dispatch concurrency, queueSize and sweepInterval must not be negative")
	}
	return nil
}

// Dispatcher drains the outbox. It never writes state: outcomes go back to the partition
// worker. An entry is held (in inflight) from the moment it is picked until its outcome is
// committed, so no entry is called twice at once; after a crash, entries not yet settled are
// called again with the same idempotency key (at-least-once).
//
// Work flows through one bounded queue into a fixed pool of workers, so a backlog costs
// outbox rows on disk, not goroutines: a pick that finds the queue full lets go of the entry
// and the next sweep finds it again.
type Dispatcher struct {
	e      *Engine
	cfg    DispatchConfig
	caller Caller

	mu       sync.Mutex
	inflight map[string]struct{}
	timers   map[string]*time.Timer // entries waiting for a retry time or a rate-cap slot

	queue  chan job
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// job is one outbox entry to call.
type job struct {
	pid    int
	key    []byte
	rec    *outboxRec // nil: read it from the store
	booked bool       // a rate-cap slot is already booked for it
}

func newDispatcher(e *Engine, cfg DispatchConfig, caller Caller) *Dispatcher {
	return &Dispatcher{e: e, cfg: cfg, caller: caller, inflight: map[string]struct{}{},
		timers: map[string]*time.Timer{}, queue: make(chan job, cfg.QueueSize)}
}

func (d *Dispatcher) start(parent context.Context) {
	d.ctx, d.cancel = context.WithCancel(parent)
	for i := 0; i < d.cfg.Concurrency; i++ {
		d.wg.Add(1)
		go d.worker()
	}
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

func (d *Dispatcher) worker() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case j := <-d.queue:
			d.call(j)
		}
	}
}

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
		if !d.claim(string(c.key)) {
			continue
		}
		j := job{pid: pid, key: c.key, rec: c.rec}
		if wait := time.Until(store.DueOf(c.key)); wait > 0 {
			d.hold(j, wait)
			continue
		}
		d.enqueue(j)
	}
}

// claim marks an entry as held; false when someone holds it already.
func (d *Dispatcher) claim(k string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, busy := d.inflight[k]; busy || d.stopped() {
		return false
	}
	d.inflight[k] = struct{}{}
	return true
}

func (d *Dispatcher) release(k string) {
	d.mu.Lock()
	delete(d.inflight, k)
	d.mu.Unlock()
}

// enqueue hands a held entry to the workers, or lets go of it when the queue is full.
func (d *Dispatcher) enqueue(j job) {
	select {
	case d.queue <- j:
	default:
		d.release(string(j.key))
	}
}

// hold keeps an entry claimed and enqueues it after wait.
func (d *Dispatcher) hold(j job, wait time.Duration) {
	k := string(j.key)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped() {
		delete(d.inflight, k)
		return
	}
	d.timers[k] = time.AfterFunc(wait, func() {
		d.mu.Lock()
		delete(d.timers, k)
		d.mu.Unlock()
		d.enqueue(j)
	})
}

func (d *Dispatcher) call(j job) {
	key := string(j.key)
	if !d.e.parts[j.pid].leading.Load() {
		// Leadership moved while the entry waited: the new leader calls it.
		d.release(key)
		return
	}
	// Re-read the entry after claiming it: a sweep may have seen it just before its outcome
	// was committed and released.
	raw, ok, err := store.Get(d.e.db, j.key)
	if err != nil || !ok {
		d.release(key)
		return
	}
	rec := j.rec
	if rec == nil {
		rec = &outboxRec{}
		if decode(raw, rec) != nil {
			d.release(key)
			return
		}
	}
	res := &callResult{key: j.key}
	a, known := d.e.Catalog().Action(rec.ActionID)
	if !known {
		res.out = CallOutcome{Err: "action " + rec.ActionID + " no longer exists"}
	} else {
		if !j.booked {
			if wait := d.caller.Reserve(a); wait > 0 {
				j.booked, j.rec = true, rec
				d.hold(j, wait)
				return
			}
		}
		res.out = d.caller.Call(d.ctx, a, CallRequest{URL: rec.URL, Body: rec.Body, IdempotencyKey: rec.Key, Attempt: rec.Attempts + 1, Profile: rec.Profile,
			Journey: rec.Journey, Version: rec.Version, Node: rec.Node, Instance: rec.Instance})
	}
	if d.ctx.Err() != nil && !res.out.OK {
		// Shutting down mid-call: leave the entry for the next start rather than count a failure.
		d.release(key)
		return
	}
	p := d.e.parts[j.pid]
	var wg sync.WaitGroup
	wg.Add(1)
	select {
	case p.in <- &work{kind: workResult, res: res, out: &Outcome{}, wg: &wg}:
	case <-p.quit:
		d.release(key)
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
	for pid := range d.e.parts {
		if d.stopped() {
			return
		}
		d.sweepPartition(pid)
	}
}

// sweepPartition picks the due entries of one partition this node leads.
func (d *Dispatcher) sweepPartition(pid int) {
	if !d.e.parts[pid].leading.Load() {
		return
	}
	prefix := store.KindPrefix(pid, store.KindOutbox)
	upper := store.TimeSeqKey(pid, store.KindOutbox, time.Now(), ^uint64(0))
	it, err := d.e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return
	}
	durable := d.e.parts[pid].durableSeq.Load()
	var keys [][]byte
	for ok := it.First(); ok && len(keys) < 10000; ok = it.Next() {
		if store.SeqOf(it.Key()) > durable {
			continue // queued by a batch not yet replicated: committed() hands it over when it is
		}
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	it.Close()
	for _, k := range keys {
		if d.stopped() {
			return
		}
		if d.claim(string(k)) {
			d.enqueue(job{pid: pid, key: k})
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
