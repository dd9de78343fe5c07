package plugins

import (
	"context"
	"time"

	"github.com/wayline/wayline/sdk/abi"
)

// Call is one invocation of a plugin handler.
type Call struct {
	// Kind picks the handler: abi.KindCondition, abi.KindDataSource, abi.KindAction, or
	// KindConditionBatch for the batch condition handler.
	Kind string
	// Input is the handler's input JSON (sdk/ABI.md, "Kinds and their JSON").
	Input []byte
	// Config is the JSON object config_get reads (the same as the input's "config").
	Config []byte
	// Secrets are the plugin installation's secrets, read by secret_get.
	Secrets map[string]string
	// KV is the plugin's key-value store for this call; nil answers "unavailable".
	KV KV
	// ReadOnlyKV refuses writes (data-source calls).
	ReadOnlyKV bool
	// Log receives the call's log lines; nil sends them to the host's logger.
	Log func(level int32, msg string)
	// Timeout overrides limits.timeout when shorter (0: the manifest's).
	Timeout time.Duration
	// Timed measures Result.Duration (two clock reads, a noticeable share of a short call).
	Timed bool
}

// KindConditionBatch is the Call.Kind of the batch condition handler.
const KindConditionBatch = "condition_batch"

// KV is a plugin's key-value store as one call sees it. It is used from the calling
// goroutine only.
type KV interface {
	Get(key []byte) (value []byte, found bool, err error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// Result is what a call returned.
type Result struct {
	Output    []byte // the handler's output JSON; nil when Err is set
	Err       *CallError
	Duration  time.Duration // when Call.Timed
	Memory    uint32        // the instance's memory size after the call, in bytes
	HTTPCalls int
}

// Error codes of CallError, as the API reports them.
const (
	CodeFailed      = "plugin_failed"      // the guest reported an error (Guest says which)
	CodeTrapped     = "plugin_trapped"     // a trap, panic, bad pointer or bad length
	CodeTimeout     = "plugin_timeout"     // ran past the deadline
	CodeLimit       = "plugin_limit"       // broke a size or memory limit
	CodeUnavailable = "plugin_unavailable" // no instance could be had
)

// CallError says why a call failed.
type CallError struct {
	Code    string
	Guest   abi.ErrorCode // for CodeFailed
	Message string
}

func (e *CallError) Error() string {
	if e.Code == CodeFailed {
		return "plugin: " + e.Guest.String() + ": " + e.Message
	}
	return "plugin: " + e.Code + ": " + e.Message
}

// Retryable reports whether an action should try again later.
func (e *CallError) Retryable() bool {
	switch e.Code {
	case CodeTimeout, CodeUnavailable:
		return true
	case CodeFailed:
		return e.Guest == abi.ErrUpstream
	}
	return false
}

func exportFor(kind string) string {
	if kind == KindConditionBatch {
		return abi.ExportConditionBatch
	}
	return abi.HandlerExport(kind)
}

// Call runs one handler call on a pooled instance. It never panics on guest misbehaviour: a
// trap, a runaway loop or a broken limit costs this call (Result.Err) and the instance.
// Safe for concurrent use; at most Config.MaxInstances calls run at once, the rest wait
// (until ctx ends).
func (p *Plugin) Call(ctx context.Context, c *Call) Result {
	if p.closed() {
		return Result{Err: &CallError{Code: CodeUnavailable, Message: "the plugin was unloaded"}}
	}
	timeout := p.Manifest.Limits.Timeout.D()
	if c.Timeout > 0 && c.Timeout < timeout {
		timeout = c.Timeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	inst, err := p.acquire(ctx)
	if err != nil {
		if ce, ok := err.(*CallError); ok {
			return Result{Err: ce}
		}
		return Result{Err: &CallError{Code: CodeUnavailable, Message: err.Error()}}
	}
	var start time.Time
	if c.Timed {
		start = time.Now()
	}
	// The call runs with a context that has no Done channel: the watchdog enforces the
	// deadline, so wazero needs no timer per call.
	out, cerr := inst.run(context.Background(), exportFor(c.Kind), c, timeout)
	r := Result{Output: out, Err: cerr, HTTPCalls: inst.httpCalls}
	if c.Timed {
		r.Duration = time.Since(start)
	}
	if !inst.broken {
		r.Memory = inst.mem.Size()
	}
	p.release(inst)
	return r
}
