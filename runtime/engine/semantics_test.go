package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/demosink"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/runtime/store"
)

// harness is one engine over a real Pebble store in a temp dir, with actions going over real
// HTTP to a demo sink on loopback.
type harness struct {
	t    *testing.T
	eng  *engine.Engine
	md   *meta.Store
	cat  *catalog.Catalog
	sink *demosink.Sink
	url  string
	seq  int
	// caller is the dispatcher's caller; tests give it channel providers.
	caller *actions.Caller
}

func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil) }

func newHarnessWith(t *testing.T, tune func(*engine.Config)) *harness {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sink, url, closeSink, err := demosink.Serve("")
	if err != nil {
		t.Fatal(err)
	}
	scfg := actions.DefaultSenderConfig()
	scfg.Guard = &netguard.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}} // the sink is on loopback
	caller := actions.NewCaller(scfg)
	cfg := engine.DefaultConfig()
	cfg.Partitions = 8
	cfg.Dispatch.SweepInterval = 200 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if tune != nil {
		tune(&cfg)
	}
	eng, err := engine.New(st, cfg, caller)
	if err != nil {
		t.Fatal(err)
	}
	md := meta.New(st)
	cat, err := catalog.New(md, cfg.Logger, func(s *catalog.Snapshot) { eng.SetCatalog(s.Journeys) })
	if err != nil {
		t.Fatal(err)
	}
	eng.Start()
	t.Cleanup(func() {
		eng.Stop()
		caller.Sender.Close()
		closeSink()
		st.Close()
	})
	h := &harness{t: t, eng: eng, md: md, cat: cat, sink: sink, url: url, caller: caller}
	for _, name := range []string{"signup", "purchase", "quit"} {
		h.put(meta.KindEventDef, name, model.EventDefinition{Name: name, IdentityField: "userId", IdentityNamespace: "user",
			Schema: json.RawMessage(`{"type":"object","required":["userId"],"properties":{"userId":{"type":"string"},"amount":{"type":"number"},"plan":{"type":"string"},"due":{"type":"string","format":"date-time"}}}`)})
	}
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (h *harness) put(kind, id string, v any) {
	h.t.Helper()
	if err := h.md.Put(kind, id, v); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) action(id, query string, maxAttempts int) {
	h.put(meta.KindAction, id, model.Action{ID: id, Name: id, Method: "POST", URL: h.url + "/" + id + query,
		Payload: json.RawMessage(`{"user":"{{ profile.id }}","journey":"{{ journey.id }}"}`), Timeout: model.Duration(2 * time.Second),
		Retry: model.RetryPolicy{MaxAttempts: maxAttempts, InitialBackoff: model.Duration(20 * time.Millisecond), MaxBackoff: model.Duration(50 * time.Millisecond)}})
}

// publish stores a journey and its next version as live, the way the API does.
func (h *harness) publish(id string, def model.Definition) {
	h.t.Helper()
	var j model.Journey
	if err := h.md.Get(meta.KindJourney, id, &j); err != nil {
		j = model.Journey{ID: id, Name: id}
	}
	j.Versions++
	j.LiveVersion, j.Status = j.Versions, model.StatusLive
	h.put(meta.KindJourneyVersion, fmt.Sprintf("%s/%08d", id, j.Versions), model.JourneyVersion{JourneyID: id, Version: j.Versions, Name: id, Definition: def})
	h.put(meta.KindJourney, id, j)
	if broken := h.cat.Current().Broken; len(broken) > 0 {
		h.t.Fatalf("journey does not compile: %v", broken)
	}
	if h.eng.Catalog().Version(id, j.Versions) == nil {
		h.t.Fatalf("journey %s v%d not in the catalog", id, j.Versions)
	}
}

func (h *harness) send(typ, user string, data map[string]any) engine.Outcome {
	h.t.Helper()
	h.seq++
	if data == nil {
		data = map[string]any{}
	}
	data["userId"] = user
	ev := &model.Envelope{ID: fmt.Sprintf("e%d", h.seq), Type: typ, Timestamp: time.Now().UTC(), Identity: "user:" + user, Data: data, ReceivedAt: time.Now().UTC()}
	out := h.eng.Submit(context.Background(), []*model.Envelope{ev}, nil)
	if out[0].Err != nil {
		h.t.Fatalf("submit: %v", out[0].Err)
	}
	return out[0]
}

func (h *harness) totals(journeyID string) map[string]int64 {
	c, err := h.eng.Counters(engine.NodeScope(journeyID, 0, "")[:len("j/"+journeyID+"/")])
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for scope, m := range c {
		if strings.HasSuffix(scope, "/") {
			for k, v := range m {
				out[k] += v
			}
		}
	}
	return out
}

func (h *harness) node(journeyID string, version int, node string) map[string]int64 {
	c, _ := h.eng.Counters(engine.NodeScope(journeyID, version, node))
	return c[engine.NodeScope(journeyID, version, node)]
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("%s: still not true after 10s", what)
}

func TestWaitForEventTakesTheEventPathOrTheTimeoutPath(t *testing.T) {
	h := newHarness(t)
	h.action("bought", "", 1)
	h.action("nudge", "", 1)
	h.publish("cart", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "buy"},
		{ID: "buy", Kind: "event", Event: "purchase", Condition: "event.data.amount > 10", Timeout: model.Duration(time.Second), TimeoutNext: "nudge", Next: "thanks"},
		{ID: "thanks", Kind: "action", Action: "bought", Next: "end"},
		{ID: "nudge", Kind: "action", Action: "nudge", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	h.send("signup", "a", nil)
	h.send("signup", "b", nil)
	h.send("purchase", "a", map[string]any{"amount": 5.0}) // filtered out: still waiting
	h.send("purchase", "a", map[string]any{"amount": 50.0})
	h.waitFor("both paths taken", func() bool { return h.sink.Count() == 2 })
	paths := map[string]bool{}
	for _, r := range h.sink.Recent(10) {
		paths[r.Path] = true
	}
	if !paths["/bought"] || !paths["/nudge"] {
		t.Fatalf("want one call on each path, got %v", paths)
	}
	if n := h.node("cart", 1, "buy")["timedOut"]; n != 1 {
		t.Fatalf("timedOut at the event node = %d, want 1", n)
	}
}

func TestExitEventEndsTheInstanceAndItsTimers(t *testing.T) {
	h := newHarness(t)
	h.action("later", "", 1)
	def := model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "pause"},
		{ID: "pause", Kind: "wait", Duration: model.Duration(500 * time.Millisecond), Next: "call"},
		{ID: "call", Kind: "action", Action: "later", Next: "end"},
		{ID: "end", Kind: "end"},
	}, Rules: model.Rules{ExitEvents: []model.ExitEvent{{Event: "quit"}}}}
	h.publish("exit", def)
	h.send("signup", "a", nil)
	h.send("signup", "b", nil)
	h.send("quit", "a", nil)
	h.waitFor("b's call", func() bool { return h.sink.Count() == 1 })
	time.Sleep(300 * time.Millisecond)
	if h.sink.Count() != 1 || h.sink.Recent(1)[0].Path != "/later" {
		t.Fatalf("only b should be called: %d calls", h.sink.Count())
	}
	tot := h.totals("exit")
	if tot["entered"] != 2 || tot["completed"] != 1 || tot["exited"] != 2 {
		t.Fatalf("totals: %v", tot)
	}
	// Re-entrance "never": a second signup does not re-enter.
	h.send("signup", "b", nil)
	if tot := h.totals("exit"); tot["entered"] != 2 {
		t.Fatalf("re-entered despite the never rule: %v", tot)
	}
}

func TestReentranceAfterAWaitPeriod(t *testing.T) {
	h := newHarness(t)
	h.publish("again", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "end"},
		{ID: "end", Kind: "end"},
	}, Rules: model.Rules{Reentrance: model.Reentrance{Mode: "after", Wait: model.Duration(300 * time.Millisecond)}}})
	h.send("signup", "a", nil)
	h.send("signup", "a", nil)
	if tot := h.totals("again"); tot["entered"] != 1 {
		t.Fatalf("entered %d times within the wait period, want 1", tot["entered"])
	}
	time.Sleep(350 * time.Millisecond)
	h.send("signup", "a", nil)
	if tot := h.totals("again"); tot["entered"] != 2 {
		t.Fatalf("entered %d times after the wait period, want 2", tot["entered"])
	}
}

func TestFailingActionRetriesThenTakesTheErrorPathAndDeadLetters(t *testing.T) {
	h := newHarness(t)
	h.action("flaky", "?failAttempts=2", 5)           // two 503s, then success
	h.action("broken", "?fail=500&failAttempts=3", 3) // fails its first three attempts: all it has
	h.action("fallback", "", 1)
	h.publish("errs", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "first"},
		{ID: "first", Kind: "action", Action: "flaky", Next: "second"},
		{ID: "second", Kind: "action", Action: "broken", Next: "end", ErrorNext: "fb"},
		{ID: "fb", Kind: "action", Action: "fallback", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	h.send("signup", "a", nil)
	// "first" has no error path, so the instance does not wait for it: wait for both.
	h.waitFor("fallback called and flaky succeeded", func() bool {
		fallback, flaky := false, 0
		for _, r := range h.sink.Recent(20) {
			switch r.Path {
			case "/fallback":
				fallback = true
			case "/flaky":
				flaky++
			}
		}
		return fallback && flaky == 3
	})
	keys := map[string]map[string]int{}
	for _, r := range h.sink.Recent(20) {
		p := strings.SplitN(r.Path, "?", 2)[0]
		if keys[p] == nil {
			keys[p] = map[string]int{}
		}
		keys[p][r.IdempotencyKey]++
	}
	if len(keys["/flaky"]) != 1 || len(keys["/broken"]) != 1 {
		t.Fatalf("retries must reuse one idempotency key per call: %v", keys)
	}
	for _, n := range keys["/flaky"] {
		if n != 3 {
			t.Fatalf("flaky: %d attempts, want 3", n)
		}
	}
	for _, n := range keys["/broken"] {
		if n != 3 {
			t.Fatalf("broken: %d attempts, want 3 (maxAttempts)", n)
		}
	}
	h.waitFor("dead letter recorded", func() bool {
		dl, _ := h.eng.DeadLetters(10)
		return len(dl) == 1
	})
	dl, _ := h.eng.DeadLetters(10)
	if dl[0].Reason == "" || !strings.Contains(dl[0].Reason, "500") {
		t.Fatalf("dead letter reason should name the failure: %+v", dl[0])
	}
	c, _ := h.eng.Counters(engine.ActionScope("broken"))
	if got := c[engine.ActionScope("broken")]; got["failed"] != 3 || got["retried"] != 2 || got["deadLettered"] != 1 {
		t.Fatalf("broken action counters: %v", got)
	}
	h.waitFor("instance completed via the error path", func() bool { return h.totals("errs")["completed"] == 1 })

	// Retried from the dead letters (the endpoint now answers attempt 4), with the same key.
	brokenKey := ""
	for k := range keys["/broken"] {
		brokenKey = k
	}
	if err := h.eng.RetryDeadLetter(context.Background(), dl[0].ID); err != nil {
		t.Fatalf("retry %s: %v", dl[0].ID, err)
	}
	h.waitFor("the retried call arrives", func() bool {
		for _, r := range h.sink.Recent(30) {
			if r.Path == "/broken" && r.Status == 200 {
				return r.IdempotencyKey == brokenKey
			}
		}
		return false
	})
	h.waitFor("the dead letter is gone", func() bool {
		dl, _ := h.eng.DeadLetters(10)
		return len(dl) == 0
	})
	if err := h.eng.RetryDeadLetter(context.Background(), dl[0].ID); !errors.Is(err, engine.ErrNoDeadLetter) {
		t.Fatalf("retrying it again: %v, want ErrNoDeadLetter", err)
	}
	if n := h.node("errs", 1, "second")["errored"]; n != 1 {
		t.Fatalf("errored at the failing node = %d, want 1", n)
	}
}

func TestSplitIsDeterministicAndRoughlyProportional(t *testing.T) {
	h := newHarness(t)
	h.publish("ab", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "split"},
		{ID: "split", Kind: "condition", Split: []model.Split{{ID: "a", Percent: 20, Next: "ea"}, {ID: "b", Percent: 80, Next: "eb"}}},
		{ID: "ea", Kind: "end"},
		{ID: "eb", Kind: "end"},
	}})
	for i := 0; i < 500; i++ {
		h.send("signup", fmt.Sprintf("u%d", i), nil)
	}
	n := h.node("ab", 1, "split")
	if a := n["branch:a"]; a < 60 || a > 140 || a+n["branch:b"] != 500 {
		t.Fatalf("20/80 split of 500 gave %v", n)
	}
	// Each profile took the arm its stable bucket names: the same profile always lands there.
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("u%d", i)
		want := "eb"
		if engine.Bucket("user:"+id, "ab", "split") < 20 {
			want = "ea"
		}
		steps, err := h.eng.Trace("user:" + id)
		if err != nil {
			t.Fatal(err)
		}
		took := ""
		for _, st := range steps {
			if st.Node == "ea" || st.Node == "eb" {
				took = st.Node
			}
		}
		if took != want {
			t.Fatalf("profile %s went to %q, its bucket says %q", id, took, want)
		}
	}
}

func TestUpdateProfileAndNewVersionsLeaveInFlightInstancesAlone(t *testing.T) {
	h := newHarness(t)
	h.action("v1call", "", 1)
	h.action("v2call", "", 1)
	mk := func(action string) model.Definition {
		return model.Definition{Nodes: []model.Node{
			{ID: "in", Kind: "event", Event: "signup", Next: "tag"},
			{ID: "tag", Kind: "update_profile", Set: map[string]string{"plan": "event.data.plan", "seen.count": "1"}, Next: "pause"},
			{ID: "pause", Kind: "wait", Duration: model.Duration(400 * time.Millisecond), Next: "call"},
			{ID: "call", Kind: "action", Action: action, Next: "end"},
			{ID: "end", Kind: "end"},
		}}
	}
	h.publish("ver", mk("v1call"))
	h.send("signup", "old", map[string]any{"plan": "pro"})
	h.publish("ver", mk("v2call"))
	h.send("signup", "new", map[string]any{"plan": "free"})
	h.waitFor("both calls", func() bool { return h.sink.Count() == 2 })
	got := map[string]string{}
	for _, r := range h.sink.Recent(2) {
		var b map[string]string
		json.Unmarshal(r.Body, &b)
		got[b["user"]] = r.Path
	}
	if got["user:old"] != "/v1call" || got["user:new"] != "/v2call" {
		t.Fatalf("each instance must finish on the version it entered: %v", got)
	}
	p, err := h.eng.GetProfile("user:old")
	if err != nil {
		t.Fatal(err)
	}
	if p.Attributes["plan"] != "pro" || p.Attributes["seen"].(map[string]any)["count"] != int64(1) && p.Attributes["seen"].(map[string]any)["count"] != float64(1) {
		t.Fatalf("profile attributes: %v", p.Attributes)
	}
}

func TestStoppedJourneyTakesNoNewEntries(t *testing.T) {
	h := newHarness(t)
	h.publish("stopme", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	h.send("signup", "a", nil)
	var j model.Journey
	if err := h.md.Get(meta.KindJourney, "stopme", &j); err != nil {
		t.Fatal(err)
	}
	j.Status = model.StatusStopped
	h.put(meta.KindJourney, "stopme", j)
	h.send("signup", "b", nil)
	if tot := h.totals("stopme"); tot["entered"] != 1 {
		t.Fatalf("a stopped journey took an entry: %v", tot)
	}
}

func TestDuplicateEventIDsAreIgnored(t *testing.T) {
	h := newHarness(t)
	h.publish("dup", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "end"},
		{ID: "end", Kind: "end"},
	}, Rules: model.Rules{Reentrance: model.Reentrance{Mode: "after", Wait: model.Duration(time.Nanosecond)}}})
	ev := func() *model.Envelope {
		return &model.Envelope{ID: "same", Type: "signup", Identity: "user:a", Data: map[string]any{"userId": "a"}, Timestamp: time.Now()}
	}
	out := h.eng.Submit(context.Background(), []*model.Envelope{ev(), ev()}, nil)
	if out[0].Duplicate || !out[1].Duplicate {
		t.Fatalf("outcomes %+v: the second copy should be a duplicate", out)
	}
	if tot := h.totals("dup"); tot["entered"] != 1 {
		t.Fatalf("entered %d times", tot["entered"])
	}
}

func TestRateCappedActionSpacesItsCalls(t *testing.T) {
	h := newHarness(t)
	h.put(meta.KindAction, "capped", model.Action{ID: "capped", Name: "capped", Method: "POST", URL: h.url + "/capped",
		RateLimit: 10, Timeout: model.Duration(2 * time.Second)})
	h.publish("cap", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "call"},
		{ID: "call", Kind: "action", Action: "capped", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	for i := 0; i < 6; i++ {
		h.send("signup", fmt.Sprintf("c%d", i), nil)
	}
	h.waitFor("all capped calls made", func() bool { return h.sink.Count() == 6 })
	calls := h.sink.Recent(6) // newest first
	// At 10 calls/s with a burst of one, six calls span at least five intervals of 100ms.
	if span := calls[0].At.Sub(calls[5].At); span < 450*time.Millisecond {
		t.Fatalf("6 calls at 10/s took %s; the cap was not applied", span)
	}
	if h.sink.DistinctKeys() != 6 {
		t.Fatalf("want 6 distinct calls, got %d keys", h.sink.DistinctKeys())
	}
}

func TestDedupeWindowExpires(t *testing.T) {
	h := newHarnessWith(t, func(c *engine.Config) { c.DedupeWindow = 300 * time.Millisecond })
	ev := func() []*model.Envelope {
		return []*model.Envelope{{ID: "again", Type: "signup", Identity: "user:a", Data: map[string]any{"userId": "a"}, Timestamp: time.Now()}}
	}
	if out := h.eng.Submit(context.Background(), ev(), nil); out[0].Duplicate {
		t.Fatal("the first copy is not a duplicate")
	}
	if out := h.eng.Submit(context.Background(), ev(), nil); !out[0].Duplicate {
		t.Fatal("a copy within the window must be a duplicate")
	}
	time.Sleep(1500 * time.Millisecond) // past the window and a sweep
	if out := h.eng.Submit(context.Background(), ev(), nil); out[0].Duplicate {
		t.Fatal("a copy after the window must be accepted again")
	}
	if out := h.eng.Submit(context.Background(), ev(), nil); !out[0].Duplicate {
		t.Fatal("the renewed mark must hold after the old one is swept")
	}
}

func TestWaitUntilAnExpressionOrATimestamp(t *testing.T) {
	h := newHarness(t)
	h.action("after-expr", "", 1)
	h.action("after-date", "", 1)
	h.publish("until", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "which"},
		{ID: "which", Kind: "condition", Branches: []model.Branch{{ID: "expr", Expression: `event.data.plan == "expr"`, Next: "w-expr"}}, Else: "w-date"},
		{ID: "w-expr", Kind: "wait", UntilExpression: `event.timestamp + duration("400ms")`, Next: "c-expr"},
		{ID: "w-date", Kind: "wait", Until: "2001-01-01T00:00:00Z", Next: "c-date"}, // in the past: passes at once
		{ID: "c-expr", Kind: "action", Action: "after-expr", Next: "end"},
		{ID: "c-date", Kind: "action", Action: "after-date", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	start := time.Now()
	h.send("signup", "e", map[string]any{"plan": "expr"})
	h.send("signup", "d", map[string]any{"plan": "date"})
	h.waitFor("both waits over", func() bool { return h.sink.Count() == 2 })
	var exprAt, dateAt time.Time
	for _, r := range h.sink.Recent(2) {
		switch r.Path {
		case "/after-expr":
			exprAt = r.At
		case "/after-date":
			dateAt = r.At
		}
	}
	if exprAt.Sub(start) < 400*time.Millisecond {
		t.Fatalf("the expression wait ended after %s, before its due time", exprAt.Sub(start))
	}
	if dateAt.IsZero() || !dateAt.Before(exprAt) {
		t.Fatalf("a wait until a past date must pass at once (date call %v, expression call %v)", dateAt, exprAt)
	}
}

// Timers are a queue whose front the worker remembers; one scheduled before the front (or after
// the queue emptied) must still fire in due order, not wait for the timer that was next.
func TestTimersScheduledBeforeThePendingOnesFireFirst(t *testing.T) {
	h := newHarnessWith(t, func(c *engine.Config) { c.Partitions = 1 }) // one timer queue
	h.action("early", "", 1)
	h.action("late", "", 1)
	h.publish("queue", model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "park"},
		{ID: "park", Kind: "wait", UntilExpression: `timestamp(event.data.due)`, Next: "which"},
		{ID: "which", Kind: "condition", Branches: []model.Branch{{ID: "late", Expression: `event.data.plan == "late"`, Next: "c-late"}}, Else: "c-early"},
		{ID: "c-late", Kind: "action", Action: "late", Next: "end"},
		{ID: "c-early", Kind: "action", Action: "early", Next: "end"},
		{ID: "end", Kind: "end"},
	}})
	due := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }
	h.send("signup", "late", map[string]any{"plan": "late", "due": due(4 * time.Second)})
	for i := 0; i < 3; i++ {
		h.send("signup", fmt.Sprintf("early%d", i), map[string]any{"plan": "early", "due": due(200 * time.Millisecond)})
	}
	h.waitFor("the early timers", func() bool { return h.sink.Count() == 3 })
	// The queue's front is the late timer again; one more before it.
	h.send("signup", "early3", map[string]any{"plan": "early", "due": due(200 * time.Millisecond)})
	h.waitFor("the last early timer", func() bool { return h.sink.Count() == 4 })
	for _, r := range h.sink.Recent(4) {
		if r.Path != "/early" {
			t.Fatalf("call to %s before the early timers were all done", r.Path)
		}
	}
	h.waitFor("the late timer", func() bool { return h.sink.Count() == 5 })
}
