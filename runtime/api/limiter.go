package api

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter rate-limits public (keyless) events per client IP. Idle entries are dropped so that
// many distinct addresses cannot grow it without bound.
type ipLimiter struct {
	mu      sync.Mutex
	r       rate.Limit
	burst   int
	clients map[string]*ipEntry
	swept   time.Time
}

type ipEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxTrackedIPs = 100_000

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	return &ipLimiter{r: rate.Limit(perSecond), burst: burst, clients: map[string]*ipEntry{}}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute || len(l.clients) >= maxTrackedIPs {
		for k, e := range l.clients {
			if now.Sub(e.seen) > 5*time.Minute {
				delete(l.clients, k)
			}
		}
		l.swept = now
		if len(l.clients) >= maxTrackedIPs {
			return false // under a flood of addresses, refuse rather than grow
		}
	}
	e := l.clients[ip]
	if e == nil {
		e = &ipEntry{lim: rate.NewLimiter(l.r, l.burst)}
		l.clients[ip] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}
