package plugins

import (
	"context"
	"fmt"
	"sync"
)

// Source finds a stored plugin version: its module and manifest. The registry asks it once per
// version, the first time the version is called.
type Source interface {
	PluginVersion(name, version string) (wasm, manifest []byte, err error)
}

// Registry loads plugin versions on first use and keeps them loaded. Safe for concurrent use;
// concurrent first calls of one version load it once.
type Registry struct {
	host *Host
	src  Source

	mu      sync.Mutex
	loaded  map[string]*Plugin
	loading map[string]*loadWait
}

type loadWait struct {
	done chan struct{}
	p    *Plugin
	err  error
}

// NewRegistry returns a registry over a host and a source.
func NewRegistry(h *Host, src Source) *Registry {
	return &Registry{host: h, src: src, loaded: map[string]*Plugin{}, loading: map[string]*loadWait{}}
}

// Host returns the registry's host.
func (r *Registry) Host() *Host { return r.host }

// Get returns a loaded plugin version, loading it from the source the first time. sha256 is
// the module the caller expects (from its metadata): a version deleted and uploaded again with
// other bytes is then loaded afresh rather than served from the old module. An empty sha256
// takes whatever is loaded.
func (r *Registry) Get(ctx context.Context, name, version, sha256 string) (*Plugin, error) {
	key := name + "@" + version + "@" + sha256
	r.mu.Lock()
	if p, ok := r.loaded[key]; ok {
		r.mu.Unlock()
		return p, nil
	}
	if w, ok := r.loading[key]; ok {
		r.mu.Unlock()
		select {
		case <-w.done:
			return w.p, w.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	w := &loadWait{done: make(chan struct{})}
	r.loading[key] = w
	r.mu.Unlock()

	w.p, w.err = r.load(ctx, name, version)
	if w.err == nil && sha256 != "" && w.p.SHA256 != sha256 {
		w.p, w.err = nil, fmt.Errorf("plugins: %s@%s: the stored module is %.12s…, not the expected %.12s… (metadata changing underneath; try again)", name, version, w.p.SHA256, sha256)
	}
	r.mu.Lock()
	delete(r.loading, key)
	if w.err == nil {
		r.loaded[key] = w.p
	}
	r.mu.Unlock()
	close(w.done)
	return w.p, w.err
}

func (r *Registry) load(ctx context.Context, name, version string) (*Plugin, error) {
	wasm, mj, err := r.src.PluginVersion(name, version)
	if err != nil {
		return nil, fmt.Errorf("plugins: %s@%s: %w", name, version, err)
	}
	m, err := ParseManifest(mj)
	if err != nil {
		return nil, fmt.Errorf("plugins: %s@%s: stored manifest: %w", name, version, err)
	}
	return r.host.Load(context.WithoutCancel(ctx), wasm, m)
}
