package engine

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// ErrNoProfile is returned for a profile that does not exist.
var ErrNoProfile = errors.New("engine: profile not found")

// UpsertProfile deep-merges attributes into a profile (creating it), on the owning partition.
func (e *Engine) UpsertProfile(ctx context.Context, id string, attrs map[string]any, test *bool) (*model.Profile, error) {
	var out model.Profile
	err := e.do(ctx, id, func(st *stepCtx) error {
		p := st.profile(id, true)
		deepMerge(p.Attributes, attrs)
		if test != nil {
			p.Test = *test
		}
		p.UpdatedAt = st.now
		st.dirty[id] = true
		out = p.Profile
		return nil
	})
	return &out, err
}

// deepMerge merges src into dst: objects merge key by key, anything else replaces; a null
// value removes the key.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
			fresh := map[string]any{}
			deepMerge(fresh, sm)
			dst[k] = fresh
			continue
		}
		dst[k] = v
	}
}

// GetProfile reads a committed profile.
func (e *Engine) GetProfile(id string) (*model.Profile, error) {
	pid := store.PartitionOf(id, len(e.parts))
	raw, ok, err := store.Get(e.db, store.PartKey(pid, store.KindProfile, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoProfile
	}
	var p storedProfile
	if err := decode(raw, &p); err != nil {
		return nil, err
	}
	return &p.Profile, nil
}

// DeleteProfile removes a profile with its instances (and their timers), entry history and
// trace. Pending action calls already in the outbox still go out.
func (e *Engine) DeleteProfile(ctx context.Context, id string) error {
	return e.do(ctx, id, func(st *stepCtx) error {
		prof := st.profile(id, false)
		if prof == nil {
			return ErrNoProfile
		}
		delete(st.traces, prof)
		for _, inst := range st.instancesOf(id) {
			st.del(inst.WaitKey)
			st.del(inst.DeadKey)
		}
		pid := st.pid()
		for _, kind := range []byte{store.KindInstance, store.KindHistory, store.KindTrace} {
			prefix := append(store.PartKey(pid, kind, id), 0)
			st.b.DeleteRange(prefix, store.PrefixEnd(prefix), nil)
		}
		st.del(store.PartKey(pid, store.KindProfile, id))
		delete(st.profiles, id)
		delete(st.dirty, id)
		return nil
	})
}

// Trace returns a profile's last steps, oldest first.
func (e *Engine) Trace(id string) ([]TraceStep, error) {
	pid := store.PartitionOf(id, len(e.parts))
	prefix := append(store.PartKey(pid, store.KindTrace, id), 0)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []TraceStep
	for ok := it.First(); ok; ok = it.Next() {
		var r traceRecord
		if decode(it.Value(), &r) == nil {
			out = append(out, r.steps()...)
		}
	}
	return out, it.Error()
}

// InstanceInfo describes an active instance.
type InstanceInfo struct {
	ID        string    `json:"id"`
	JourneyID string    `json:"journeyId"`
	Version   int       `json:"version"`
	Node      string    `json:"nodeId"`
	State     string    `json:"waitingFor"`
	EnteredAt time.Time `json:"enteredAt"`
	Deadline  time.Time `json:"deadline"`
}

// Instances lists a profile's active instances.
func (e *Engine) Instances(id string) ([]InstanceInfo, error) {
	pid := store.PartitionOf(id, len(e.parts))
	prefix := append(store.PartKey(pid, store.KindInstance, id), 0)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []InstanceInfo{}
	for ok := it.First(); ok; ok = it.Next() {
		var in instance
		if decode(it.Value(), &in) == nil {
			out = append(out, InstanceInfo{ID: in.ID, JourneyID: in.JourneyID, Version: in.Version, Node: in.Node, State: in.State, EnteredAt: in.EnteredAt, Deadline: in.Deadline})
		}
	}
	return out, it.Error()
}

// Counters sums counters whose scope starts with scopePrefix across all partitions: scope →
// name → value.
func (e *Engine) Counters(scopePrefix string) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	add := func(scope, name string, v int64) {
		if !strings.HasPrefix(scope, scopePrefix) {
			return
		}
		m := out[scope]
		if m == nil {
			m = map[string]int64{}
			out[scope] = m
		}
		m[name] += v
	}
	// A prefix that reaches into a group (a node of a journey version) is looked up from the
	// group's key, then filtered.
	from, _ := counterGroupOf(scopePrefix)
	for pid := range e.parts {
		if !e.reports(pid) {
			continue
		}
		prefix := store.PartKey(pid, store.KindCounter, from)
		it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
		if err != nil {
			return nil, err
		}
		base := len(store.KindPrefix(pid, store.KindCounter))
		for ok := it.First(); ok; ok = it.Next() {
			scope, name, isGroup, ok := store.CounterKey(it.Key()[base:])
			if !ok {
				continue
			}
			v, err := it.ValueAndErr()
			if err != nil {
				continue
			}
			if !isGroup {
				add(scope, name, store.DecodeCounter(v))
				continue
			}
			g := store.CounterGroup{}
			if store.DecodeCounterGroup(v, g) != nil {
				e.log.Warn("malformed counter group; skipping it in the report", "partition", pid, "group", scope)
				continue
			}
			for ref, n := range g {
				add(scope+ref.Sub, ref.Name, n)
			}
		}
		if err := it.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// HourlyPoint is one hour of a journey's totals.
type HourlyPoint struct {
	Hour   time.Time        `json:"hour"`
	Counts map[string]int64 `json:"counts"`
}

// Hourly returns a journey's hourly totals, oldest first.
func (e *Engine) Hourly(journeyID string) ([]HourlyPoint, error) {
	m, err := e.Counters("h/" + journeyID + "/")
	if err != nil {
		return nil, err
	}
	return HourlyFrom(m), nil
}

// HourlyFrom turns the counters of a journey's hourly scopes ("h/<journey>/<unix hour>") into
// points, oldest first.
func HourlyFrom(m map[string]map[string]int64) []HourlyPoint {
	out := make([]HourlyPoint, 0, len(m))
	for scope, counts := range m {
		ts, err := strconv.ParseInt(scope[strings.LastIndexByte(scope, '/')+1:], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, HourlyPoint{Hour: time.Unix(ts, 0).UTC(), Counts: counts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hour.Before(out[j].Hour) })
	return out
}

// DeadLetters lists up to limit dead-lettered calls across partitions.
func (e *Engine) DeadLetters(limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	for pid := range e.parts {
		if !e.reports(pid) {
			continue
		}
		prefix := store.KindPrefix(pid, store.KindDeadLetter)
		it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
		if err != nil {
			return nil, err
		}
		// The newest limit of each partition, then the newest limit of those.
		n := 0
		for ok := it.Last(); ok && n < limit; ok = it.Prev() {
			var d DeadLetter
			if decode(it.Value(), &d) == nil {
				d.ID = strconv.Itoa(pid) + "." + strconv.FormatUint(store.ReadU64(it.Key()[len(prefix):]), 10)
				out = append(out, d)
				n++
			}
		}
		it.Close()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FailedAt.After(out[j].FailedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PendingActions counts outbox entries not yet settled.
func (e *Engine) PendingActions() int { return e.disp.Pending() }

// ErrNoDeadLetter is returned for a dead letter that does not exist.
var ErrNoDeadLetter = errors.New("engine: dead letter not found")

// reports says whether this node's reports include a partition: every partition on a single
// node; in a cluster, those it leads (the cluster sums the nodes' reports), so that a partition
// held by several replicas is counted once.
func (e *Engine) reports(pid int) bool {
	return e.replicator == nil || e.parts[pid].leading.Load()
}

// DeadLetterPartition returns the partition a dead-letter id belongs to.
func (e *Engine) DeadLetterPartition(id string) (int, bool) {
	pid, _, err := e.deadLetterKey(id)
	return pid, err == nil
}

// deadLetterKey parses an API dead-letter id ("partition.sequence").
func (e *Engine) deadLetterKey(id string) (int, []byte, error) {
	i := strings.IndexByte(id, '.')
	if i <= 0 {
		return 0, nil, ErrNoDeadLetter
	}
	pid, err1 := strconv.Atoi(id[:i])
	seq, err2 := strconv.ParseUint(id[i+1:], 10, 64)
	if err1 != nil || err2 != nil || pid < 0 || pid >= len(e.parts) {
		return 0, nil, ErrNoDeadLetter
	}
	return pid, store.SeqKey(pid, store.KindDeadLetter, seq), nil
}

// RetryDeadLetter puts a dead-lettered call back in the outbox with a fresh retry budget; the
// idempotency key stays the same, attempt numbers go on, and the call goes out at once, to the
// URL and with the body rendered when it was first queued. The instance that made it has long
// moved on (along its error path, if it had one), so no instance waits for this outcome.
func (e *Engine) RetryDeadLetter(ctx context.Context, id string) error {
	pid, key, err := e.deadLetterKey(id)
	if err != nil {
		return err
	}
	return e.doOn(ctx, pid, func(st *stepCtx) error {
		raw, ok := st.get(key)
		if !ok {
			return ErrNoDeadLetter
		}
		var d DeadLetter
		if err := decode(raw, &d); err != nil {
			return err
		}
		st.del(key)
		rec := d.outboxRec
		rec.ReplayBase, rec.Await, rec.LastError = rec.Attempts, false, ""
		st.count(ActionScope(rec.ActionID), "replayed", 1)
		st.requeue(&rec, st.now)
		return nil
	})
}

// DeleteDeadLetter forgets a dead-lettered call.
func (e *Engine) DeleteDeadLetter(ctx context.Context, id string) error {
	pid, key, err := e.deadLetterKey(id)
	if err != nil {
		return err
	}
	return e.doOn(ctx, pid, func(st *stepCtx) error {
		if _, ok := st.get(key); !ok {
			return ErrNoDeadLetter
		}
		st.del(key)
		return nil
	})
}
