// Package engine moves profiles through journeys. It owns the partition workers — one goroutine
// per partition, the only writer of that partition's keys — the durable timers, the
// transactional outbox and its dispatcher, and the report counters.
//
// Data flow: Submit groups normalised events by partition and hands them to the partition
// workers. A worker drains its queue into a micro-batch, applies every event to one indexed
// Pebble batch (dedupe marks, profiles, instances, timers, outbox entries, counters, trace
// steps), commits it with sync, and only then answers the callers. Pebble's commit pipeline
// folds the synced commits of all workers into shared WAL syncs: that is the group commit.
// After the commit, new outbox entries go to the dispatcher, which calls the actions and sends
// each outcome back to the partition worker as work of its own, so that every state change —
// including "this call succeeded" — is written by the partition's one writer.
//
// The engine knows nothing of the network: the API calls Submit, and the dispatcher calls
// actions through the Caller interface.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/time/rate"

	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/pluginrun"
	"github.com/wayline/wayline/runtime/store"
)

// Config configures the engine. Its zero value works; DefaultConfig shows the defaults.
type Config struct {
	// Partitions is fixed when the data directory is created and stored there.
	Partitions int
	// MaxBatch bounds the events in one micro-batch (one synced commit per partition).
	MaxBatch int
	// QueueSize is each partition's queue length; Submit blocks when it is full.
	QueueSize int
	// DedupeWindow is how long an event id is remembered.
	DedupeWindow time.Duration
	// TimerRate caps how many timers fire per second across the node (missed timers after a
	// restart fire at this rate, not all at once).
	TimerRate int
	// TraceLength is how many trace records are kept per profile: one record holds the steps
	// of one micro-batch that touched the profile (usually one event and what it caused).
	TraceLength int
	// TestWaitCap shortens the waits of test instances (entered by events marked test, see
	// docs/designer.md "Test mode"): a wait node, or an event node's timeout, waits at most this
	// long, so a journey with "wait 3 days" can be watched end to end in seconds. Live instances
	// are not affected.
	TestWaitCap time.Duration
	// Dispatch configures the outbox dispatcher.
	Dispatch DispatchConfig
	// Logger receives operational messages; slog.Default() when nil.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Partitions:   64,
		MaxBatch:     512,
		QueueSize:    4096,
		DedupeWindow: 24 * time.Hour,
		TimerRate:    20000,
		TraceLength:  100,
		TestWaitCap:  2 * time.Second,
		Dispatch:     DefaultDispatchConfig(),
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Partitions == 0 {
		c.Partitions = d.Partitions
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = d.DedupeWindow
	}
	if c.TimerRate == 0 {
		c.TimerRate = d.TimerRate
	}
	if c.TraceLength == 0 {
		c.TraceLength = d.TraceLength
	}
	if c.TestWaitCap == 0 {
		c.TestWaitCap = d.TestWaitCap
	}
	c.Dispatch.fill()
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate checks the config, naming the bad field.
func (c Config) Validate() error {
	switch {
	case c.Partitions < 0 || c.Partitions > 4096:
		return errors.New("engine: partitions must be between 1 and 4096")
	case c.MaxBatch < 0:
		return errors.New("engine: maxBatch must not be negative")
	case c.QueueSize < 0:
		return errors.New("engine: queueSize must not be negative")
	case c.DedupeWindow < 0:
		return errors.New("engine: dedupeWindow must not be negative")
	case c.TimerRate < 0:
		return errors.New("engine: timerRate must not be negative")
	case c.TraceLength < 0:
		return errors.New("engine: traceLength must not be negative")
	}
	return c.Dispatch.Validate()
}

// ErrStopped is returned by Submit once the engine is stopping.
var ErrStopped = errors.New("engine: stopped")

// Outcome is what happened to one submitted event.
type Outcome struct {
	Duplicate bool  // already accepted within the dedupe window; nothing changed
	Err       error // not committed: the caller must not acknowledge it
}

// Engine is the node's journey engine.
type Engine struct {
	cfg     Config
	db      *pebble.DB
	log     *slog.Logger
	catalog atomic.Pointer[journey.Catalog]
	parts   []*partition
	timers  *rate.Limiter
	disp    *Dispatcher
	now     func() time.Time

	gate     sync.RWMutex // orders "enter a call" against "start stopping"
	stopping atomic.Bool
	inflight sync.WaitGroup // Submit and profile calls in progress
	wg       sync.WaitGroup // workers
	cancel   context.CancelFunc

	replicator Replicator // nil: a single node, leading every partition

	plugins pluginrun.Runner    // nil: plugin branches fail with a clear error
	sources *datasource.Service // nil: data-source reads fail with a clear error
}

// UseExtensions gives the engine what runs plugin conditions and reads data sources. Call it
// before Start.
func (e *Engine) UseExtensions(plugins pluginrun.Runner, sources *datasource.Service) {
	e.plugins, e.sources = plugins, sources
}

// New creates an engine over an open store. The partition count is read from the store (and
// written there on first start); a different cfg.Partitions on an existing store is an error.
func New(st *store.Store, cfg Config, caller Caller) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	n, err := partitionCount(st.DB, cfg.Partitions)
	if err != nil {
		return nil, err
	}
	cfg.Partitions = n
	e := &Engine{cfg: cfg, db: st.DB, log: cfg.Logger, now: func() time.Time { return time.Now().UTC() }}
	e.timers = rate.NewLimiter(rate.Limit(cfg.TimerRate), max(cfg.TimerRate/10, 256))
	e.catalog.Store(journey.NewCatalog())
	e.disp = newDispatcher(e, cfg.Dispatch, caller)
	for i := 0; i < n; i++ {
		e.parts = append(e.parts, newPartition(e, i))
	}
	return e, nil
}

var partitionsKey = store.MetaKey("setting", "partitions")

func partitionCount(db *pebble.DB, want int) (int, error) {
	b, ok, err := store.Get(db, partitionsKey)
	if err != nil {
		return 0, err
	}
	if ok {
		have := int(store.ReadU64(b))
		if have <= 0 {
			return 0, fmt.Errorf("engine: stored partition count is corrupt")
		}
		if want != DefaultConfig().Partitions && want != have {
			return 0, fmt.Errorf("engine: this data directory has %d partitions; the count is fixed when it is created (asked for %d)", have, want)
		}
		return have, nil
	}
	return want, db.Set(partitionsKey, store.U64(uint64(want)), pebble.Sync)
}

// Partitions returns the partition count.
func (e *Engine) Partitions() int { return e.cfg.Partitions }

// SetCatalog swaps in a new compiled catalog. Safe to call at any time.
func (e *Engine) SetCatalog(c *journey.Catalog) { e.catalog.Store(c) }

// Catalog returns the current catalog.
func (e *Engine) Catalog() *journey.Catalog { return e.catalog.Load() }

// Start starts the partition workers and the dispatcher.
func (e *Engine) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	for _, p := range e.parts {
		e.wg.Add(1)
		go func(p *partition) {
			defer e.wg.Done()
			p.run(ctx)
		}(p)
	}
	e.disp.start(ctx)
}

// Stop stops taking work, lets in-flight submissions and action calls finish, commits what the
// workers hold, and returns. The store stays open: the caller closes it.
func (e *Engine) Stop() {
	e.gate.Lock()
	first := e.stopping.CompareAndSwap(false, true)
	e.gate.Unlock()
	if !first {
		return
	}
	e.inflight.Wait()
	e.disp.stop()
	for _, p := range e.parts {
		close(p.quit)
	}
	e.wg.Wait()
	if e.cancel != nil {
		e.cancel()
	}
}

// Submit applies events durably and returns one outcome per event, in order. It returns when
// every event is committed (or failed); an event whose outcome has no error is durable.
func (e *Engine) Submit(ctx context.Context, events []*model.Envelope, qualified []bool) []Outcome {
	out := make([]Outcome, len(events))
	if !e.enter() {
		for i := range out {
			out[i].Err = ErrStopped
		}
		return out
	}
	defer e.inflight.Done()
	var wg sync.WaitGroup
	for i, ev := range events {
		q := true
		if qualified != nil {
			q = qualified[i]
		}
		w := &work{kind: workEvent, ev: ev, qualified: q, out: &out[i], wg: &wg}
		wg.Add(1)
		p := e.parts[store.PartitionOf(ev.Identity, len(e.parts))]
		select {
		case p.in <- w:
		case <-ctx.Done():
			out[i].Err = ctx.Err()
			wg.Done()
		}
	}
	wg.Wait()
	return out
}

// do runs a profile operation on the owning partition's worker and waits for its commit.
func (e *Engine) do(ctx context.Context, profileID string, op func(st *stepCtx) error) error {
	return e.doOn(ctx, store.PartitionOf(profileID, len(e.parts)), op)
}

// doOn runs an operation on one partition's worker and waits for its commit.
func (e *Engine) doOn(ctx context.Context, pid int, op func(st *stepCtx) error) error {
	if !e.enter() {
		return ErrStopped
	}
	defer e.inflight.Done()
	var o Outcome
	var wg sync.WaitGroup
	wg.Add(1)
	w := &work{kind: workOp, op: op, out: &o, wg: &wg}
	p := e.parts[pid]
	select {
	case p.in <- w:
	case <-ctx.Done():
		return ctx.Err()
	}
	wg.Wait()
	return o.Err
}

// enter registers a call unless the engine is stopping; a registered call must end with
// inflight.Done. Stop waits for registered calls before it stops the workers, and no call can
// register between Stop's check and its wait.
func (e *Engine) enter() bool {
	e.gate.RLock()
	defer e.gate.RUnlock()
	if e.stopping.Load() {
		return false
	}
	e.inflight.Add(1)
	return true
}
