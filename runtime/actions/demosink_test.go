package actions

import (
	"context"
	"testing"

	"github.com/wayline/wayline/runtime/demosink"
	"github.com/wayline/wayline/runtime/model"
)

// TestRetriesReachTheSinkWithOneKey plays the dispatcher: it retries a call that the demo
// sink fails twice, and checks every attempt carried the same key and its own number.
func TestRetriesReachTheSinkWithOneKey(t *testing.T) {
	sink, url, closeFn, err := demosink.Serve("")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	s := newTestSender(t, SenderConfig{})
	a := &model.Action{ID: "demo", Method: "POST", Retry: model.RetryPolicy{MaxAttempts: 3}}
	var results []Result
	for attempt := 1; attempt <= MaxAttempts(a.Retry); attempt++ {
		r := s.Send(context.Background(), Call{
			Action: a, URL: url + "/demo?failAttempts=2&retryAfter=1", Body: []byte(`{"n":1}`),
			IdempotencyKey: "journey-1/step-4", Attempt: attempt,
		})
		results = append(results, r)
		if !r.Retryable {
			break
		}
	}
	if len(results) != 3 || !results[2].OK || results[0].Status != 503 || results[0].RetryAfter.Seconds() != 1 {
		t.Fatalf("results %+v, want 503 (Retry-After 1s), 503, then OK", results)
	}
	if sink.Count() != 3 || sink.DistinctKeys() != 1 {
		t.Errorf("sink saw %d requests with %d keys, want 3 with 1", sink.Count(), sink.DistinctKeys())
	}
	for i, r := range sink.Recent(0) {
		if want := 3 - i; r.Headers[HeaderAttempt] != string(rune('0'+want)) || r.IdempotencyKey != "journey-1/step-4" {
			t.Errorf("request %d: attempt %q key %q, want attempt %d with the shared key", i, r.Headers[HeaderAttempt], r.IdempotencyKey, want)
		}
	}
}
