package api

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// overlay is a resolver that sees one changed definition on top of the current catalog.
type overlay struct {
	base   journey.Resolver
	action *model.Action
	event  *model.EventDefinition
	schema *schema.Schema
	source *model.DataSource
}

func (o overlay) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	if o.event != nil && o.event.Name == name {
		return o.event, o.schema, true
	}
	return o.base.EventDefinition(name)
}

func (o overlay) Action(id string) (*model.Action, bool) {
	if o.action != nil && o.action.ID == id {
		return o.action, true
	}
	return o.base.Action(id)
}

func (o overlay) Plugin(name, version string) (model.PluginVersion, bool) {
	return o.base.Plugin(name, version)
}

func (o overlay) DataSource(id string) (*model.DataSource, bool) {
	if o.source != nil && o.source.ID == id {
		return o.source, true
	}
	return o.base.DataSource(id)
}

// breaksPublished compiles every published version that still has or takes instances (live
// and stopped journeys) against a changed definition, and refuses the change when one of them
// would no longer compile: its instances would stop where they stand.
func (s *Server) breaksPublished(r journey.Resolver) error {
	var problems []string
	err := s.d.Meta.ListAll(meta.KindJourney, func(id string, raw []byte) error {
		var j model.Journey
		if json.Unmarshal(raw, &j) != nil || j.Versions == 0 {
			return nil
		}
		for v := 1; v <= j.Versions; v++ {
			var jv model.JourneyVersion
			if s.d.Meta.Get(meta.KindJourneyVersion, versionID(j.ID, v), &jv) != nil {
				continue
			}
			if _, errs := journey.Compile(j.ID, v, jv.Name, &jv.Definition, r); len(errs) > 0 {
				problems = append(problems, fmt.Sprintf("journey %s v%d: %s", j.ID, v, errs[0].Message))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return apierr.New(409, apierr.InUse, "", "this change would break published journeys (%s); change them first, or make a compatible change", strings.Join(problems, "; "))
	}
	return nil
}
