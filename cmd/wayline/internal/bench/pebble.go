package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/store"
)

// pebbleCeiling commits synced batches of fresh records of recordBytes each, batch records per
// commit, from writers goroutines, for duration, through a store opened like the node's; it
// returns records per second: the storage ceiling for the same group-commit shape.
func pebbleCeiling(ctx context.Context, recordBytes, batch, writers int, duration time.Duration) (float64, error) {
	dir, err := os.MkdirTemp("", "wayline-bench-pebble-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	value := make([]byte, max(recordBytes-24, 1))
	_, _ = rand.Read(value)
	var n, seq atomic.Int64
	var firstErr atomic.Value
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := make([]byte, 16)
			for runCtx.Err() == nil {
				b := st.DB.NewBatch()
				for i := 0; i < batch; i++ {
					binary.BigEndian.PutUint64(key, uint64(seq.Add(1)))
					b.Set(key, value, nil)
				}
				if err := b.Commit(pebble.Sync); err != nil {
					firstErr.CompareAndSwap(nil, err)
					b.Close()
					return
				}
				b.Close()
				n.Add(int64(batch))
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
