package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

const (
	workEvent = iota
	workResult
	workOp
	workControl // leadership changes: run between batches, alone
)

// work is one item for a partition worker.
type work struct {
	kind      int
	ev        *model.Envelope
	qualified bool
	res       *callResult
	op        func(st *stepCtx) error
	control   func(p *partition) error
	out       *Outcome
	wg        *sync.WaitGroup
}

// timerBatch bounds the timers fired in one micro-batch.
const timerBatch = 256

// dedupeSweepBatch bounds the expired dedupe marks deleted in one micro-batch.
const dedupeSweepBatch = 512

// partition is the single writer of one partition's key range.
type partition struct {
	e    *Engine
	id   int
	in   chan *work
	quit chan struct{}
	seq  uint64

	// leading: this node writes the partition (always, on a single node; in a cluster, while
	// it holds the partition's leadership). Read by the dispatcher, so atomic.
	leading atomic.Bool
	epoch   uint64   // the leadership epoch batches are written under
	pos     Position // the position of the last committed batch
	// durableSeq is the partition's sequence number as of its last batch that is both
	// committed and replicated. The dispatcher's sweep calls only outbox entries at or below
	// it: an entry of a batch still being replicated (or that failed to be) is the worker's
	// alone until Replicate returns.
	durableSeq atomic.Uint64

	// nextTimer is the earliest due time of any timer this worker knows of; zero means "scan".
	nextTimer time.Time
	lastSweep time.Time
	// timerFloor and dedupeFloor are keys below which the timer and dedupe-index key spaces
	// hold nothing live (nil: not known, start at the kind's prefix). Both are queues: keys are
	// deleted from the front as they fall due, and their tombstones stay until compaction; a
	// scan from the prefix would step over every one of them each time.
	timerFloor  []byte
	dedupeFloor []byte
}

// forgetHints drops what the worker remembers about its key spaces, which must then be
// re-derived from disk: after a failed commit, or when the partition's state was replaced.
func (p *partition) forgetHints() {
	p.nextTimer, p.lastSweep = time.Time{}, time.Time{}
	p.timerFloor, p.dedupeFloor = nil, nil
}

func newPartition(e *Engine, id int) *partition {
	p := &partition{e: e, id: id, in: make(chan *work, e.cfg.QueueSize), quit: make(chan struct{})}
	if pos, seq, err := readState(e.db, id); err == nil {
		p.pos, p.epoch, p.seq = pos, pos.Epoch, seq
	}
	p.durableSeq.Store(p.seq)
	p.leading.Store(true)
	return p
}

func (p *partition) run(ctx context.Context) {
	batch := make([]*work, 0, p.e.cfg.MaxBatch)
	wake := time.NewTimer(0)
	defer wake.Stop()
	for {
		batch = batch[:0]
		select {
		case w := <-p.in:
			batch = append(batch, w)
		case <-wake.C:
		case <-p.quit:
			// Drain what was queued before the stop, then leave.
			for {
				select {
				case w := <-p.in:
					p.applyInOrder(append(batch[:0], w))
				default:
					return
				}
			}
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case w := <-p.in:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		p.applyInOrder(batch)
		wake.Reset(p.untilNextTimer())
	}
}

// applyInOrder applies a drained queue: control items run alone, between the batches of the
// work queued before and after them.
func (p *partition) applyInOrder(items []*work) {
	start := 0
	for i, w := range items {
		if w.kind != workControl {
			continue
		}
		if i > start {
			p.apply(items[start:i])
		}
		w.out.Err = w.control(p)
		w.wg.Done()
		start = i + 1
	}
	if start < len(items) || len(items) == 0 {
		p.apply(items[start:])
	}
}

// refuse answers a batch that reached a partition this node does not lead: nothing is written.
func (p *partition) refuse(items []*work) {
	var released []string
	for _, w := range items {
		if w.kind == workResult {
			// The call's entry stays in the outbox; the leader dispatches it again, with the
			// same idempotency key.
			released = append(released, string(w.res.key))
		}
		if w.out != nil && w.out.Err == nil {
			w.out.Err = ErrNotLeader
		}
		if w.wg != nil {
			w.wg.Done()
		}
	}
	if len(released) > 0 {
		p.e.disp.committed(p.id, nil, released)
	}
}

// untilNextTimer is how long the worker may sleep before it must look at its timers.
func (p *partition) untilNextTimer() time.Duration {
	const maxSleep = time.Second
	if p.nextTimer.IsZero() {
		return maxSleep
	}
	d := time.Until(p.nextTimer)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return min(d, maxSleep)
}

// noteTimer tells the worker about a timer it just scheduled.
func (p *partition) noteTimer(due time.Time) {
	if p.nextTimer.IsZero() || due.Before(p.nextTimer) {
		p.nextTimer = due
	}
}

// apply runs one micro-batch: every work item, due timers and housekeeping go into one indexed
// batch, committed with sync; callers are answered after the commit.
func (p *partition) apply(items []*work) {
	if !p.leading.Load() {
		p.refuse(items)
		return
	}
	now := p.e.now()
	b := p.e.db.NewIndexedBatch()
	st := newStepCtx(p, b, now)
	st.batching = p.e.plugins != nil
	for _, w := range items {
		switch w.kind {
		case workEvent:
			w.out.Duplicate = st.handleEvent(w.ev, w.qualified)
		case workResult:
			st.drainParked() // results name their profile only once decoded; settle everything
			st.handleResult(w.res)
		case workOp:
			st.drainParked()
			if err := w.op(st); err != nil {
				w.out.Err = err
			}
		}
	}
	st.drainParked()
	st.fireTimers()
	st.drainParked()
	st.flushTraces()
	st.saveProfiles()
	st.flushCounters()
	if now.Sub(p.lastSweep) > time.Second {
		// A full sweep means more marks have expired: sweep again next batch, so that expiry
		// keeps up with any ingest rate.
		if st.sweepDedupe() < dedupeSweepBatch {
			p.lastSweep = now
		}
	}
	var err error
	switch {
	case st.failed != nil:
		err = st.failed
		b.Close()
	case b.Empty():
		b.Close()
	default:
		prev, pos := p.pos, Position{Epoch: p.epoch, LSN: p.pos.LSN + 1}
		b.Set(store.KindPrefix(p.id, store.KindPosition), encodeState(pos, p.seq), nil)
		err = b.Commit(p.writeOptions(items, st))
		if err == nil {
			p.pos = pos
			if r := p.e.replicator; r != nil {
				if rerr := r.Replicate(p.id, prev, pos, b.Repr()); rerr != nil {
					// Committed here but not on the in-sync replicas: not acknowledged, and
					// this node stops leading. The next leader's history decides whether
					// the batch survives; a retried event finds out through its dedupe mark.
					p.e.log.Warn("replication failed; the partition stops leading here", "partition", p.id, "err", rerr)
					p.leading.Store(false)
					err = ErrNotLeader
				}
			}
		}
		b.Close()
	}
	if err != nil && err != ErrNotLeader {
		p.e.log.Error("partition commit failed; the batch is not acknowledged", "partition", p.id, "err", err)
		// Nothing was applied; in-memory hints are re-derived from disk.
		p.forgetHints()
	}
	for _, w := range items {
		if err != nil && w.out != nil && w.out.Err == nil {
			w.out.Err = err
		}
		if w.wg != nil {
			w.wg.Done()
		}
	}
	if err == nil {
		p.durableSeq.Store(p.seq)
		p.checkInstances(st.profiles)
		p.e.disp.committed(p.id, st.outbox, st.settled)
	} else {
		p.e.disp.committed(p.id, nil, st.settled)
	}
}

// nextSeq returns a partition-unique, increasing sequence number.
func (p *partition) nextSeq() uint64 {
	p.seq++
	return p.seq
}

// writeOptions decides whether a batch needs its own WAL sync. Anything acknowledged to a
// caller (events, profile operations) must be durable before the answer, and so must any new
// outbox entry before the dispatcher may call it (a call whose entry a crash could erase would
// be made again under another idempotency key). What remains — batches that only settle action
// outcomes or fire timers without queueing calls — may be lost in a crash without harm: the
// outbox entry or timer is still there and is simply handled again, with the same idempotency
// key. Those ride on the next synced commit instead of paying an fsync of their own.
func (p *partition) writeOptions(items []*work, st *stepCtx) *pebble.WriteOptions {
	if len(st.outbox) > 0 {
		return pebble.Sync
	}
	for _, w := range items {
		if w.kind != workResult {
			return pebble.Sync
		}
	}
	return pebble.NoSync
}
