package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/cluster/transport"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// ErrUnavailable is the outcome of an event whose partition had no reachable leader for the
// whole retry window: not acknowledged; the client should retry.
var ErrUnavailable = errors.New("cluster: the event's partition has no reachable leader right now; retry")

// ForwardWindow is how long Submit keeps re-routing events whose leader moved or could not be
// reached before it answers ErrUnavailable.
const ForwardWindow = 15 * time.Second

// fwdBatch is one forwarded group of events.
type fwdBatch struct {
	Events    []*model.Envelope `json:"events"`
	Qualified []bool            `json:"qualified"`
}

// fwdOutcome is a forwarded event's outcome.
type fwdOutcome struct {
	Duplicate bool   `json:"d,omitempty"`
	Err       string `json:"e,omitempty"` // errNotLeaderCode, or a message
}

const errNotLeaderCode = "not_leader"

// Submit routes events to their partitions' leaders — this node's engine for the partitions it
// leads, the other leaders over the internal port — and returns one outcome per event, in
// order, once each is committed and replicated. Events of one profile keep their order: they
// share a partition, so they travel together. Events whose leader moved are routed again,
// transparently, for up to ForwardWindow.
func (n *Node) Submit(ctx context.Context, events []*model.Envelope, qualified []bool) []engine.Outcome {
	out := make([]engine.Outcome, len(events))
	if !n.quorum.Load() {
		// Cut off from the majority: this node leads nothing and cannot know who does.
		for i := range out {
			out[i].Err = errNoQuorumIngest
		}
		return out
	}
	pending := make([]int, len(events))
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(ForwardWindow)
	pause := 20 * time.Millisecond
	for len(pending) > 0 {
		groups := map[string][]int{}
		var retry []int
		table := n.table.Load()
		for _, i := range pending {
			pid := store.PartitionOf(events[i].Identity, len(n.parts))
			switch {
			case n.eng.Leading(pid):
				groups[n.cfg.Name] = append(groups[n.cfg.Name], i)
			case table != nil && (*table)[pid] != "" && (*table)[pid] != n.cfg.Name:
				groups[(*table)[pid]] = append(groups[(*table)[pid]], i)
			default:
				retry = append(retry, i) // no leader known yet, or this node is about to claim it
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for node, idx := range groups {
			wg.Add(1)
			go func(node string, idx []int) {
				defer wg.Done()
				evs := make([]*model.Envelope, len(idx))
				var q []bool
				if qualified != nil {
					q = make([]bool, len(idx))
				}
				for j, i := range idx {
					evs[j] = events[i]
					if q != nil {
						q[j] = qualified[i]
					}
				}
				var res []engine.Outcome
				if node == n.cfg.Name {
					res = n.eng.Submit(ctx, evs, q)
				} else {
					res = n.forward(ctx, node, evs, q)
				}
				mu.Lock()
				defer mu.Unlock()
				for j, i := range idx {
					if retryable(res[j].Err) {
						retry = append(retry, i)
						continue
					}
					out[i] = res[j]
				}
			}(node, idx)
		}
		wg.Wait()
		if len(retry) == 0 {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			for _, i := range retry {
				out[i].Err = ErrUnavailable
			}
			break
		}
		pending = retry
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(pause*2, 400*time.Millisecond)
	}
	return out
}

// retryable: the event was not committed for a reason another try (maybe elsewhere) can fix.
func retryable(err error) bool {
	return err != nil && (errors.Is(err, engine.ErrNotLeader) || errors.Is(err, errForward))
}

var errNoQuorumIngest = errors.New("cluster: this node cannot reach a majority of the cluster; send the event to another node")

var errForward = errors.New("cluster: forwarding failed")

// forward sends events to the node that leads their partitions.
func (n *Node) forward(ctx context.Context, node string, evs []*model.Envelope, q []bool) []engine.Outcome {
	res := make([]engine.Outcome, len(evs))
	fail := func(err error) []engine.Outcome {
		for i := range res {
			res[i].Err = errors.Join(errForward, err)
		}
		return res
	}
	body, err := sonic.Marshal(fwdBatch{Events: evs, Qualified: q})
	if err != nil {
		return fail(err)
	}
	p, err := n.pipe(node, pathSubmit)
	if err != nil {
		return fail(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	raw, err := p.Do(fctx, body)
	if err != nil {
		return fail(err)
	}
	var outs []fwdOutcome
	if err := sonic.Unmarshal(raw, &outs); err != nil || len(outs) != len(evs) {
		return fail(errors.New("unreadable answer"))
	}
	for i, o := range outs {
		res[i].Duplicate = o.Duplicate
		switch o.Err {
		case "":
		case errNotLeaderCode:
			res[i].Err = engine.ErrNotLeader
		default:
			res[i].Err = errors.New(o.Err)
		}
	}
	return res
}

// handleSubmit commits forwarded events on this node's engine: all items of a request in one
// Submit, so they share micro-batches.
func (n *Node) handleSubmit(from string, items [][]byte) ([][]byte, error) {
	evs, q, sizes, err := decodeForwarded(items)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	res := n.eng.Submit(ctx, evs, q)
	out := make([][]byte, len(items))
	k := 0
	for i, size := range sizes {
		outs := make([]fwdOutcome, size)
		for j := range outs {
			r := res[k]
			k++
			outs[j].Duplicate = r.Duplicate
			switch {
			case r.Err == nil:
			case errors.Is(r.Err, engine.ErrNotLeader), errors.Is(r.Err, engine.ErrStopped):
				outs[j].Err = errNotLeaderCode
			default:
				outs[j].Err = r.Err.Error()
			}
		}
		b, err := sonic.Marshal(outs)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// decodeForwarded reads forwarded event batches: every event with an id and an identity, as
// many qualified flags as events (or none). It returns the events in order and each item's count.
func decodeForwarded(items [][]byte) ([]*model.Envelope, []bool, []int, error) {
	var evs []*model.Envelope
	var q []bool
	sizes := make([]int, len(items))
	for i, item := range items {
		var b fwdBatch
		if err := sonic.Unmarshal(item, &b); err != nil {
			return nil, nil, nil, badRequest("submit: item %d: %v", i, err)
		}
		if b.Qualified != nil && len(b.Qualified) != len(b.Events) {
			return nil, nil, nil, badRequest("submit: item %d: %d qualified flags for %d events", i, len(b.Qualified), len(b.Events))
		}
		for j, ev := range b.Events {
			if ev == nil || ev.Identity == "" || ev.ID == "" {
				return nil, nil, nil, badRequest("submit: item %d event %d: id and identity are required", i, j)
			}
			evs = append(evs, ev)
			q = append(q, b.Qualified == nil || b.Qualified[j])
		}
		sizes[i] = len(b.Events)
	}
	return evs, q, sizes, nil
}

// OwnerAPI returns the public API URL of the node that leads the profile's partition, and
// whether that is this node. Reads of a profile go there.
func (n *Node) OwnerAPI(profileID string) (string, bool) {
	return n.PartitionOwnerAPI(store.PartitionOf(profileID, len(n.parts)))
}

// profileReq is a profile merge forwarded to the partition's leader (profile import).
type profileReq struct {
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	Test       *bool          `json:"test,omitempty"`
}

// UpsertProfile merges attributes into a profile on the node that leads its partition, routing
// again while leadership moves (for up to ForwardWindow).
func (n *Node) UpsertProfile(ctx context.Context, id string, attrs map[string]any, test *bool) (*model.Profile, error) {
	pid := store.PartitionOf(id, len(n.parts))
	deadline := time.Now().Add(ForwardWindow)
	pause := 20 * time.Millisecond
	for {
		var p *model.Profile
		var err error
		table := n.table.Load()
		switch {
		case n.eng.Leading(pid):
			p, err = n.eng.UpsertProfile(ctx, id, attrs, test)
		case table != nil && (*table)[pid] != "" && (*table)[pid] != n.cfg.Name:
			var body, out []byte
			if body, err = sonic.Marshal(profileReq{ID: id, Attributes: attrs, Test: test}); err == nil {
				if out, err = n.post(ctx, (*table)[pid], pathProfile, body); err == nil {
					p = &model.Profile{}
					err = sonic.Unmarshal(out, p)
				} else {
					err = errors.Join(errForward, err)
				}
			}
		default:
			err = engine.ErrNotLeader
		}
		if !retryable(err) || time.Now().After(deadline) || ctx.Err() != nil {
			return p, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(pause*2, 400*time.Millisecond)
	}
}

func (n *Node) handleProfile(from string, body []byte) ([]byte, error) {
	var req profileReq
	if err := sonic.Unmarshal(body, &req); err != nil || req.ID == "" {
		return nil, badRequest("profile: want {\"id\", \"attributes\", \"test\"}")
	}
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	p, err := n.eng.UpsertProfile(ctx, req.ID, req.Attributes, req.Test)
	if errors.Is(err, engine.ErrNotLeader) || errors.Is(err, engine.ErrStopped) {
		return nil, &transport.StatusError{Status: 409, Msg: errNotLeaderCode}
	}
	if err != nil {
		return nil, err
	}
	return sonic.Marshal(p)
}
