package actions

import (
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// Retry defaults, used where a RetryPolicy field is zero.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// MaxAttempts is how many calls in all p allows (the first one included): p.MaxAttempts, or
// DefaultMaxAttempts when it is zero or negative.
func MaxAttempts(p model.RetryPolicy) int {
	if p.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

// Backoff returns the delay before attempt n+1 after n failed attempts (n >= 1; smaller n is
// read as 1): full jitter, rnd × min(MaxBackoff, InitialBackoff × 2^(n-1)), with rnd in [0, 1)
// (clamped) and the defaults InitialBackoff 1s and MaxBackoff 5m for zero fields. Full jitter
// spreads the retries of many calls that failed together (an outage) instead of sending them
// back in waves. The caller should wait at least a Result's RetryAfter when that is longer.
func Backoff(p model.RetryPolicy, failedAttempts int, rnd float64) time.Duration {
	initial, ceiling := p.InitialBackoff.D(), p.MaxBackoff.D()
	if initial <= 0 {
		initial = DefaultInitialBackoff
	}
	if ceiling <= 0 {
		ceiling = DefaultMaxBackoff
	}
	if failedAttempts < 1 {
		failedAttempts = 1
	}
	// Double without overflowing: stop as soon as the ceiling is reached.
	upper := initial
	for i := 1; i < failedAttempts && upper < ceiling; i++ {
		if upper > ceiling/2 {
			upper = ceiling
			break
		}
		upper *= 2
	}
	if upper > ceiling {
		upper = ceiling
	}
	switch {
	case !(rnd > 0): // also NaN
		rnd = 0
	case rnd >= 1:
		rnd = 0.9999999999
	}
	return time.Duration(rnd * float64(upper))
}
