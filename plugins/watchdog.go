package plugins

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog stops calls that run past their deadline. One goroutine per host scans the live
// instances every tick; a call costs two atomic stores instead of a timer and a goroutine.
// The price is precision: a deadline is enforced within one tick.
type watchdog struct {
	base   time.Time
	tick   time.Duration
	coarse atomic.Int64 // now(), refreshed every tick: arming a deadline reads no clock

	mu    sync.Mutex
	insts map[*instance]struct{}
	quit  chan struct{}
	once  sync.Once
}

const watchdogTick = 2 * time.Millisecond

func newWatchdog() *watchdog {
	w := &watchdog{base: time.Now(), tick: watchdogTick, insts: map[*instance]struct{}{}, quit: make(chan struct{})}
	w.coarse.Store(w.now())
	go w.loop()
	return w
}

// now is the watchdog's monotonic clock in nanoseconds.
func (w *watchdog) now() int64 { return int64(time.Since(w.base)) }

// deadline returns the clock value d from now, give or take a tick: reading a clock costs
// about as much as a whole plugin call, so calls arm from the clock the ticker keeps.
func (w *watchdog) deadline(d time.Duration) int64 { return w.coarse.Load() + int64(d) + int64(w.tick) }

func (w *watchdog) add(inst *instance) {
	w.mu.Lock()
	w.insts[inst] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) remove(inst *instance) {
	w.mu.Lock()
	delete(w.insts, inst)
	w.mu.Unlock()
}

func (w *watchdog) stop() { w.once.Do(func() { close(w.quit) }) }

func (w *watchdog) loop() {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	var late []*instance
	for {
		select {
		case <-w.quit:
			return
		case <-t.C:
		}
		now := w.now()
		w.coarse.Store(now)
		late = late[:0]
		w.mu.Lock()
		for inst := range w.insts {
			// The compare-and-swap claims the deadline: a call that finishes at this very
			// moment sees its deadline gone in disarm and discards the instance.
			if d := inst.deadline.Load(); d != 0 && now > d && inst.deadline.CompareAndSwap(d, 0) {
				late = append(late, inst)
			} else if inst.timedOut.Load() && inst.stop != nil {
				// Still running after being stopped: the guest's own decrement of the global
				// may have overwritten the zero (a read-modify-write racing the store), so
				// store it again on every tick until the call returns.
				inst.stop.Set(0)
			}
		}
		w.mu.Unlock()
		for _, inst := range late {
			// The stop global makes the guest trap at its next loop head; the caller sees
			// timedOut and discards the instance.
			inst.timedOut.Store(true)
			if inst.stop != nil {
				inst.stop.Set(0)
			} else {
				_ = inst.mod.CloseWithExitCode(context.Background(), exitTimeout)
			}
		}
	}
}
