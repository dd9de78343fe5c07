package engine

import (
	"reflect"
	"testing"
	"time"
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
