package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"

	"github.com/wayline/wayline/cluster/transport"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/store"
)

// Replicate is called by a partition's engine worker after each local commit: it ships the
// batch to every in-sync follower and returns when they hold it durably. The batch counts as
// replicated only if a majority of the partition's replicas (the leader and its placed
// followers) hold it, so a leader cut off from the others never acknowledges alone, whatever
// its view of membership says. A follower that answers with another position is behind (it
// leaves the in-sync set and catches up); one that cannot be reached is dropped after
// ReplicaTimeout, or as soon as gossip declares it dead. A refusal with a newer epoch fences
// this leader. Any error makes the engine stop leading and not acknowledge the batch.
func (n *Node) Replicate(pid int, prev, pos engine.Position, repr []byte) error {
	p := n.parts[pid]
	frame := encodeFrame(pid, prev, pos, repr)
	p.mu.Lock()
	ls := p.lead
	if ls == nil || ls.epoch != pos.Epoch || p.promised > pos.Epoch {
		p.mu.Unlock()
		return errFenced
	}
	if !n.quorum.Load() {
		p.mu.Unlock()
		return errNoQuorum
	}
	ls.pos = pos
	ls.tail = append(ls.tail, tailEntry{prev: prev, pos: pos, frame: frame})
	ls.tailBytes += len(frame)
	for len(ls.tail) > tailMaxEntries || ls.tailBytes > tailMaxBytes {
		ls.tailBytes -= len(ls.tail[0].frame)
		ls.tail[0] = tailEntry{}
		ls.tail = ls.tail[1:]
	}
	var targets []string
	for name, f := range ls.followers {
		if f.inSync {
			targets = append(targets, name)
		}
	}
	replicas := len(ls.followers) + 1
	p.mu.Unlock()
	need := replicas / 2 // followers that, with the leader, make a majority of the replicas
	if len(targets) < need {
		return fmt.Errorf("cluster: partition %d has %d in-sync followers of %d; a batch needs %d", pid, len(targets), replicas-1, need)
	}
	if len(targets) == 0 {
		return nil
	}
	type result struct {
		held bool
		err  error
	}
	results := make(chan result, len(targets))
	for _, name := range targets {
		go func(name string) {
			held, err := n.ship(pid, name, pos, frame)
			results <- result{held, err}
		}(name)
	}
	var err error
	held := 0
	for range targets {
		r := <-results
		if r.err != nil {
			err = r.err
		}
		if r.held {
			held++
		}
	}
	if err != nil {
		return err
	}
	if held < need {
		return fmt.Errorf("cluster: partition %d: %d followers hold the batch; a majority of %d replicas needs %d", pid, held, replicas, need)
	}
	return nil
}

// ship delivers one batch to one in-sync follower (see Replicate) and reports whether the
// follower holds it; false without an error means it was dropped from the in-sync set.
func (n *Node) ship(pid int, name string, pos engine.Position, frame []byte) (bool, error) {
	p := n.parts[pid]
	deadline := time.Now().Add(n.cfg.ReplicaTimeout)
	for {
		p.mu.Lock()
		fenced := p.promised > pos.Epoch || p.lead == nil || p.lead.epoch != pos.Epoch
		p.mu.Unlock()
		if fenced {
			return false, errFenced
		}
		var res []byte
		pipe, err := n.pipe(name, pathReplicate)
		if err == nil {
			ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
			res, err = pipe.Do(ctx, frame)
			cancel()
		}
		if err == nil {
			st, their, derr := decodeStatus(res)
			switch {
			case derr != nil:
				err = derr
			case st == statusOK:
				n.followerAcked(pid, name, pos)
				return true, nil
			case st == statusFenced:
				p.mu.Lock()
				p.seenEpoch = max(p.seenEpoch, their.Epoch)
				p.mu.Unlock()
				return false, errFenced
			case st == statusMismatch:
				n.dropFollower(pid, name, their, "it is at another position")
				return false, nil
			}
		}
		if n.ctx.Err() != nil {
			return false, n.ctx.Err()
		}
		if !n.currentView().quorum {
			// Cut off from the majority: the other side may already lead the partition.
			return false, errNoQuorum
		}
		if !n.alive(name) || time.Now().After(deadline) {
			n.dropFollower(pid, name, engine.Position{}, "it does not answer: "+err.Error())
			return false, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *Node) followerAcked(pid int, name string, pos engine.Position) {
	p := n.parts[pid]
	p.mu.Lock()
	if ls := p.lead; ls != nil {
		if f := ls.followers[name]; f != nil && f.acked.Less(pos) {
			f.acked = pos
		}
	}
	p.mu.Unlock()
}

// dropFollower takes a follower out of the in-sync set and starts its catch-up. known is its
// position when it told us, the zero position when unknown.
func (n *Node) dropFollower(pid int, name string, known engine.Position, why string) {
	p := n.parts[pid]
	p.mu.Lock()
	defer p.mu.Unlock()
	ls := p.lead
	if ls == nil {
		return
	}
	f := ls.followers[name]
	if f == nil || !f.inSync {
		return
	}
	f.inSync = false
	f.acked = known
	n.log.Warn("follower left the in-sync set", "partition", pid, "follower", name, "why", why)
	if !f.catching {
		f.catching = true
		go n.catchUp(pid, name, ls.epoch)
	}
}

// catchUp brings one follower to the leader's position — with the batches it misses when the
// tail still holds them, with a snapshot of the partition otherwise — and puts it back in the
// in-sync set. It ends when the follower is in sync, or leadership or placement changed.
func (n *Node) catchUp(pid int, name string, epoch uint64) {
	p := n.parts[pid]
	for n.ctx.Err() == nil {
		p.mu.Lock()
		ls := p.lead
		if ls == nil || ls.epoch != epoch || ls.followers[name] == nil {
			p.mu.Unlock()
			return
		}
		f := ls.followers[name]
		if f.acked == ls.pos {
			f.inSync, f.catching = true, false
			p.mu.Unlock()
			n.log.Debug("follower in sync", "partition", pid, "follower", name, "position", ls.pos)
			return
		}
		var frames [][]byte
		var last []engine.Position
		for i, e := range ls.tail {
			if e.prev == f.acked {
				for _, e := range ls.tail[i:min(len(ls.tail), i+256)] {
					frames = append(frames, e.frame)
					last = append(last, e.pos)
				}
				break
			}
		}
		p.mu.Unlock()
		if !n.alive(name) {
			time.Sleep(300 * time.Millisecond)
			continue
		}
		if err := n.sendCatchUp(pid, name, epoch, frames, last); err != nil {
			if errors.Is(err, errFenced) {
				n.resign(pid, "a follower knows a newer epoch")
				return
			}
			n.log.Debug("catch-up step failed; retrying", "partition", pid, "follower", name, "err", err)
			time.Sleep(300 * time.Millisecond)
		}
	}
}

func (n *Node) sendCatchUp(pid int, name string, epoch uint64, frames [][]byte, positions []engine.Position) error {
	ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
	defer cancel()
	if len(frames) == 0 {
		snap, err := snapshot(n.db, pid)
		if err != nil {
			return err
		}
		body := append(binary.BigEndian.AppendUint64(encodePid(pid), epoch), snap...)
		out, err := n.post(ctx, name, pathInstall, body)
		if err != nil {
			var se *transport.StatusError
			if errors.As(err, &se) && se.Status == 409 {
				return errFenced
			}
			return err
		}
		pos := engine.DecodePosition(out)
		n.setAcked(pid, name, pos)
		return nil
	}
	out, err := n.post(ctx, name, pathReplicate, transport.EncodeItems(frames))
	if err != nil {
		return err
	}
	res, err := transport.DecodeItems(out)
	if err != nil {
		return err
	}
	for i, r := range res {
		st, their, err := decodeStatus(r)
		if err != nil {
			return err
		}
		switch st {
		case statusOK:
			n.setAcked(pid, name, positions[i])
		case statusFenced:
			return errFenced
		case statusMismatch:
			n.setAcked(pid, name, their)
			return nil
		}
	}
	return nil
}

func (n *Node) setAcked(pid int, name string, pos engine.Position) {
	p := n.parts[pid]
	p.mu.Lock()
	if ls := p.lead; ls != nil {
		if f := ls.followers[name]; f != nil {
			f.acked = pos
		}
	}
	p.mu.Unlock()
}

// Follower side.

// Status codes of a replicated batch.
const (
	statusOK       = 1
	statusMismatch = 2 // the follower is at another position (given)
	statusFenced   = 3 // the follower promised a newer epoch (given as the position's epoch)
)

func encodeStatus(st byte, pos engine.Position) []byte {
	return append([]byte{st}, engine.EncodePosition(pos)...)
}

func decodeStatus(b []byte) (byte, engine.Position, error) {
	if len(b) != 17 || b[0] < statusOK || b[0] > statusFenced {
		return 0, engine.Position{}, fmt.Errorf("cluster: unreadable replication status (%d bytes)", len(b))
	}
	return b[0], engine.DecodePosition(b[1:]), nil
}

// handleReplicate applies replicated batches, each only on top of the position it was made
// on and only from an epoch not older than promised. One WAL sync covers the request.
func (n *Node) handleReplicate(from string, items [][]byte) ([][]byte, error) {
	out := make([][]byte, len(items))
	applied := false
	for i, item := range items {
		pid, prev, pos, repr, err := decodeFrame(item, len(n.parts))
		if err != nil {
			return nil, badRequest("replicate: %v", err)
		}
		st, at, err := n.applyFrame(pid, prev, pos, repr)
		if err != nil {
			return nil, err
		}
		applied = applied || st == statusOK
		out[i] = encodeStatus(st, at)
	}
	if applied {
		if err := n.db.LogData(nil, pebble.Sync); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (n *Node) applyFrame(pid int, prev, pos engine.Position, repr []byte) (byte, engine.Position, error) {
	p := n.parts[pid]
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	p.mu.Lock()
	if pos.Epoch < p.promised {
		promised := p.promised
		p.mu.Unlock()
		return statusFenced, engine.Position{Epoch: promised}, nil
	}
	raise := pos.Epoch > p.promised
	leading := p.lead != nil
	p.mu.Unlock()
	if leading || n.eng.Leading(pid) {
		n.resign(pid, "a leader with a newer epoch replicates to it")
	}
	cur, err := engine.ReadPosition(n.db, pid)
	if err != nil {
		return 0, engine.Position{}, err
	}
	if cur != prev {
		return statusMismatch, cur, nil
	}
	b := n.db.NewBatch()
	if err := b.SetRepr(append([]byte(nil), repr...)); err != nil {
		return 0, engine.Position{}, err
	}
	if raise {
		_ = b.Set(store.PromiseKey(pid), store.U64(pos.Epoch), nil)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		b.Close()
		return 0, engine.Position{}, err
	}
	b.Close()
	if raise {
		p.mu.Lock()
		p.promised = max(p.promised, pos.Epoch)
		p.mu.Unlock()
	}
	return statusOK, pos, nil
}

// handleInstall replaces the partition's copy with a leader's snapshot.
func (n *Node) handleInstall(from string, body []byte) ([]byte, error) {
	if len(body) < 10 {
		return nil, badRequest("install: body too short")
	}
	pid := int(binary.BigEndian.Uint16(body))
	epoch := binary.BigEndian.Uint64(body[2:])
	if pid >= len(n.parts) {
		return nil, badRequest("install: partition %d does not exist", pid)
	}
	p := n.parts[pid]
	p.mu.Lock()
	if epoch < p.promised {
		p.mu.Unlock()
		return nil, &transport.StatusError{Status: 409, Msg: fmt.Sprintf("install: promised epoch %d, the snapshot is from %d", p.promised, epoch)}
	}
	p.promised = epoch
	leading := p.lead != nil
	p.mu.Unlock()
	if leading || n.eng.Leading(pid) {
		n.resign(pid, "a leader with a newer epoch sends it a snapshot")
	}
	pos, err := n.install(pid, epoch, body[10:])
	if err != nil {
		return nil, badRequest("install: %v", err)
	}
	return engine.EncodePosition(pos), nil
}

// install writes a snapshot over this node's copy of the partition, in one synced batch.
func (n *Node) install(pid int, epoch uint64, snap []byte) (engine.Position, error) {
	p := n.parts[pid]
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	b := n.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(store.PartitionPrefix(pid), store.PartitionEnd(pid), nil); err != nil {
		return engine.Position{}, err
	}
	pos, err := decodeSnapshot(snap, pid, func(k, v []byte) error { return b.Set(k, v, nil) })
	if err != nil {
		return engine.Position{}, err
	}
	_ = b.Set(store.PromiseKey(pid), store.U64(epoch), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return engine.Position{}, err
	}
	p.mu.Lock()
	p.promised = max(p.promised, epoch)
	p.mu.Unlock()
	return pos, nil
}

// handleSnapshot answers this node's copy of a partition (for a claimant that won with an
// older copy than this one).
func (n *Node) handleSnapshot(from string, body []byte) ([]byte, error) {
	if len(body) != 2 || int(binary.BigEndian.Uint16(body)) >= len(n.parts) {
		return nil, badRequest("snapshot: want a 2-byte partition number below %d", len(n.parts))
	}
	return snapshot(n.db, int(binary.BigEndian.Uint16(body)))
}

// snapshot encodes a consistent copy of a partition: its position, then every key and value.
// Pebble batches are atomic, so the copy holds whole batches and its position says which.
func snapshot(db *pebble.DB, pid int) ([]byte, error) {
	s := db.NewSnapshot()
	defer s.Close()
	pos, err := engine.ReadPosition(s, pid)
	if err != nil {
		return nil, err
	}
	it, err := s.NewIter(&pebble.IterOptions{LowerBound: store.PartitionPrefix(pid), UpperBound: store.PartitionEnd(pid)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := engine.EncodePosition(pos)
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(it.Key())))
		out = append(out, it.Key()...)
		out = binary.AppendUvarint(out, uint64(len(v)))
		out = append(out, v...)
	}
	return out, it.Error()
}

// decodeSnapshot reads snapshot's encoding, refusing any key outside the partition.
func decodeSnapshot(b []byte, pid int, put func(k, v []byte) error) (engine.Position, error) {
	if len(b) < 16 {
		return engine.Position{}, errors.New("snapshot: shorter than its position")
	}
	pos := engine.DecodePosition(b[:16])
	b = b[16:]
	lo, hi := store.PartitionPrefix(pid), store.PartitionEnd(pid)
	for len(b) > 0 {
		k, rest, err := uvarintBytes(b)
		if err != nil {
			return engine.Position{}, fmt.Errorf("snapshot key: %w", err)
		}
		v, rest, err := uvarintBytes(rest)
		if err != nil {
			return engine.Position{}, fmt.Errorf("snapshot value: %w", err)
		}
		if string(k) < string(lo) || string(k) >= string(hi) {
			return engine.Position{}, fmt.Errorf("snapshot: key %q is outside partition %d", k, pid)
		}
		if err := put(k, v); err != nil {
			return engine.Position{}, err
		}
		b = rest
	}
	return pos, nil
}

func uvarintBytes(b []byte) ([]byte, []byte, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil, nil, errors.New("truncated")
	}
	return b[n : n+int(l)], b[n+int(l):], nil
}

// A frame is one replicated batch: partition (2 bytes), the position it was made on, its
// position (16 bytes each), and the Pebble batch encoding.
func encodeFrame(pid int, prev, pos engine.Position, repr []byte) []byte {
	b := make([]byte, 0, 34+len(repr))
	b = append(encodePidTo(b, pid), engine.EncodePosition(prev)...)
	b = append(b, engine.EncodePosition(pos)...)
	return append(b, repr...)
}

func decodeFrame(b []byte, partitions int) (int, engine.Position, engine.Position, []byte, error) {
	if len(b) < 34+12 { // a Pebble batch header is 12 bytes
		return 0, engine.Position{}, engine.Position{}, nil, fmt.Errorf("frame of %d bytes is too short", len(b))
	}
	pid := int(binary.BigEndian.Uint16(b))
	if pid >= partitions {
		return 0, engine.Position{}, engine.Position{}, nil, fmt.Errorf("partition %d does not exist (this cluster has %d)", pid, partitions)
	}
	prev, pos := engine.DecodePosition(b[2:18]), engine.DecodePosition(b[18:34])
	if !prev.Less(pos) {
		return 0, engine.Position{}, engine.Position{}, nil, fmt.Errorf("position %v does not follow %v", pos, prev)
	}
	if err := checkBatch(b[34:], pid); err != nil {
		return 0, engine.Position{}, engine.Position{}, nil, err
	}
	return pid, prev, pos, b[34:], nil
}

// checkBatch reads a Pebble batch encoding from another node before it is applied: every
// record legible, as many as the header says, of the kinds the engine writes, and every key
// inside the partition. Pebble's own reader can panic on a truncated record, hence the recover.
func checkBatch(repr []byte, pid int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch: unreadable record (%v)", r)
		}
	}()
	h, ok := batchrepr.ReadHeader(repr)
	if !ok {
		return errors.New("batch: no header")
	}
	lo, hi := string(store.PartitionPrefix(pid)), string(store.PartitionEnd(pid))
	inside := func(k []byte) bool { return string(k) >= lo && string(k) < hi }
	r := batchrepr.Read(repr)
	var n uint32
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return fmt.Errorf("batch: record %d: %w", n, err)
		}
		if !ok {
			break
		}
		n++
		switch kind {
		case pebble.InternalKeyKindSet, pebble.InternalKeyKindMerge, pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete:
			if !inside(k) {
				return fmt.Errorf("batch: record %d writes key %q outside partition %d", n, k, pid)
			}
		case pebble.InternalKeyKindRangeDelete:
			if !inside(k) || string(v) > hi {
				return fmt.Errorf("batch: record %d deletes a range outside partition %d", n, pid)
			}
		default:
			return fmt.Errorf("batch: record %d has kind %v, which the engine does not write", n, kind)
		}
	}
	if n != h.Count {
		return fmt.Errorf("batch: header says %d records, found %d", h.Count, n)
	}
	return nil
}

func encodePid(pid int) []byte { return encodePidTo(nil, pid) }

func encodePidTo(b []byte, pid int) []byte { return binary.BigEndian.AppendUint16(b, uint16(pid)) }

func badRequest(format string, args ...any) error {
	return &transport.StatusError{Status: 400, Msg: fmt.Sprintf(format, args...)}
}
