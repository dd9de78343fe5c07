package metasync

import (
	"context"
	"sync"
	"time"

	"github.com/wayline/wayline/runtime/meta"
)

// Fetch limits. Broadcasts and digests only say that a node has something newer; the values
// come in the background, a few requests at a time, so that a node that joins a cluster with
// thousands of records neither opens thousands of requests nor blocks gossip.
const (
	maxFetchers  = 4       // requests in flight per node
	fetchBatch   = 32      // keys per request; a plugin binary (megabytes) goes alone
	maxPending   = 1 << 16 // keys waiting; more are dropped, for the next push/pull to offer again
	fetchTimeout = 30 * time.Second
)

// fetchQueue collects the keys to fetch, per node, newest wanted version per key, and runs up to
// maxFetchers workers that exist only while there is work.
type fetchQueue struct {
	s      *Sync
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[string]map[Key]Version
	n       int // keys in pending
	workers int
	closed  bool
}

func (q *fetchQueue) init(s *Sync) {
	q.s = s
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.pending = map[string]map[Key]Version{}
}

func (q *fetchQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *fetchQueue) close() {
	q.mu.Lock()
	q.closed, q.pending, q.n = true, nil, 0
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
}

// want queues items to fetch from node and starts workers as needed. It does not block.
func (q *fetchQueue) want(node string, items []item) {
	if q.s.cfg.Fetch == nil || len(items) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	keys := q.pending[node]
	if keys == nil {
		keys = map[Key]Version{}
		q.pending[node] = keys
	}
	dropped := 0
	for _, it := range items {
		if cur, ok := keys[it.Key]; ok {
			if cur.Less(it.Version) {
				keys[it.Key] = it.Version
			}
			continue
		}
		if q.n >= maxPending {
			dropped++
			continue
		}
		keys[it.Key] = it.Version
		q.n++
	}
	if len(keys) == 0 {
		delete(q.pending, node)
	}
	if dropped > 0 {
		q.s.log.Warn("metasync: too many keys waiting to be fetched; dropped some for the next push/pull", "node", node, "dropped", dropped)
	}
	need := min(maxFetchers, (q.n+fetchBatch-1)/fetchBatch)
	for q.workers < need {
		q.workers++
		q.wg.Add(1)
		go q.work()
	}
}

// take removes the next batch to fetch: up to fetchBatch keys from one node, or one plugin
// binary. A worker that finds nothing exits (under the lock, so want starts another if needed).
func (q *fetchQueue) take() (node string, batch []item, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.n == 0 {
		q.workers--
		return "", nil, false
	}
	for n, keys := range q.pending {
		node = n
		for k, v := range keys {
			if k.Kind == meta.KindPluginBinary {
				if len(batch) > 0 {
					continue
				}
				batch = append(batch, item{Key: k, Version: v})
				delete(keys, k)
				break
			}
			batch = append(batch, item{Key: k, Version: v})
			delete(keys, k)
			if len(batch) == fetchBatch {
				break
			}
		}
		if len(keys) == 0 {
			delete(q.pending, n)
		}
		break
	}
	q.n -= len(batch)
	return node, batch, true
}

func (q *fetchQueue) work() {
	defer q.wg.Done()
	for {
		node, batch, ok := q.take()
		if !ok {
			return
		}
		q.s.fetchFrom(q.ctx, node, batch)
	}
}

// fetchFrom asks node for the batch's keys still newer there and applies what comes back.
// Failures are logged and forgotten: the next push/pull offers the keys again.
func (s *Sync) fetchFrom(ctx context.Context, node string, batch []item) {
	keys := make([]Key, 0, len(batch))
	for _, it := range batch {
		local, _, ok, err := s.version(it.Key)
		if err != nil {
			s.log.Error("metasync: read a version", "kind", it.Kind, "id", it.ID, "err", err)
			return
		}
		if !ok || local.Less(it.Version) { // not already here by another way
			keys = append(keys, it.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	entries, err := s.cfg.Fetch(fctx, node, keys)
	cancel()
	if err != nil {
		if ctx.Err() == nil { // not closing
			s.log.Warn("metasync: fetch failed; the next push/pull retries", "node", node, "keys", len(keys), "err", err)
		}
		return
	}
	if _, err := s.Apply(entries); err != nil {
		s.log.Error("metasync: apply fetched entries", "node", node, "entries", len(entries), "err", err)
	}
}
