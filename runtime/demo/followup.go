package demo

import (
	"time"

	"github.com/wayline/wayline/runtime/model"
)

// The demo's second journey thanks gold customers for an order by email, reading their tier
// and email consent from a REST data source (a stand-in CRM served by the node under
// /demo/crm), and waits three days for a click on the mail's link.
const (
	FollowupJourneyID   = "order-followup"
	FollowupJourneyName = "Thank gold customers"
	DataSourceID        = "crm"
	EmailActionID       = "order-thanks"
)

// DataSource is the demo's REST data source, the CRM at crmURL: ds.crm.customer.tier and
// ds.crm.customer.emailOptIn, for the profile's id, cached for a minute.
func DataSource(crmURL string) model.DataSource {
	return model.DataSource{ID: DataSourceID, Name: "Demo CRM", Kind: model.DataSourceREST,
		Description: "A stand-in customer system served by the demo node (GET /demo/crm/customers/{id})",
		REST:        &model.RESTSource{BaseURL: crmURL, Timeout: model.Duration(2 * time.Second), RatePerSecond: 100},
		Groups: []model.DataSourceGroup{{Name: "customer", Params: map[string]string{"id": "profile.id"}, Path: "/customers/{{ params.id }}",
			Fields:   []byte(`{"type":"object","properties":{"tier":{"type":"string","enum":["gold","silver"]},"emailOptIn":{"type":"boolean"}}}`),
			Defaults: map[string]any{"tier": "silver", "emailOptIn": false}}},
		CacheTTL: model.Duration(time.Minute), OnError: "default"}
}

// EmailAction is the demo's email, sent over plain SMTP to the sink at host:port.
func EmailAction(host string, port int) model.Action {
	return model.Action{ID: EmailActionID, Name: "Thank-you email", Kind: model.ActionEmail,
		Description: "Thanks gold customers for their order; the demo's SMTP sink receives it (GET /demo/sink)",
		Provider:    &model.Provider{Host: host, Port: port, TLS: "none", From: "Wayline demo <demo@wayline.invalid>"},
		Message: &model.Message{
			Subject: `Thank you for your order {{ event.data.orderId }}`,
			HTML: `<p>Hello,</p><p>Thank you for your order of {{ event.data.amount }} — as a {{ ds.crm.customer.tier }} customer, ` +
				`your next delivery is free.</p><p><a href="https://example.com/orders/{{ event.data.orderId }}">See your order</a></p>`,
			Text: `Thank you for your order of {{ event.data.amount }}. See it at https://example.com/orders/{{ event.data.orderId }}`,
		},
		Capping: &model.Capping{Max: 3, Period: model.Duration(24 * time.Hour)},
		Timeout: model.Duration(10 * time.Second), Retry: model.RetryPolicy{MaxAttempts: 3, InitialBackoff: model.Duration(time.Second), MaxBackoff: model.Duration(10 * time.Second)}}
}

// FollowupJourney is the definition of the demo's "order-followup" journey.
var FollowupJourney = model.Definition{
	Nodes: []model.Node{
		{ID: "order", Kind: model.NodeEvent, Event: "order.placed", Next: "sync", Position: &model.Position{X: 0, Y: 0}},
		// Consent lives in the CRM: copy it onto the profile, where the email channel reads it.
		{ID: "sync", Kind: model.NodeUpdateProfile, Next: "gold", Position: &model.Position{X: 250, Y: 0},
			Set: map[string]string{"tier": "ds.crm.customer.tier", "consent.email": "ds.crm.customer.emailOptIn"}},
		{ID: "gold", Kind: model.NodeCondition, Position: &model.Position{X: 500, Y: 0},
			Branches: []model.Branch{{ID: "is-gold", Name: "Gold customer", Expression: `ds.crm.customer.tier == "gold"`, Next: "thank"}},
			Else:     "done"},
		{ID: "thank", Kind: model.NodeAction, Action: EmailActionID, Next: "clicked", ErrorNext: "done", Position: &model.Position{X: 750, Y: -100}},
		{ID: "clicked", Kind: model.NodeEvent, Event: "message.clicked", Condition: "event.data.instanceId == journey.instanceId",
			Timeout: model.Duration(72 * time.Hour), TimeoutNext: "done", Next: "mark", Position: &model.Position{X: 1000, Y: -100}},
		{ID: "mark", Kind: model.NodeUpdateProfile, Set: map[string]string{"clickedThankYou": "true"}, Next: "done", Position: &model.Position{X: 1250, Y: -100}},
		{ID: "done", Kind: model.NodeEnd, Position: &model.Position{X: 1500, Y: 0}},
	},
	Rules: model.Rules{Reentrance: model.Reentrance{Mode: model.ReenterAfter, Wait: model.Duration(time.Minute)}},
}
