package metasync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// cluster wires Syncs together in-process: Broadcast delivers to the other running nodes'
// NotifyMsg (unless dropped), Fetch calls the other node's Entries through the wire codecs.
type cluster struct {
	t    *testing.T
	dirs map[string]string

	mu    sync.RWMutex
	nodes map[string]*node

	dropRate atomic.Uint64                             // per mille of broadcasts dropped
	requires func(kind, id string, value []byte) []Key // Config.Requires of nodes started after it is set
	sent     sync.Map                                  // node name → *atomic.Int64 broadcasts sent
}

type node struct {
	name string
	st   *store.Store
	meta *meta.Store
	sync *Sync

	mu        sync.Mutex
	changes   map[string]int // OnChange calls by kind
	closeOnce sync.Once
}

func newCluster(t *testing.T, names ...string) *cluster {
	c := &cluster{t: t, dirs: map[string]string{}, nodes: map[string]*node{}}
	for _, n := range names {
		c.start(n)
	}
	return c
}

// dropAll drops every broadcast (true) or none (false).
func (c *cluster) dropAll(drop bool) {
	if drop {
		c.dropRate.Store(1000)
	} else {
		c.dropRate.Store(0)
	}
}

// open opens a node's store and meta without a Sync (to write as an older release would).
func (c *cluster) open(name string) *node {
	c.t.Helper()
	dir, ok := c.dirs[name]
	if !ok {
		dir = c.t.TempDir()
		c.dirs[name] = dir
	}
	st, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		c.t.Fatal(err)
	}
	n := &node{name: name, st: st, meta: meta.New(st), changes: map[string]int{}}
	c.t.Cleanup(func() { c.close(n) }) // before the directory's removal (cleanups run last first)
	n.meta.OnChange(func(kind string) {
		n.mu.Lock()
		n.changes[kind]++
		n.mu.Unlock()
	})
	return n
}

// attach starts a Sync over an opened node and adds it to the cluster.
func (c *cluster) attach(n *node) *node {
	c.t.Helper()
	s, err := New(Config{
		Meta: n.meta, DB: n.st.DB, Node: n.name,
		Broadcast: func(msg []byte) { c.broadcast(n.name, msg) },
		Fetch:     c.fetch,
		Requires:  c.requires,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	n.sync = s
	c.mu.Lock()
	c.nodes[n.name] = n
	c.mu.Unlock()
	return n
}

func (c *cluster) start(name string) *node { return c.attach(c.open(name)) }

// stop closes a node, keeping its data directory for a restart.
func (c *cluster) stop(name string) {
	if n := c.node(name); n != nil {
		c.close(n)
	}
}

func (c *cluster) close(n *node) {
	c.mu.Lock()
	if c.nodes[n.name] == n {
		delete(c.nodes, n.name)
	}
	c.mu.Unlock()
	n.closeOnce.Do(func() {
		if n.sync != nil {
			n.sync.Close()
		}
		if err := n.st.Close(); err != nil {
			c.t.Error(err)
		}
	})
}

func (c *cluster) node(name string) *node {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.nodes[name]
}

func (c *cluster) sentBy(name string) int64 {
	v, _ := c.sent.LoadOrStore(name, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (c *cluster) broadcast(from string, msg []byte) {
	if len(msg) > MaxMessage {
		c.t.Errorf("%s broadcast %d bytes, more than MaxMessage (%d)", from, len(msg), MaxMessage)
	}
	v, _ := c.sent.LoadOrStore(from, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	c.mu.RLock()
	var to []*node
	for name, n := range c.nodes {
		if name != from {
			to = append(to, n)
		}
	}
	c.mu.RUnlock()
	for _, n := range to {
		if rand.Uint64N(1000) < c.dropRate.Load() {
			continue
		}
		n.sync.NotifyMsg(msg)
	}
}

func (c *cluster) fetch(ctx context.Context, name string, keys []Key) ([]Entry, error) {
	n := c.node(name)
	if n == nil {
		return nil, errors.New("node " + name + " is down")
	}
	keys, err := UnmarshalKeys(MarshalKeys(keys))
	if err != nil {
		return nil, err
	}
	es, err := n.sync.Entries(keys)
	if err != nil {
		return nil, err
	}
	return UnmarshalEntries(MarshalEntries(es))
}

// pushPull runs memberlist's push/pull between two nodes, both ways.
func (c *cluster) pushPull(a, b string) {
	na, nb := c.node(a), c.node(b)
	nb.sync.MergeRemoteState("", na.sync.LocalState())
	na.sync.MergeRemoteState(b, nb.sync.LocalState())
}

// state is every metadata record of a spreading kind and its version, as "kind/id" →
// "value @counter/origin" (or "<deleted> @..."), for comparing nodes.
func (n *node) state(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range Kinds() {
		err := n.meta.ListAll(kind, func(id string, raw []byte) error {
			out[kind+"/"+id] = string(raw)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := n.sync.scan(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		k := it.Kind + "/" + it.ID
		if it.Deleted {
			out[k] += "<deleted>"
		}
		out[k] += fmt.Sprintf(" @%d/%s", it.Version.Counter, it.Version.Origin)
	}
	return out
}

// rawState is every key and value in a node's store.
func rawState(t testing.TB, db *pebble.DB) map[string]string {
	t.Helper()
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	return out
}

func (n *node) changed(kind string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changes[kind]
}

// eventually polls cond until it returns nil, failing with its last error after 10 s.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// converged waits until every named node holds the same records and versions.
func (c *cluster) converged(names ...string) {
	c.t.Helper()
	eventually(c.t, "nodes did not converge", func() error {
		first := c.node(names[0]).state(c.t)
		for _, name := range names[1:] {
			if other := c.node(name).state(c.t); !maps.Equal(first, other) {
				return fmt.Errorf("%s has %v\n%s has %v", names[0], first, name, other)
			}
		}
		return nil
	})
}

// hasRaw waits until a node holds a record with exactly these bytes.
func hasRaw(t *testing.T, n *node, kind, id, want string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s/%s on %s", kind, id, n.name), func() error {
		raw, err := n.meta.GetRaw(kind, id)
		if err != nil {
			return err
		}
		if string(raw) != want {
			return fmt.Errorf("holds %q, want %q", raw, want)
		}
		return nil
	})
}

// waitFetches waits for the fetches in flight (tests that do not write meanwhile).
func (s *Sync) waitFetches() { s.fetch.wg.Wait() }
