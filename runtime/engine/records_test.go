package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/store"
)

func TestTraceRecordRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 11, 37, 43, 38613416, time.UTC)
	steps := []TraceStep{
		{Kind: "event", Outcome: "accepted", Detail: "user.signup", EventID: "e1"},
		{Kind: "error", Journey: "welcome", Version: 3, Node: "in", Detail: "entry condition: no such key"},
		{Kind: "entered", Journey: "welcome", Version: 3, Instance: "welcome.1.7", Node: "in", EventID: "e1"},
		{Kind: "node", Journey: "welcome", Version: 3, Instance: "welcome.1.7", Node: "tier", Outcome: "branch", Detail: "else",
			Data: map[string]any{"plan": "pro"}},
		{Kind: "entered", Journey: "upsell", Version: 1, Instance: "upsell.2.7", Node: "in"},
		{Kind: "exited", Journey: "welcome", Version: 3, Instance: "welcome.1.7", Node: "end", Outcome: "completed"},
	}
	raw, err := encode(packTrace(now, steps))
	if err != nil {
		t.Fatal(err)
	}
	var r traceRecord
	if err := decode(raw, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Instances) != 2 {
		t.Errorf("the record names %d instances, want 2 (each once): %s", len(r.Instances), raw)
	}
	want := make([]TraceStep, len(steps))
	for i, s := range steps {
		s.At = now
		want[i] = s
	}
	if got := r.steps(); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// Records written before the compact form carry "at" and the instance on every step.
func TestTraceRecordOldFormatStillDecodes(t *testing.T) {
	raw := []byte(`{"steps":[{"at":"2026-11-23T11:37:43.038613416Z","kind":"event","outcome":"accepted","detail":"bench.signup","eventId":"e1"},` +
		`{"at":"2026-11-23T11:37:43.038613416Z","journeyId":"bench-demo","version":1,"instanceId":"bench-demo.4a1.40","nodeId":"in","kind":"entered","eventId":"e1"}]}`)
	var r traceRecord
	if err := decode(raw, &r); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 11, 37, 43, 38613416, time.UTC)
	want := []TraceStep{
		{At: at, Kind: "event", Outcome: "accepted", Detail: "bench.signup", EventID: "e1"},
		{At: at, Journey: "bench-demo", Version: 1, Instance: "bench-demo.4a1.40", Node: "in", Kind: "entered", EventID: "e1"},
	}
	got := r.steps()
	for i := range got {
		if !got[i].At.Equal(want[i].At) {
			t.Errorf("step %d at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("old record:\n got %+v\nwant %+v", got, want)
	}
}

// A damaged reference loses the step's instance, not the trace.
func TestTraceRecordBadRefKeepsTheStep(t *testing.T) {
	r := traceRecord{At: 1, Instances: []traceInst{{Journey: "j", ID: "i"}}, Steps: []storedStep{{Kind: "node", Ref: 5}, {Kind: "node", Ref: 1}}}
	got := r.steps()
	if got[0].Instance != "" || got[0].Kind != "node" || got[1].Instance != "i" || got[1].Journey != "j" {
		t.Errorf("steps %+v", got)
	}
}

func TestCounterGroupOf(t *testing.T) {
	for scope, want := range map[string][2]string{
		NodeScope("welcome", 2, "tier"):          {"j/welcome/2/", "tier"},
		NodeScope("welcome", 2, ""):              {"j/welcome/2/", ""},
		"j/welcome/":                             {"j/welcome/", ""}, // a prefix above the groups
		HourScope("welcome", time.Unix(7200, 0)): {"h/welcome/7200", ""},
		ActionScope("crm"):                       {"a/crm", ""},
	} {
		if g, s := counterGroupOf(scope); g != want[0] || s != want[1] {
			t.Errorf("counterGroupOf(%q) = %q, %q; want %q, %q", scope, g, s, want[0], want[1])
		}
	}
}

// Reports sum the counter groups with the single counters that versions before groups wrote,
// so a data directory carries its reports over.
func TestCountersReadGroupsAndOlderSingleCounters(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := DefaultConfig()
	cfg.Partitions = 4
	e, err := New(st, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := st.DB.NewBatch()
	b.Merge(store.PartKey(1, store.KindCounter, NodeScope("welcome", 2, "tier"), "passed"), store.EncodeCounter(5), nil)
	b.Merge(store.CounterGroupKey(1, "j/welcome/2/"), store.EncodeCounterGroup(store.CounterGroup{{Sub: "tier", Name: "passed"}: 2, {Name: "entered"}: 1}), nil)
	b.Merge(store.CounterGroupKey(3, "j/welcome/2/"), store.EncodeCounterGroup(store.CounterGroup{{Sub: "tier", Name: "passed"}: 10}), nil)
	b.Merge(store.CounterGroupKey(3, "j/welcomes/1/"), store.EncodeCounterGroup(store.CounterGroup{{Sub: "tier", Name: "passed"}: 100}), nil)
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	all, err := e.Counters("j/welcome/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int64{"j/welcome/2/tier": {"passed": 17}, "j/welcome/2/": {"entered": 1}}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("Counters(j/welcome/) = %v, want %v", all, want)
	}
	node, _ := e.Counters(NodeScope("welcome", 2, "tier"))
	if !reflect.DeepEqual(node, map[string]map[string]int64{"j/welcome/2/tier": {"passed": 17}}) {
		t.Errorf("Counters(node) = %v", node)
	}
}
