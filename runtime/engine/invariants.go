package engine

import (
	"bytes"
	"fmt"

	"github.com/wayline/wayline/runtime/store"
)

// checkInstances asserts, after a commit, that every instance of the profiles a batch touched
// is consistent with its timers: a timed wait has exactly its own timer pending, every
// instance has its deadline timer. A broken invariant is a bug in the engine, so it panics —
// only in builds with the invariants tag (make test), never in production builds.
func (p *partition) checkInstances(profiles map[string]*storedProfile) {
	if !invariantsEnabled {
		return
	}
	for id := range profiles {
		prefix := append(store.PartKey(p.id, store.KindInstance, id), 0)
		it, err := p.e.db.NewIter(nil)
		if err != nil {
			panic(err)
		}
		for ok := it.SeekGE(prefix); ok && bytes.HasPrefix(it.Key(), prefix); ok = it.Next() {
			var inst instance
			if err := decode(it.Value(), &inst); err != nil {
				panic(fmt.Sprintf("invariant: undecodable instance %q: %v", it.Key(), err))
			}
			p.checkTimer(&inst, inst.DeadKey, timerDeadline, 0)
			switch {
			case inst.State == waitTimer:
				p.checkTimer(&inst, inst.WaitKey, timerWait, inst.Token)
			case inst.State == waitEvent && inst.WaitKey != nil:
				p.checkTimer(&inst, inst.WaitKey, timerTimeout, inst.Token)
			case inst.State == waitAction && inst.WaitKey != nil:
				panic(fmt.Sprintf("invariant: instance %s waits for an action but holds a timer", inst.ID))
			}
		}
		it.Close()
	}
}

func (p *partition) checkTimer(inst *instance, key []byte, kind string, token uint64) {
	raw, ok, err := store.Get(p.e.db, key)
	if err != nil {
		panic(err)
	}
	if !ok {
		panic(fmt.Sprintf("invariant: instance %s (state %s) lost its %s timer", inst.ID, inst.State, kind))
	}
	var rec timerRec
	if err := decode(raw, &rec); err != nil || rec.Kind != kind || rec.Instance != inst.ID || rec.Token != token {
		panic(fmt.Sprintf("invariant: instance %s: its %s timer holds %+v (token %d)", inst.ID, kind, rec, token))
	}
}
