package main

import (
	"context"
	"log/slog"

	"github.com/wayline/wayline/plugins"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/pluginrun"
)

// pluginRunner runs the runtime's plugin calls (pluginrun.Runner) on the wazero host: it loads
// the pinned version through the registry and adds the installation's secrets and config from
// the current catalog snapshot.
type pluginRunner struct {
	reg *plugins.Registry
	cat *catalog.Catalog
}

var _ engine.BatchRunner = (*pluginRunner)(nil)

func (r *pluginRunner) Run(ctx context.Context, c *pluginrun.Call) ([]byte, error) {
	call := &plugins.Call{Kind: c.Kind, Input: c.Input, Config: c.Config, ReadOnlyKV: c.ReadOnlyKV}
	if c.KV != nil {
		call.KV = c.KV
	}
	var sha string
	if rec := r.record(c.Name); rec != nil {
		call.Secrets = rec.Secrets
		call.Config = rec.Config
		if v, ok := rec.Find(c.Version); ok {
			sha = v.SHA256
		}
	}
	p, err := r.reg.Get(ctx, c.Name, c.Version, sha)
	if err != nil {
		return nil, &pluginrun.Error{Code: plugins.CodeUnavailable, Message: err.Error(), Retryable: true}
	}
	res := p.Call(ctx, call)
	if res.Err != nil {
		e := &pluginrun.Error{Code: res.Err.Code, Message: res.Err.Message, Retryable: res.Err.Retryable()}
		if res.Err.Code == plugins.CodeFailed {
			e.Guest = res.Err.Guest.String()
		}
		return nil, e
	}
	return res.Output, nil
}

// HasConditionBatch lets the engine batch a plugin's condition calls when it has the batch
// handler (engine.BatchRunner).
func (r *pluginRunner) HasConditionBatch(name, version string) bool {
	var sha string
	if rec := r.record(name); rec != nil {
		if v, ok := rec.Find(version); ok {
			sha = v.SHA256
		}
	}
	p, err := r.reg.Get(context.Background(), name, version, sha)
	return err == nil && p.HasConditionBatch()
}

func (r *pluginRunner) record(name string) *model.Plugin {
	if snap := r.cat.Current(); snap != nil {
		return snap.Plugins[name]
	}
	return nil
}

// preloadPlugins loads the latest version of every plugin in the background, so that the
// first call — from a partition worker, which waits for it — does not pay for compiling the
// module (seconds for a Go guest the first time; the on-disk cache makes restarts quick).
func preloadPlugins(reg *plugins.Registry, s *catalog.Snapshot, log *slog.Logger) {
	for name, p := range s.Plugins {
		v, ok := p.Latest()
		if !ok {
			continue
		}
		if _, err := reg.Get(context.Background(), name, v.Version, v.SHA256); err != nil {
			log.Warn("plugin does not load", "plugin", name, "version", v.Version, "err", err)
		}
	}
}
