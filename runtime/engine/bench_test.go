package engine

// Benchmarks of the ingest → journey → outbox path, without HTTP: each event is built as the API
// would decode it, normalised and validated against its compiled schema (ingest.Normalise),
// submitted with Submit, applied by the partition workers and committed to a real Pebble store
// with pebble.Sync. Action calls go to a Caller that answers OK at once with no network, so the
// numbers are the engine's and the disk's, not an HTTP server's. The outcome of every call is
// still applied and committed by the partition worker, as in production.
//
// BenchmarkPebbleSyncedBatches is the ceiling: bare Pebble, opened with the same options, taking
// concurrent synced batches of records of about the size the engine writes per event.
//
//	go test -run '^$' -bench . -benchtime 3s ./runtime/engine/
//
// Metrics: events/s (the throughput, including, for journeys, the time to drain the outbox),
// events/sync (how many events share one WAL fdatasync: the group-commit factor), p50-ms and
// p99-ms (how long one Submit call, or one bare commit, took: the client's wait for its
// acknowledgement) and walB/event (logical WAL bytes per event). docs/benchmarks.md records
// the results. Without -bench, none of this runs: plain `go test` stays fast.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/demo"
	"github.com/wayline/wayline/runtime/ingest"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
	"github.com/wayline/wayline/runtime/store"
)

// --- the demo workspace (package demo, what `wayline serve --demo` loads) ---------------------

// benchAction is the demo action; the benchmarks' caller never dials its URL.
var benchAction = demo.Action("http://sink.invalid")

// benchResolver resolves event definitions and actions for journey.Compile, as the catalog's
// snapshot does.
type benchResolver struct {
	events  map[string]*model.EventDefinition
	schemas map[string]*schema.Schema
	actions map[string]*model.Action
}

func (r *benchResolver) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	d, ok := r.events[name]
	return d, r.schemas[name], ok
}

func (r *benchResolver) Plugin(string, string) (model.PluginVersion, bool) {
	return model.PluginVersion{}, false
}

func (r *benchResolver) DataSource(string) (*model.DataSource, bool) { return nil, false }

func (r *benchResolver) Action(id string) (*model.Action, bool) {
	a, ok := r.actions[id]
	return a, ok
}

// benchWorkspace compiles the demo workspace the way runtime/catalog does: schemas with
// schema.Compile, the journey with journey.Compile, into a journey.Catalog with "welcome"
// version 1 live.
func benchWorkspace(tb testing.TB) (*benchResolver, *journey.Catalog) {
	tb.Helper()
	r := &benchResolver{events: map[string]*model.EventDefinition{}, schemas: map[string]*schema.Schema{}, actions: map[string]*model.Action{}}
	for i := range demo.Events {
		d := demo.Events[i]
		sch, err := schema.Compile(d.Schema)
		if err != nil {
			tb.Fatalf("event definition %s: %v", d.Name, err)
		}
		r.events[d.Name], r.schemas[d.Name] = &d, sch
	}
	a := benchAction
	r.actions[a.ID] = &a
	cat := journey.NewCatalog()
	cat.AddAction(&a)
	g, errs := journey.Compile(demo.JourneyID, 1, demo.JourneyName, &demo.Journey, r)
	if len(errs) > 0 {
		tb.Fatalf("demo journey does not compile: %v", errs)
	}
	cat.AddVersion(g, true)
	return r, cat
}

// okCaller answers every action call OK without any I/O, so the benchmarks measure the engine
// and the store rather than an HTTP server. It has no rate cap and never retries.
type okCaller struct{ calls atomic.Int64 }

func (c *okCaller) Call(ctx context.Context, a *model.Action, req CallRequest) CallOutcome {
	c.calls.Add(1)
	return CallOutcome{OK: true, Status: 200}
}
func (c *okCaller) Reserve(*model.Action) time.Duration              { return 0 }
func (c *okCaller) Backoff(*model.Action, int) (time.Duration, bool) { return 0, false }

// --- harness --------------------------------------------------------------------------------

// benchEngine is a started engine over a real store in a temporary directory.
type benchEngine struct {
	e      *Engine
	st     *store.Store
	caller *okCaller
	once   sync.Once
}

// startBenchEngine opens a store in tb.TempDir(), creates an engine with the default config
// (64 partitions) and a quiet logger, swaps in cat and starts it. Stop (also registered as a
// cleanup) stops the engine and closes the store.
func startBenchEngine(tb testing.TB, cat *journey.Catalog) *benchEngine {
	tb.Helper()
	st, err := store.Open(store.Config{Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	caller := &okCaller{}
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := New(st, cfg, caller)
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	if cat != nil {
		e.SetCatalog(cat)
	}
	e.Start()
	h := &benchEngine{e: e, st: st, caller: caller}
	tb.Cleanup(func() { h.Stop(tb) })
	return h
}

// Stop stops the engine (in-flight work is committed) and closes the store. Idempotent.
func (h *benchEngine) Stop(tb testing.TB) {
	h.once.Do(func() {
		h.e.Stop()
		if err := h.st.Close(); err != nil {
			tb.Errorf("closing the store: %v", err)
		}
	})
}

// walStats reads the WAL's logical bytes and fsync count.
func walStats(db *pebble.DB) (bytesIn, syncs uint64) {
	m := db.Metrics()
	return m.WAL.BytesIn, histogramCount(m.LogWriter.FsyncLatency)
}

// histogramCount returns a prometheus histogram's sample count. It goes through reflection so
// that the test does not import the prometheus data model (not a direct dependency).
func histogramCount(h any) uint64 {
	if h == nil {
		return 0
	}
	write := reflect.ValueOf(h).MethodByName("Write")
	if !write.IsValid() {
		return 0
	}
	m := reflect.New(write.Type().In(0).Elem())
	if err, _ := write.Call([]reflect.Value{m})[0].Interface().(error); err != nil {
		return 0
	}
	hist := m.MethodByName("GetHistogram").Call(nil)[0]
	return hist.MethodByName("GetSampleCount").Call(nil)[0].Uint()
}

// shape is how events are submitted: Batch events per Submit call, from Submitters goroutines.
type shape struct {
	Batch, Submitters int
}

func (s shape) String() string {
	return "batch=" + strconv.Itoa(s.Batch) + "/submitters=" + strconv.Itoa(s.Submitters)
}

// benchShapes: one event per call from one client (every commit waits for its own fsync), one
// event per call from many clients (the HTTP single-event case), and arrays of 100 from fewer and
// from as many clients.
var benchShapes = []shape{{1, 1}, {1, 64}, {100, 8}, {100, 64}}

// latencies collects the durations of Submit calls (or bare commits) from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// report adds the median and 99th percentile, in milliseconds: how long a client waits for its
// acknowledgement (for a whole batch, in the batch shapes).
func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	at := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// submitAll submits events 0..n-1, made by mk, in batches of s.Batch from s.Submitters
// goroutines, and fails the benchmark if any event is not committed. It returns the latency of
// every Submit call.
func submitAll(b *testing.B, e *Engine, n int, s shape, mk func(i int) (*model.Envelope, bool)) *latencies {
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	lat := &latencies{}
	for range s.Submitters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			envs := make([]*model.Envelope, 0, s.Batch)
			qual := make([]bool, 0, s.Batch)
			var took []time.Duration
			defer func() { lat.add(took) }()
			for {
				end := int(next.Add(int64(s.Batch)))
				start := end - s.Batch
				if start >= n {
					return
				}
				envs, qual = envs[:0], qual[:0]
				for i := start; i < min(end, n); i++ {
					env, q := mk(i)
					envs = append(envs, env)
					qual = append(qual, q)
				}
				t0 := time.Now()
				outcomes := e.Submit(context.Background(), envs, qual)
				took = append(took, time.Since(t0))
				for _, o := range outcomes {
					if o.Err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, o.Err)
					} else if o.Duplicate {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Errorf("event reported as a duplicate"))
					}
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d events were not committed; first error: %v", f, n, firstErr.Load())
	}
	return lat
}

// normaliser turns raw events into envelopes as the ingest API does: schema validation, id,
// timestamp and identity.
func normaliser(b *testing.B, r *benchResolver) func(raw ingest.RawEvent) *model.Envelope {
	return func(raw ingest.RawEvent) *model.Envelope {
		env, errs := ingest.Normalise(raw, r.events[raw.Type], r.schemas[raw.Type], time.Now())
		if len(errs) > 0 {
			b.Errorf("%s event for %s rejected: %v", raw.Type, raw.Data["userId"], errs)
			return nil
		}
		return &env
	}
}

func reportRate(b *testing.B, db *pebble.DB, bytes0, syncs0 uint64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	bytes1, syncs1 := walStats(db)
	b.ReportMetric(float64(bytes1-bytes0)/float64(b.N), "walB/event")
	if syncs1 > syncs0 {
		b.ReportMetric(float64(b.N)/float64(syncs1-syncs0), "events/sync")
	}
}

// BenchmarkSubmitNoJourney: order.placed events, which no journey listens to, one new profile
// each. Per event the engine writes a dedupe mark and its expiry index, the profile and one
// trace step.
func BenchmarkSubmitNoJourney(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.String(), func(b *testing.B) {
			r, cat := benchWorkspace(b)
			h := startBenchEngine(b, cat)
			norm := normaliser(b, r)
			mk := func(i int) (*model.Envelope, bool) {
				user := "u" + strconv.Itoa(i)
				return norm(ingest.RawEvent{Type: "order.placed", Data: map[string]any{
					"userId": user, "orderId": "o-" + user, "amount": 42.5}}), true
			}
			bytes0, syncs0 := walStats(h.st.DB)
			b.ResetTimer()
			lat := submitAll(b, h.e, b.N, s, mk)
			b.StopTimer()
			reportRate(b, h.st.DB, bytes0, syncs0)
			lat.report(b)
			if n := h.caller.calls.Load(); n != 0 {
				b.Fatalf("%d action calls for events that match no journey; want 0", n)
			}
			h.Stop(b)
		})
	}
}

// BenchmarkSubmitDemoJourney: pro sign-ups for distinct profiles through the demo journey. Each
// event enters the journey, walks condition → action → update_profile → end and queues one
// call in the outbox; the dispatcher calls okCaller and the partition worker commits the
// outcome. The clock stops when every call is settled (the outbox is empty).
func BenchmarkSubmitDemoJourney(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(s.String(), func(b *testing.B) {
			r, cat := benchWorkspace(b)
			h := startBenchEngine(b, cat)
			norm := normaliser(b, r)
			mk := func(i int) (*model.Envelope, bool) {
				user := "u" + strconv.Itoa(i)
				return norm(ingest.RawEvent{Type: "user.signup", Data: map[string]any{
					"userId": user, "email": user + "@example.com", "plan": "pro", "country": "FR"}}), true
			}
			bytes0, syncs0 := walStats(h.st.DB)
			b.ResetTimer()
			lat := submitAll(b, h.e, b.N, s, mk)
			drainOutbox(b, h, int64(b.N))
			b.StopTimer()
			reportRate(b, h.st.DB, bytes0, syncs0)
			lat.report(b)
			totals, err := h.e.Counters(NodeScope(demo.JourneyID, 1, "done"))
			if err != nil {
				b.Fatal(err)
			}
			if got := totals[NodeScope(demo.JourneyID, 1, "done")]["exited"]; got != int64(b.N) {
				b.Fatalf("%d instances reached the end node; want %d (one per event)", got, b.N)
			}
			h.Stop(b)
		})
	}
}

// drainOutbox waits until want calls were made and every outbox entry is settled.
func drainOutbox(b *testing.B, h *benchEngine, want int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for h.caller.calls.Load() < want || h.e.PendingActions() > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("outbox not drained after 2 minutes: %d of %d calls made, %d entries pending",
				h.caller.calls.Load(), want, h.e.PendingActions())
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkPebbleSyncedBatches is the ceiling for the benchmarks above: bare Pebble (store.Open,
// so the same options) taking synced batches from 1 goroutine (one fsync per commit: the
// fdatasync latency) and from 64, as the engine's 64 partition workers commit. A record is one
// key of about the WAL bytes the engine writes per event (about 500 B with no journey, 3.6 KB
// through the demo journey); "events" here are records.
func BenchmarkPebbleSyncedBatches(b *testing.B) {
	for _, recSize := range []int{600, 3600} {
		for _, s := range []shape{{1, 1}, {1, 64}, {100, 64}} {
			b.Run("record="+strconv.Itoa(recSize)+"B/"+s.String(), func(b *testing.B) {
				st, err := store.Open(store.Config{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				// A 12-byte key, the value and the WAL's per-record framing make about recSize
				// bytes of WAL per record (walB/event shows it).
				value := make([]byte, recSize-24)
				for i := range value {
					value[i] = byte('a' + i%26)
				}
				bytes0, syncs0 := walStats(st.DB)
				var next, failed atomic.Int64
				var wg sync.WaitGroup
				lat := &latencies{}
				b.ResetTimer()
				for w := range s.Submitters {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var took []time.Duration
						defer func() { lat.add(took) }()
						for {
							end := int(next.Add(int64(s.Batch)))
							start := end - s.Batch
							if start >= b.N {
								return
							}
							batch := st.DB.NewBatch()
							for i := start; i < min(end, b.N); i++ {
								_ = batch.Set(store.SeqKey(w, store.KindProfile, uint64(i)), value, nil)
							}
							t0 := time.Now()
							if err := batch.Commit(pebble.Sync); err != nil {
								failed.Add(1)
							}
							took = append(took, time.Since(t0))
							batch.Close()
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				if failed.Load() > 0 {
					b.Fatalf("%d commits failed", failed.Load())
				}
				reportRate(b, st.DB, bytes0, syncs0)
				lat.report(b)
			})
		}
	}
}
