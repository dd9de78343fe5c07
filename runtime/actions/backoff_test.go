package actions

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

func d(x time.Duration) model.Duration { return model.Duration(x) }

func TestBackoff(t *testing.T) {
	custom := model.RetryPolicy{InitialBackoff: d(100 * time.Millisecond), MaxBackoff: d(time.Second)}
	tests := []struct {
		name   string
		policy model.RetryPolicy
		failed int
		rnd    float64
		want   time.Duration
	}{
		{"defaults, first failure, top of range", model.RetryPolicy{}, 1, 0.5, 500 * time.Millisecond},
		{"defaults, third failure", model.RetryPolicy{}, 3, 0.5, 2 * time.Second},
		{"defaults cap at 5m", model.RetryPolicy{}, 20, 0.5, 150 * time.Second},
		{"rnd 0 is no wait", model.RetryPolicy{}, 4, 0, 0},
		{"n < 1 reads as 1", model.RetryPolicy{}, 0, 0.5, 500 * time.Millisecond},
		{"custom doubling", custom, 3, 0.5, 200 * time.Millisecond},
		{"custom cap", custom, 5, 0.5, 500 * time.Millisecond},
		{"huge n does not overflow", custom, 1 << 30, 0.5, 500 * time.Millisecond},
		{"negative rnd clamps to 0", custom, 2, -3, 0},
	}
	for _, tc := range tests {
		if got := Backoff(tc.policy, tc.failed, tc.rnd); got != tc.want {
			t.Errorf("%s: Backoff(n=%d, rnd=%g) = %s, want %s", tc.name, tc.failed, tc.rnd, got, tc.want)
		}
	}
}

func TestBackoffStaysWithinItsRange(t *testing.T) {
	policies := []model.RetryPolicy{
		{},
		{InitialBackoff: d(10 * time.Millisecond), MaxBackoff: d(time.Hour)},
		{InitialBackoff: d(time.Hour), MaxBackoff: d(24 * time.Hour)},
		{InitialBackoff: d(time.Duration(1 << 62)), MaxBackoff: d(time.Duration(1<<63 - 1))},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range policies {
		initial, ceiling := p.InitialBackoff.D(), p.MaxBackoff.D()
		if initial == 0 {
			initial, ceiling = DefaultInitialBackoff, DefaultMaxBackoff
		}
		for n := 1; n <= 80; n++ {
			upper := ceiling
			if n-1 < 62 && initial <= ceiling>>(n-1) {
				upper = min(ceiling, initial<<(n-1))
			}
			for _, rnd := range []float64{0, rng.Float64(), rng.Float64(), 0.999999999999} {
				got := Backoff(p, n, rnd)
				if got < 0 || got > upper {
					t.Fatalf("policy %+v, n=%d, rnd=%g: Backoff = %s, want within [0, %s]", p, n, rnd, got, upper)
				}
			}
			if got := Backoff(p, n, 1); got >= upper && upper > 0 {
				t.Fatalf("policy %+v, n=%d: Backoff with rnd=1 = %s, want below %s", p, n, got, upper)
			}
		}
	}
}

func TestMaxAttempts(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, DefaultMaxAttempts}, {-1, DefaultMaxAttempts}, {1, 1}, {20, 20}} {
		if got := MaxAttempts(model.RetryPolicy{MaxAttempts: tc.in}); got != tc.want {
			t.Errorf("MaxAttempts(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
