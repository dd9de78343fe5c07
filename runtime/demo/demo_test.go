package demo_test

import (
	"testing"

	"github.com/wayline/wayline/runtime/demo"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

type resolver struct {
	defs    map[string]*model.EventDefinition
	schemas map[string]*schema.Schema
	action  model.Action
}

func (r resolver) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	d, ok := r.defs[name]
	return d, r.schemas[name], ok
}

func (r resolver) Action(id string) (*model.Action, bool) { return &r.action, id == r.action.ID }

func (r resolver) Plugin(string, string) (model.PluginVersion, bool) {
	return model.PluginVersion{}, false
}

func (r resolver) DataSource(string) (*model.DataSource, bool) { return nil, false }

// The demo that `make run` loads must always be a valid workspace: its schemas compile and its
// journey validates against them.
func TestDemoWorkspaceIsValid(t *testing.T) {
	r := resolver{defs: map[string]*model.EventDefinition{}, schemas: map[string]*schema.Schema{}, action: demo.Action("http://127.0.0.1:8080/demo/sink")}
	for i := range demo.Events {
		d := &demo.Events[i]
		s, err := schema.Compile(d.Schema)
		if err != nil {
			t.Fatalf("event type %s: %v", d.Name, err)
		}
		r.defs[d.Name], r.schemas[d.Name] = d, s
	}
	if _, errs := journey.Compile(demo.JourneyID, 1, demo.JourneyName, &demo.Journey, r); len(errs) > 0 {
		t.Fatalf("the demo journey does not validate: %v", errs)
	}
}
