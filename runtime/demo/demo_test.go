package demo_test

import (
	"testing"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/demo"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

type resolver struct {
	defs    map[string]*model.EventDefinition
	schemas map[string]*schema.Schema
	action  model.Action
	email   model.Action
	source  model.DataSource
}

func (r resolver) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	d, ok := r.defs[name]
	return d, r.schemas[name], ok
}

func (r resolver) Action(id string) (*model.Action, bool) {
	if id == r.email.ID {
		return &r.email, true
	}
	return &r.action, id == r.action.ID
}

func (r resolver) Plugin(string, string) (model.PluginVersion, bool) {
	return model.PluginVersion{}, false
}

func (r resolver) DataSource(id string) (*model.DataSource, bool) {
	return &r.source, id == r.source.ID && r.source.ID != ""
}

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
	// The follow-up journey reads the CRM data source and sends the email action; the message
	// reactions it waits for are system event types every node defines.
	r.email, r.source = demo.EmailAction("127.0.0.1", 2525), demo.DataSource("http://127.0.0.1:8080/demo/crm")
	r.defs["message.clicked"] = &model.EventDefinition{Name: "message.clicked", IdentityField: "profileId"}
	if _, errs := journey.Compile(demo.FollowupJourneyID, 1, demo.FollowupJourneyName, &demo.FollowupJourney, r); len(errs) > 0 {
		t.Fatalf("the follow-up journey does not validate: %v", errs)
	}
	// The standard validation of the action and the data source, as the API runs it.
	if errs := actions.ValidateAction(&r.email); len(errs) > 0 {
		t.Fatalf("the demo email action: %v", errs)
	}
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := datasource.Compile(&r.source, env); err != nil {
		t.Fatalf("the demo data source: %v", err)
	}
}
