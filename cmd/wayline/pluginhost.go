package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wayline/wayline/plugins"
	"github.com/wayline/wayline/runtime/api"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/sdk/abi"
)

// pluginHost is the node's plugin host as the API sees it (api.PluginHost): it checks uploads
// and runs test calls on the wazero host in plugins/, loading stored versions through the
// registry the engine shares. Safe for concurrent use.
type pluginHost struct {
	host *plugins.Host
	reg  *plugins.Registry
	src  metaSource
}

var _ api.PluginHost = (*pluginHost)(nil)

// newPluginHost starts the plugin host: compiled machine code cached in cacheDir (kept across
// restarts; "" keeps it in memory), plugin HTTP requests through an SSRF guard that also lets
// through the internal addresses in allowNet (CIDR prefixes or single addresses, from
// --allow-net), log lines of calls nobody captures to log. The registry loads stored versions
// from md on first use; hand it to whatever calls plugins on the event path. Close the host
// after the engine has stopped.
func newPluginHost(md *meta.Store, cacheDir string, allowNet []string, log *slog.Logger) (*pluginHost, *plugins.Registry, error) {
	allow, err := netguard.ParseAllow(allowNet)
	if err != nil {
		return nil, nil, fmt.Errorf("--allow-net: %w", err)
	}
	h, err := plugins.New(plugins.Config{CacheDir: cacheDir, Guard: &netguard.Guard{Allow: allow}, Log: log})
	if err != nil {
		return nil, nil, err
	}
	src := metaSource{md: md}
	reg := plugins.NewRegistry(h, src)
	return &pluginHost{host: h, reg: reg, src: src}, reg, nil
}

// Close unloads every plugin and closes the compilation cache.
func (h *pluginHost) Close() { h.host.Close() }

// Check implements api.PluginHost: the manifest, then the module against it (compiled and
// started once, then released).
func (h *pluginHost) Check(ctx context.Context, wasm, manifest []byte) (api.PluginCheck, error) {
	m, err := plugins.ParseManifest(manifest)
	if err != nil {
		return api.PluginCheck{}, pluginFieldErr("manifest", err)
	}
	if err := h.host.Validate(ctx, wasm, m); err != nil {
		return api.PluginCheck{}, pluginFieldErr("", err)
	}
	norm, err := json.Marshal(m)
	if err != nil {
		return api.PluginCheck{}, err
	}
	return api.PluginCheck{Name: m.Name, Version: m.Version, Kinds: m.Kinds, Manifest: norm}, nil
}

// pluginFieldErr turns a *plugins.FieldError into an *api.PluginError, its field under prefix.
func pluginFieldErr(prefix string, err error) error {
	var fe *plugins.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := fe.Field
	switch {
	case prefix != "" && field != "":
		field = prefix + "." + field
	case prefix != "":
		field = prefix
	}
	return &api.PluginError{Field: field, Reason: fe.Reason}
}

// Run implements api.PluginHost.
func (h *pluginHost) Run(ctx context.Context, name, version, kind string, input, config []byte, secrets map[string]string) api.PluginRun {
	p, err := h.load(ctx, name, version)
	if err != nil {
		return api.PluginRun{Error: &api.PluginRunError{Code: plugins.CodeUnavailable, Message: err.Error()}}
	}
	return runPluginOnce(ctx, p, kind, input, config, secrets)
}

// load returns a stored version, loaded; the registry is asked for the module the metadata
// names now, so a version deleted and uploaded again with other bytes is loaded afresh.
func (h *pluginHost) load(ctx context.Context, name, version string) (*plugins.Plugin, error) {
	var rec model.Plugin
	if err := h.src.md.Get(meta.KindPlugin, name, &rec); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	v, ok := rec.Find(version)
	if !ok {
		return nil, fmt.Errorf("plugin %s has no version %s", name, version)
	}
	return h.reg.Get(ctx, name, version, v.SHA256)
}

// metaSource is the registry's plugins.Source: the version in the plugin's record, its module
// by sha256 (checked) and its normalised manifest.
type metaSource struct{ md *meta.Store }

func (s metaSource) PluginVersion(name, version string) (wasm, manifest []byte, err error) {
	var p model.Plugin
	if err := s.md.Get(meta.KindPlugin, name, &p); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return nil, nil, fmt.Errorf("no plugin named %q is uploaded", name)
		}
		return nil, nil, err
	}
	v, ok := p.Find(version)
	if !ok {
		return nil, nil, fmt.Errorf("plugin %q has no version %q", name, version)
	}
	wasm, err = s.md.GetRaw(meta.KindPluginBinary, v.SHA256)
	if err != nil {
		return nil, nil, fmt.Errorf("the module %s of %s@%s: %w", v.SHA256, name, version, err)
	}
	if got := plugins.SHA256(wasm); got != v.SHA256 {
		return nil, nil, fmt.Errorf("the stored module of %s@%s has sha256 %s, not %s (storage damaged?)", name, version, got, v.SHA256)
	}
	return wasm, v.Manifest, nil
}

// runPluginOnce makes one call of a loaded plugin, as the run endpoint and `wayline plugin
// test` do: the input completed with abi, kind and config, a scratch key-value store, the log
// lines captured.
func runPluginOnce(ctx context.Context, p *plugins.Plugin, kind string, input, config []byte, secrets map[string]string) api.PluginRun {
	in, cfg, err := completeInput(kind, input, config)
	if err != nil {
		return api.PluginRun{Error: &api.PluginRunError{Code: plugins.CodeFailed, GuestCode: abi.ErrInvalidInput.String(), Message: err.Error()}}
	}
	var mu sync.Mutex
	var logs []api.PluginLog
	// As on a node, only conditions have a key-value store (sdk/ABI.md); a test run's is an
	// empty scratch store.
	var kv plugins.KV
	if kind == abi.KindCondition || kind == plugins.KindConditionBatch {
		kv = &memKV{m: map[string][]byte{}}
	}
	res := p.Call(ctx, &plugins.Call{Kind: kind, Input: in, Config: cfg, Secrets: secrets, KV: kv, Timed: true,
		Log: func(level int32, msg string) {
			mu.Lock()
			logs = append(logs, api.PluginLog{Level: logLevel(level), Message: msg})
			mu.Unlock()
		}})
	mu.Lock()
	defer mu.Unlock()
	out := api.PluginRun{Output: res.Output, Duration: res.Duration, MemoryBytes: int64(res.Memory), HTTPCalls: res.HTTPCalls, Logs: logs}
	if res.Err != nil {
		out.Output = nil
		out.Error = &api.PluginRunError{Code: res.Err.Code, Message: res.Err.Message}
		if res.Err.Code == plugins.CodeFailed {
			out.Error.GuestCode = res.Err.Guest.String()
		}
	}
	return out
}

// completeInput fills a handler input's abi, kind and config members (and now for conditions,
// idempotencyKey and attempt for actions, when absent), so a test input need only hold what
// the plugin reads. config, when empty, is the input's own config (or {}). It returns the
// input and the config for config_get.
func completeInput(kind string, input, config []byte) ([]byte, []byte, error) {
	m := map[string]json.RawMessage{}
	if in := bytes.TrimSpace(input); len(in) > 0 && string(in) != "null" {
		if err := json.Unmarshal(in, &m); err != nil {
			return nil, nil, errors.New("the input must be a JSON object (sdk/ABI.md, \"Kinds and their JSON\")")
		}
	}
	cfg := bytes.TrimSpace(config)
	if len(cfg) == 0 || string(cfg) == "null" {
		cfg = bytes.TrimSpace(m["config"])
	}
	if len(cfg) == 0 || string(cfg) == "null" {
		cfg = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(cfg, &obj) != nil {
		return nil, nil, errors.New("the config must be a JSON object")
	}
	handler := kind
	if kind == plugins.KindConditionBatch {
		handler = abi.KindCondition
	}
	m["abi"] = json.RawMessage(fmt.Sprint(abi.Version))
	m["kind"], _ = json.Marshal(handler)
	m["config"] = cfg
	setDefault := func(k string, v any) {
		if _, ok := m[k]; !ok {
			m[k], _ = json.Marshal(v)
		}
	}
	switch handler {
	case abi.KindCondition:
		setDefault("now", time.Now().UTC().Format(time.RFC3339Nano))
	case abi.KindAction:
		setDefault("idempotencyKey", fmt.Sprintf("test-%d", time.Now().UnixNano()))
		setDefault("attempt", 1)
	}
	b, err := json.Marshal(m)
	return b, cfg, err
}

func logLevel(l int32) string {
	switch l {
	case abi.LogDebug:
		return "debug"
	case abi.LogInfo:
		return "info"
	case abi.LogWarn:
		return "warn"
	case abi.LogError:
		return "error"
	}
	return fmt.Sprintf("level%d", l)
}

// memKV is a scratch key-value store for one test call: writes are seen by the call and then
// dropped, so a test never touches a profile's real store.
type memKV struct{ m map[string][]byte }

func (k *memKV) Get(key []byte) ([]byte, bool, error) {
	v, ok := k.m[string(key)]
	return v, ok, nil
}

func (k *memKV) Set(key, value []byte) error {
	k.m[string(key)] = append([]byte(nil), value...)
	return nil
}

func (k *memKV) Delete(key []byte) error {
	delete(k.m, string(key))
	return nil
}
