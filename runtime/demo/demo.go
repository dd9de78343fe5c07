// Package demo defines the demo workspace that `wayline serve --demo` loads — three event types,
// a REST action to the built-in sink and the "welcome" journey — so that the node, its tests and
// the engine benchmarks all use the same one.
package demo

import (
	"encoding/json"
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// JourneyID and JourneyName name the demo journey.
const (
	JourneyID   = "welcome"
	JourneyName = "Welcome new users"
)

// Events are the demo's event types.
var Events = []model.EventDefinition{
	{Name: "user.signup", Description: "A user created an account", IdentityField: "userId", IdentityNamespace: "user",
		Schema: json.RawMessage(`{"type":"object","required":["userId","email"],"properties":{
			"userId":{"type":"string","minLength":1,"maxLength":64},
			"email":{"type":"string","format":"email"},
			"plan":{"type":"string","enum":["free","pro"]},
			"country":{"type":"string","minLength":2,"maxLength":2}}}`)},
	{Name: "order.placed", Description: "A user placed an order", IdentityField: "userId", IdentityNamespace: "user",
		Schema: json.RawMessage(`{"type":"object","required":["userId","orderId","amount"],"properties":{
			"userId":{"type":"string","minLength":1},
			"orderId":{"type":"string"},
			"amount":{"type":"number","minimum":0}}}`)},
	{Name: "user.unsubscribed", Description: "A user opted out of messages", IdentityField: "userId", IdentityNamespace: "user",
		Schema: json.RawMessage(`{"type":"object","required":["userId"],"properties":{"userId":{"type":"string"}}}`)},
}

// Action is the demo's REST action, posting to the sink at sinkURL.
func Action(sinkURL string) model.Action {
	return model.Action{ID: "welcome-webhook", Name: "Welcome webhook", Method: "POST", URL: sinkURL + "/welcome",
		Description: "Posts a welcome message to the built-in demo sink (GET /demo/sink shows what arrived)",
		Headers:     map[string]string{"X-Source": "wayline-demo"},
		Payload:     json.RawMessage(`{"to":"{{ event.data.email }}","userId":"{{ event.data.userId }}","plan":"{{ has(event.data.plan) ? event.data.plan : 'free' }}","message":"Welcome aboard!"}`),
		Timeout:     model.Duration(5 * time.Second), Retry: model.RetryPolicy{MaxAttempts: 5, InitialBackoff: model.Duration(time.Second), MaxBackoff: model.Duration(time.Minute)}}
}

// Journey is the definition of the demo's live "welcome" journey (JourneyID).
var Journey = model.Definition{
	Nodes: []model.Node{
		{ID: "signup", Kind: model.NodeEvent, Event: "user.signup", Next: "check-plan", Position: &model.Position{X: 0, Y: 0}},
		{ID: "check-plan", Kind: model.NodeCondition, Position: &model.Position{X: 250, Y: 0},
			Branches: []model.Branch{{ID: "pro", Name: "Pro plan", Expression: `has(event.data.plan) && event.data.plan == "pro"`, Next: "pro-welcome"}},
			Else:     "wait-a-bit"},
		{ID: "pro-welcome", Kind: model.NodeAction, Action: "welcome-webhook", Next: "mark", Position: &model.Position{X: 500, Y: -100},
			Payload: json.RawMessage(`{"to":"{{ event.data.email }}","userId":"{{ event.data.userId }}","plan":"pro","message":"Welcome, pro!"}`)},
		{ID: "wait-a-bit", Kind: model.NodeWait, Duration: model.Duration(2 * time.Second), Next: "welcome", Position: &model.Position{X: 500, Y: 100}},
		{ID: "welcome", Kind: model.NodeAction, Action: "welcome-webhook", Next: "mark", Position: &model.Position{X: 750, Y: 100}},
		{ID: "mark", Kind: model.NodeUpdateProfile, Next: "done", Position: &model.Position{X: 1000, Y: 0},
			Set: map[string]string{"welcomed": "true", "email": "event.data.email"}},
		{ID: "done", Kind: model.NodeEnd, Position: &model.Position{X: 1250, Y: 0}},
	},
	Rules: model.Rules{Reentrance: model.Reentrance{Mode: model.ReenterNever}, ExitEvents: []model.ExitEvent{{Event: "user.unsubscribed"}}},
}
