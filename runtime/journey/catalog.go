package journey

import (
	"strconv"

	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/model"
)

// Catalog is an immutable snapshot of everything the engine needs to step instances: every
// compiled journey version, which of them take entries for each event type, and the actions.
// A new snapshot replaces the old one whenever metadata changes; instances keep stepping on the
// version they entered.
type Catalog struct {
	versions map[string]*Graph   // "journeyID/version"
	entries  map[string][]*Graph // event type → live versions whose entry listens to it
	// drafts: event type → compiled drafts (version DraftVersion) that test events enter.
	drafts  map[string][]*Graph
	awaited map[string]bool // event types that a wait node or an exit rule of any version names
	actions map[string]*model.Action
	sources map[string]*datasource.Source
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{versions: map[string]*Graph{}, entries: map[string][]*Graph{}, drafts: map[string][]*Graph{}, awaited: map[string]bool{}, actions: map[string]*model.Action{}, sources: map[string]*datasource.Source{}}
}

func versionKey(id string, v int) string { return id + "/" + strconv.Itoa(v) }

// AddVersion adds a compiled version; live marks it as the one taking entries.
func (c *Catalog) AddVersion(g *Graph, live bool) {
	c.versions[versionKey(g.JourneyID, g.Version)] = g
	if live {
		c.entries[g.Entry.Event] = append(c.entries[g.Entry.Event], g)
	}
	for _, n := range g.Nodes {
		if n.Kind == model.NodeEvent && n != g.Entry {
			c.awaited[n.Event] = true
		}
	}
	for _, x := range g.ExitEvents {
		c.awaited[x.Event] = true
	}
}

// DraftVersion is the version number of a journey's compiled draft. Only test events (sent to
// test profiles, see docs/designer.md "Test mode") enter it; a test instance of a journey that
// has a draft runs on the draft instead of the live version, so a journey is tested before it is
// published. An in-flight test instance follows the draft as it is edited.
const DraftVersion = 0

// AddDraft adds a journey's compiled draft (g.Version must be DraftVersion).
func (c *Catalog) AddDraft(g *Graph) {
	c.versions[versionKey(g.JourneyID, g.Version)] = g
	c.drafts[g.Entry.Event] = append(c.drafts[g.Entry.Event], g)
	for _, n := range g.Nodes {
		if n.Kind == model.NodeEvent && n != g.Entry {
			c.awaited[n.Event] = true
		}
	}
	for _, x := range g.ExitEvents {
		c.awaited[x.Event] = true
	}
}

// TestEntries returns what a test event of this type may enter: every draft listening to it,
// and the live versions of journeys that have no such draft.
func (c *Catalog) TestEntries(eventType string) []*Graph {
	drafts := c.drafts[eventType]
	if len(drafts) == 0 {
		return c.entries[eventType]
	}
	out := append([]*Graph(nil), drafts...)
	for _, g := range c.entries[eventType] {
		if !c.hasDraft(g.JourneyID, drafts) {
			out = append(out, g)
		}
	}
	return out
}

func (c *Catalog) hasDraft(journeyID string, drafts []*Graph) bool {
	for _, d := range drafts {
		if d.JourneyID == journeyID {
			return true
		}
	}
	return false
}

// Awaited reports whether any instance could be waiting for, or exit on, this event type; when
// not, the engine skips looking at the profile's instances.
func (c *Catalog) Awaited(eventType string) bool { return c.awaited[eventType] }

// AddAction adds an action definition.
func (c *Catalog) AddAction(a *model.Action) { c.actions[a.ID] = a }

// AddDataSource adds a compiled data source.
func (c *Catalog) AddDataSource(s *datasource.Source) { c.sources[s.Def.ID] = s }

// DataSource returns a compiled data source.
func (c *Catalog) DataSource(id string) (*datasource.Source, bool) {
	s, ok := c.sources[id]
	return s, ok
}

// Version returns a compiled version, nil if unknown.
func (c *Catalog) Version(journeyID string, version int) *Graph {
	return c.versions[versionKey(journeyID, version)]
}

// Entries returns the live versions that an event of this type may enter.
func (c *Catalog) Entries(eventType string) []*Graph { return c.entries[eventType] }

// Action returns an action definition.
func (c *Catalog) Action(id string) (*model.Action, bool) {
	a, ok := c.actions[id]
	return a, ok
}
