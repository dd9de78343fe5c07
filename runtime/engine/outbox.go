package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/store"
)

// enqueueAction renders an action node's call and writes it to the outbox, in the same batch as
// the state change that caused it.
func (st *stepCtx) enqueueAction(prof *storedProfile, inst *instance, n *journey.Node, act *expr.Activation, await bool) error {
	a, ok := st.cat.Action(n.Action)
	if !ok {
		return fmt.Errorf("action %q no longer exists", n.Action)
	}
	var u string
	if n.URLT != nil { // plugin actions have no URL
		var err error
		if u, err = n.URLT.Render(act, url.PathEscape); err != nil {
			return fmt.Errorf("action %s url: %w", a.ID, err)
		}
	}
	var body json.RawMessage
	due := st.now
	if n.Msg != nil {
		var err error
		if body, due, err = st.prepareMessage(prof, a, n.Msg, act); err != nil {
			return fmt.Errorf("action %s: %w", a.ID, err)
		}
	}
	if n.PayloadT != nil {
		var err error
		if body, err = n.PayloadT.Render(act); err != nil {
			return fmt.Errorf("action %s payload: %w", a.ID, err)
		}
	}
	seq := st.p.nextSeq()
	rec := &outboxRec{
		Key: inst.ID + "." + n.ID + "." + strconv.FormatUint(seq, 36), ActionID: a.ID, URL: u, Body: body,
		Profile: prof.ID, Journey: inst.JourneyID, Version: inst.Version, Node: n.ID, Instance: inst.ID,
		Await: await, Token: inst.Token, CreatedAt: st.now,
	}
	key := store.TimeSeqKey(st.pid(), store.KindOutbox, due, seq)
	st.put(key, rec)
	st.outbox = append(st.outbox, pendingCall{key: key, rec: rec})
	st.count(ActionScope(a.ID), "queued", 1)
	st.trace(prof, TraceStep{Kind: "action", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Outcome: "queued", Detail: a.ID + " " + rec.Key})
	return nil
}

// callResult is the outcome of one dispatched call, applied by the partition worker.
type callResult struct {
	key []byte
	out CallOutcome
}

// handleResult records a call's outcome: done, retry later, or dead-letter; and moves an
// instance that waits for it.
func (st *stepCtx) handleResult(res *callResult) {
	st.settled = append(st.settled, string(res.key))
	raw, ok := st.get(res.key)
	if !ok {
		return // already settled (a duplicate result after a restart sweep)
	}
	rec := &outboxRec{}
	if err := decode(raw, rec); err != nil {
		st.p.e.log.Error("corrupt outbox record; dropping it", "err", err)
		st.del(res.key)
		return
	}
	st.del(res.key)
	rec.Attempts++
	scope, ns := ActionScope(rec.ActionID), NodeScope(rec.Journey, rec.Version, rec.Node)
	if res.out.OK {
		st.count(scope, "sent", 1)
		st.count(ns, "sent", 1)
		st.countActionHour(rec, "actionsSent")
		st.resume(rec, true, "")
		return
	}
	st.count(scope, "failed", 1)
	st.count(ns, "failed", 1)
	st.countActionHour(rec, "actionsFailed")
	rec.LastError = res.out.Err
	a, known := st.cat.Action(rec.ActionID)
	if known && res.out.Retryable {
		if delay, again := st.p.e.disp.caller.Backoff(a, rec.Attempts-rec.ReplayBase); again {
			st.count(scope, "retried", 1)
			st.count(ns, "retried", 1)
			st.requeue(rec, st.now.Add(max(delay, res.out.RetryAfter)))
			return
		}
	}
	reason := res.out.Err
	if !known {
		reason = "action " + rec.ActionID + " no longer exists; last error: " + reason
	}
	st.count(scope, "deadLettered", 1)
	st.count(ns, "deadLettered", 1)
	st.put(store.SeqKey(st.pid(), store.KindDeadLetter, st.p.nextSeq()), DeadLetter{outboxRec: *rec, FailedAt: st.now, Reason: reason})
	st.resume(rec, false, reason)
}

// countActionHour counts a call's outcome in its journey's hourly series (the report's charts);
// calls made by test runs of a draft stay out of it.
func (st *stepCtx) countActionHour(rec *outboxRec, metric string) {
	if rec.Journey != "" && rec.Version != journey.DraftVersion {
		st.count(HourScope(rec.Journey, st.now), metric, 1)
	}
}

func (st *stepCtx) requeue(rec *outboxRec, due time.Time) {
	key := store.TimeSeqKey(st.pid(), store.KindOutbox, due, st.p.nextSeq())
	st.put(key, rec)
	st.outbox = append(st.outbox, pendingCall{key: key, rec: rec})
}

// resume moves the instance that waits for this call along its success or error path.
func (st *stepCtx) resume(rec *outboxRec, ok bool, reason string) {
	prof := st.profile(rec.Profile, false)
	if prof == nil {
		return
	}
	outcome := "sent"
	if !ok {
		outcome = "dead_lettered"
	}
	st.trace(prof, TraceStep{Kind: "action", Journey: rec.Journey, Version: rec.Version, Instance: rec.Instance, Node: rec.Node, Outcome: outcome, Detail: reason})
	if !rec.Await {
		return
	}
	inst := st.loadInstance(rec.Profile, rec.Journey)
	if inst == nil || inst.ID != rec.Instance || inst.State != waitAction || inst.Token != rec.Token {
		return
	}
	g := st.cat.Version(inst.JourneyID, inst.Version)
	if g == nil {
		return
	}
	n := g.Nodes[rec.Node]
	if n == nil {
		return
	}
	next := n.NextNode
	if !ok {
		next = n.ErrorNode
		st.countNode(inst, n.ID, "errored")
	}
	st.countNode(inst, n.ID, "passed")
	st.run(prof, inst, g, next)
}

// fireTimers fires due timers, at most timerBatch per micro-batch and within the node's timer
// rate, so that a restart after downtime catches up without a stampede.
func (st *stepCtx) fireTimers() {
	p := st.p
	if !p.nextTimer.IsZero() && p.nextTimer.After(st.now) {
		return
	}
	prefix := store.KindPrefix(st.pid(), store.KindTimer)
	from := p.timerFloor
	if from == nil {
		from = prefix
	}
	it, err := st.b.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return
	}
	type due struct{ key, val []byte }
	var fire []due
	ok := it.First()
	for ; ok && len(fire) < timerBatch && !store.DueOf(it.Key()).After(st.now); ok = it.Next() {
		fire = append(fire, due{append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)})
	}
	// The first timer not taken now (the batch's own writes and deletes included) is where
	// the next look starts and when it is due.
	var next []byte
	if ok {
		next = append([]byte(nil), it.Key()...)
	}
	it.Close()
	allowed := len(fire)
	if tokens := int(math.Floor(p.e.timers.TokensAt(st.now))); tokens < allowed {
		allowed = max(tokens, 0)
	}
	if allowed > 0 {
		p.e.timers.AllowN(st.now, allowed)
	}
	// Set before firing: a timer that a fired step schedules lowers both (schedule, noteTimer).
	switch {
	case allowed < len(fire):
		p.timerFloor, p.nextTimer = fire[allowed].key, st.now.Add(10*time.Millisecond)
	case next != nil:
		p.timerFloor, p.nextTimer = next, store.DueOf(next)
	default:
		// None pending. This worker is the only one that schedules timers here and notes each
		// one, so there is no need to look again until one is scheduled; a rescan every
		// second is only a safety net.
		p.timerFloor, p.nextTimer = store.PrefixEnd(prefix), st.now.Add(time.Second)
	}
	for _, d := range fire[:allowed] {
		st.fire(d.key, d.val)
	}
}

func (st *stepCtx) fire(key, val []byte) {
	st.del(key)
	var rec timerRec
	if err := decode(val, &rec); err != nil {
		st.p.e.log.Error("corrupt timer record; dropping it", "err", err)
		return
	}
	st.settle(rec.Profile)
	prof := st.profile(rec.Profile, false)
	if prof == nil {
		return
	}
	inst := st.loadInstance(rec.Profile, rec.Journey)
	if inst == nil || inst.ID != rec.Instance {
		return
	}
	g := st.cat.Version(inst.JourneyID, inst.Version)
	if g == nil {
		return
	}
	n := g.Nodes[inst.Node]
	switch rec.Kind {
	case timerDeadline:
		inst.DeadKey = nil
		st.finish(prof, inst, inst.Node, endTimedOut, "journey timeout reached")
	case timerWait:
		if n == nil || inst.State != waitTimer || inst.Token != rec.Token {
			return
		}
		inst.WaitKey = nil
		st.countNode(inst, n.ID, "passed")
		st.traceNode(prof, inst, n, "passed", "wait over")
		st.run(prof, inst, g, n.NextNode)
	case timerTimeout:
		if n == nil || inst.State != waitEvent || inst.Token != rec.Token {
			return
		}
		inst.WaitKey = nil
		st.countNode(inst, n.ID, "timedOut")
		st.traceNode(prof, inst, n, "timed_out", "no "+n.Event+" in time")
		st.run(prof, inst, g, n.TimeoutNode)
	}
}

// sweepDedupe forgets event ids whose dedupe window has passed; it returns how many.
func (st *stepCtx) sweepDedupe() int {
	prefix := store.KindPrefix(st.pid(), store.KindDedupeIndex)
	upper := store.DedupeIndexKey(st.pid(), st.now, "")
	from := st.p.dedupeFloor
	if from == nil || bytes.Compare(from, upper) > 0 {
		from = prefix
	}
	it, err := st.b.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: upper})
	if err != nil {
		return 0
	}
	defer it.Close()
	n := 0
	var last []byte
	for ok := it.First(); ok && n < dedupeSweepBatch; ok = it.Next() {
		k := it.Key()
		last = append(last[:0], k...)
		id := string(k[len(prefix)+8:])
		st.b.Delete(append([]byte(nil), k...), nil)
		// A later copy of the same id may have renewed the mark: only drop an expired one.
		if raw, ok := st.get(store.PartKey(st.pid(), store.KindDedupe, id)); ok && int64(store.ReadU64(raw)) <= st.now.UnixNano() {
			st.b.Delete(store.PartKey(st.pid(), store.KindDedupe, id), nil)
		}
		n++
	}
	if last != nil {
		// Index entries are written at now + the window, never below what a sweep passed:
		// the next sweep starts where this one stopped.
		st.p.dedupeFloor = last
	}
	return n
}

// --- attribute paths ------------------------------------------------------------------------

func splitPath(p string) []string { return strings.Split(p, ".") }
func joinPath(p []string) string  { return strings.Join(p, ".") }

// setPath sets m[a][b]...=v, creating (or replacing non-object) intermediate objects.
func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func unsetPath(m map[string]any, path []string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}
