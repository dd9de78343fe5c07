package actions

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// minReserveDelay is the shortest delay Reserve returns, so a caller that reschedules does
// not spin.
const minReserveDelay = time.Millisecond

// Limiter caps the calls per second to each action, across all journeys of this process. It
// is safe for concurrent use. Each action's bucket is made on first use and follows the rate
// passed on each call, so a changed RateLimit applies at once. The burst is one call: a cap
// of r per second never lets more than r+1 calls through in any second.
type Limiter struct {
	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	perSecond float64
	lim       *rate.Limiter
}

// NewLimiter returns an empty Limiter.
func NewLimiter() *Limiter { return &Limiter{m: make(map[string]*bucket)} }

// get returns the action's limiter at perSecond, made or updated as needed.
func (l *Limiter) get(actionID string, perSecond float64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[actionID]
	if b == nil {
		b = &bucket{perSecond: perSecond, lim: rate.NewLimiter(rate.Limit(perSecond), 1)}
		l.m[actionID] = b
	} else if b.perSecond != perSecond {
		b.perSecond = perSecond
		b.lim.SetLimit(rate.Limit(perSecond))
	}
	return b.lim
}

func noCap(perSecond float64) bool {
	return !(perSecond > 0) || math.IsInf(perSecond, 1)
}

// Wait blocks until a call to actionID may go at perSecond calls per second, or ctx ends
// (its error is returned). perSecond <= 0 means no cap: it returns at once.
func (l *Limiter) Wait(ctx context.Context, actionID string, perSecond float64) error {
	if noCap(perSecond) {
		return nil
	}
	return l.get(actionID, perSecond).Wait(ctx)
}

// Reserve never blocks. It returns 0 when a call to actionID may go now, and counts that call;
// otherwise it counts nothing and returns how long until one may go: the caller reschedules
// the call and calls Reserve again then. perSecond <= 0 means no cap (always 0).
func (l *Limiter) Reserve(actionID string, perSecond float64) time.Duration {
	if noCap(perSecond) {
		return 0
	}
	lim := l.get(actionID, perSecond)
	now := time.Now()
	if lim.AllowN(now, 1) {
		return 0
	}
	missing := 1 - lim.TokensAt(now)
	d := time.Duration(missing / perSecond * float64(time.Second))
	if d < minReserveDelay {
		d = minReserveDelay
	}
	return d
}

// Forget drops the bucket of an action that was deleted.
func (l *Limiter) Forget(actionID string) {
	l.mu.Lock()
	delete(l.m, actionID)
	l.mu.Unlock()
}

// Book takes the next free slot for a call to actionID and returns how long until it (0: now).
// Unlike Reserve, the slot is held: many waiting calls get successive slots instead of all
// waking at once and racing for the next one. perSecond <= 0 means no cap (always 0).
func (l *Limiter) Book(actionID string, perSecond float64) time.Duration {
	if noCap(perSecond) {
		return 0
	}
	return l.get(actionID, perSecond).ReserveN(time.Now(), 1).Delay()
}
