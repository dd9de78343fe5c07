package journey

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

// testResolver is a small in-memory Resolver: a few event definitions with compiled schemas and
// one REST action.
type testResolver struct {
	defs    map[string]*model.EventDefinition
	schemas map[string]*schema.Schema
	actions map[string]*model.Action
	plugins map[string]*model.Plugin
	sources map[string]*model.DataSource
}

func (r *testResolver) Plugin(name, version string) (model.PluginVersion, bool) {
	p, ok := r.plugins[name]
	if !ok {
		return model.PluginVersion{}, false
	}
	if version == "" {
		return p.Latest()
	}
	return p.Find(version)
}

func (r *testResolver) DataSource(id string) (*model.DataSource, bool) {
	d, ok := r.sources[id]
	return d, ok
}

func (r *testResolver) EventDefinition(name string) (*model.EventDefinition, *schema.Schema, bool) {
	d, ok := r.defs[name]
	if !ok {
		return nil, nil, false
	}
	return d, r.schemas[name], true
}

func (r *testResolver) Action(id string) (*model.Action, bool) {
	a, ok := r.actions[id]
	return a, ok
}

func newTestResolver(t testing.TB) *testResolver {
	t.Helper()
	r := &testResolver{defs: map[string]*model.EventDefinition{}, schemas: map[string]*schema.Schema{}, actions: map[string]*model.Action{}}
	add := func(name, sch string) {
		s, err := schema.Compile([]byte(sch))
		if err != nil {
			t.Fatalf("test schema %s does not compile: %v", name, err)
		}
		r.defs[name] = &model.EventDefinition{Name: name, Schema: json.RawMessage(sch), IdentityField: "userId", IdentityNamespace: "user"}
		r.schemas[name] = s
	}
	// Closed schemas (additionalProperties false), so that a misspelt field is an error.
	add("signup", `{"type":"object","additionalProperties":false,"required":["userId"],"properties":{
		"userId":{"type":"string"},"email":{"type":"string"},"plan":{"type":"string","enum":["free","pro"]},"age":{"type":"integer"}}}`)
	add("purchase", `{"type":"object","additionalProperties":false,"properties":{
		"userId":{"type":"string"},"amount":{"type":"number"},"sku":{"type":"string"}}}`)
	add("quit", `{"type":"object","properties":{"userId":{"type":"string"}}}`)
	// An object that lists no properties leaves every field open.
	add("ping", `{"type":"object"}`)
	r.actions["hello"] = &model.Action{ID: "hello", Name: "Hello", Method: "POST",
		URL:     "https://example.com/hello/{{ event.data.userId }}",
		Payload: json.RawMessage(`{"email":"{{ event.data.email }}","user":"{{ profile.id }}"}`)}
	return r
}

// def builds a definition from JSON, the way the API receives it.
func def(t testing.TB, src string) *model.Definition {
	t.Helper()
	var d model.Definition
	dec := json.NewDecoder(strings.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("test definition does not decode: %v\n%s", err, src)
	}
	return &d
}

func describeErrs(errs apierr.List) string {
	if len(errs) == 0 {
		return "  (no errors)"
	}
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "  status=%d code=%s field=%q message=%q\n", e.Status, e.Code, e.Field, e.Message)
	}
	return b.String()
}

func TestCompileRejectsInvalidJourneys(t *testing.T) {
	r := newTestResolver(t)
	cases := []struct {
		name  string
		def   string
		code  apierr.Code
		field string
		node  string // the node id the message must start with ("node X: "); "" for journey-wide errors
		msg   string // a fragment the message must hold
	}{
		{"no nodes", `{"nodes":[]}`, apierr.JourneyInvalid, "nodes", "", "at least an entry event node"},
		{"entry is not an event", `{"nodes":[
			{"id":"start","kind":"wait","duration":"1h","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[0].kind", "start", "must be an event node"},
		{"bad node id", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"has space","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].id", "has space", "1-64 letters"},
		{"empty node id", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].id", "", "1-64 letters"},
		{"duplicate node id", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[2].id", "end", "used by another node"},
		{"unknown kind", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"x"},
			{"id":"x","kind":"teleport","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].kind", "x", `unknown kind "teleport"`},
		{"missing kind", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"x"},
			{"id":"x","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].kind", "x", "kind is required"},
		{"unknown entry event type", `{"nodes":[
			{"id":"start","kind":"event","event":"nosuch","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[0].event", "start", `"nosuch" is not defined`},
		{"entry without event", `{"nodes":[
			{"id":"start","kind":"event","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[0].event", "start", "event is required"},
		{"unknown exit event type", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"exitEvents":[{"event":"gone"}]}}`, apierr.JourneyInvalid, "rules.exitEvents[0].event", "", `"gone" is not defined`},
		{"dangling edge", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"nowhere"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[0].next", "start", `"nowhere", which does not exist`},
		{"missing next", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","duration":"1h"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].next", "pause", "next is missing"},
		{"edge back to the entry", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","duration":"1h","next":"start"}]}`, apierr.JourneyInvalid, "nodes[1].next", "pause", "entry node"},
		{"edge to itself", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","duration":"1h","next":"pause"}]}`, apierr.JourneyInvalid, "nodes[1].next", "pause", "points at itself"},
		{"unreachable node", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"},
			{"id":"orphan","kind":"wait","duration":"1h","next":"end"}]}`, apierr.JourneyInvalid, "nodes[2]", "orphan", "unreachable"},
		{"condition without else", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"pro","expression":"event.data.plan == 'pro'","next":"end"}]},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].else", "check", "else path"},
		{"condition with a dangling else", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"pro","expression":"event.data.plan == 'pro'","next":"end"}],"else":"void"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].else", "check", `"void", which does not exist`},
		{"condition without branches", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches", "check", "at least one branch"},
		{"branch with a dangling next", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"true","next":"end"},{"id":"b","expression":"false","next":"void"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[1].next", "check", `"void"`},
		{"branch with neither expression nor window", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].expression", "check", "needs an expression, a timeWindow or a plugin"},
		{"branch with both expression and window", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"true","timeWindow":{"start":"09:00","end":"17:00"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0]", "check", "one of expression, timeWindow or plugin"},
		{"CEL syntax error", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"event.data.plan ==","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].branches[0].expression", "check", "Syntax error"},
		{"CEL type error", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"1 + \"a\" > 2","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].branches[0].expression", "check", "no matching overload"},
		{"non-bool condition", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"\"x\"","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].branches[0].expression", "check", "must be a bool"},
		{"misspelt event field", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"a","expression":"event.data.emial == 'a@b.c'","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].branches[0].expression", "check", "unknown field event.data.emial"},
		{"bad entry filter", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","condition":"event.data.age >","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[0].condition", "start", "Syntax error"},
		{"split not adding up to 100", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":50,"next":"end"},{"id":"b","percent":40,"next":"end"}]},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].split", "ab", "add up to 90"},
		{"split arm of 0 percent", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":0,"next":"end"},{"id":"b","percent":100,"next":"end"}]},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].split[0].percent", "ab", "between 1 and 100"},
		{"split with branches", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":100,"next":"end"}],"branches":[{"id":"x","expression":"true","next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].split", "ab", "not both"},
		{"split arm with a dangling next", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":50,"next":"end"},{"id":"b","percent":50,"next":"void"}]},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].split[1].next", "ab", `"void"`},
		{"time window with a bad day", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"days":["mon","funday"],"start":"09:00","end":"17:00"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].timeWindow.days[1]", "hours", `"funday" is not a day`},
		{"time window with a bad start", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"start":"9am","end":"17:00"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].timeWindow.start", "hours", "not a time of day"},
		{"time window with a bad end", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"start":"09:00","end":"24:00"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].timeWindow.end", "hours", "not a time of day"},
		{"empty time window", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"start":"09:00","end":"09:00"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].timeWindow.end", "hours", "empty"},
		{"time window with an unknown zone", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"start":"09:00","end":"17:00","defaultTimeZone":"Mars/Olympus"},"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].branches[0].timeWindow.defaultTimeZone", "hours", "IANA"},
		{"wait with nothing to wait for", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].duration", "pause", "exactly one of duration, until or untilExpression (found 0)"},
		{"wait with two things to wait for", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","duration":"1h","until":"2030-01-01T00:00:00Z","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].duration", "pause", "(found 2)"},
		{"wait with a negative duration", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","duration":"-5m","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].duration", "pause", "positive"},
		{"wait until a non-date", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","until":"next tuesday","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].until", "pause", "RFC 3339"},
		{"wait until a non-timestamp expression", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"pause"},
			{"id":"pause","kind":"wait","untilExpression":"1 + 2","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].untilExpression", "pause", "timestamp"},
		{"entry with a timeout", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","timeout":"1h","timeoutNext":"end","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[0].timeout", "start", "cannot have a timeout"},
		{"event wait with timeoutNext but no timeout", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"buy"},
			{"id":"buy","kind":"event","event":"purchase","timeoutNext":"end","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].timeout", "buy", "timeoutNext is set but timeout is not"},
		{"event wait with a timeout but no timeoutNext", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"buy"},
			{"id":"buy","kind":"event","event":"purchase","timeout":"3d","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].timeoutNext", "buy", "timeoutNext is missing"},
		{"end with a next", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end","next":"start"}]}`, apierr.JourneyInvalid, "nodes[1].next", "end", "no next"},
		{"unknown action", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"nosuch","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.UnknownAction, "nodes[1].action", "send", `"nosuch" does not exist`},
		{"action without an action", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].action", "send", "action is required"},
		{"action with a bad payload override", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"hello","payload":{"x":"{{ event.data.plan + }}"},"next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].payload", "send", "x"},
		{"action with a dangling errorNext", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"hello","next":"end","errorNext":"void"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].errorNext", "send", `"void"`},
		{"update_profile with nothing to do", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"mark"},
			{"id":"mark","kind":"update_profile","next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].set", "mark", "at least one of set, unset or vars"},
		{"update_profile with a bad path", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"mark"},
			{"id":"mark","kind":"update_profile","set":{"a..b":"1"},"next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].set.a..b", "mark", "not a valid attribute path"},
		{"update_profile with a bad expression", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"mark"},
			{"id":"mark","kind":"update_profile","set":{"plan":"event.data.plan +"},"next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].set.plan", "mark", "Syntax error"},
		{"update_profile with a bad var", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"mark"},
			{"id":"mark","kind":"update_profile","vars":{"n":"event.data.agee"},"next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.InvalidExpression, "nodes[1].vars.n", "mark", "unknown field event.data.agee"},
		{"update_profile with an empty unset", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"mark"},
			{"id":"mark","kind":"update_profile","unset":["plan",""],"next":"end"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1].unset[1]", "mark", "empty"},
		{"unknown re-entrance mode", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"reentrance":{"mode":"sometimes"}}}`, apierr.JourneyInvalid, "rules.reentrance.mode", "", `"sometimes"`},
		{"re-entrance after without a wait", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"reentrance":{"mode":"after"}}}`, apierr.JourneyInvalid, "rules.reentrance.wait", "", "positive wait"},
		{"re-entrance never with a wait", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"reentrance":{"mode":"never","wait":"1d"}}}`, apierr.JourneyInvalid, "rules.reentrance.wait", "", `"after"`},
		{"negative journey timeout", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"timeout":"-1h"}}`, apierr.JourneyInvalid, "rules.timeout", "", "positive"},
		{"exit event with a bad condition", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"exitEvents":[{"event":"quit","condition":"event.data.userId =="}]}}`, apierr.InvalidExpression, "rules.exitEvents[0].condition", "", "Syntax error"},
		{"exit event without an event", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"exitEvents":[{"event":""}]}}`, apierr.JourneyInvalid, "rules.exitEvents[0].event", "", "event is required"},
		{"instant loop through a condition and an update", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"again","expression":"true","next":"bump"}],"else":"end"},
			{"id":"bump","kind":"update_profile","set":{"n":"1"},"next":"check"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1]", "check", "loop with no wait or event node"},
		{"instant loop through an action", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"hello","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"done","expression":"event.data.plan == 'pro'","next":"end"}],"else":"send"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1]", "send", "loop with no wait or event node"},
		{"instant loop through an error path", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"hello","next":"end","errorNext":"retry"},
			{"id":"retry","kind":"update_profile","set":{"failed":"true"},"next":"send"},
			{"id":"end","kind":"end"}]}`, apierr.JourneyInvalid, "nodes[1]", "send", "loop with no wait or event node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, errs := Compile("j", 1, "J", def(t, tc.def), r)
			if len(errs) == 0 {
				t.Fatalf("compiled, want error code=%s field=%q", tc.code, tc.field)
			}
			if g != nil {
				t.Errorf("Compile returned a graph along with %d errors", len(errs))
			}
			var found *apierr.Error
			for _, e := range errs {
				if e.Code == tc.code && e.Field == tc.field {
					found = e
					break
				}
			}
			if found == nil {
				t.Fatalf("no error with code=%s field=%q; got:\n%s", tc.code, tc.field, describeErrs(errs))
			}
			if found.Status != 422 {
				t.Errorf("status %d, want 422 (%s)", found.Status, found.Message)
			}
			if tc.node != "" && !strings.HasPrefix(found.Message, "node "+tc.node+": ") {
				t.Errorf("message %q does not start with %q", found.Message, "node "+tc.node+": ")
			}
			if tc.node == "" && strings.HasPrefix(found.Message, "node ") {
				t.Errorf("message %q names a node, but the error is not about one", found.Message)
			}
			if !strings.Contains(found.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", found.Message, tc.msg)
			}
		})
	}
}

func TestCompileReportsEveryProblemAtOnce(t *testing.T) {
	r := newTestResolver(t)
	_, errs := Compile("j", 1, "J", def(t, `{"nodes":[
		{"id":"start","kind":"event","event":"signup","next":"check"},
		{"id":"check","kind":"condition","branches":[{"id":"a","expression":"event.data.plan ==","next":"end"}]},
		{"id":"send","kind":"action","action":"nosuch","next":"end"},
		{"id":"end","kind":"end"}]}`), r)
	want := map[string]apierr.Code{
		"nodes[1].branches[0].expression": apierr.InvalidExpression,
		"nodes[1].else":                   apierr.JourneyInvalid,
		"nodes[2].action":                 apierr.UnknownAction,
	}
	got := map[string]apierr.Code{}
	for _, e := range errs {
		got[e.Field] = e.Code
	}
	for f, c := range want {
		if got[f] != c {
			t.Errorf("field %s: code %q, want %q; all errors:\n%s", f, got[f], c, describeErrs(errs))
		}
	}
}

func TestCompileTooManyNodes(t *testing.T) {
	r := newTestResolver(t)
	d := &model.Definition{Nodes: []model.Node{{ID: "start", Kind: model.NodeEvent, Event: "signup", Next: "n0"}}}
	for i := 0; i < MaxNodes; i++ {
		next := fmt.Sprintf("n%d", i+1)
		if i == MaxNodes-1 {
			next = "end"
		}
		d.Nodes = append(d.Nodes, model.Node{ID: fmt.Sprintf("n%d", i), Kind: model.NodeWait, Duration: model.Duration(time.Minute), Next: next})
	}
	d.Nodes = append(d.Nodes, model.Node{ID: "end", Kind: model.NodeEnd})
	_, errs := Compile("j", 1, "J", d, r)
	if len(errs) != 1 || errs[0].Field != "nodes" || !strings.Contains(errs[0].Message, "limit of 500") {
		t.Fatalf("%d nodes: want one error on field nodes naming the limit; got:\n%s", len(d.Nodes), describeErrs(errs))
	}
}

func TestCompileAcceptsValidJourneys(t *testing.T) {
	r := newTestResolver(t)
	cases := []struct {
		name  string
		def   string
		check func(t *testing.T, g *Graph)
	}{
		{"onboarding", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"is-pro"},
			{"id":"is-pro","kind":"condition","branches":[{"id":"pro","expression":"has(event.data.plan) && event.data.plan == \"pro\"","next":"hello-now"}],"else":"pause"},
			{"id":"hello-now","kind":"action","action":"hello","next":"end"},
			{"id":"pause","kind":"wait","duration":"2s","next":"hello-later"},
			{"id":"hello-later","kind":"action","action":"hello","next":"mark","errorNext":"end"},
			{"id":"mark","kind":"update_profile","set":{"greeted":"true","greetedAt":"string(now)"},"unset":["trial"],"vars":{"n":"1"},"next":"end"},
			{"id":"end","kind":"end"}],
			"rules":{"exitEvents":[{"event":"quit","condition":"event.data.userId != ''"}],"reentrance":{"mode":"after","wait":"7d"},"timeout":"10d"}}`,
			func(t *testing.T, g *Graph) {
				if g.Entry == nil || g.Entry.ID != "start" {
					t.Errorf("entry %v, want start", g.Entry)
				}
				if got := strings.Join(g.EventTypes, ","); got != "quit,signup" {
					t.Errorf("event types %q, want quit,signup", got)
				}
				if g.Timeout != 10*24*time.Hour {
					t.Errorf("timeout %s, want 240h", g.Timeout)
				}
				if g.Reentrance.Mode != model.ReenterAfter || g.Reentrance.Wait.D() != 7*24*time.Hour {
					t.Errorf("reentrance %+v, want after 7d", g.Reentrance)
				}
				c := g.Nodes["is-pro"]
				if len(c.Conds) != 1 || c.Conds[0].Expr == nil || c.Conds[0].Next != g.Nodes["hello-now"] || c.ElseNode != g.Nodes["pause"] {
					t.Errorf("condition not wired: %+v", c)
				}
				a := g.Nodes["hello-later"]
				if a.URLT == nil || a.PayloadT == nil || a.NextNode != g.Nodes["mark"] || a.ErrorNode != g.Nodes["end"] {
					t.Errorf("action not compiled: %+v", a)
				}
				m := g.Nodes["mark"]
				if len(m.SetOps) != 2 || m.SetOps[0].Path[0] != "greeted" || len(m.VarOps) != 1 {
					t.Errorf("update_profile ops: set %+v vars %+v", m.SetOps, m.VarOps)
				}
				if len(g.ExitEvents) != 1 || g.ExitEvents[0].Condition == nil {
					t.Errorf("exit events: %+v", g.ExitEvents)
				}
			}},
		{"defaults", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"end"},
			{"id":"end","kind":"end"}]}`,
			func(t *testing.T, g *Graph) {
				if g.Timeout != model.DefaultJourneyTimeout || g.Reentrance.Mode != model.ReenterNever {
					t.Errorf("defaults: timeout %s reentrance %+v", g.Timeout, g.Reentrance)
				}
				if g.JourneyID != "j" || g.Version != 1 || g.Name != "J" {
					t.Errorf("identity: %s v%d %q", g.JourneyID, g.Version, g.Name)
				}
			}},
		{"percentage split", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"ab"},
			{"id":"ab","kind":"condition","split":[{"id":"a","percent":30,"next":"end"},{"id":"b","percent":70,"next":"pause"}]},
			{"id":"pause","kind":"wait","duration":"1h","next":"end"},
			{"id":"end","kind":"end"}]}`,
			func(t *testing.T, g *Graph) {
				s := g.Nodes["ab"].Splits
				if len(s) != 2 || s[0].Upper != 30 || s[1].Upper != 100 || s[1].Next != g.Nodes["pause"] {
					t.Errorf("split arms: %+v", s)
				}
			}},
		{"time window and waits of every kind", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"hours"},
			{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"days":["Mon"," fri "],"start":"22:00","end":"06:00","defaultTimeZone":"Europe/Paris"},"next":"w1"}],"else":"w2"},
			{"id":"w1","kind":"wait","until":"2030-01-01T09:00:00+01:00","next":"end"},
			{"id":"w2","kind":"wait","untilExpression":"now + duration('1h')","next":"w3"},
			{"id":"w3","kind":"wait","untilExpression":"'2030-01-01T00:00:00Z'","next":"end"},
			{"id":"end","kind":"end"}]}`,
			func(t *testing.T, g *Graph) {
				if w := g.Nodes["hours"].Conds[0].Window; w == nil || !w.days[time.Monday] || !w.days[time.Friday] || w.days[time.Tuesday] {
					t.Errorf("window days: %+v", w)
				}
				if u := g.Nodes["w1"].UntilAt; !u.Equal(time.Date(2030, 1, 1, 8, 0, 0, 0, time.UTC)) || u.Location() != time.UTC {
					t.Errorf("until %v, want 2030-01-01T08:00:00Z in UTC", u)
				}
				if g.Nodes["w2"].UntilP == nil || g.Nodes["w3"].UntilP == nil {
					t.Errorf("untilExpression not compiled")
				}
			}},
		{"event wait with a timeout path", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"buy"},
			{"id":"buy","kind":"event","event":"purchase","condition":"event.data.amount > 10","timeout":"3d","timeoutNext":"nudge","next":"end"},
			{"id":"nudge","kind":"action","action":"hello","payload":{"amount":"{{ event.data.amount }}"},"next":"end"},
			{"id":"end","kind":"end"}]}`,
			func(t *testing.T, g *Graph) {
				b := g.Nodes["buy"]
				if b.Filter == nil || b.TimeoutNode != g.Nodes["nudge"] || b.NextNode != g.Nodes["end"] {
					t.Errorf("event wait not wired: %+v", b)
				}
				if got := strings.Join(g.EventTypes, ","); got != "purchase,signup" {
					t.Errorf("event types %q", got)
				}
			}},
		{"loop through a wait", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"check"},
			{"id":"check","kind":"condition","branches":[{"id":"again","expression":"event.data.plan == 'free'","next":"bump"}],"else":"end"},
			{"id":"bump","kind":"update_profile","set":{"nudges":"1"},"next":"pause"},
			{"id":"pause","kind":"wait","duration":"1d","next":"check"},
			{"id":"end","kind":"end"}]}`, nil},
		{"loop through an event wait", `{"nodes":[
			{"id":"start","kind":"event","event":"signup","next":"send"},
			{"id":"send","kind":"action","action":"hello","next":"buy"},
			{"id":"buy","kind":"event","event":"purchase","timeout":"1d","timeoutNext":"send","next":"end"},
			{"id":"end","kind":"end"}]}`, nil},
		{"fields of an open schema", `{"nodes":[
			{"id":"start","kind":"event","event":"ping","condition":"event.data.anything.at.all == 1","next":"end"},
			{"id":"end","kind":"end"}]}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, errs := Compile("j", 1, "J", def(t, tc.def), r)
			if len(errs) > 0 {
				t.Fatalf("want a valid journey; got:\n%s", describeErrs(errs))
			}
			if g == nil {
				t.Fatal("no errors but no graph")
			}
			if tc.check != nil {
				tc.check(t, g)
			}
		})
	}
}

// A field that only one of the journey's event types declares is accepted: the event in scope
// depends on the path the instance took.
func TestCompileAcceptsFieldsOfAnyListenedEventType(t *testing.T) {
	r := newTestResolver(t)
	d := def(t, `{"nodes":[
		{"id":"start","kind":"event","event":"signup","next":"buy"},
		{"id":"buy","kind":"event","event":"purchase","next":"check"},
		{"id":"check","kind":"condition","branches":[{"id":"big","expression":"event.data.amount > 100","next":"end"}],"else":"end"},
		{"id":"end","kind":"end"}]}`)
	if _, errs := Compile("j", 1, "J", d, r); len(errs) > 0 {
		t.Fatalf("amount is declared by purchase; got:\n%s", describeErrs(errs))
	}
	d.Nodes[1].Event = "signup"
	_, errs := Compile("j", 1, "J", d, r)
	if len(errs) != 1 || errs[0].Field != "nodes[2].branches[0].expression" || !strings.Contains(errs[0].Message, "event.data.amount") {
		t.Fatalf("with only signup events, amount is unknown; want one error on nodes[2].branches[0].expression; got:\n%s", describeErrs(errs))
	}
}

// Compile must not change the definition it is given: the API stores it as sent.
func TestCompileLeavesTheDefinitionAlone(t *testing.T) {
	r := newTestResolver(t)
	src := `{"nodes":[
		{"id":"start","kind":"event","event":"signup","next":"hours"},
		{"id":"hours","kind":"condition","branches":[{"id":"w","timeWindow":{"start":"09:00","end":"17:00"},"next":"end"}],"else":"end"},
		{"id":"end","kind":"end"}]}`
	d := def(t, src)
	before, _ := json.Marshal(d)
	if _, errs := Compile("j", 1, "J", d, r); len(errs) > 0 {
		t.Fatalf("want valid; got:\n%s", describeErrs(errs))
	}
	after, _ := json.Marshal(d)
	if string(before) != string(after) {
		t.Fatalf("Compile changed the definition:\nbefore %s\nafter  %s", before, after)
	}
}

func TestListedPropertiesCatchTyposWithoutAdditionalPropertiesFalse(t *testing.T) {
	r := newTestResolver(t)
	_, errs := Compile("j", 1, "J", def(t, `{"nodes":[
		{"id":"start","kind":"event","event":"quit","condition":"event.data.userld == 'x'","next":"end"},
		{"id":"end","kind":"end"}]}`), r)
	if len(errs) != 1 || errs[0].Code != apierr.InvalidExpression || !strings.Contains(errs[0].Message, "event.data.userld") {
		t.Fatalf("a misspelt field of a schema that lists its properties must be reported; got:\n%s", describeErrs(errs))
	}
}

func TestPluginBranchesArePinnedAndTheirConfigChecked(t *testing.T) {
	r := newTestResolver(t)
	r.plugins = map[string]*model.Plugin{"tier": {Name: "tier", Versions: []model.PluginVersion{
		{Version: "1.0.0", SHA256: "aa01", Kinds: []string{"condition"}, Manifest: json.RawMessage(`{"configSchema":{"type":"object","required":["tier"],"properties":{"tier":{"type":"string","enum":["gold","silver"]}}}}`)},
		{Version: "1.1.0", SHA256: "aa02", Kinds: []string{"condition"}, Manifest: json.RawMessage(`{}`)},
	}}, "crm": {Name: "crm", Versions: []model.PluginVersion{{Version: "1.0.0", SHA256: "bb01", Kinds: []string{"action"}, Manifest: json.RawMessage(`{}`)}}}}
	journeyWith := func(plugin string) *model.Definition {
		return def(t, `{"nodes":[{"id":"in","kind":"event","event":"signup","next":"c"},
			{"id":"c","kind":"condition","branches":[{"id":"b","plugin":`+plugin+`,"next":"end"}],"else":"end"},
			{"id":"end","kind":"end"}]}`)
	}
	cases := []struct {
		plugin, field, msg string
	}{
		{`{"name":"tier","version":"1.0.0","config":{"tier":"bronze"}}`, "nodes[1].branches[0].plugin.config.tier", "config"},
		{`{"name":"tier","version":"1.0.0","config":{}}`, "nodes[1].branches[0].plugin.config.tier", "required"},
		{`{"name":"tier","version":"9.9.9"}`, "nodes[1].branches[0].plugin.version", "no version"},
		{`{"name":"ghost"}`, "nodes[1].branches[0].plugin.name", "no plugin named"},
		{`{"name":"crm","version":"1.0.0"}`, "nodes[1].branches[0].plugin.name", "action plugin"},
		{`{"name":"tier","config":[1]}`, "nodes[1].branches[0].plugin.config", "object"},
	}
	for _, c := range cases {
		_, errs := Compile("j", 1, "J", journeyWith(c.plugin), r)
		found := false
		for _, e := range errs {
			if e.Field == c.field && strings.Contains(e.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want an error on %s mentioning %q, got\n%s", c.plugin, c.field, c.msg, describeErrs(errs))
		}
	}
	g, errs := Compile("j", 1, "J", journeyWith(`{"name":"tier","version":"1.0.0","config":{"tier":"gold"}}`), r)
	if len(errs) > 0 {
		t.Fatalf("a valid config: %s", describeErrs(errs))
	}
	if use := g.Nodes["c"].Conds[0].Plugin; use == nil || use.Version != "1.0.0" || string(use.Config) != `{"tier":"gold"}` {
		t.Fatalf("compiled use: %+v", use)
	}
	// An open version compiles against the latest and Pin writes it into the definition.
	open := journeyWith(`{"name":"tier"}`)
	if _, errs := Compile("j", 1, "J", open, r); len(errs) > 0 {
		t.Fatalf("an open version: %s", describeErrs(errs))
	}
	pinned := Pin(open, r)
	if v := pinned.Nodes[1].Branches[0].Plugin.Version; v != "1.1.0" {
		t.Fatalf("Pin chose %q, want the latest 1.1.0", v)
	}
	if open.Nodes[1].Branches[0].Plugin.Version != "" {
		t.Fatalf("Pin changed its input")
	}
}
