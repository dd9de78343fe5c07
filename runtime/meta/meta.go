// Package meta stores cluster metadata — event definitions, actions, journeys and their
// immutable versions, API keys, settings and idempotency records — as JSON under the metadata
// key space of the node's Pebble store. Writes are synced and serialised by one mutex (metadata
// changes are rare); every successful write calls the change hook so that the engine can
// rebuild its compiled catalog.
//
// Two hooks let the cluster spread metadata without this package knowing about the cluster:
// OnWrite reports every durable local write with the bytes stored, in commit order, and
// ApplyRemote commits writes that came from another node — reported to OnChange (so catalogs
// rebuild) but not to OnWrite (so they are not spread again as local writes).
//
// A record is readable once its batch commits, before the OnChange hooks that rebuild what the
// node derives from it have run; Settled waits for those hooks, so a reader that calls it
// first never sees a record that the node does not act on yet.
package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/store"
)

// Kinds of metadata. WARNING: ONLY APPEND; the names are in the key layout.
const (
	KindEventDef       = "evdef"
	KindAction         = "action"
	KindJourney        = "journey"
	KindJourneyVersion = "jver"
	KindAPIKey         = "key"
	KindSetting        = "setting"
	KindIdempotency    = "idem"
	KindPlugin         = "plugin"    // model.Plugin by name
	KindPluginBinary   = "pluginbin" // raw wasm bytes by sha256 (not JSON)
	KindDataSource     = "datasource"
	KindUser           = "user"    // users.User by username (people who sign in to the designer)
	KindSession        = "session" // users.Session by the sha256 of its token
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("meta: not found")

// ErrConflict is returned when a conditional write finds another revision.
var ErrConflict = errors.New("meta: revision conflict")

// Write is one record written by a commit: its bytes as stored, or its removal.
type Write struct {
	Kind, ID string
	Value    []byte // nil when Deleted
	Deleted  bool
}

// Store is the metadata store. Safe for concurrent use.
type Store struct {
	db *pebble.DB
	// mu serialises writes. reportMu orders OnWrite reports: a writer takes it before it lets go
	// of mu, so reports come in commit order, and ApplyRemote passes through it (holding mu) so
	// that its extra sees what the hooks of every earlier write stored.
	mu       sync.Mutex
	reportMu sync.Mutex
	onChange []func(kind string)
	onWrite  []func(ws []Write)
	changes  changes
}

// New returns a metadata store over an open database.
func New(s *store.Store) *Store { return &Store{db: s.DB} }

// OnChange registers a hook called (synchronously, after the write is durable) on every change.
func (m *Store) OnChange(fn func(kind string)) {
	m.mu.Lock()
	m.onChange = append(m.onChange, fn)
	m.mu.Unlock()
}

// OnWrite registers a hook called with the records of every durable local write — Update, Put,
// Delete, Prune and what an Update's Tx staged — in the order they were committed, after the
// commit and before the write returns. ws and the Values are only valid during the call: copy
// what you keep. The hook must not write to this Store (that waits for the hook: deadlock)
// and should be quick: the next write's report waits for it. Writes from ApplyRemote are not
// reported.
func (m *Store) OnWrite(fn func(ws []Write)) {
	m.mu.Lock()
	m.onWrite = append(m.onWrite, fn)
	m.mu.Unlock()
}

// commit commits b (synced) and, while still holding mu, takes reportMu when there are
// writes to report; it releases mu in every case. The caller then calls report.
//
// A change (changed) is numbered under mu, so numbers follow commit order; the caller runs
// the OnChange hooks it gets back and then calls m.changes.end with the number.
func (m *Store) commit(b *pebble.Batch, ws []Write, changed bool) (onChange []func(string), n uint64, report func(), err error) {
	err = b.Commit(pebble.Sync)
	onChange, onWrite := m.onChange, m.onWrite
	if err == nil && changed {
		n = m.changes.begin()
	}
	if err != nil || len(onWrite) == 0 || len(ws) == 0 {
		m.mu.Unlock()
		return onChange, n, func() {}, err
	}
	m.reportMu.Lock()
	m.mu.Unlock()
	return onChange, n, func() {
		defer m.reportMu.Unlock()
		for _, h := range onWrite {
			h(ws)
		}
	}, nil
}

// ApplyRemote commits writes that came from another node, with whatever extra stages into the
// same batch, in one synced batch under the write lock. extra (may be nil) runs after the
// OnWrite hooks of every earlier local write have returned, so it sees what they stored; an
// error from it aborts the whole batch and is returned (wrapped). OnWrite hooks are not
// called; OnChange hooks are, once per distinct kind written.
func (m *Store) ApplyRemote(ws []Write, extra func(b *pebble.Batch) error) error {
	if len(ws) == 0 && extra == nil {
		return nil
	}
	m.mu.Lock()
	m.reportMu.Lock() // wait for reports of earlier writes
	m.reportMu.Unlock()
	b := m.db.NewBatch()
	defer b.Close()
	var err error
	for _, w := range ws {
		if w.Deleted {
			err = b.Delete(store.MetaKey(w.Kind, w.ID), nil)
		} else {
			err = b.Set(store.MetaKey(w.Kind, w.ID), w.Value, nil)
		}
		if err != nil {
			break
		}
	}
	if err == nil && extra != nil {
		err = extra(b)
	}
	if err == nil && !b.Empty() {
		err = b.Commit(pebble.Sync)
	}
	hooks := m.onChange
	var n uint64
	if err == nil && len(ws) > 0 {
		n = m.changes.begin()
	}
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("meta: apply %d remote writes: %w", len(ws), err)
	}
	if n == 0 {
		return nil
	}
	defer m.changes.end(n)
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.Kind] {
			continue
		}
		seen[w.Kind] = true
		for _, h := range hooks {
			h(w.Kind)
		}
	}
	return nil
}

// Get reads one record into v.
func (m *Store) Get(kind, id string, v any) error {
	b, ok, err := store.Get(m.db, store.MetaKey(kind, id))
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("meta: decode %s %q: %w", kind, id, err)
	}
	return nil
}

// Exists reports whether a record exists.
func (m *Store) Exists(kind, id string) (bool, error) {
	_, ok, err := store.Get(m.db, store.MetaKey(kind, id))
	return ok, err
}

// Tx stages extra writes that commit atomically with an Update.
type Tx struct {
	b  *pebble.Batch
	ws []Write // what was staged, in order, for OnWrite
}

// Put stages a record.
func (t *Tx) Put(kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.PutRaw(kind, id, b)
}

// Delete stages the removal of a record (absent or not).
func (t *Tx) Delete(kind, id string) error {
	if err := t.b.Delete(store.MetaKey(kind, id), nil); err != nil {
		return err
	}
	t.ws = append(t.ws, Write{Kind: kind, ID: id, Deleted: true})
	return nil
}

// PutRaw stages bytes as they are (a plugin binary), not JSON.
func (t *Tx) PutRaw(kind, id string, b []byte) error {
	if err := t.b.Set(store.MetaKey(kind, id), b, nil); err != nil {
		return err
	}
	t.ws = append(t.ws, Write{Kind: kind, ID: id, Value: b})
	return nil
}

// GetRaw reads a record's bytes as stored.
func (m *Store) GetRaw(kind, id string) ([]byte, error) {
	b, ok, err := store.Get(m.db, store.MetaKey(kind, id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return b, nil
}

// Update runs fn under the write lock and writes what it returns: fn gets the current raw value
// (nil when absent) and returns the new value, nil to delete, or an error to abort. This is how
// callers do compare-and-set on revisions. Writes fn stages on tx commit in the same batch.
func (m *Store) Update(kind, id string, fn func(current []byte, tx *Tx) (next any, err error)) error {
	m.mu.Lock()
	cur, _, err := store.Get(m.db, store.MetaKey(kind, id))
	if err != nil {
		m.mu.Unlock()
		return err
	}
	b := m.db.NewBatch()
	defer b.Close()
	tx := &Tx{b: b}
	next, err := fn(cur, tx)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if next == nil {
		err = tx.Delete(kind, id)
	} else {
		var v []byte
		if v, err = json.Marshal(next); err == nil {
			err = tx.PutRaw(kind, id, v)
		}
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("meta: write %s %q: %w", kind, id, err)
	}
	hooks, n, report, err := m.commit(b, tx.ws, true)
	if err != nil {
		return fmt.Errorf("meta: write %s %q: %w", kind, id, err)
	}
	defer m.changes.end(n)
	report()
	for _, h := range hooks {
		h(kind)
	}
	return nil
}

// Put writes a record unconditionally.
func (m *Store) Put(kind, id string, v any) error {
	return m.Update(kind, id, func([]byte, *Tx) (any, error) { return v, nil })
}

// Delete removes a record; deleting a missing record returns ErrNotFound.
func (m *Store) Delete(kind, id string) error {
	return m.Update(kind, id, func(cur []byte, _ *Tx) (any, error) {
		if cur == nil {
			return nil, ErrNotFound
		}
		return nil, nil
	})
}

// List returns up to limit raw records of a kind with ids after cursor (exclusive), in id order,
// and the id to pass as the next cursor ("" when there are no more).
func (m *Store) List(kind, cursor string, limit int) (items []json.RawMessage, ids []string, next string, err error) {
	return m.ListPrefix(kind, "", cursor, limit)
}

// ListPrefix is List restricted to ids starting with idPrefix.
func (m *Store) ListPrefix(kind, idPrefix, cursor string, limit int) (items []json.RawMessage, ids []string, next string, err error) {
	prefix := store.MetaPrefix(kind)
	lower := append(append([]byte(nil), prefix...), idPrefix...)
	upper := store.PrefixEnd(lower)
	if cursor != "" {
		if c := append(store.MetaKey(kind, cursor), 0); string(c) > string(lower) {
			lower = c
		}
	}
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, nil, "", err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		id := string(it.Key()[len(prefix):])
		if limit > 0 && len(items) == limit {
			next = ids[len(ids)-1]
			break
		}
		items = append(items, append(json.RawMessage(nil), it.Value()...))
		ids = append(ids, id)
	}
	return items, ids, next, it.Error()
}

// ListAll decodes every record of a kind, calling fn for each.
func (m *Store) ListAll(kind string, fn func(id string, raw []byte) error) error {
	prefix := store.MetaPrefix(kind)
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(string(it.Key()[len(prefix):]), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// Prune deletes the records of a kind for which drop returns true, and returns how many. It
// takes the write lock once per call; use it for housekeeping of short-lived kinds. Its
// deletions are reported to OnWrite but not to OnChange.
func (m *Store) Prune(kind string, drop func(raw []byte) bool) (int, error) {
	m.mu.Lock()
	unlock := true
	defer func() {
		if unlock {
			m.mu.Unlock()
		}
	}()
	prefix := store.MetaPrefix(kind)
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	b := m.db.NewBatch()
	defer b.Close()
	tx := &Tx{b: b}
	for ok := it.First(); ok; ok = it.Next() {
		if drop(it.Value()) {
			if err := tx.Delete(kind, string(it.Key()[len(prefix):])); err != nil {
				it.Close()
				return 0, err
			}
		}
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if len(tx.ws) == 0 {
		return 0, nil
	}
	unlock = false
	_, _, report, err := m.commit(b, tx.ws, false)
	if err != nil {
		return 0, err
	}
	report()
	return len(tx.ws), nil
}
