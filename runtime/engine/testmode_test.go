package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// sendTest submits an event marked test, as the designer's test mode does.
func (h *harness) sendTest(typ, user string, data map[string]any) {
	h.t.Helper()
	h.seq++
	data["userId"] = user
	ev := &model.Envelope{ID: fmt.Sprintf("t%d", h.seq), Type: typ, Timestamp: time.Now().UTC(), Identity: "user:" + user, Data: data, ReceivedAt: time.Now().UTC(), Test: true}
	if out := h.eng.Submit(context.Background(), []*model.Envelope{ev}, nil); out[0].Err != nil {
		h.t.Fatalf("submit: %v", out[0].Err)
	}
}

func TestTestEventsRunTheDraftWithShortenedWaitsAndStayOutOfTotals(t *testing.T) {
	h := newHarnessWith(t, func(c *engine.Config) { c.TestWaitCap = 200 * time.Millisecond })
	h.action("hello", "", 1)
	live := model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "end"},
		{ID: "end", Kind: "end"},
	}}
	h.publish("tm", live)
	// The draft adds a three-day wait and a condition before the end.
	var j model.Journey
	if err := h.md.Get(meta.KindJourney, "tm", &j); err != nil {
		t.Fatal(err)
	}
	j.Draft = &model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "signup", Next: "pause"},
		{ID: "pause", Kind: "wait", Duration: model.Duration(72 * time.Hour), Next: "which"},
		{ID: "which", Kind: "condition", Branches: []model.Branch{{ID: "pro", Expression: "event.data.?plan.orValue('') == 'pro'", Next: "call"}}, Else: "end"},
		{ID: "call", Kind: "action", Action: "hello", Next: "end"},
		{ID: "end", Kind: "end"},
	}}
	h.put(meta.KindJourney, "tm", j)
	if h.eng.Catalog().Version("tm", 0) == nil {
		t.Fatal("the draft is not in the catalog as version 0")
	}

	start := time.Now()
	h.sendTest("signup", "tester", map[string]any{"plan": "pro"})
	h.waitFor("the test instance passes the 72h wait and calls the action", func() bool { return h.sink.Count() == 1 })
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the test instance's 72h wait took %v; want about the 200ms cap", took)
	}
	steps, err := h.eng.Trace("user:tester")
	if err != nil {
		t.Fatal(err)
	}
	var saw map[string]any
	for _, s := range steps {
		if s.Node == "which" && s.Outcome == "branch" {
			if s.Detail != "pro" || s.Version != 0 {
				t.Fatalf("condition step: %+v; want branch pro on version 0", s)
			}
			saw = s.Data
		}
	}
	if ev, _ := saw["event"].(map[string]any); ev["plan"] != "pro" {
		t.Fatalf("the condition's step does not record what it saw: %v", saw)
	}
	// A test run enters again at once (re-entrance "never" is for real profiles).
	h.sendTest("signup", "tester", map[string]any{"plan": "free"})
	h.waitFor("the second test run ends", func() bool { return h.node("tm", 0, "which")["branch:else"] == 1 })

	// A live event still enters the live version, and only it counts in the hourly series.
	h.send("signup", "real", nil)
	if n := h.node("tm", 1, "in")["entered"]; n != 1 {
		t.Fatalf("live entries of v1: %d, want 1", n)
	}
	hourly, err := h.eng.Hourly("tm")
	if err != nil {
		t.Fatal(err)
	}
	var entered int64
	for _, p := range hourly {
		entered += p.Counts["entered"]
	}
	if entered != 1 {
		t.Fatalf("hourly entries: %d, want 1 (test runs stay out)", entered)
	}
}
