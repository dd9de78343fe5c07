package metasync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// Config configures a Sync. Meta, DB and Node are required; the rest may be left zero (a node
// alone: nothing to broadcast to or fetch from).
type Config struct {
	Meta *meta.Store
	// DB is the node store Meta writes to; the versions are kept in it.
	DB *pebble.DB
	// Node is this node's name, the origin of its writes. It must be unique in the cluster and
	// stay the same across restarts.
	Node string
	// Broadcast queues a message for memberlist gossip: best effort, it may be dropped. It is
	// called after local writes, from the writer's goroutine, and must not block.
	Broadcast func(msg []byte)
	// Fetch asks node for the current entries of keys (over the internal HTTP port, answered by
	// that node's Entries; MarshalKeys and MarshalEntries are the bodies). It is called from
	// background goroutines, a few at a time, and should honour ctx.
	Fetch func(ctx context.Context, node string, keys []Key) ([]Entry, error)
	// Requires (may be nil) names the records a node needs besides the given one to act on it:
	// a live journey needs its live version, a version the actions and event definitions it
	// uses. Entries sends their current entries in the same answer and the receiver applies an
	// answer in one batch, so a node never holds, even for a moment, a journey that is live
	// but that it cannot run. Keys were fetched one by one otherwise, by separate broadcasts and
	// workers, and a record could arrive before what it refers to. Plugin binaries are never
	// added: they travel alone (megabytes).
	Requires func(kind, id string, value []byte) []Key
	// Log receives what went wrong in the background; nothing when nil.
	Log *slog.Logger
}

// Validate checks the config once at start-up.
func (c Config) Validate() error {
	switch {
	case c.Meta == nil:
		return errors.New("metasync: config Meta is required")
	case c.DB == nil:
		return errors.New("metasync: config DB is required (the node store Meta writes to)")
	}
	if err := validVersion(Version{Origin: c.Node}); err != nil {
		return fmt.Errorf("metasync: config Node: %w", err)
	}
	return nil
}

// Sync keeps this node's metadata converged with the cluster's. Safe for concurrent use.
type Sync struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	clock uint64 // the greatest counter seen anywhere

	fetch fetchQueue
}

// New loads the versions, registers the OnWrite hook and gives records written without one a
// version (see the package comment). Call it once per store, at start-up, before the node joins
// the cluster; writes that race with it are versioned correctly (the hook is registered before
// the scan, and the scan runs under meta's write lock).
func New(cfg Config) (*Sync, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sync{cfg: cfg, log: cfg.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.fetch.init(s)
	_, maxCounter, err := s.scan(nil)
	if err != nil {
		return nil, fmt.Errorf("metasync: load versions: %w", err)
	}
	s.clock = maxCounter
	// The hook first, then the repair, which runs under meta's write lock after the hooks of
	// every earlier write: no write falls between the two.
	cfg.Meta.OnWrite(s.onWrite)
	var repaired []item
	err = cfg.Meta.ApplyRemote(nil, func(b *pebble.Batch) error {
		var err error
		repaired, err = s.repair(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("metasync: version unversioned records: %w", err)
	}
	s.broadcast(repaired)
	return s, nil
}

// Close stops fetching and waits for the fetches in flight. Local writes are still versioned
// afterwards (the hook stays registered) but no longer broadcast.
func (s *Sync) Close() { s.fetch.close() }

// observe moves the clock to at least c.
func (s *Sync) observe(c uint64) {
	s.mu.Lock()
	s.clock = max(s.clock, c)
	s.mu.Unlock()
}

// tick returns the counter of a new local write.
func (s *Sync) tick() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock++
	return s.clock
}

// onWrite versions a local write: one counter for the whole commit. It runs after the values are
// durable, in commit order (meta's guarantee), so the versions go in their own synced batch.
func (s *Sync) onWrite(ws []meta.Write) {
	last := map[Key]int{}
	var items []item
	for _, w := range ws {
		k := Key{Kind: w.Kind, ID: w.ID}
		if !SpreadsKey(k) {
			continue
		}
		if err := validKey(k); err != nil {
			s.log.Error("metasync: a local record cannot spread", "kind", k.Kind, "id", k.ID, "err", err)
			continue
		}
		it := item{Key: k, Deleted: w.Deleted}
		if i, ok := last[k]; ok { // written twice in one batch: the later write is what is stored
			items[i] = it
			continue
		}
		last[k] = len(items)
		items = append(items, it)
	}
	if len(items) == 0 {
		return
	}
	v := Version{Counter: s.tick(), Origin: s.cfg.Node}
	b := s.cfg.DB.NewBatch()
	defer b.Close()
	for i := range items {
		items[i].Version = v
		if err := b.Set(versionKey(items[i].Key), encodeRecord(v, items[i].Deleted), nil); err != nil {
			s.log.Error("metasync: stage versions", "err", err)
			return
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		// The records keep their previous versions until written again: the write does not spread.
		s.log.Error("metasync: store the versions of a local write; it will not spread", "keys", len(items), "err", err)
		return
	}
	s.broadcast(items)
}

func (s *Sync) broadcast(items []item) {
	if s.cfg.Broadcast == nil || len(items) == 0 || s.fetch.isClosed() {
		return
	}
	for _, msg := range encodeDigests(s.cfg.Node, items, MaxMessage) {
		s.cfg.Broadcast(msg)
	}
}

// NotifyMsg takes a broadcast received from gossip: it fetches, in the background, what the
// sender has newer. Malformed messages are logged and dropped. It does not block on the network.
func (s *Sync) NotifyMsg(msg []byte) {
	node, items, dropped, err := decodeDigest(msg)
	if err != nil {
		s.log.Warn("metasync: dropped a malformed broadcast", "bytes", len(msg), "err", err)
		return
	}
	s.offer(node, items, dropped)
}

// LocalState is this node's digest for memberlist's push/pull: every key with its version and
// deleted flag, never values.
func (s *Sync) LocalState() []byte {
	items, _, err := s.scan(nil)
	if err != nil {
		s.log.Error("metasync: read versions for push/pull", "err", err)
	}
	return encodeDigests(s.cfg.Node, items, 0)[0]
}

// MergeRemoteState takes another node's LocalState and fetches from node, in the background,
// what it has newer. node may be "" (memberlist does not say who sent the state): the digest
// names its sender. Malformed states are logged and dropped.
func (s *Sync) MergeRemoteState(node string, buf []byte) {
	sender, items, dropped, err := decodeDigest(buf)
	if err != nil {
		s.log.Warn("metasync: dropped a malformed push/pull state", "node", node, "bytes", len(buf), "err", err)
		return
	}
	if node == "" {
		node = sender
	}
	s.offer(node, items, dropped)
}

// offer queues fetches of the items newer here than what this node has.
func (s *Sync) offer(node string, items []item, dropped int) {
	if dropped > 0 {
		s.log.Warn("metasync: ignored malformed or non-spreading keys", "node", node, "count", dropped)
	}
	if node == s.cfg.Node || len(items) == 0 {
		return
	}
	var newer []item
	for _, it := range items {
		s.observe(it.Version.Counter)
		local, _, ok, err := s.version(it.Key)
		if err != nil {
			s.log.Error("metasync: read a version", "kind", it.Kind, "id", it.ID, "err", err)
			return
		}
		if !ok || local.Less(it.Version) {
			newer = append(newer, it)
		}
	}
	s.fetch.want(node, newer)
}

// maxRequired bounds the records Entries adds for what the asked ones require, per answer.
const maxRequired = 1024

// Entries answers another node's Fetch: the current value and version of each key this node
// holds, and of what those records require (Config.Requires), each once. Keys of kinds that
// do not spread, and keys it has never heard of, are left out.
func (s *Sync) Entries(keys []Key) ([]Entry, error) {
	out, err := s.entries(keys, nil)
	if err != nil || s.cfg.Requires == nil {
		return out, err
	}
	sent := make(map[Key]bool, len(keys))
	for _, k := range keys {
		sent[k] = true
	}
	added := 0
	for i := 0; i < len(out) && added < maxRequired; i++ {
		e := out[i]
		if e.Deleted {
			continue
		}
		var more []Key
		for _, k := range s.cfg.Requires(e.Kind, e.ID, e.Value) {
			if !sent[k] && k.Kind != meta.KindPluginBinary && SpreadsKey(k) {
				sent[k] = true
				more = append(more, k)
			}
		}
		if len(more) > maxRequired-added {
			more = more[:maxRequired-added]
		}
		extra, err := s.entries(more, out)
		if err != nil {
			return nil, err
		}
		added += len(extra) - len(out)
		out = extra
	}
	return out, nil
}

// entries appends to out the current entry of each key this node holds.
func (s *Sync) entries(keys []Key, out []Entry) ([]Entry, error) {
	for _, k := range keys {
		if validKey(k) != nil {
			continue
		}
		// The version first, then the value: a local write stores its value before its version, so
		// the value read is at least as new as the version. The other order could send an old
		// value under a new version, which the receiver would never replace.
		v, _, hasVersion, err := s.version(k)
		if err != nil {
			return nil, err
		}
		val, present, err := store.Get(s.cfg.DB, store.MetaKey(k.Kind, k.ID))
		if err != nil {
			return nil, fmt.Errorf("metasync: read %s %q: %w", k.Kind, k.ID, err)
		}
		if !hasVersion && !present {
			continue
		}
		if !hasVersion { // written before New versioned it
			v = Version{Origin: s.cfg.Node}
		}
		out = append(out, Entry{Key: k, Version: v, Value: val, Deleted: !present})
	}
	return out, nil
}

// errStale aborts an apply when a local write got in between the check and the lock.
var errStale = errors.New("metasync: a local write is newer")

// Apply stores the entries newer than this node's, values and versions in one batch, and
// returns how many it stored. Invalid entries (kinds that do not spread, bad ids or versions)
// are skipped and logged; of several entries for one key the greatest counts.
func (s *Sync) Apply(entries []Entry) (applied int, err error) {
	best := map[Key]Entry{}
	for _, e := range entries {
		if err := validKey(e.Key); err != nil {
			s.log.Warn("metasync: skipped an entry", "err", err)
			continue
		}
		if err := validVersion(e.Version); err != nil {
			s.log.Warn("metasync: skipped an entry", "kind", e.Kind, "id", e.ID, "err", err)
			continue
		}
		if cur, ok := best[e.Key]; !ok || cur.Version.Less(e.Version) {
			best[e.Key] = e
		}
	}
	keys := make([]Key, 0, len(best))
	for k := range best {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	// Checked once without the lock to skip what is not newer, then again under it (a local
	// write may have come in between); a lost race is retried.
	for attempt := 0; ; attempt++ {
		var cand []Entry
		for _, k := range keys {
			e := best[k]
			if newer, err := s.newer(e); err != nil {
				return 0, err
			} else if newer {
				cand = append(cand, e)
			}
		}
		if len(cand) == 0 {
			return 0, nil
		}
		ws := make([]meta.Write, len(cand))
		for i, e := range cand {
			ws[i] = meta.Write{Kind: e.Kind, ID: e.ID, Deleted: e.Deleted}
			if !e.Deleted {
				ws[i].Value = e.Value
				if ws[i].Value == nil {
					ws[i].Value = []byte{}
				}
			}
		}
		err := s.cfg.Meta.ApplyRemote(ws, func(b *pebble.Batch) error {
			for _, e := range cand {
				if newer, err := s.newer(e); err != nil {
					return err
				} else if !newer {
					return errStale
				}
				if err := b.Set(versionKey(e.Key), encodeRecord(e.Version, e.Deleted), nil); err != nil {
					return err
				}
				s.observe(e.Version.Counter)
			}
			return nil
		})
		if errors.Is(err, errStale) && attempt < 8 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("metasync: apply %d entries: %w", len(cand), err)
		}
		return len(cand), nil
	}
}

// newer reports whether e is newer than what this node stores for its key.
func (s *Sync) newer(e Entry) (bool, error) {
	local, _, ok, err := s.version(e.Key)
	if err != nil {
		return false, err
	}
	return !ok || local.Less(e.Version), nil
}

// Digest returns how many keys carry a version (tombstones included) and the greatest counter
// stored, for status pages: converged nodes show the same pair.
func (s *Sync) Digest() (count int, maxCounter uint64) {
	items, maxCounter, err := s.scan(nil)
	if err != nil {
		s.log.Error("metasync: read versions", "err", err)
	}
	return len(items), maxCounter
}

// version reads a key's version record. A malformed record counts as absent (logged), so that
// any other node's version replaces it.
func (s *Sync) version(k Key) (v Version, deleted, ok bool, err error) {
	b, ok, err := store.Get(s.cfg.DB, versionKey(k))
	if err != nil || !ok {
		return Version{}, false, false, err
	}
	v, deleted, err = decodeRecord(b)
	if err != nil {
		s.log.Error("metasync: malformed version record; treating the key as unversioned", "kind", k.Kind, "id", k.ID)
		return Version{}, false, false, nil
	}
	return v, deleted, true, nil
}

// scan reads every version record of a spreading kind, calling fn (when not nil) for each, and
// returns them with the greatest counter.
func (s *Sync) scan(fn func(it item)) (items []item, maxCounter uint64, err error) {
	iter, err := s.cfg.DB.NewIter(&pebble.IterOptions{LowerBound: versionLower, UpperBound: versionUpper})
	if err != nil {
		return nil, 0, err
	}
	defer iter.Close()
	for ok := iter.First(); ok; ok = iter.Next() {
		k, ok := parseVersionKey(iter.Key())
		if !ok || !SpreadsKey(k) {
			continue
		}
		v, deleted, err := decodeRecord(iter.Value())
		if err != nil {
			s.log.Error("metasync: malformed version record; skipping it", "kind", k.Kind, "id", k.ID)
			continue
		}
		it := item{Key: k, Version: v, Deleted: deleted}
		items = append(items, it)
		maxCounter = max(maxCounter, v.Counter)
		if fn != nil {
			fn(it)
		}
	}
	return items, maxCounter, iter.Error()
}

// repair stages versions for records that lack a consistent one, and returns those to
// broadcast. A record with no version gets (0, this node): it predates versioning, and any
// real write beats it. A record whose presence contradicts its version's deleted flag was
// written without its version being stored (a crash in between): it gets a new local version.
func (s *Sync) repair(b *pebble.Batch) (fresh []item, err error) {
	var zero []item
	for _, kind := range spreadKinds {
		prefix := store.MetaPrefix(kind)
		iter, err := s.cfg.DB.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
		if err != nil {
			return nil, err
		}
		for ok := iter.First(); ok; ok = iter.Next() {
			k := Key{Kind: kind, ID: string(iter.Key()[len(prefix):])}
			if !SpreadsKey(k) {
				continue
			}
			_, deleted, ok, err := s.version(k)
			if err != nil {
				iter.Close()
				return nil, err
			}
			switch {
			case !ok:
				zero = append(zero, item{Key: k, Version: Version{Origin: s.cfg.Node}})
			case deleted:
				fresh = append(fresh, item{Key: k})
			}
		}
		if err := iter.Close(); err != nil {
			return nil, err
		}
	}
	var getErr error
	_, _, err = s.scan(func(it item) {
		if it.Deleted || getErr != nil {
			return
		}
		var present bool
		if _, present, getErr = store.Get(s.cfg.DB, store.MetaKey(it.Kind, it.ID)); getErr == nil && !present {
			fresh = append(fresh, item{Key: it.Key, Deleted: true})
		}
	})
	if err = cmp.Or(err, getErr); err != nil {
		return nil, err
	}
	if len(fresh) > 0 {
		v := Version{Counter: s.tick(), Origin: s.cfg.Node}
		for i := range fresh {
			fresh[i].Version = v
		}
	}
	for _, it := range append(zero, fresh...) {
		if err := b.Set(versionKey(it.Key), encodeRecord(it.Version, it.Deleted), nil); err != nil {
			return nil, err
		}
	}
	if len(zero)+len(fresh) > 0 {
		s.log.Info("metasync: versioned records", "unversioned", len(zero), "inconsistent", len(fresh))
	}
	return fresh, nil
}
