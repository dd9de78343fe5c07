package bench

import (
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// recorder keeps latency samples, at most max of them: past that it keeps a uniform sample
// (reservoir sampling), so a long run costs bounded memory and its percentiles stay fair.
type recorder struct {
	mu   sync.Mutex
	max  int
	seen int64
	s    []time.Duration
}

func newRecorder(max int) *recorder { return &recorder{max: max, s: make([]time.Duration, 0, 1024)} }

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.seen++
	if len(r.s) < r.max {
		r.s = append(r.s, d)
	} else if i := rand.Int64N(r.seen); i < int64(r.max) {
		r.s[i] = d
	}
	r.mu.Unlock()
}

func (r *recorder) count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

// percentiles returns the given quantiles (0..1); zero when there are no samples.
func (r *recorder) percentiles(qs ...float64) []time.Duration {
	r.mu.Lock()
	s := append([]time.Duration(nil), r.s...)
	r.mu.Unlock()
	out := make([]time.Duration, len(qs))
	if len(s) == 0 {
		return out
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	for i, q := range qs {
		out[i] = s[min(len(s)-1, int(q*float64(len(s))))]
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.seen, r.s = 0, r.s[:0]
	r.mu.Unlock()
}
