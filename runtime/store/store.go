// Package store owns the node's Pebble database: opening and closing it, the key layout (see
// KEYS.md beside this file) and the counter merge operator.
//
// Every key that belongs to a customer lives under a partition prefix, so that a whole partition
// — profiles, instances, timers, outbox, counters — is one contiguous key range the cluster can
// snapshot and move. Metadata (definitions, journeys, keys) lives under its own prefix and is the
// same on every node.
package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Config configures the store. Its zero value works.
type Config struct {
	// Dir is the data directory; "wayline-data" when empty.
	Dir string
	// CacheBytes is Pebble's block cache size; 256 MiB when zero.
	CacheBytes int64
}

// Validate checks the config once at start-up.
func (c Config) Validate() error {
	if c.CacheBytes < 0 {
		return errors.New("store: cacheBytes must not be negative")
	}
	return nil
}

// Store is the open database. Safe for concurrent use; writers per partition are serialised by
// the engine, not here.
type Store struct {
	DB    *pebble.DB
	cache *pebble.Cache
}

// Open opens (creating if needed) the database in cfg.Dir.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		cfg.Dir = "wayline-data"
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = 256 << 20
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create data dir %s: %w (choose another with --data)", cfg.Dir, err)
	}
	cache := pebble.NewCache(cfg.CacheBytes)
	opts := &pebble.Options{
		Cache:  cache,
		Merger: counterMerger,
		// Group commit: concurrent synced commits from all partition workers share one WAL
		// fsync in Pebble's commit pipeline; we never sync per event.
		Logger: quietLogger{},
		// Larger memtables mean fewer flushes and fewer overlapping L0 tables for every point
		// lookup to consult; the engine's hot state (dedupe marks, fresh profiles, timers that
		// fire soon) mostly lives and dies in the memtable.
		MemTableSize:                64 << 20,
		MemTableStopWritesThreshold: 4,
		L0CompactionThreshold:       4,
		L0StopWritesThreshold:       24,
		LBaseMaxBytes:               256 << 20,
	}
	// Most engine reads are point lookups of keys that usually do not exist yet (dedupe marks,
	// new profiles, instances): bloom filters answer those without reading blocks.
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		cache.Unref()
		return nil, fmt.Errorf("store: open %s: %w (is another wayline using this directory?)", cfg.Dir, err)
	}
	return &Store{DB: db, cache: cache}, nil
}

// Close flushes and closes the database.
func (s *Store) Close() error {
	err := s.DB.Close()
	s.cache.Unref()
	return err
}

// Get returns a copy of the value at key, or nil and false when absent.
func Get(r pebble.Reader, key []byte) ([]byte, bool, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

type quietLogger struct{}

func (quietLogger) Infof(format string, args ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: fatal: "+format+"\n", args...)
	os.Exit(2)
}
