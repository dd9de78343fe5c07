package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	client "github.com/wayline/wayline/sdk/client/go"
)

// shape is how the load generator sends: single-event requests from many goroutines, or an
// NDJSON stream through the client's batcher.
type shape string

const (
	shapeSingle shape = "single"
	shapeNDJSON shape = "ndjson"
)

// loadResult is what one timed load phase measured.
type loadResult struct {
	acked    int64
	failed   int64
	elapsed  time.Duration
	ack      []time.Duration // p50, p99, p99.9 of acknowledge latency
	rate     float64         // acknowledged events per second
	firstErr string
}

// makeEvent builds the n-th event of a run.
type makeEvent func(n int64) client.Event

// runLoad sends events to url for warmup+duration and measures the timed part. For the single
// shape, conns goroutines each send one event and wait for its acknowledgement; for NDJSON, the
// client streams batches of batch events with conns batches in flight.
//
// perSecond > 0 paces the single shape to that many events per second in all (open loop: the
// pace does not slow down when acknowledgements do), for latency at a given load.
func runLoad(ctx context.Context, url, key string, sh shape, conns, batch int, warmup, duration time.Duration, mk makeEvent, perSecond float64) (loadResult, error) {
	ack := newRecorder(500_000)
	var acked, failed, seq atomic.Int64
	var measuring atomic.Bool
	var errMu sync.Mutex
	firstErr := ""
	noteErr := func(s string) {
		errMu.Lock()
		if firstErr == "" {
			firstErr = s
		}
		errMu.Unlock()
	}
	cfg := client.DefaultConfig()
	cfg.URLs, cfg.APIKey = []string{url}, key
	cfg.BatchSize, cfg.Concurrency = batch, conns
	cfg.QueueSize = max(batch*conns*2, 10_000)
	cfg.OnResult = func(ev client.Event, r client.Result) {
		if !measuring.Load() {
			return
		}
		if r.Acked() {
			acked.Add(1)
			if ns, err := strconv.ParseInt(ev.Data["sentAt"].(string), 10, 64); err == nil {
				ack.add(time.Since(time.Unix(0, ns)))
			}
			return
		}
		failed.Add(1)
		if r.Err != nil {
			noteErr(r.Err.Error())
		}
	}
	c, err := client.New(cfg)
	if err != nil {
		return loadResult{}, err
	}
	defer c.Close(context.Background())

	runCtx, cancel := context.WithTimeout(ctx, warmup+duration)
	defer cancel()
	time.AfterFunc(warmup, func() { measuring.Store(true) })
	start := time.Now().Add(warmup)

	var pace *rate.Limiter
	if perSecond > 0 {
		pace = rate.NewLimiter(rate.Limit(perSecond), max(1, int(perSecond/100)))
	}
	var wg sync.WaitGroup
	switch sh {
	case shapeSingle:
		for i := 0; i < conns; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					if pace != nil && pace.Wait(runCtx) != nil {
						break
					}
					ev := mk(seq.Add(1))
					t0 := time.Now()
					r, err := c.Send(runCtx, ev)
					if !measuring.Load() || runCtx.Err() != nil {
						continue
					}
					if err == nil && r.Acked() {
						acked.Add(1)
						ack.add(time.Since(t0))
					} else {
						failed.Add(1)
						if err != nil {
							noteErr(err.Error())
						}
					}
				}
			}()
		}
		wg.Wait()
	case shapeNDJSON:
		for runCtx.Err() == nil {
			if err := c.Enqueue(runCtx, mk(seq.Add(1))); err != nil && runCtx.Err() == nil {
				return loadResult{}, err
			}
		}
		measuring.Store(false) // what is acknowledged while draining is not counted
		fctx, fcancel := context.WithTimeout(context.Background(), 60*time.Second)
		_ = c.Flush(fctx)
		fcancel()
	default:
		return loadResult{}, fmt.Errorf("bench: unknown shape %q", sh)
	}
	elapsed := min(time.Since(start), duration)
	p := ack.percentiles(0.50, 0.99, 0.999)
	return loadResult{acked: acked.Load(), failed: failed.Load(), elapsed: elapsed, ack: p,
		rate: float64(acked.Load()) / elapsed.Seconds(), firstErr: firstErr}, nil
}
