package engine

import (
	"encoding/json"
	"time"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/model"
)

// The records below are stored as JSON in the partition key space. WARNING: fields are only
// added, never renamed or re-purposed: old records must keep decoding.

// Instance states: what an instance is blocked on.
const (
	waitEvent  = "event"
	waitTimer  = "timer"
	waitAction = "action"
)

// instance is one profile's walk through one journey version.
type instance struct {
	ID        string          `json:"id"`
	JourneyID string          `json:"journeyId"`
	Version   int             `json:"version"`
	Node      string          `json:"node"`
	State     string          `json:"state"`
	Token     uint64          `json:"token"` // bumped on every block; stale timers and results carry an old one
	Vars      map[string]any  `json:"vars,omitempty"`
	Event     *model.Envelope `json:"event,omitempty"` // the event in scope
	EnteredAt time.Time       `json:"enteredAt"`
	Deadline  time.Time       `json:"deadline"`
	WaitKey   []byte          `json:"waitKey,omitempty"`     // the timer of the current wait or event timeout
	DeadKey   []byte          `json:"deadlineKey,omitempty"` // the global-timeout timer
	Test      bool            `json:"test,omitempty"`
}

// history remembers entries into a journey, for re-entrance rules.
type history struct {
	LastEntry time.Time `json:"lastEntry"`
	Entries   int       `json:"entries"`
}

// Timer kinds.
const (
	timerWait     = "wait"     // a wait node's delay is over
	timerTimeout  = "timeout"  // an event node's timeout
	timerDeadline = "deadline" // the journey's global timeout
)

type timerRec struct {
	Kind     string `json:"kind"`
	Profile  string `json:"profile"`
	Journey  string `json:"journey"`
	Instance string `json:"instance"`
	Token    uint64 `json:"token"`
}

// outboxRec is one logical action call, durable until it succeeds or is dead-lettered.
type outboxRec struct {
	Key      string          `json:"key"` // the Idempotency-Key, stable across retries
	ActionID string          `json:"actionId"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body,omitempty"`
	Attempts int             `json:"attempts"` // calls made so far
	// ReplayBase is Attempts when the call was retried from the dead letters: the retry policy
	// counts from there, while the attempt numbers the receiver sees go on.
	ReplayBase int       `json:"replayBase,omitempty"`
	Profile    string    `json:"profile"`
	Journey    string    `json:"journey"`
	Version    int       `json:"version"`
	Node       string    `json:"node"`
	Instance   string    `json:"instance"`
	Await      bool      `json:"await,omitempty"` // the instance waits for the outcome (it has an error path)
	Token      uint64    `json:"token,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	LastError  string    `json:"lastError,omitempty"`
}

// DeadLetter is an action call that failed for good.
type DeadLetter struct {
	// ID names the dead letter in the API ("partition.sequence"); it is its key, not stored.
	ID string `json:"id,omitempty"`
	outboxRec
	FailedAt time.Time `json:"failedAt"`
	Reason   string    `json:"reason"`
}

// storedProfile is a profile plus engine bookkeeping.
type storedProfile struct {
	model.Profile
	TraceSeq uint64 `json:"traceSeq,omitempty"`
	// fresh marks a profile created in this batch: nothing keyed by it (history, instances)
	// can exist yet, so lookups of those are skipped. Not stored.
	fresh bool
}

// traceRecord holds the trace steps one micro-batch made for one profile. Every step of a batch
// happened at the same moment and most name the same instance, so the record says those once:
// At for every step, and a table of the instances that steps point into (Ref). That halves the
// bytes a journey step writes, and trace records are most of them. Records written before
// carry "at" and the instance on each step; they decode the same.
type traceRecord struct {
	At        int64        `json:"t,omitempty"` // unix nanoseconds
	Instances []traceInst  `json:"in,omitempty"`
	Steps     []storedStep `json:"steps"`
}

// traceInst is an instance that steps of a trace record name.
type traceInst struct {
	Journey string `json:"j"`
	Version int    `json:"v,omitempty"`
	ID      string `json:"i"`
}

// storedStep is a TraceStep as a trace record holds it.
type storedStep struct {
	At       *time.Time     `json:"at,omitempty"`  // records written before traceRecord.At
	Ref      int            `json:"ref,omitempty"` // 1 + the position of the step's instance in traceRecord.Instances
	Journey  string         `json:"journeyId,omitempty"`
	Version  int            `json:"version,omitempty"`
	Instance string         `json:"instanceId,omitempty"`
	Node     string         `json:"nodeId,omitempty"`
	Kind     string         `json:"kind"`
	Outcome  string         `json:"outcome,omitempty"`
	Detail   string         `json:"detail,omitempty"`
	EventID  string         `json:"eventId,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
}

// packTrace builds the record of steps that all happened at now.
func packTrace(now time.Time, steps []TraceStep) traceRecord {
	r := traceRecord{At: now.UnixNano(), Steps: make([]storedStep, len(steps))}
	for i, s := range steps {
		ss := storedStep{Node: s.Node, Kind: s.Kind, Outcome: s.Outcome, Detail: s.Detail, EventID: s.EventID, Data: s.Data}
		if s.Instance == "" {
			ss.Journey, ss.Version = s.Journey, s.Version // a journey's step before an instance exists
		} else {
			ss.Ref = r.ref(traceInst{Journey: s.Journey, Version: s.Version, ID: s.Instance})
		}
		r.Steps[i] = ss
	}
	return r
}

func (r *traceRecord) ref(in traceInst) int {
	for i, have := range r.Instances {
		if have == in {
			return i + 1
		}
	}
	r.Instances = append(r.Instances, in)
	return len(r.Instances)
}

// steps unpacks the record; a Ref outside the table (a damaged record) leaves the step
// without its instance rather than failing the whole trace.
func (r *traceRecord) steps() []TraceStep {
	out := make([]TraceStep, len(r.Steps))
	for i, s := range r.Steps {
		t := TraceStep{Journey: s.Journey, Version: s.Version, Instance: s.Instance, Node: s.Node, Kind: s.Kind,
			Outcome: s.Outcome, Detail: s.Detail, EventID: s.EventID, Data: s.Data}
		switch {
		case s.At != nil:
			t.At = *s.At
		case r.At != 0:
			t.At = time.Unix(0, r.At).UTC()
		}
		if s.Ref > 0 && s.Ref <= len(r.Instances) {
			in := r.Instances[s.Ref-1]
			t.Journey, t.Version, t.Instance = in.Journey, in.Version, in.ID
		}
		out[i] = t
	}
	return out
}

// TraceStep is one step of a profile's trace.
type TraceStep struct {
	At       time.Time `json:"at"`
	Journey  string    `json:"journeyId,omitempty"`
	Version  int       `json:"version,omitempty"`
	Instance string    `json:"instanceId,omitempty"`
	Node     string    `json:"nodeId,omitempty"`
	Kind     string    `json:"kind"` // event, entered, node, exited, action, error, skipped
	Outcome  string    `json:"outcome,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	EventID  string    `json:"eventId,omitempty"`
	// Data is what a condition saw, on the steps of test instances only (the event's data, the
	// profile's attributes and the instance's variables), so test mode can show why a branch
	// was taken without making every live trace heavier.
	Data map[string]any `json:"data,omitempty"`
}

func encode(v any) ([]byte, error) { return sonic.Marshal(v) }

func decode(b []byte, v any) error { return sonic.Unmarshal(b, v) }
