package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/pluginrun"
	"github.com/wayline/wayline/runtime/store"
)

// Plugin conditions are evaluated in batches: crossing into wasm under a deadline has a fixed
// cost (wazero starts a goroutine per call to enforce it, about 1 µs), so an instance that
// reaches a plugin branch parks here, and at the end of the micro-batch — or before anything
// else touches its profile — every parked instance at the same branch is answered by one
// call of the plugin's batch handler. Per-profile order is kept: a profile's next event,
// timer or action result is applied only after its parked instances have moved on.

// maxPluginBatch bounds the instances one crossing evaluates.
const maxPluginBatch = 128

// parked is an instance stopped at a plugin branch of a condition.
type parked struct {
	prof   *storedProfile
	inst   *instance
	g      *journey.Graph
	n      *journey.Node
	act    *expr.Activation
	branch int // index into n.Conds of the plugin branch to answer
}

// BatchRunner is a Runner that can say whether a plugin version has the batch condition
// handler; the engine batches only then.
type BatchRunner interface {
	pluginrun.Runner
	HasConditionBatch(name, version string) bool
}

func (st *stepCtx) canBatch(use *journey.PluginUse) bool {
	br, ok := st.p.e.plugins.(BatchRunner)
	return ok && st.batching && br.HasConditionBatch(use.Name, use.Version)
}

func (st *stepCtx) park(p parked) {
	st.parked = append(st.parked, p)
	if st.parkedProfiles == nil {
		st.parkedProfiles = map[string]bool{}
	}
	st.parkedProfiles[p.prof.ID] = true
}

// settle moves on every parked instance of a profile (all of them, in fact: one batch call
// answers many profiles) before something else happens to that profile.
func (st *stepCtx) settle(profileID string) {
	if st.parkedProfiles[profileID] {
		st.drainParked()
	}
}

// drainParked answers every parked instance and runs each on; instances that park again at a
// later plugin branch are answered in the next round.
func (st *stepCtx) drainParked() {
	for len(st.parked) > 0 {
		round := st.parked
		st.parked, st.parkedProfiles = nil, nil
		groups := map[*journey.Branch][]parked{}
		var order []*journey.Branch
		for _, p := range round {
			br := &p.n.Conds[p.branch]
			if _, ok := groups[br]; !ok {
				order = append(order, br)
			}
			groups[br] = append(groups[br], p)
		}
		for _, br := range order {
			ps := groups[br]
			for len(ps) > 0 {
				chunk := ps[:min(len(ps), maxPluginBatch)]
				ps = ps[len(chunk):]
				results := st.evalBatch(br.Plugin, chunk)
				for i, p := range chunk {
					st.resumeParked(p, results[i])
				}
			}
		}
	}
}

type branchAnswer struct {
	ok     bool
	reason string
	err    error
}

// evalBatch asks the plugin about every parked instance in one crossing; when the batch call
// itself fails it falls back to one call per instance, so one bad item cannot fail the rest.
func (st *stepCtx) evalBatch(use *journey.PluginUse, ps []parked) []branchAnswer {
	out := make([]branchAnswer, len(ps))
	type item struct {
		Event   map[string]any `json:"event"`
		Profile pluginProfile  `json:"profile"`
		Vars    map[string]any `json:"vars"`
	}
	in := struct {
		ABI    int             `json:"abi"`
		Kind   string          `json:"kind"`
		Config json.RawMessage `json:"config"`
		Now    string          `json:"now"`
		Items  []item          `json:"items"`
	}{ABI: 1, Kind: "condition", Config: use.Config, Now: st.now.Format(time.RFC3339Nano), Items: make([]item, len(ps))}
	for i, p := range ps {
		in.Items[i] = item{Event: p.act.Event, Profile: pluginProfile{ID: p.prof.ID, Attributes: p.prof.Attributes}, Vars: p.act.Vars}
	}
	single := func() []branchAnswer {
		for i, p := range ps {
			out[i].ok, out[i].reason, out[i].err = st.pluginCondition(p.prof, use, p.act)
		}
		return out
	}
	b, err := sonic.Marshal(in)
	if err != nil {
		return single()
	}
	raw, err := st.p.e.plugins.Run(context.Background(), &pluginrun.Call{Name: use.Name, Version: use.Version, Kind: "condition_batch",
		Input: b, KV: &stepKV{st: st, prefix: append(store.PartKey(st.pid(), store.KindPluginKV, use.Name), 0)}})
	if err != nil {
		return single()
	}
	answers, err := decodeBatchAnswer(raw, len(ps))
	if err != nil {
		return single()
	}
	for i, a := range answers {
		if a.err != nil {
			a.err = fmt.Errorf("plugin %s@%s: %w", use.Name, use.Version, a.err)
		}
		out[i] = a
	}
	return out
}

// resumeParked applies a plugin branch's answer and runs the instance on.
func (st *stepCtx) resumeParked(p parked, a branchAnswer) {
	br := p.n.Conds[p.branch]
	if a.err != nil {
		st.nodeError(p.prof, p.inst, p.n, fmt.Errorf("branch %s: %w", br.ID, a.err))
	} else if a.reason != "" {
		st.traceNode(p.prof, p.inst, p.n, "plugin", "branch "+br.ID+": "+a.reason)
	}
	var next *journey.Node
	if a.err == nil && a.ok {
		st.count(NodeScope(p.inst.JourneyID, p.inst.Version, p.n.ID), "branch:"+br.ID, 1)
		next = br.Next
	} else {
		var parkedAgain bool
		if next, parkedAgain = st.decideFrom(p.prof, p.inst, p.g, p.n, p.act, p.branch+1); parkedAgain {
			return
		}
	}
	st.countNode(p.inst, p.n.ID, "passed")
	st.traceNode(p.prof, p.inst, p.n, "passed", "")
	st.run(p.prof, p.inst, p.g, next)
}
