package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/plugins/internal/instrument"
	"github.com/wayline/wayline/runtime/netguard"
	"github.com/wayline/wayline/sdk/abi"
)

// Config configures the host. Its zero value works: an in-memory compilation cache, pools
// sized to the CPU count, and an SSRF guard that refuses every internal address.
type Config struct {
	// CacheDir keeps compiled machine code across restarts ("" keeps it in memory only).
	CacheDir string
	// MaxInstances bounds the live instances of one plugin: the calls it can run at once.
	MaxInstances int
	// Prewarm is how many instances are made when a plugin loads, so the first calls do not
	// pay for instantiation (milliseconds for Go guests).
	Prewarm int
	// Guard checks every address a plugin's HTTP request resolves to.
	Guard *netguard.Guard
	// Log receives plugin log lines when a call does not capture them.
	Log *slog.Logger
	// UnboundedLoops turns off the loop instrumentation that lets the watchdog stop a runaway
	// call, so a plugin in an endless loop hangs its caller. Only for measuring what the
	// instrumentation costs (the benchmarks); never in a node.
	UnboundedLoops bool
}

// Default fills zero fields.
func (c *Config) Default() {
	if c.MaxInstances <= 0 {
		c.MaxInstances = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if c.Prewarm <= 0 {
		c.Prewarm = 1
	}
	if c.Prewarm > c.MaxInstances {
		c.Prewarm = c.MaxInstances
	}
	if c.Guard == nil {
		c.Guard = &netguard.Guard{}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Host loads plugins and runs their calls. It is safe for concurrent use.
type Host struct {
	cfg   Config
	cache wazero.CompilationCache
	wd    *watchdog

	mu     sync.Mutex
	loaded map[string]*Plugin // by sha256 + limits key
	closed bool
}

// New starts a host.
func New(cfg Config) (*Host, error) {
	cfg.Default()
	h := &Host{cfg: cfg, loaded: map[string]*Plugin{}, wd: newWatchdog()}
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("plugins: compilation cache in %s: %w", cfg.CacheDir, err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// Close closes every loaded plugin and the cache.
func (h *Host) Close() {
	h.mu.Lock()
	ps := h.loaded
	h.loaded, h.closed = map[string]*Plugin{}, true
	h.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
	h.wd.stop()
	_ = h.cache.Close(context.Background())
}

// SHA256 returns the content address of a module.
func SHA256(wasm []byte) string {
	s := sha256.Sum256(wasm)
	return hex.EncodeToString(s[:])
}

// Load validates a module against its manifest, compiles it (once per content and limits) and
// makes it callable. A module that does not fit gets a *FieldError naming the problem; a
// failure midway releases what was made.
func (h *Host) Load(ctx context.Context, wasm []byte, m *Manifest) (*Plugin, error) {
	if m == nil {
		return nil, &FieldError{"manifest", "is required"}
	}
	if len(wasm) > m.Limits.MaxBinaryBytes {
		return nil, &FieldError{"module", fmt.Sprintf("is %d bytes; limits.maxBinaryBytes allows %d", len(wasm), m.Limits.MaxBinaryBytes)}
	}
	sum := SHA256(wasm)
	key := fmt.Sprintf("%s/%d", sum, m.Limits.MemoryPages)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errors.New("plugins: host closed")
	}
	if p, ok := h.loaded[key]; ok && p.Manifest.Name == m.Name && p.Manifest.Version == m.Version {
		h.mu.Unlock()
		return p, nil
	}
	h.mu.Unlock()

	p, err := h.build(ctx, sum, wasm, m)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.loaded[key]; ok && old.Manifest.Name == m.Name && old.Manifest.Version == m.Version {
		go p.close()
		return old, nil
	}
	if old, ok := h.loaded[key]; ok {
		go old.close() // same bytes, new manifest: the new one wins
	}
	h.loaded[key] = p
	return p, nil
}

// Validate checks a module against its manifest without keeping it loaded.
func (h *Host) Validate(ctx context.Context, wasm []byte, m *Manifest) error {
	if len(wasm) > m.Limits.MaxBinaryBytes {
		return &FieldError{"module", fmt.Sprintf("is %d bytes; limits.maxBinaryBytes allows %d", len(wasm), m.Limits.MaxBinaryBytes)}
	}
	p, err := h.build(ctx, SHA256(wasm), wasm, m)
	if err != nil {
		return err
	}
	p.close()
	return nil
}

func (h *Host) build(ctx context.Context, sum string, wasm []byte, m *Manifest) (p *Plugin, err error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &FieldError{"module", "is not a WebAssembly binary (it must start with \\0asm); upload the .wasm file your build produced"}
	}
	if !h.cfg.UnboundedLoops {
		// Guard every loop so the watchdog can stop a runaway call (see internal/instrument
		// for why this and not wazero's close-on-context-done).
		guarded, _, err := instrument.Rewrite(wasm)
		if err != nil {
			return nil, &FieldError{"module", "is not a valid WebAssembly module: " + err.Error()}
		}
		wasm = guarded
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(m.Limits.MemoryPages)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer func() {
		if err != nil {
			_ = rt.Close(ctx)
		}
	}()
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, &FieldError{"module", "is not a valid WebAssembly module: " + firstLine(err.Error())}
	}
	if err := checkModule(cm, m); err != nil {
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("plugins: WASI: %w", err)
	}
	p = &Plugin{
		SHA256:   sum,
		Manifest: m,
		host:     h,
		rt:       rt,
		compiled: cm,
		idle:     make(chan *instance, h.cfg.MaxInstances),
		slots:    make(chan struct{}, h.cfg.MaxInstances),
		hasBatch: hasExport(cm, abi.ExportConditionBatch),
	}
	p.http = &fasthttp.Client{
		DialTimeout:              h.cfg.Guard.DialTimeout,
		MaxResponseBodySize:      m.Limits.MaxHTTPResponseBytes,
		NoDefaultUserAgentHeader: true,
		MaxConnsPerHost:          64,
		ReadTimeout:              m.Limits.Timeout.D(),
		WriteTimeout:             m.Limits.Timeout.D(),
	}
	if err := p.instantiateHostModule(ctx); err != nil {
		return nil, err
	}
	// One instance now proves the module starts (its _initialize, its memory fits the limit)
	// and serves the first call warm.
	warm := make([]*instance, 0, h.cfg.Prewarm)
	for range h.cfg.Prewarm {
		p.slots <- struct{}{}
		inst, err := p.newInstance(ctx)
		if err != nil {
			<-p.slots
			for _, w := range warm {
				w.discard()
			}
			return nil, err
		}
		warm = append(warm, inst)
	}
	for _, w := range warm {
		p.idle <- w
	}
	return p, nil
}

func hasExport(cm wazero.CompiledModule, name string) bool {
	_, ok := cm.ExportedFunctions()[name]
	return ok
}

// Plugin is a loaded plugin version: its compiled module and its pool of warm instances.
type Plugin struct {
	SHA256   string
	Manifest *Manifest

	host     *Host
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	http     *fasthttp.Client
	hasBatch bool

	idle  chan *instance // warm instances not in a call
	slots chan struct{}  // one token per live instance, bounding the pool
	byMod sync.Map       // api.Module → *instance, for host functions
	mu    sync.Mutex     // guards closed
	done  bool
}

// HasConditionBatch reports whether the plugin has the batch condition handler.
func (p *Plugin) HasConditionBatch() bool { return p.hasBatch }

func (p *Plugin) close() {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done = true
	p.mu.Unlock()
	for {
		select {
		case inst := <-p.idle:
			inst.discard()
		default:
			_ = p.rt.Close(context.Background())
			return
		}
	}
}

func (p *Plugin) closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// acquire returns an idle instance, a new one while the pool has room, or waits for one.
func (p *Plugin) acquire(ctx context.Context) (*instance, error) {
	select {
	case inst := <-p.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-p.idle:
		return inst, nil
	case p.slots <- struct{}{}:
		inst, err := p.newInstance(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return inst, nil
	case <-ctx.Done():
		return nil, &CallError{Code: CodeUnavailable, Message: "no free plugin instance before the caller gave up: " + ctx.Err().Error()}
	}
}

func (p *Plugin) release(inst *instance) {
	if inst.broken || p.closed() {
		inst.discard()
		return
	}
	select {
	case p.idle <- inst:
	default:
		inst.discard()
	}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// exit codes the host closes an instance with.
const (
	exitTimeout uint32 = 0x7761_0001
	exitLimit   uint32 = 0x7761_0002
)
