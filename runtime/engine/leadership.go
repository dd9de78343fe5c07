package engine

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/store"
)

// Position is where a partition's log stands: the leadership epoch of the last batch committed
// to it and that batch's log sequence number. Every commit of a partition writes its position
// in the same batch (store.KindPosition), so a store — or a Pebble snapshot of one — always
// knows exactly which batches it holds. Positions order by epoch, then LSN.
type Position struct {
	Epoch uint64 `json:"epoch"`
	LSN   uint64 `json:"lsn"`
}

// Less reports whether p is older than q.
func (p Position) Less(q Position) bool {
	return p.Epoch < q.Epoch || (p.Epoch == q.Epoch && p.LSN < q.LSN)
}

// EncodePosition is the wire form: epoch and LSN, 8 bytes big-endian each.
func EncodePosition(p Position) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 24), p.Epoch)
	return binary.BigEndian.AppendUint64(b, p.LSN)
}

// DecodePosition reads the wire or stored form (the stored one carries the partition's
// sequence after the position); a missing or malformed value is the zero position.
func DecodePosition(b []byte) Position {
	if len(b) != 16 && len(b) != 24 {
		return Position{}
	}
	return Position{Epoch: binary.BigEndian.Uint64(b), LSN: binary.BigEndian.Uint64(b[8:])}
}

// encodeState is what every commit writes under store.KindPosition: the position, then the
// last sequence number the partition used (one key per commit for both).
func encodeState(p Position, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(EncodePosition(p), seq)
}

// readState reads a partition's position and sequence. Stores written before the position
// existed keep the sequence alone under store.KindSeq.
func readState(r pebble.Reader, pid int) (Position, uint64, error) {
	b, ok, err := store.Get(r, store.KindPrefix(pid, store.KindPosition))
	if err != nil {
		return Position{}, 0, err
	}
	if ok && len(b) == 24 {
		return DecodePosition(b), binary.BigEndian.Uint64(b[16:]), nil
	}
	old, ok, err := store.Get(r, store.KindPrefix(pid, store.KindSeq))
	if err != nil || !ok {
		return DecodePosition(b), 0, err
	}
	return DecodePosition(b), store.ReadU64(old), nil
}

// ReadPosition reads a partition's position from a store or a snapshot of one.
func ReadPosition(r pebble.Reader, pid int) (Position, error) {
	b, ok, err := store.Get(r, store.KindPrefix(pid, store.KindPosition))
	if err != nil || !ok {
		return Position{}, err
	}
	return DecodePosition(b), nil
}

// ErrNotLeader is the outcome of work sent to a partition this node does not lead (or stopped
// leading while the work waited): nothing was acknowledged; send it to the partition's leader.
var ErrNotLeader = errors.New("engine: this node does not lead the partition")

// Replicator ships a partition's committed batches to its followers (the cluster does). The
// partition worker calls Replicate after every local commit and before it answers anyone or
// dispatches any action the batch queued, so nothing is acknowledged or acted on before the
// partition's in-sync replicas hold it. repr is the batch in Pebble's encoding and is valid only
// during the call. An error means the batch must not be acknowledged: the partition stops
// leading and its callers get ErrNotLeader.
type Replicator interface {
	Replicate(pid int, prev, pos Position, repr []byte) error
}

// UseReplicator puts the engine in cluster mode: partitions start without a leader and do
// nothing (no events, timers or actions) until Lead is called for them. Call it before Start.
func (e *Engine) UseReplicator(r Replicator) {
	e.replicator = r
	for _, p := range e.parts {
		p.leading.Store(false)
	}
}

// Lead makes this node the partition's leader at epoch: the worker reloads what followers'
// replication wrote under it (sequence, position, timers) and starts taking events, firing
// timers and dispatching the outbox. It returns the position the new leadership starts from.
func (e *Engine) Lead(pid int, epoch uint64) (Position, error) {
	var pos Position
	err := e.control(pid, func(p *partition) error {
		cur, seq, err := readState(e.db, pid)
		if err != nil {
			return err
		}
		p.seq = seq
		p.pos, p.epoch, pos = cur, epoch, cur
		p.durableSeq.Store(p.seq) // the cluster hands over a copy a majority holds
		p.forgetHints()
		p.leading.Store(true)
		return nil
	})
	if err == nil {
		go e.disp.sweepPartition(pid)
	}
	return pos, err
}

// Resign stops the partition leading. It returns once the worker has finished the batch in
// hand: nothing is written to the partition by this node after it returns.
func (e *Engine) Resign(pid int) {
	_ = e.control(pid, func(p *partition) error {
		p.leading.Store(false)
		return nil
	})
}

// Leading reports whether this node leads the partition.
func (e *Engine) Leading(pid int) bool { return e.parts[pid].leading.Load() }

// control runs fn on the partition's worker between batches and waits for it.
func (e *Engine) control(pid int, fn func(p *partition) error) error {
	if !e.enter() {
		return ErrStopped
	}
	defer e.inflight.Done()
	var o Outcome
	var wg sync.WaitGroup
	wg.Add(1)
	e.parts[pid].in <- &work{kind: workControl, control: fn, out: &o, wg: &wg}
	wg.Wait()
	return o.Err
}
