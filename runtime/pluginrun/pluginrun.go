// Package pluginrun is the small contract through which the runtime calls Wasm plugins without
// knowing how they run: the engine (conditions), the data-source service (adapters) and the
// action caller build a Call and hand it to a Runner. cmd wires the Runner to the wazero host
// in plugins/, so runtime never imports it.
package pluginrun

import "context"

// Call is one plugin invocation.
type Call struct {
	Name, Version string // the pinned plugin version
	Kind          string // "condition", "condition_batch", "datasource", "action"
	Input         []byte // the handler's input JSON (sdk/ABI.md)
	Config        []byte // the merged config object (also inside Input), for config_get
	KV            KV     // the plugin's store for this call; nil: unavailable
	ReadOnlyKV    bool
}

// KV is a plugin's key-value store as one call sees it; used from the calling goroutine only.
type KV interface {
	Get(key []byte) (value []byte, found bool, err error)
	Set(key, value []byte) error
	Delete(key []byte) error
}

// Runner runs plugin calls. Run is called from many goroutines (partition workers, dispatcher
// workers) and blocks for at most the plugin's deadline.
type Runner interface {
	Run(ctx context.Context, c *Call) (output []byte, err error)
}

// Error is a failed call, as the runtime reports and routes it.
type Error struct {
	Code      string // plugin_failed, plugin_trapped, plugin_timeout, plugin_limit, plugin_unavailable
	Guest     string // for plugin_failed: the guest's code name (invalid_input, upstream, …)
	Message   string
	Retryable bool // actions: try again later
}

func (e *Error) Error() string {
	if e.Guest != "" {
		return e.Code + " (" + e.Guest + "): " + e.Message
	}
	return e.Code + ": " + e.Message
}
