// Package catalog builds the compiled view of the metadata: event definitions with their
// compiled schemas and qualifiers (for ingest), and the journey catalog (for the engine). It is
// rebuilt from the metadata store after every change and swapped in atomically, so readers on
// the hot path never take a lock.
package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// EventType is a compiled event definition.
type EventType struct {
	Def       *model.EventDefinition
	Schema    *schema.Schema
	Qualifier *expr.Program // nil: every event qualifies
}

// Snapshot is one immutable compiled view.
type Snapshot struct {
	Events   map[string]*EventType
	Actions  map[string]*model.Action
	Plugins  map[string]*model.Plugin
	Sources  map[string]*model.DataSource
	Journeys *journey.Catalog
	// Broken lists versions that no longer compile (e.g. an action they use changed); their
	// instances stop where they are and the report shows why.
	Broken map[string]string
}

// EventDefinition implements journey.Resolver.
func (s *Snapshot) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	t, ok := s.Events[name]
	if !ok {
		return nil, nil, false
	}
	return t.Def, t.Schema, true
}

// Action implements journey.Resolver.
func (s *Snapshot) Action(id string) (*model.Action, bool) {
	a, ok := s.Actions[id]
	return a, ok
}

// Plugin implements journey.Resolver: a version by number, or the latest when empty.
func (s *Snapshot) Plugin(name, version string) (model.PluginVersion, bool) {
	p, ok := s.Plugins[name]
	if !ok {
		return model.PluginVersion{}, false
	}
	if version == "" {
		return p.Latest()
	}
	return p.Find(version)
}

// DataSource implements journey.Resolver.
func (s *Snapshot) DataSource(id string) (*model.DataSource, bool) {
	d, ok := s.Sources[id]
	return d, ok
}

// Catalog keeps the current snapshot.
type Catalog struct {
	meta    *meta.Store
	log     *slog.Logger
	current atomic.Pointer[Snapshot]
	mu      sync.Mutex // one rebuild at a time
	onSwap  func(*Snapshot)
}

// New builds the first snapshot. onSwap (may be nil) is called with every new snapshot.
func New(m *meta.Store, log *slog.Logger, onSwap func(*Snapshot)) (*Catalog, error) {
	c := &Catalog{meta: m, log: log, onSwap: onSwap}
	if err := c.Rebuild(); err != nil {
		return nil, err
	}
	m.OnChange(func(kind string) {
		// Settings count: the workspace's channel defaults apply to actions (see applyDefaults).
		if kind == meta.KindAPIKey || kind == meta.KindIdempotency {
			return
		}
		if err := c.Rebuild(); err != nil {
			log.Error("catalog rebuild failed; keeping the previous one", "err", err)
		}
	})
	return c, nil
}

// Current returns the current snapshot.
func (c *Catalog) Current() *Snapshot { return c.current.Load() }

// Rebuild reads every definition and compiles a new snapshot.
func (c *Catalog) Rebuild() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Snapshot{Events: map[string]*EventType{}, Actions: map[string]*model.Action{},
		Plugins: map[string]*model.Plugin{}, Sources: map[string]*model.DataSource{},
		Journeys: journey.NewCatalog(), Broken: map[string]string{}}
	err := c.meta.ListAll(meta.KindPlugin, func(id string, raw []byte) error {
		p := &model.Plugin{}
		if err := json.Unmarshal(raw, p); err != nil {
			return fmt.Errorf("plugin %s: %w", id, err)
		}
		s.Plugins[p.Name] = p
		return nil
	})
	if err != nil {
		return err
	}
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		return err
	}
	err = c.meta.ListAll(meta.KindDataSource, func(id string, raw []byte) error {
		d := &model.DataSource{}
		if err := json.Unmarshal(raw, d); err != nil {
			return fmt.Errorf("data source %s: %w", id, err)
		}
		src, err := datasource.Compile(d, env)
		if err != nil {
			c.log.Error("stored data source no longer compiles; skipping it", "id", id, "err", err)
			return nil
		}
		s.Sources[d.ID] = d
		s.Journeys.AddDataSource(src)
		return nil
	})
	if err != nil {
		return err
	}
	err = c.meta.ListAll(meta.KindEventDef, func(id string, raw []byte) error {
		def := &model.EventDefinition{}
		if err := json.Unmarshal(raw, def); err != nil {
			return fmt.Errorf("event definition %s: %w", id, err)
		}
		t, err := CompileEventType(def)
		if err != nil {
			c.log.Error("stored event definition no longer compiles; skipping it", "name", id, "err", err)
			return nil
		}
		s.Events[def.Name] = t
		return nil
	})
	if err != nil {
		return err
	}
	var settings model.Settings
	if err := c.meta.Get(meta.KindSetting, model.SettingsID, &settings); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("workspace settings: %w", err)
	}
	err = c.meta.ListAll(meta.KindAction, func(id string, raw []byte) error {
		a := &model.Action{}
		if err := json.Unmarshal(raw, a); err != nil {
			return fmt.Errorf("action %s: %w", id, err)
		}
		applyDefaults(a, &settings)
		s.Actions[a.ID] = a
		s.Journeys.AddAction(a)
		return nil
	})
	if err != nil {
		return err
	}
	journeys := map[string]*model.Journey{}
	err = c.meta.ListAll(meta.KindJourney, func(id string, raw []byte) error {
		j := &model.Journey{}
		if err := json.Unmarshal(raw, j); err != nil {
			return fmt.Errorf("journey %s: %w", id, err)
		}
		journeys[j.ID] = j
		return nil
	})
	if err != nil {
		return err
	}
	err = c.meta.ListAll(meta.KindJourneyVersion, func(id string, raw []byte) error {
		v := &model.JourneyVersion{}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("journey version %s: %w", id, err)
		}
		j := journeys[v.JourneyID]
		if j == nil {
			return nil
		}
		g, errs := journey.Compile(v.JourneyID, v.Version, v.Name, &v.Definition, s)
		if len(errs) > 0 {
			s.Broken[id] = errs.Error()
			c.log.Warn("published journey version no longer compiles", "journey", v.JourneyID, "version", v.Version, "errors", errs.Error())
			return nil
		}
		s.Journeys.AddVersion(g, j.Status == model.StatusLive && j.LiveVersion == v.Version)
		return nil
	})
	if err != nil {
		return err
	}
	// Drafts that compile take test events (test mode); one that does not is simply not testable
	// until it validates.
	for _, j := range journeys {
		if j.Draft == nil {
			continue
		}
		if g, errs := journey.Compile(j.ID, journey.DraftVersion, j.Name, journey.Pin(j.Draft, s), s); len(errs) == 0 {
			s.Journeys.AddDraft(g)
		}
	}
	c.current.Store(s)
	if c.onSwap != nil {
		c.onSwap(s)
	}
	return nil
}

// CompileEventType compiles an event definition's schema and qualifier.
func CompileEventType(def *model.EventDefinition) (*EventType, error) {
	sch, err := schema.Compile(def.Schema)
	if err != nil {
		return nil, err
	}
	t := &EventType{Def: def, Schema: sch}
	if def.Qualifier != "" {
		env, err := expr.NewEnv(expr.Options{KnownEventField: sch.Declares})
		if err != nil {
			return nil, err
		}
		p, err := env.CompileBool(def.Qualifier)
		if err != nil {
			return nil, err
		}
		t.Qualifier = p
	}
	return t, nil
}

// applyDefaults gives a channel action that sets no frequency cap or quiet hours of its own the
// workspace's for its kind. The stored action is not changed: the defaults live in the
// settings, so changing them changes every action that relies on them.
func applyDefaults(a *model.Action, st *model.Settings) {
	p, ok := st.Channels[a.Kind]
	if !ok || !model.IsChannel(a.Kind) {
		return
	}
	if a.Capping == nil && p.Capping != nil {
		c := *p.Capping
		a.Capping = &c
	}
	if a.QuietHours == nil && p.QuietHours != nil {
		q := *p.QuietHours
		a.QuietHours = &q
	}
}
