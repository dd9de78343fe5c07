package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/wayline/wayline/runtime/channels"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/pluginrun"
)

// Caller adapts a Sender and a Limiter to the engine's dispatcher (engine.Caller): HTTP for
// the call, the per-action rate cap, and the retry policy with jitter.
type Caller struct {
	Sender  *Sender
	Limiter *Limiter
	// Plugins runs plugin actions; nil fails them with a clear error.
	Plugins pluginrun.Runner
	// Channels sends email, SMS and push; nil fails them with a clear error.
	Channels *channels.Service
}

var _ engine.Caller = (*Caller)(nil)

// NewCaller returns a caller over a new sender and limiter.
func NewCaller(cfg SenderConfig) *Caller {
	return &Caller{Sender: NewSender(cfg), Limiter: NewLimiter()}
}

// Call sends one attempt.
func (c *Caller) Call(ctx context.Context, a *model.Action, req engine.CallRequest) engine.CallOutcome {
	if a.Kind == model.ActionPlugin {
		return c.callPlugin(ctx, a, req)
	}
	if model.IsChannel(a.Kind) {
		if c.Channels == nil {
			return engine.CallOutcome{Err: "channels are not enabled on this node"}
		}
		r := c.Channels.Send(ctx, a, req.Body, channels.Ref{Profile: req.Profile, Journey: req.Journey, Version: req.Version,
			Node: req.Node, Instance: req.Instance, Action: a.ID, Kind: a.Kind, Key: req.IdempotencyKey})
		return engine.CallOutcome{OK: r.OK, Retryable: r.Retryable, RetryAfter: r.RetryAfter, Status: r.Status, Err: r.Err}
	}
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

// actionInput is an action plugin's input (sdk/ABI.md).
type actionInput struct {
	ABI            int             `json:"abi"`
	Kind           string          `json:"kind"`
	Config         json.RawMessage `json:"config"`
	IdempotencyKey string          `json:"idempotencyKey"`
	Attempt        int             `json:"attempt"`
	Payload        json.RawMessage `json:"payload"`
	Profile        struct {
		ID string `json:"id"`
	} `json:"profile"`
}

// callPlugin runs one attempt of a plugin action. The plugin's own error codes decide retries:
// upstream and timeouts are retried, the rest go to the error path and dead letters.
func (c *Caller) callPlugin(ctx context.Context, a *model.Action, req engine.CallRequest) engine.CallOutcome {
	if c.Plugins == nil || a.Plugin == nil {
		return engine.CallOutcome{Err: "plugin actions are not enabled on this node"}
	}
	in := actionInput{ABI: 1, Kind: "action", Config: a.Plugin.Config, IdempotencyKey: req.IdempotencyKey, Attempt: req.Attempt, Payload: req.Body}
	if len(in.Config) == 0 {
		in.Config = json.RawMessage("{}")
	}
	if len(in.Payload) == 0 {
		in.Payload = json.RawMessage("null")
	}
	in.Profile.ID = req.Profile
	b, err := json.Marshal(in)
	if err != nil {
		return engine.CallOutcome{Err: "encoding the plugin input: " + err.Error()}
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.Timeout.D())
		defer cancel()
	}
	out, err := c.Plugins.Run(ctx, &pluginrun.Call{Name: a.Plugin.Name, Version: a.Plugin.Version, Kind: "action", Input: b})
	if err != nil {
		var pe *pluginrun.Error
		if errors.As(err, &pe) {
			return engine.CallOutcome{Retryable: pe.Retryable, Err: pe.Error()}
		}
		return engine.CallOutcome{Retryable: true, Err: err.Error()}
	}
	var res struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK {
		return engine.CallOutcome{Err: fmt.Sprintf("plugin %s answered %.200q, not {\"ok\":true}", a.Plugin.Name, out)}
	}
	return engine.CallOutcome{OK: true, Status: 200}
}
