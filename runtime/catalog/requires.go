package catalog

import (
	"encoding/json"

	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// Ref names one metadata record.
type Ref struct{ Kind, ID string }

// Requires names the records besides this one that a node needs to act on it: a live journey
// needs its live version; a journey version needs the event definitions, actions, data sources
// and plugins it uses. The cluster sends them with the record, so that a node that learns of a
// live journey can run it at once. A record that does not decode, or needs nothing, gets nil.
//
// A version's references are found by compiling it against the current snapshot and noting
// every lookup, so the list follows the compiler instead of a second reading of the
// definition that could drift from it.
func (c *Catalog) Requires(kind, id string, value []byte) []Ref {
	switch kind {
	case meta.KindJourney:
		var j model.Journey
		if json.Unmarshal(value, &j) != nil || j.Status != model.StatusLive || j.LiveVersion <= 0 {
			return nil
		}
		return []Ref{{meta.KindJourneyVersion, model.JourneyVersionID(j.ID, j.LiveVersion)}}
	case meta.KindJourneyVersion:
		var v model.JourneyVersion
		if json.Unmarshal(value, &v) != nil {
			return nil
		}
		r := &recorder{base: c.Current(), seen: map[Ref]bool{}}
		journey.Compile(v.JourneyID, v.Version, v.Name, &v.Definition, r)
		return r.refs
	}
	return nil
}

// recorder is a journey.Resolver that answers from base and notes what was asked.
type recorder struct {
	base journey.Resolver
	seen map[Ref]bool
	refs []Ref
}

func (r *recorder) note(kind, id string) {
	if ref := (Ref{kind, id}); !r.seen[ref] {
		r.seen[ref] = true
		r.refs = append(r.refs, ref)
	}
}

func (r *recorder) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	r.note(meta.KindEventDef, name)
	return r.base.EventDefinition(name)
}

func (r *recorder) Action(id string) (*model.Action, bool) {
	r.note(meta.KindAction, id)
	return r.base.Action(id)
}

func (r *recorder) Plugin(name, version string) (model.PluginVersion, bool) {
	r.note(meta.KindPlugin, name)
	return r.base.Plugin(name, version)
}

func (r *recorder) DataSource(id string) (*model.DataSource, bool) {
	r.note(meta.KindDataSource, id)
	return r.base.DataSource(id)
}
