package actions

import (
	"context"
	"testing"
	"time"
)

func TestLimiterReserve(t *testing.T) {
	l := NewLimiter()
	if d := l.Reserve("a", 10); d != 0 {
		t.Fatalf("first call at 10/s: delay %s, want 0", d)
	}
	d := l.Reserve("a", 10)
	if d <= 0 || d > 100*time.Millisecond {
		t.Fatalf("second call at 10/s: delay %s, want (0, 100ms]", d)
	}
	// A refused Reserve counts nothing: asking again at once gives about the same delay.
	if d2 := l.Reserve("a", 10); d2 <= 0 || d2 > d {
		t.Errorf("third call: delay %s, want (0, %s]", d2, d)
	}
	if d := l.Reserve("b", 10); d != 0 {
		t.Errorf("another action shares the bucket: delay %s, want 0", d)
	}
	time.Sleep(110 * time.Millisecond)
	if d := l.Reserve("a", 10); d != 0 {
		t.Errorf("after waiting the delay: %s, want 0", d)
	}
	for i := 0; i < 100; i++ {
		if d := l.Reserve("a", 0); d != 0 {
			t.Fatalf("no cap (0): delay %s, want 0", d)
		}
	}
}

func TestLimiterFollowsAChangedRate(t *testing.T) {
	l := NewLimiter()
	l.Reserve("a", 0.5)
	if d := l.Reserve("a", 0.5); d < time.Second {
		t.Fatalf("at 0.5/s the second call waits %s, want about 2s", d)
	}
	if d := l.Reserve("a", 1000); d > time.Millisecond {
		t.Errorf("after raising the rate to 1000/s: delay %s, want at most 1ms", d)
	}
	time.Sleep(2 * time.Millisecond)
	if d := l.Reserve("a", 1000); d != 0 {
		t.Errorf("at 1000/s after 2ms: delay %s, want 0", d)
	}
	l.Forget("a")
	if d := l.Reserve("a", 0.5); d != 0 {
		t.Errorf("after Forget: delay %s, want a fresh bucket", d)
	}
}

func TestLimiterWait(t *testing.T) {
	l := NewLimiter()
	start := time.Now()
	for i := 0; i < 4; i++ {
		if err := l.Wait(context.Background(), "a", 50); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("4 calls at 50/s took %s, want at least 50ms (three waits of 20ms)", took)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Reserve("slow", 0.1)
	if err := l.Wait(ctx, "slow", 0.1); err == nil {
		t.Errorf("Wait with a canceled context returned nil, want its error")
	}
	if err := l.Wait(ctx, "free", 0); err != nil {
		t.Errorf("Wait with no cap = %v, want nil at once", err)
	}
}
