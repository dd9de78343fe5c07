package main

import (
	"encoding/json"
	"time"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// The demo workspace: three event types, a REST action that posts to the built-in sink, and a
// live "welcome" journey. Loading it again keeps what exists (so a user's edits survive) and
// only points the action at this run's sink address.
var demoEvents = []model.EventDefinition{
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

func demoAction(sinkURL string) model.Action {
	return model.Action{ID: "welcome-webhook", Name: "Welcome webhook", Method: "POST", URL: sinkURL + "/welcome",
		Description: "Posts a welcome message to the built-in demo sink (GET /demo/sink shows what arrived)",
		Headers:     map[string]string{"X-Source": "wayline-demo"},
		Payload:     json.RawMessage(`{"to":"{{ event.data.email }}","userId":"{{ event.data.userId }}","plan":"{{ has(event.data.plan) ? event.data.plan : 'free' }}","message":"Welcome aboard!"}`),
		Timeout:     model.Duration(5 * time.Second), Retry: model.RetryPolicy{MaxAttempts: 5, InitialBackoff: model.Duration(time.Second), MaxBackoff: model.Duration(time.Minute)}}
}

var demoJourney = model.Definition{
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

func loadDemo(md *meta.Store, sinkURL string) error {
	now := time.Now().UTC()
	for _, d := range demoEvents {
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		if err := putIfAbsent(md, meta.KindEventDef, d.Name, &d); err != nil {
			return err
		}
	}
	a := demoAction(sinkURL)
	err := md.Update(meta.KindAction, a.ID, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var old model.Action
			if err := json.Unmarshal(cur, &old); err != nil {
				return nil, err
			}
			old.URL = a.URL // the sink moves with --listen
			return &old, nil
		}
		a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
		return &a, nil
	})
	if err != nil {
		return err
	}
	return md.Update(meta.KindJourney, "welcome", func(cur []byte, tx *meta.Tx) (any, error) {
		if cur != nil {
			var j model.Journey
			err := json.Unmarshal(cur, &j)
			return &j, err
		}
		v := model.JourneyVersion{JourneyID: "welcome", Version: 1, Name: "Welcome new users", Definition: demoJourney, PublishedAt: now}
		if err := tx.Put(meta.KindJourneyVersion, "welcome/00000001", &v); err != nil {
			return nil, err
		}
		return &model.Journey{ID: "welcome", Name: v.Name, Description: "Demo: greet new users; pro users at once, others after 2 seconds",
			Status: model.StatusLive, LiveVersion: 1, Versions: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}, nil
	})
}

func putIfAbsent(md *meta.Store, kind, id string, v any) error {
	return md.Update(kind, id, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var keep json.RawMessage = append([]byte(nil), cur...)
			return keep, nil
		}
		return v, nil
	})
}
