package actions

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/model"
)

// Caller adapts a Sender and a Limiter to the engine's dispatcher (engine.Caller): HTTP for
// the call, the per-action rate cap, and the retry policy with jitter.
type Caller struct {
	Sender  *Sender
	Limiter *Limiter
}

var _ engine.Caller = (*Caller)(nil)

// NewCaller returns a caller over a new sender and limiter.
func NewCaller(cfg SenderConfig) *Caller {
	return &Caller{Sender: NewSender(cfg), Limiter: NewLimiter()}
}

// Call sends one attempt.
func (c *Caller) Call(ctx context.Context, a *model.Action, req engine.CallRequest) engine.CallOutcome {
	r := c.Sender.Send(ctx, Call{Action: a, URL: req.URL, Body: req.Body, IdempotencyKey: req.IdempotencyKey, Attempt: req.Attempt})
	return engine.CallOutcome{OK: r.OK, Retryable: r.Retryable, RetryAfter: r.RetryAfter, Status: r.Status, Err: r.Err}
}

// Reserve books the next slot under the action's rate cap.
func (c *Caller) Reserve(a *model.Action) time.Duration {
	return c.Limiter.Book(a.ID, a.RateLimit)
}

// Backoff applies the action's retry policy.
func (c *Caller) Backoff(a *model.Action, failed int) (time.Duration, bool) {
	if failed >= MaxAttempts(a.Retry) {
		return 0, false
	}
	return Backoff(a.Retry, failed, rand.Float64()), true
}
