package engine

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// maxStepsPerRun bounds the nodes one instance walks in one go; validation already rejects
// loops without a wait, so this only guards against bugs.
const maxStepsPerRun = 1000

// stepCtx is the state of one micro-batch on one partition.
type stepCtx struct {
	p   *partition
	b   *pebble.Batch
	now time.Time
	cat *journeyCatalog

	profiles map[string]*storedProfile // loaded in this batch
	dirty    map[string]bool
	counters map[string]store.CounterGroup  // counter deltas by group, merged once per group at the end of the batch
	traces   map[*storedProfile][]TraceStep // trace steps, written once per profile at the end
	// enteredFresh marks fresh profiles that entered a journey in this batch: from then on their
	// history must be read (from the batch).
	enteredFresh map[*storedProfile]bool
	outbox       []pendingCall // added in this batch, handed to the dispatcher after commit
	settled      []string      // outbox keys finished in this batch
	failed       error         // a record could not be encoded: the batch is not committed

	// batching lets plugin branches park for one batch call (see pluginbatch.go).
	batching       bool
	dsFailed       dsFailure // see nodeError
	parked         []parked
	parkedProfiles map[string]bool

	branch string // the branch decideFrom took last, for the trace
}

type journeyCatalog = journey.Catalog

// pendingCall is an outbox entry the dispatcher should pick up.
type pendingCall struct {
	key []byte
	rec *outboxRec
}

func newStepCtx(p *partition, b *pebble.Batch, now time.Time) *stepCtx {
	return &stepCtx{p: p, b: b, now: now, cat: p.e.catalog.Load(),
		profiles: map[string]*storedProfile{}, dirty: map[string]bool{}, counters: map[string]store.CounterGroup{},
		traces: map[*storedProfile][]TraceStep{}, enteredFresh: map[*storedProfile]bool{}}
}

func (st *stepCtx) pid() int { return st.p.id }

func (st *stepCtx) get(key []byte) ([]byte, bool) {
	v, ok, err := store.Get(st.b, key)
	if err != nil {
		st.p.e.log.Error("read failed", "partition", st.pid(), "err", err)
		return nil, false
	}
	return v, ok
}

// put stages a record. Every record is built from values that encode (CEL results are checked
// for NaN and infinities before they are kept), so a failure is a bug: the whole batch is then
// refused rather than half-written, and the node keeps running.
func (st *stepCtx) put(key []byte, v any) {
	b, err := encode(v)
	if err != nil {
		if st.failed == nil {
			st.failed = fmt.Errorf("engine: encode record %q: %w", key, err)
		}
		return
	}
	st.b.Set(key, b, nil)
}
func (st *stepCtx) del(key []byte) {
	if len(key) > 0 {
		st.b.Delete(key, nil)
	}
}

// count adds delta to a report counter. Deltas add up in memory and are written once per
// counter group per batch, as merges (no read).
func (st *stepCtx) count(scope, name string, delta int64) {
	group, sub := counterGroupOf(scope)
	g := st.counters[group]
	if g == nil {
		g = store.CounterGroup{}
		st.counters[group] = g
	}
	g[store.CounterRef{Sub: sub, Name: name}] += delta
}

// flushCounters writes the batch's counter deltas.
func (st *stepCtx) flushCounters() {
	for group, g := range st.counters {
		st.b.Merge(store.CounterGroupKey(st.pid(), group), store.EncodeCounterGroup(g), nil)
	}
	clear(st.counters)
}

// counterGroupOf splits a counter scope into the group it is stored in and the rest: a journey
// version's node scopes ("j/<journey>/<version>/<node>") share the version's group; hour and
// action scopes are groups of their own. Ids never contain '/'.
func counterGroupOf(scope string) (group, sub string) {
	if !strings.HasPrefix(scope, "j/") {
		return scope, ""
	}
	slashes := 0
	for i := 0; i < len(scope); i++ {
		if scope[i] == '/' {
			if slashes++; slashes == 3 {
				return scope[:i+1], scope[i+1:]
			}
		}
	}
	return scope, ""
}

// countNode counts an outcome at a journey node, and per hour for the journey.
func (st *stepCtx) countNode(inst *instance, node, metric string) {
	st.count(NodeScope(inst.JourneyID, inst.Version, node), metric, 1)
	if node == "" && !inst.Test { // test runs stay out of the report's series
		st.count(HourScope(inst.JourneyID, st.now), metric, 1)
	}
}

// NodeScope is the counter scope of a journey node ("" node: the journey version as a whole).
func NodeScope(journeyID string, version int, node string) string {
	return "j/" + journeyID + "/" + strconv.Itoa(version) + "/" + node
}

// HourScope is the counter scope of a journey's hourly totals.
func HourScope(journeyID string, t time.Time) string {
	return "h/" + journeyID + "/" + strconv.FormatInt(t.Truncate(time.Hour).Unix(), 10)
}

// ActionScope is the counter scope of an action.
func ActionScope(actionID string) string { return "a/" + actionID }

// --- profiles -------------------------------------------------------------------------------

func (st *stepCtx) profile(id string, create bool) *storedProfile {
	if p, ok := st.profiles[id]; ok {
		return p
	}
	raw, ok := st.get(store.PartKey(st.pid(), store.KindProfile, id))
	var p *storedProfile
	if ok {
		p = &storedProfile{}
		if err := decode(raw, p); err != nil {
			st.p.e.log.Error("corrupt profile record; starting it afresh", "profile", id, "err", err)
			p = nil
		}
	}
	if p == nil {
		if !create {
			return nil
		}
		p = &storedProfile{Profile: model.Profile{ID: id, Identities: []string{id}, Attributes: map[string]any{},
			CreatedAt: st.now, UpdatedAt: st.now}, fresh: true}
		st.dirty[id] = true
	}
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	st.profiles[id] = p
	return p
}

// saveProfiles writes the profiles changed in this batch; apply calls it once at the end.
func (st *stepCtx) saveProfiles() {
	for id := range st.dirty {
		if p := st.profiles[id]; p != nil {
			st.put(store.PartKey(st.pid(), store.KindProfile, id), p)
		}
	}
	clear(st.dirty)
}

func (st *stepCtx) trace(prof *storedProfile, step TraceStep) {
	st.traces[prof] = append(st.traces[prof], step)
}

// flushTraces writes each profile's steps of this batch as one trace record, and drops the
// record that falls out of the kept window. One record per profile and batch, not one per step,
// keeps the writes of a journey step few.
func (st *stepCtx) flushTraces() {
	keep := uint64(st.p.e.cfg.TraceLength)
	for prof, steps := range st.traces {
		prof.TraceSeq++
		st.dirty[prof.ID] = true
		st.put(store.TraceKey(st.pid(), prof.ID, prof.TraceSeq), packTrace(st.now, steps))
		if prof.TraceSeq > keep {
			st.del(store.TraceKey(st.pid(), prof.ID, prof.TraceSeq-keep))
		}
	}
	clear(st.traces)
}

// --- instances ------------------------------------------------------------------------------

func instKey(pid int, profile, journeyID string) []byte {
	return store.PartKey(pid, store.KindInstance, profile, journeyID)
}

func (st *stepCtx) loadInstance(profile, journeyID string) *instance {
	raw, ok := st.get(instKey(st.pid(), profile, journeyID))
	if !ok {
		return nil
	}
	inst := &instance{}
	if err := decode(raw, inst); err != nil {
		st.p.e.log.Error("corrupt instance record; ignoring it", "profile", profile, "journey", journeyID, "err", err)
		return nil
	}
	return inst
}

// instancesOf lists a profile's active instances.
func (st *stepCtx) instancesOf(profile string) []*instance {
	prefix := append(store.PartKey(st.pid(), store.KindInstance, profile), 0)
	it, err := st.b.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return nil
	}
	defer it.Close()
	var out []*instance
	for ok := it.First(); ok; ok = it.Next() {
		inst := &instance{}
		if err := decode(it.Value(), inst); err == nil {
			out = append(out, inst)
		}
	}
	return out
}

// saveInstance stores a blocked instance. Its deadline timer is written the first time it
// blocks: an instance that runs to its end within one step never needs one.
func (st *stepCtx) saveInstance(profile string, inst *instance) {
	if inst.DeadKey == nil {
		inst.DeadKey = st.schedule(inst.Deadline, timerRec{Kind: timerDeadline, Profile: profile, Journey: inst.JourneyID, Instance: inst.ID})
	}
	st.put(instKey(st.pid(), profile, inst.JourneyID), inst)
}

// schedule writes a timer and returns its key.
func (st *stepCtx) schedule(due time.Time, rec timerRec) []byte {
	key := store.TimeSeqKey(st.pid(), store.KindTimer, due, st.p.nextSeq())
	st.put(key, rec)
	st.p.noteTimer(due)
	if f := st.p.timerFloor; f != nil && bytes.Compare(key, f) < 0 {
		st.p.timerFloor = key
	}
	return key
}

// --- events ---------------------------------------------------------------------------------

// handleEvent applies one event; it reports whether the event was a duplicate.
func (st *stepCtx) handleEvent(ev *model.Envelope, qualified bool) (duplicate bool) {
	dk := store.PartKey(st.pid(), store.KindDedupe, ev.ID)
	if raw, ok := st.get(dk); ok && int64(store.ReadU64(raw)) > st.now.UnixNano() {
		return true
	}
	expiry := st.now.Add(st.p.e.cfg.DedupeWindow)
	st.b.Set(dk, store.U64(uint64(expiry.UnixNano())), nil)
	st.b.Set(store.DedupeIndexKey(st.pid(), expiry, ev.ID), nil, nil)

	st.settle(ev.Identity)
	prof := st.profile(ev.Identity, true)
	if ev.Test {
		prof.Test = true
	}
	st.trace(prof, TraceStep{Kind: "event", Detail: ev.Type, EventID: ev.ID, Outcome: qualifiedWord(qualified)})
	st.countReaction(ev)
	if qualified {
		if st.cat.Awaited(ev.Type) {
			st.advanceWaiting(prof, ev)
		}
		st.enter(prof, ev)
	}
	return false // the profile is written once, at the end of the batch
}

func qualifiedWord(q bool) string {
	if q {
		return "accepted"
	}
	return "not_qualified"
}

// advanceWaiting moves the profile's instances that exit on, or wait for, this event.
func (st *stepCtx) advanceWaiting(prof *storedProfile, ev *model.Envelope) {
	for _, inst := range st.instancesOf(prof.ID) {
		g := st.cat.Version(inst.JourneyID, inst.Version)
		if g == nil {
			continue
		}
		act := st.activation(prof, inst, ev, "")
		exited := false
		for _, x := range g.ExitEvents {
			if x.Event != ev.Type {
				continue
			}
			if x.Condition != nil {
				ok, err := x.Condition.EvalBool(act)
				if err != nil || !ok {
					continue
				}
			}
			st.finish(prof, inst, inst.Node, endExitEvent, "exit event "+ev.Type)
			exited = true
			break
		}
		if exited || inst.State != waitEvent {
			continue
		}
		n := g.Nodes[inst.Node]
		if n == nil || n.Kind != model.NodeEvent || n.Event != ev.Type {
			continue
		}
		if n.Filter != nil {
			act.Journey["nodeId"] = n.ID
			ok, err := n.Filter.EvalBool(act)
			if err != nil {
				st.countNode(inst, n.ID, "errored")
				st.trace(prof, TraceStep{Kind: "error", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Detail: "condition: " + err.Error()})
				continue
			}
			if !ok {
				continue
			}
		}
		st.del(inst.WaitKey)
		inst.WaitKey = nil
		inst.Event = ev
		st.countNode(inst, n.ID, "passed")
		st.run(prof, inst, g, n.NextNode)
	}
}

// enter starts new instances of the live journeys this event enters.
func (st *stepCtx) enter(prof *storedProfile, ev *model.Envelope) {
	entries := st.cat.Entries(ev.Type)
	if ev.Test {
		entries = st.cat.TestEntries(ev.Type) // drafts first: test mode
	}
	for _, g := range entries {
		// Every entry writes the history record, so a profile without one has no instance of
		// this journey either: most events of new profiles cost one lookup here, not two.
		hk := store.PartKey(st.pid(), store.KindHistory, prof.ID, g.JourneyID)
		var h history
		if raw, ok := st.historyOf(prof, hk); ok {
			_ = decode(raw, &h)
			// Test events may enter again and again (re-running a test), one at a time.
			if !ev.Test && (g.Reentrance.Mode != model.ReenterAfter || st.now.Sub(h.LastEntry) < g.Reentrance.Wait.D()) {
				continue
			}
			if st.loadInstance(prof.ID, g.JourneyID) != nil {
				continue // one instance per profile and journey at a time
			}
		}
		inst := &instance{
			ID:        g.JourneyID + "." + strconv.FormatUint(st.p.nextSeq(), 36) + "." + strconv.Itoa(st.pid()),
			JourneyID: g.JourneyID, Version: g.Version, Event: ev, Vars: map[string]any{},
			EnteredAt: st.now, Deadline: st.now.Add(g.Timeout), Test: ev.Test,
		}
		if f := g.Entry.Filter; f != nil {
			ok, err := f.EvalBool(st.activation(prof, inst, ev, g.Entry.ID))
			if err != nil {
				st.count(NodeScope(g.JourneyID, g.Version, g.Entry.ID), "errored", 1)
				st.trace(prof, TraceStep{Kind: "error", Journey: g.JourneyID, Version: g.Version, Node: g.Entry.ID, Detail: "entry condition: " + err.Error()})
				continue
			}
			if !ok {
				continue
			}
		}
		h.LastEntry, h.Entries = st.now, h.Entries+1
		st.put(hk, h)
		if prof.fresh {
			st.enteredFresh[prof] = true
		}
		st.countNode(inst, "", "entered")
		st.countNode(inst, g.Entry.ID, "entered")
		st.countNode(inst, g.Entry.ID, "passed")
		st.trace(prof, TraceStep{Kind: "entered", Journey: g.JourneyID, Version: g.Version, Instance: inst.ID, Node: g.Entry.ID, EventID: ev.ID})
		st.run(prof, inst, g, g.Entry.NextNode)
	}
}

// historyOf reads a profile's entry history for one journey. A profile created in this batch
// has none on disk; one written earlier in the batch is in the batch.
func (st *stepCtx) historyOf(prof *storedProfile, key []byte) ([]byte, bool) {
	if prof.fresh && !st.enteredFresh[prof] {
		return nil, false
	}
	return st.get(key)
}

// --- stepping -------------------------------------------------------------------------------

func (st *stepCtx) activation(prof *storedProfile, inst *instance, ev *model.Envelope, node string) *expr.Activation {
	a := &expr.Activation{Now: st.now,
		Profile: map[string]any{"id": prof.ID, "identities": prof.Identities, "attributes": prof.Attributes, "test": prof.Test},
		Vars:    inst.Vars,
		Journey: map[string]any{"id": inst.JourneyID, "version": int64(inst.Version), "instanceId": inst.ID, "nodeId": node},
	}
	if a.Vars == nil {
		a.Vars = map[string]any{}
	}
	if ev != nil {
		a.Event = map[string]any{"id": ev.ID, "type": ev.Type, "timestamp": ev.Timestamp, "identity": ev.Identity, "data": ev.Data}
	} else {
		a.Event = map[string]any{}
	}
	return a
}

// run walks an instance from n until it blocks or ends, then saves it.
func (st *stepCtx) run(prof *storedProfile, inst *instance, g *journey.Graph, n *journey.Node) {
	for steps := 0; ; steps++ {
		if n == nil {
			st.finish(prof, inst, inst.Node, endCompleted, "no next node")
			return
		}
		if steps == maxStepsPerRun {
			st.countNode(inst, n.ID, "errored")
			st.finish(prof, inst, n.ID, endFailed, "more than 1000 steps without a wait")
			return
		}
		inst.Node = n.ID
		st.countNode(inst, n.ID, "entered")
		act := st.activation(prof, inst, inst.Event, n.ID)
		st.dsFailed = dsFailure{}
		if err := st.readSources(act, n.DS); err != nil {
			st.nodeError(prof, inst, n, err)
			// The node's expressions that needed the data now fail too; that is the same
			// error, already counted (conditions do the same per branch).
			st.dsFailed = dsFailure{inst, n}
		}
		var next *journey.Node
		switch n.Kind {
		case model.NodeEvent:
			inst.State, inst.Token = waitEvent, inst.Token+1
			if n.Timeout > 0 {
				inst.WaitKey = st.schedule(st.testDue(inst, st.now.Add(n.Timeout.D())), timerRec{Kind: timerTimeout, Profile: prof.ID, Journey: inst.JourneyID, Instance: inst.ID, Token: inst.Token})
			}
			st.traceNode(prof, inst, n, "waiting", "for event "+n.Event)
			st.saveInstance(prof.ID, inst)
			return
		case model.NodeWait:
			due, err := st.waitDue(n, act)
			if err != nil {
				st.nodeError(prof, inst, n, err)
				due = st.now
			}
			due = st.testDue(inst, due)
			if due.After(st.now) {
				inst.State, inst.Token = waitTimer, inst.Token+1
				inst.WaitKey = st.schedule(due, timerRec{Kind: timerWait, Profile: prof.ID, Journey: inst.JourneyID, Instance: inst.ID, Token: inst.Token})
				st.traceNode(prof, inst, n, "waiting", "until "+due.Format(time.RFC3339Nano))
				st.saveInstance(prof.ID, inst)
				return
			}
			next = n.NextNode
		case model.NodeCondition:
			var parked bool
			if next, parked = st.decideFrom(prof, inst, g, n, act, 0); parked {
				return // moves on when the plugin batch is answered (pluginbatch.go)
			}
			st.traceDecision(prof, inst, n, act)
		case model.NodeAction:
			// With an error path the instance waits for the call's outcome; without one it
			// moves on and the call is fire-and-forget (still retried and reported).
			await := n.ErrorNode != nil
			if await {
				inst.State, inst.Token = waitAction, inst.Token+1
			}
			if err := st.enqueueAction(prof, inst, n, act, await); err != nil {
				st.nodeError(prof, inst, n, err)
				if n.ErrorNode == nil {
					st.finish(prof, inst, n.ID, endFailed, err.Error())
					return
				}
				next = n.ErrorNode
				break
			}
			if await {
				st.traceNode(prof, inst, n, "waiting", "for action "+n.Action)
				st.saveInstance(prof.ID, inst)
				return
			}
			next = n.NextNode
		case model.NodeUpdateProfile:
			st.updateProfile(prof, inst, n, act)
			next = n.NextNode
		case model.NodeEnd:
			st.finish(prof, inst, n.ID, endCompleted, "")
			return
		}
		st.countNode(inst, n.ID, "passed")
		st.traceNode(prof, inst, n, "passed", "")
		n = next
	}
}

func (st *stepCtx) traceNode(prof *storedProfile, inst *instance, n *journey.Node, outcome, detail string) {
	st.trace(prof, TraceStep{Kind: "node", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Outcome: outcome, Detail: detail})
}

// traceDecision records which branch a condition took; on test instances, with what it saw.
func (st *stepCtx) traceDecision(prof *storedProfile, inst *instance, n *journey.Node, act *expr.Activation) {
	step := TraceStep{Kind: "node", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Outcome: "branch", Detail: st.branch}
	if inst.Test {
		data, _ := act.Event["data"].(map[string]any)
		step.Data = map[string]any{"event": data, "profile": prof.Attributes, "vars": inst.Vars}
	}
	st.trace(prof, step)
}

// testDue shortens a test instance's wait to at most Config.TestWaitCap.
func (st *stepCtx) testDue(inst *instance, due time.Time) time.Time {
	if limit := st.now.Add(st.p.e.cfg.TestWaitCap); inst.Test && due.After(limit) {
		return limit
	}
	return due
}

// dsFailure marks the instance and node whose data-source read failed in this step.
type dsFailure struct {
	inst *instance
	n    *journey.Node
}

func (st *stepCtx) nodeError(prof *storedProfile, inst *instance, n *journey.Node, err error) {
	if st.dsFailed.n == n && st.dsFailed.inst == inst {
		st.trace(prof, TraceStep{Kind: "error", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Detail: err.Error()})
		return
	}
	st.countNode(inst, n.ID, "errored")
	st.countNode(inst, "", "errored")
	st.trace(prof, TraceStep{Kind: "error", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: n.ID, Detail: err.Error()})
}

func (st *stepCtx) waitDue(n *journey.Node, act *expr.Activation) (time.Time, error) {
	switch {
	case n.Duration > 0:
		return st.now.Add(n.Duration.D()), nil
	case n.UntilP != nil:
		return n.UntilP.EvalTime(act)
	default:
		return n.UntilAt, nil
	}
}

// decideFrom picks a condition's next node, trying branches from index from. A branch whose
// expression fails to evaluate counts as an error and does not match. waits is true when the
// instance waits at a plugin branch for the batch call (it is saved by whoever resumes it).
func (st *stepCtx) decideFrom(prof *storedProfile, inst *instance, g *journey.Graph, n *journey.Node, act *expr.Activation, from int) (next *journey.Node, waits bool) {
	if len(n.Splits) > 0 {
		b := Bucket(prof.ID, inst.JourneyID, n.ID)
		for _, s := range n.Splits {
			if b < s.Upper {
				st.count(NodeScope(inst.JourneyID, inst.Version, n.ID), "branch:"+s.ID, 1)
				st.branch = s.ID
				return s.Next, false
			}
		}
	}
	for i := from; i < len(n.Conds); i++ {
		br := n.Conds[i]
		var ok bool
		switch {
		case br.Window != nil:
			ok = br.Window.Contains(st.now, prof.Attributes)
		case br.Plugin != nil && st.canBatch(br.Plugin):
			st.park(parked{prof: prof, inst: inst, g: g, n: n, act: act, branch: i})
			return nil, true
		case br.Plugin != nil:
			var reason string
			var err error
			if ok, reason, err = st.pluginCondition(prof, br.Plugin, act); err != nil {
				st.nodeError(prof, inst, n, fmt.Errorf("branch %s: %w", br.ID, err))
				ok = false
			} else if reason != "" {
				st.traceNode(prof, inst, n, "plugin", "branch "+br.ID+": "+reason)
			}
		default:
			// One error per branch evaluation: a group that could not be read usually makes
			// the expression fail too, and the read's error is the one that says why.
			rerr := st.readSources(act, br.Expr.DataSources())
			var err error
			if ok, err = br.Expr.EvalBool(act); err != nil {
				ok = false
			}
			if rerr != nil {
				err = rerr
			}
			if err != nil {
				st.nodeError(prof, inst, n, fmt.Errorf("branch %s: %w", br.ID, err))
			}
		}
		if ok {
			st.count(NodeScope(inst.JourneyID, inst.Version, n.ID), "branch:"+br.ID, 1)
			st.branch = br.ID
			return br.Next, false
		}
	}
	st.count(NodeScope(inst.JourneyID, inst.Version, n.ID), "branch:else", 1)
	st.branch = "else"
	return n.ElseNode, false
}

// Bucket places a profile in 0..99 for a split, the same way every time.
func Bucket(profile, journeyID, node string) int {
	h := fnv.New64a()
	h.Write([]byte(journeyID))
	h.Write([]byte{0})
	h.Write([]byte(node))
	h.Write([]byte{0})
	h.Write([]byte(profile))
	return int(h.Sum64() % 100)
}

func (st *stepCtx) updateProfile(prof *storedProfile, inst *instance, n *journey.Node, act *expr.Activation) {
	for _, a := range n.SetOps {
		v, err := a.Expr.EvalValue(act)
		if err == nil {
			err = checkFinite(v)
		}
		if err != nil {
			st.nodeError(prof, inst, n, fmt.Errorf("set %s: %w", joinPath(a.Path), err))
			continue
		}
		setPath(prof.Attributes, a.Path, v)
	}
	for _, path := range n.Unset {
		unsetPath(prof.Attributes, splitPath(path))
	}
	for _, a := range n.VarOps {
		v, err := a.Expr.EvalValue(act)
		if err == nil {
			err = checkFinite(v)
		}
		if err != nil {
			st.nodeError(prof, inst, n, fmt.Errorf("vars %s: %w", joinPath(a.Path), err))
			continue
		}
		if inst.Vars == nil {
			inst.Vars = map[string]any{}
		}
		setPath(inst.Vars, a.Path, v)
	}
	prof.UpdatedAt = st.now
	st.dirty[prof.ID] = true
}

// checkFinite rejects NaN and infinities, which JSON cannot store.
func checkFinite(v any) error {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("value %v cannot be stored (not a finite number)", x)
		}
	case map[string]any:
		for _, e := range x {
			if err := checkFinite(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkFinite(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish ends an instance: removes it and its timers, counts how it ended.
func (st *stepCtx) finish(prof *storedProfile, inst *instance, node, how, detail string) {
	st.del(inst.WaitKey)
	if inst.DeadKey != nil {
		// Only a saved instance has a record (saveInstance schedules its deadline first); one
		// that ran from entry to end within one step leaves nothing to delete, and a tombstone
		// for nothing would still be written, flushed and compacted.
		st.del(inst.DeadKey)
		st.del(instKey(st.pid(), prof.ID, inst.JourneyID))
	}
	if node != "" {
		st.countNode(inst, node, "exited")
	}
	st.countNode(inst, "", how)
	st.countNode(inst, "", "exited")
	st.trace(prof, TraceStep{Kind: "exited", Journey: inst.JourneyID, Version: inst.Version, Instance: inst.ID, Node: node, Outcome: how, Detail: detail})
}

// How instances end: journey-level counters with these names, plus "exited" for every end.
const (
	endCompleted = "completed"     // reached an end node
	endExitEvent = "exitedByEvent" // an exit event arrived
	endTimedOut  = "timedOut"      // the journey's global timeout passed
	endFailed    = "failed"        // an error with no error path ended it
)
