package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testAdminKey
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recorder keeps what OnResult reports.
type recorder struct {
	mu      sync.Mutex
	results map[string]Result // by event id
	events  map[string]Event
	calls   int
}

func newRecorder() *recorder {
	return &recorder{results: map[string]Result{}, events: map[string]Event{}}
}

func (r *recorder) on(ev Event, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.results[ev.ID] = res
	r.events[ev.ID] = ev
}

func (r *recorder) count(status string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, res := range r.results {
		if res.Status == status {
			n++
		}
	}
	return n
}

func TestSendAssignsAnIDRetriesNothingRejectedAndAnswersDuplicates(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	definePing(t, n, false)
	c := newClient(t, Config{URLs: []string{n.url}})
	ctx := testCtx(t, 20*time.Second)

	res, err := c.Send(ctx, ping(1))
	if err != nil || res.Status != StatusAccepted {
		t.Fatalf("Send: %+v, %v", res, err)
	}
	if len(res.ID) != 48 {
		t.Fatalf("the client should assign a 48-hex-digit id, got %q", res.ID)
	}
	again := ping(1)
	again.ID = res.ID
	if res2, err := c.Send(ctx, again); err != nil || res2.Status != StatusDuplicate || res2.ID != res.ID {
		t.Fatalf("the same id again should be a duplicate: %+v, %v", res2, err)
	}

	bad := Event{Type: "ping", Data: map[string]any{"userId": "x"}} // no email
	res3, err := c.Send(ctx, bad)
	var ae *APIError
	if !errors.As(err, &ae) || res3.Status != StatusRejected || ae.Status != 400 || ae.Code != "invalid_event" || ae.Field != "data.email" {
		t.Fatalf("a bad event should be rejected naming data.email: %+v, %v", res3, err)
	}
	unknown, err := c.Send(ctx, Event{Type: "nope"})
	if unknown.Status != StatusRejected || unknown.Err == nil || unknown.Err.Code != "unknown_event_type" || err == nil {
		t.Fatalf("an unknown type should be rejected: %+v, %v", unknown, err)
	}

	st := c.Stats()
	if st.Sent != 4 || st.Acked != 2 || st.Duplicates != 1 || st.Rejected != 2 || st.Retried != 0 || st.Failed != 0 {
		t.Fatalf("stats: %s", summary(st))
	}
	if got := n.events(); got["accepted"] != 1 || got["duplicate"] != 1 || got["rejected"] != 2 {
		t.Fatalf("the node should have seen 1 accepted, 1 duplicate and 2 rejected (no retries): %v", got)
	}
}

func TestSendBatchRejectsOneBadEventAmongGoodOnesWithoutRetrying(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	definePing(t, n, false)
	c := newClient(t, Config{URLs: []string{n.url}, BatchSize: 10}) // 3 requests of 10
	ctx := testCtx(t, 20*time.Second)

	evs := make([]Event, 30)
	for i := range evs {
		evs[i] = ping(i)
	}
	evs[17].Data = map[string]any{"userId": "u17", "email": "not an email"}
	evs[3].ID = "my-own-id-3"
	res, err := c.SendBatch(ctx, evs)
	var be *BatchError
	if !errors.As(err, &be) || be.Rejected != 1 || be.Failed != 0 {
		t.Fatalf("want a BatchError with one rejection, got %v", err)
	}
	if len(res) != 30 {
		t.Fatalf("%d results for 30 events", len(res))
	}
	for i, r := range res {
		if i == 17 {
			if r.Status != StatusRejected || r.Err == nil || r.Err.Field != "[17].data.email" {
				t.Fatalf("event 17 should be rejected naming [17].data.email (its index in the call): %+v %+v", r, r.Err)
			}
			continue
		}
		if r.Status != StatusAccepted || r.ID == "" {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	if res[3].ID != "my-own-id-3" {
		t.Fatalf("a caller's id is kept: %q", res[3].ID)
	}
	if st := c.Stats(); st.Retried != 0 || st.Rejected != 1 || st.Acked != 29 {
		t.Fatalf("stats: %s", summary(st))
	}
	if got := n.events(); got["accepted"] != 29 || got["rejected"] != 1 {
		t.Fatalf("the node should have seen the bad event once: %v", got)
	}
	// A batch sent again is all duplicates, under the ids the client assigned.
	again := make([]Event, 0, 29)
	for i, r := range res {
		if i != 17 {
			ev := evs[i]
			ev.ID = r.ID
			again = append(again, ev)
		}
	}
	res2, err := c.SendBatch(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res2 {
		if r.Status != StatusDuplicate {
			t.Fatalf("resent event %d: %+v", i, r)
		}
	}
}

// A node with a lower --max-batch than the client's BatchSize answers 413: the client halves
// the array until it fits, and every event is stored once.
func TestSendBatchHalvesAnArrayTheNodeFindsTooLarge(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t), "--max-batch", "40")
	definePing(t, n, false)
	c := newClient(t, Config{URLs: []string{n.url}, BatchSize: 100})
	evs := make([]Event, 100)
	for i := range evs {
		evs[i] = ping(i)
	}
	res, err := c.SendBatch(testCtx(t, 20*time.Second), evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != StatusAccepted {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	if st := c.Stats(); st.Sent != 100 || st.Acked != 100 || st.Retried == 0 {
		t.Fatalf("stats: %s", summary(st))
	}
	// The node counts each refused body once as "rejected": 100 → 50+50 → four of 25.
	if got := n.events(); got["accepted"] != 100 || got["rejected"] != 3 {
		t.Fatalf("node: %v", got)
	}
}

func TestStreamingTwentyThousandEventsAreAllAcknowledged(t *testing.T) {
	n := startNode(t, t.TempDir(), freeAddr(t))
	definePing(t, n, false)
	rec := newRecorder()
	c := newClient(t, Config{URLs: []string{n.url}, OnResult: rec.on})
	ctx := testCtx(t, 40*time.Second)

	const total = 20000
	start := time.Now()
	for i := 0; i < total; i++ {
		if err := c.Enqueue(ctx, ping(i)); err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (%s)", err, summary(c.Stats()))
	}
	took := time.Since(start)
	st := c.Stats()
	if st.Enqueued != total || st.Sent != total || st.Acked != total || st.Failed+st.Rejected+st.Dropped != 0 {
		t.Fatalf("stats: %s", summary(st))
	}
	if rec.calls != total || rec.count(StatusAccepted) != total {
		t.Fatalf("OnResult: %d calls, %d distinct ids accepted; want %d", rec.calls, rec.count(StatusAccepted), total)
	}
	if got := n.events(); got["accepted"] != total {
		t.Fatalf("the node accepted %d events, want %d: %v", got["accepted"], total, got)
	}
	t.Logf("%d events streamed and acknowledged in %s (%.0f/s)", total, took.Round(time.Millisecond), total/took.Seconds())
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Enqueue(ctx, ping(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
}

// A node stopped mid-stream and started again on the same data: every event is stored exactly
// once, because retries carry the ids given before the first attempt. SIGTERM lets open requests
// finish; SIGKILL cuts them, so events stored but not yet answered come back as duplicates.
func TestRetryAfterNodeRestartStoresEachEventOnce(t *testing.T) {
	t.Run("SIGTERM", func(t *testing.T) { testRestart(t, (*node).term) })
	t.Run("SIGKILL", func(t *testing.T) { testRestart(t, (*node).kill) })
}

func testRestart(t *testing.T, stop func(*node)) {
	data, addr := t.TempDir(), freeAddr(t)
	n := startNode(t, data, addr)
	definePing(t, n, true)
	rec := newRecorder()
	c := newClient(t, Config{URLs: []string{n.url}, BatchSize: 200, QueueSize: 1000, MaxAttempts: 200,
		Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Timeout: 5 * time.Second, OnResult: rec.on})
	ctx := testCtx(t, 45*time.Second)

	const total = 6000
	enqueued := make(chan error, 1)
	go func() {
		for i := 0; i < total; i++ {
			if err := c.Enqueue(ctx, ping(i)); err != nil {
				enqueued <- fmt.Errorf("Enqueue %d: %w", i, err)
				return
			}
		}
		enqueued <- nil
	}()
	eventually(t, 20*time.Second, "a first part acknowledged", func() (bool, string) {
		return c.Stats().Acked >= 1000, summary(c.Stats())
	})
	t0 := time.Now()
	stop(n)
	before := c.Stats()
	t1 := time.Now()
	n2 := startNode(t, data, addr)
	t.Logf("stopped in %s, restarted in %s", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	if err := <-enqueued; err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v (%s)", err, summary(c.Stats()))
	}
	st := c.Stats()
	t.Logf("at the stop: %s; at the end: %s", summary(before), summary(st))
	if st.Acked != total || st.Failed != 0 || st.Rejected != 0 {
		t.Fatalf("every event should be acknowledged: %s", summary(st))
	}
	if before.Acked >= total || st.Retried == 0 {
		t.Fatalf("the restart should have happened mid-stream and caused retries: at the stop %s, at the end %s", summary(before), summary(st))
	}
	if len(rec.results) != total {
		t.Fatalf("%d distinct event ids reported, want %d", len(rec.results), total)
	}
	// The journey's durable report counts each stored event (re-entrance after 1ms): exactly one
	// entry per event means nothing was lost and no retry was stored as a new event.
	if got := entered(t, n2); got != total {
		t.Fatalf("the journey was entered %d times, want exactly %d", got, total)
	}
	// Every id the client reported is the one the node stored: sent again, all are duplicates.
	again := make([]Event, 0, total)
	for _, ev := range rec.events {
		again = append(again, ev)
	}
	res, err := c.SendBatch(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != StatusDuplicate {
			t.Fatalf("event %s sent again: %+v", again[i].ID, r)
		}
	}
	if got := entered(t, n2); got != total {
		t.Fatalf("duplicates entered the journey: %d entries", got)
	}
	m := n2.events()
	t.Logf("restarted node saw: %v", m)
}

// slowProxy forwards to target after a delay, to look like a distant node.
func slowProxy(t *testing.T, target string, delay time.Duration) string {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestPicksTheFastestNodeAndFailsOverWhenItDies(t *testing.T) {
	a := startNode(t, t.TempDir(), freeAddr(t))
	bData, bAddr := t.TempDir(), freeAddr(t)
	b := startNode(t, bData, bAddr)
	definePing(t, a, false)
	definePing(t, b, false)
	farA := slowProxy(t, a.url, 40*time.Millisecond)
	c := newClient(t, Config{URLs: []string{farA, b.url}, Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	ctx := testCtx(t, 30*time.Second)

	nodes := c.Nodes()
	if len(nodes) != 2 || nodes[0].Latency < 40*time.Millisecond || nodes[1].Latency == 0 || nodes[1].Latency >= nodes[0].Latency {
		t.Fatalf("New should have measured both nodes, the proxied one slower: %+v", nodes)
	}
	batch := func(from int) []Event {
		evs := make([]Event, 100)
		for i := range evs {
			evs[i] = ping(from + i)
		}
		return evs
	}
	if _, err := c.SendBatch(ctx, batch(0)); err != nil {
		t.Fatal(err)
	}
	if ga, gb := a.events()["accepted"], b.events()["accepted"]; ga != 0 || gb != 100 {
		t.Fatalf("events should go to the faster node b: a accepted %d, b %d", ga, gb)
	}

	b.kill()
	if _, err := c.SendBatch(ctx, batch(100)); err != nil {
		t.Fatalf("after b died: %v", err)
	}
	for i := 0; i < 1000; i++ {
		if err := c.Enqueue(ctx, ping(200+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.events()["accepted"]; got != 1100 {
		t.Fatalf("a should have taken over every event: %d accepted", got)
	}
	if st := c.Stats(); st.Acked != 1200 || st.Failed != 0 {
		t.Fatalf("stats: %s", summary(st))
	}
	if nodes := c.Nodes(); nodes[1].Healthy {
		t.Fatalf("b should be marked down: %+v", nodes)
	}

	// b comes back: the background probe notices, and events go to it again.
	b2 := startNode(t, bData, bAddr)
	eventually(t, 10*time.Second, "b healthy again", func() (bool, string) {
		n := c.Nodes()
		return n[1].Healthy, fmt.Sprint(n)
	})
	if _, err := c.SendBatch(ctx, batch(5000)); err != nil {
		t.Fatal(err)
	}
	if got := b2.events()["accepted"]; got != 100 {
		t.Fatalf("the recovered faster node should get events again: %d accepted", got)
	}
}

func TestBackpressureWhenTheNodeIsDown(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	n := startNode(t, data, addr)
	definePing(t, n, false)
	n.term()
	// At most 2 events in flight (one batch) and 5 queued.
	cfg := func(o Overflow, rec *recorder) Config {
		c := Config{URLs: []string{n.url}, QueueSize: 5, BatchSize: 2, Concurrency: 1, Linger: time.Millisecond,
			Overflow: o, MaxAttempts: 1000, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
		if rec != nil {
			c.OnResult = rec.on
		}
		return c
	}
	closeSoon := func(c *Client) error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Close(ctx)
	}

	t.Run("Block", func(t *testing.T) {
		rec := newRecorder()
		c := newClient(t, cfg(Block, rec))
		ok := 0
		for ; ok < 50; ok++ {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			start := time.Now()
			err := c.Enqueue(ctx, ping(ok))
			cancel()
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 140*time.Millisecond {
					t.Fatalf("a blocked Enqueue should wait out its context: %v after %s", err, time.Since(start))
				}
				break
			}
		}
		if ok < 5 || ok > 7 {
			t.Fatalf("Enqueue blocked after %d events; want 5 queued plus at most 2 in flight", ok)
		}
		if err := closeSoon(c); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with a dead node should run out of time: %v", err)
		}
		st := c.Stats()
		if st.Failed != int64(ok) || rec.count(StatusFailed) != ok || st.Acked != 0 {
			t.Fatalf("every event should have failed on Close: %s, OnResult %d failed", summary(st), rec.count(StatusFailed))
		}
		for _, r := range rec.results {
			if r.Err == nil || r.Err.Code != "closed" {
				t.Fatalf("failure reason: %+v", r)
			}
		}
	})

	t.Run("ErrorWhenFull", func(t *testing.T) {
		c := newClient(t, cfg(ErrorWhenFull, nil))
		ctx := testCtx(t, 5*time.Second)
		ok := 0
		var err error
		for ; ok < 50; ok++ {
			if err = c.Enqueue(ctx, ping(ok)); err != nil {
				break
			}
			time.Sleep(time.Millisecond) // let the batcher take its first batch
		}
		if !errors.Is(err, ErrQueueFull) || ok < 5 || ok > 7 {
			t.Fatalf("want ErrQueueFull after 5 to 7 events, got %v after %d", err, ok)
		}
		closeSoon(c)
	})

	t.Run("DropOldest", func(t *testing.T) {
		rec := newRecorder()
		c := newClient(t, cfg(DropOldest, rec))
		ctx := testCtx(t, 30*time.Second)
		const total = 100
		ids := make([]string, total)
		for i := 0; i < total; i++ {
			ev := ping(i)
			ev.ID = fmt.Sprintf("drop-%03d", i)
			ids[i] = ev.ID
			if err := c.Enqueue(ctx, ev); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Microsecond)
		}
		st := c.Stats()
		if st.Dropped < total-7 || st.Dropped > total-5 || int(st.Dropped) != rec.count(StatusDropped) {
			t.Fatalf("want %d to %d dropped (reported to OnResult), got %s, OnResult %d", total-7, total-5, summary(st), rec.count(StatusDropped))
		}
		// The node comes back: what was kept is delivered, and it is the newest events.
		n2 := startNode(t, data, addr)
		if err := c.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v (%s)", err, summary(c.Stats()))
		}
		st = c.Stats()
		if st.Acked+st.Dropped != total || st.Failed != 0 {
			t.Fatalf("every event kept should be acknowledged: %s", summary(st))
		}
		for _, id := range ids[total-5:] {
			if r := rec.results[id]; r.Status != StatusAccepted {
				t.Fatalf("the newest events should survive: %s is %+v", id, r)
			}
		}
		if got := n2.events()["accepted"]; int64(got) != st.Acked {
			t.Fatalf("node accepted %d, client acked %d", got, st.Acked)
		}
	})
}
