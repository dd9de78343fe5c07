package meta

import (
	"sync"
	"time"
)

// changes numbers the writes that run OnChange hooks and knows which of them have finished
// their hooks. A record is readable as soon as its batch commits, but what the node does with
// it — the compiled catalog the engine runs, the key cache that checks API keys — is built by
// the hooks after that. Between the two a reader could see a journey "live" that the engine
// does not run yet; Settled lets a reader wait that gap out.
type changes struct {
	mu      sync.Mutex
	last    uint64          // the number given to the latest committed change
	settled uint64          // every change numbered up to this has run its hooks
	done    map[uint64]bool // changes above settled whose hooks have returned
	wake    chan struct{}   // closed (and replaced) whenever settled moves
}

// begin numbers a committed change. Called under the store's write lock, so numbers follow
// commit order.
func (c *changes) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last++
	return c.last
}

// end records that change n has run its hooks.
func (c *changes) end(n uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = map[uint64]bool{}
	}
	c.done[n] = true
	moved := false
	for c.done[c.settled+1] {
		delete(c.done, c.settled+1)
		c.settled++
		moved = true
	}
	if moved && c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// await waits, up to within, until every change committed before the call has run its hooks,
// and reports whether they have. Nothing pending (the common case) costs one lock, no timer.
func (c *changes) await(within time.Duration) bool {
	c.mu.Lock()
	target := c.last
	var deadline <-chan time.Time
	for c.settled < target {
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		wake := c.wake
		c.mu.Unlock()
		if deadline == nil {
			t := time.NewTimer(within)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-wake:
		case <-deadline:
			return false
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return true
}

// Settled waits, up to within, until the OnChange hooks of every write committed before the
// call — local or from another node — have returned, and reports whether they have. A reader
// that calls it first never sees a record that the node's compiled views (catalog, key cache)
// do not reflect yet.
func (m *Store) Settled(within time.Duration) bool { return m.changes.await(within) }
