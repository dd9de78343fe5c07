// Package datasource reads data-source field groups for expressions: ds.<source>.<group>.<field>.
// A data source is compiled once (its parameter expressions) when the catalog is built; a read
// evaluates the group's parameters for the instance at hand, then answers from a TTL cache keyed
// by source, group and parameters, or asks the source's fetcher — once for all the instances
// that need the same answer at the same moment (single-flight). Only the groups an expression
// names are read, and only when that expression is evaluated.
package datasource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bytedance/sonic"
	"golang.org/x/sync/singleflight"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/pluginrun"
)

// DefaultTTL is how long an answer is kept when the source does not say.
const DefaultTTL = time.Minute

// FailureTTL is how long a failed fetch is remembered (at most the source's TTL).
const FailureTTL = 5 * time.Second

// Source is a compiled data source. Immutable.
type Source struct {
	Def    *model.DataSource
	Groups map[string]*Group
	TTL    time.Duration
}

// Group is a compiled field group.
type Group struct {
	Def    model.DataSourceGroup
	params []param   // sorted by name, so cache keys are stable
	rest   *restCall // "rest" sources: the request templates
}

type param struct {
	name string
	prog *expr.Program
}

// Compile compiles a data source's parameter expressions.
func Compile(def *model.DataSource, env *expr.Env) (*Source, error) {
	s := &Source{Def: def, Groups: map[string]*Group{}, TTL: def.CacheTTL.D()}
	if s.TTL <= 0 {
		s.TTL = DefaultTTL
	}
	for i, g := range def.Groups {
		cg := &Group{Def: g}
		names := make([]string, 0, len(g.Params))
		for n := range g.Params {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			p, err := env.CompileValue(g.Params[n])
			if err != nil {
				return nil, fmt.Errorf("groups[%d].params.%s: %w", i, n, err)
			}
			cg.params = append(cg.params, param{n, p})
		}
		if def.Kind == model.DataSourceREST {
			penv, err := expr.NewParamsEnv()
			if err != nil {
				return nil, err
			}
			if cg.rest, err = compileREST(g, penv); err != nil {
				return nil, fmt.Errorf("groups[%d].%w", i, err)
			}
		}
		s.Groups[g.Name] = cg
	}
	return s, nil
}

// KnownField reports whether ds.<source>.<group>.<field...> is declared: the source and group
// exist, and the group's fields schema (when it lists properties) has the first field.
func KnownField(sources map[string]*model.DataSource, path []string) bool {
	if len(path) < 2 {
		return true
	}
	ds, ok := sources[path[0]]
	if !ok {
		return false
	}
	for _, g := range ds.Groups {
		if g.Name != path[1] {
			continue
		}
		if len(path) < 3 || len(g.Fields) == 0 {
			return true
		}
		var sch struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(g.Fields, &sch) != nil || len(sch.Properties) == 0 {
			return true
		}
		_, ok := sch.Properties[path[2]]
		return ok
	}
	return false
}

// Fetcher asks a source for one group. Called from partition workers: it must honour ctx.
type Fetcher interface {
	Fetch(ctx context.Context, src *Source, group string, params map[string]any) (map[string]any, error)
}

// Config configures the service. Its zero value works.
type Config struct {
	// MaxEntries bounds the cache; the oldest half is dropped when it is full.
	MaxEntries int
	// Timeout bounds one fetch (the fetcher's own limits may be tighter).
	Timeout time.Duration
}

// Service reads groups through the cache. Safe for concurrent use.
type Service struct {
	cfg      Config
	fetchers map[string]Fetcher // by data-source kind
	sf       singleflight.Group
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	err     error // a failed fetch, remembered for FailureTTL
	fields  map[string]any
	expires time.Time
}

// NewService returns a service with a fetcher per data-source kind.
func NewService(cfg Config, fetchers map[string]Fetcher) *Service {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &Service{cfg: cfg, fetchers: fetchers, now: time.Now, cache: map[string]entry{}}
}

// ErrUnknownGroup is returned for a group the source does not define.
var ErrUnknownGroup = errors.New("datasource: unknown group")

// Read returns a group's fields for the instance described by act.
func (s *Service) Read(ctx context.Context, src *Source, group string, act *expr.Activation) (map[string]any, error) {
	g, ok := src.Groups[group]
	if !ok {
		return nil, fmt.Errorf("%w %s.%s", ErrUnknownGroup, src.Def.ID, group)
	}
	params := make(map[string]any, len(g.params))
	var key strings.Builder
	key.WriteString(src.Def.ID)
	key.WriteByte(0)
	key.WriteString(group)
	key.WriteByte(0)
	key.WriteString(src.Def.UpdatedAt.String()) // a changed definition does not reuse answers
	for _, p := range g.params {
		v, err := p.prog.EvalValue(act)
		if err != nil {
			return s.fallback(src, g, fmt.Errorf("ds.%s.%s: parameter %s: %w", src.Def.ID, group, p.name, err))
		}
		params[p.name] = v
		b, _ := sonic.ConfigStd.Marshal(v)
		key.WriteByte(0)
		key.WriteString(p.name)
		key.WriteByte('=')
		key.Write(b)
	}
	k := key.String()
	now := s.now()
	s.mu.Lock()
	if e, ok := s.cache[k]; ok && now.Before(e.expires) {
		s.mu.Unlock()
		if e.err != nil {
			return s.fallback(src, g, e.err)
		}
		return e.fields, nil
	}
	s.mu.Unlock()

	v, err, _ := s.sf.Do(k, func() (any, error) {
		f := s.fetchers[src.Def.Kind]
		if f == nil {
			return nil, fmt.Errorf("ds.%s: no fetcher for kind %q", src.Def.ID, src.Def.Kind)
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		defer cancel()
		fields, err := f.Fetch(fctx, src, group, params)
		if err != nil {
			// Remember the failure briefly: a source that is down is not asked again by every
			// instance that arrives in the next moments.
			err = fmt.Errorf("ds.%s.%s: %w", src.Def.ID, group, err)
			s.store(k, entry{err: err}, s.now().Add(min(src.TTL, FailureTTL)))
			return nil, err
		}
		s.store(k, entry{fields: fields}, s.now().Add(src.TTL))
		return fields, nil
	})
	if err != nil {
		return s.fallback(src, g, err)
	}
	return v.(map[string]any), nil
}

func (s *Service) fallback(src *Source, g *Group, err error) (map[string]any, error) {
	if src.Def.OnError == "default" {
		if g.Def.Defaults != nil {
			return g.Def.Defaults, nil
		}
		return map[string]any{}, nil
	}
	return nil, err
}

func (s *Service) store(k string, e entry, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= s.cfg.MaxEntries {
		// Drop expired entries, then, if still full, about half of the rest. Go's map order is
		// random, so the half is a random sample: cheap, and fair enough for a cache.
		now := s.now()
		for key, e := range s.cache {
			if !now.Before(e.expires) {
				delete(s.cache, key)
			}
		}
		for key := range s.cache {
			if len(s.cache) < s.cfg.MaxEntries/2 {
				break
			}
			delete(s.cache, key)
		}
	}
	e.expires = expires
	s.cache[k] = e
}

// PluginFetcher fetches groups from a Wasm data-source adapter.
type PluginFetcher struct {
	Runner pluginrun.Runner
}

// Fetch calls the adapter's datasource handler.
func (f PluginFetcher) Fetch(ctx context.Context, src *Source, group string, params map[string]any) (map[string]any, error) {
	ref := src.Def.Plugin
	if ref == nil {
		return nil, errors.New("no plugin configured")
	}
	cfg := ref.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	in, err := sonic.ConfigStd.Marshal(map[string]any{"abi": 1, "kind": "datasource", "config": cfg, "group": group, "params": params})
	if err != nil {
		return nil, err
	}
	out, err := f.Runner.Run(ctx, &pluginrun.Call{Name: ref.Name, Version: ref.Version, Kind: "datasource", Input: in, Config: cfg})
	if err != nil {
		return nil, err
	}
	return decodeAdapterOutput(out)
}

// decodeAdapterOutput reads a data-source adapter's output (bytes a guest chose).
func decodeAdapterOutput(out []byte) (map[string]any, error) {
	var res struct {
		Fields map[string]any `json:"fields"`
	}
	if err := sonic.ConfigStd.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("the adapter's output is not {\"fields\":{...}}: %v", err)
	}
	if res.Fields == nil {
		res.Fields = map[string]any{}
	}
	return res.Fields, nil
}
