package actions

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 120 * time.Second},
		{" 5 ", 5 * time.Second},
		{"1.5", 0},
		{"-3", 0},
		{"soon", 0},
		{"99999999999999999999999", MaxRetryAfter},
		{"86401", MaxRetryAfter},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second},
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute}, // RFC 850
		{"Sat Mar  1 12:00:10 2025", 10 * time.Second},    // asctime
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0},              // past
		{"Mon, 01 Mar 2027 12:00:00 GMT", MaxRetryAfter},
	}
	for _, tc := range tests {
		if got := ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "120", "Sat, 01 Mar 2025 12:00:30 GMT", "99999999999999999999", "-1", "1e9"} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := ParseRetryAfter(s, now); d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %s, want within [0, %s]", s, d, MaxRetryAfter)
		}
	})
}
