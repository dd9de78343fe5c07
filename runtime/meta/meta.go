// Package meta stores cluster metadata — event definitions, actions, journeys and their
// immutable versions, API keys, settings and idempotency records — as JSON under the metadata
// key space of the node's Pebble store. Writes are synced and serialised by one mutex (metadata
// changes are rare); every successful write calls the change hook so that the engine can
// rebuild its compiled catalog.
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

// Store is the metadata store. Safe for concurrent use.
type Store struct {
	db       *pebble.DB
	mu       sync.Mutex
	onChange []func(kind string)
}

// New returns a metadata store over an open database.
func New(s *store.Store) *Store { return &Store{db: s.DB} }

// OnChange registers a hook called (synchronously, after the write is durable) on every change.
func (m *Store) OnChange(fn func(kind string)) {
	m.mu.Lock()
	m.onChange = append(m.onChange, fn)
	m.mu.Unlock()
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
type Tx struct{ b *pebble.Batch }

// Put stages a record.
func (t *Tx) Put(kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.b.Set(store.MetaKey(kind, id), b, nil)
}

// Delete stages the removal of a record (absent or not).
func (t *Tx) Delete(kind, id string) error {
	return t.b.Delete(store.MetaKey(kind, id), nil)
}

// PutRaw stages bytes as they are (a plugin binary), not JSON.
func (t *Tx) PutRaw(kind, id string, b []byte) error {
	return t.b.Set(store.MetaKey(kind, id), b, nil)
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
	next, err := fn(cur, &Tx{b: b})
	if err != nil {
		m.mu.Unlock()
		return err
	}
	if next == nil {
		err = b.Delete(store.MetaKey(kind, id), nil)
	} else {
		var v []byte
		if v, err = json.Marshal(next); err == nil {
			err = b.Set(store.MetaKey(kind, id), v, nil)
		}
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	hooks := m.onChange
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("meta: write %s %q: %w", kind, id, err)
	}
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
// takes the write lock once per call; use it for housekeeping of short-lived kinds.
func (m *Store) Prune(kind string, drop func(raw []byte) bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prefix := store.MetaPrefix(kind)
	it, err := m.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: store.PrefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	b := m.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if drop(it.Value()) {
			if err := b.Delete(append([]byte(nil), it.Key()...), nil); err != nil {
				it.Close()
				return 0, err
			}
			n++
		}
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, b.Commit(pebble.Sync)
}
