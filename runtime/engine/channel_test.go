package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/channels"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// recordingProvider keeps the messages it is asked to send.
type recordingProvider struct {
	mu   sync.Mutex
	msgs []channels.Rendered
	refs []channels.Ref
}

func (p *recordingProvider) Send(_ context.Context, _ *model.Action, m *channels.Rendered, ref channels.Ref) channels.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, *m)
	p.refs = append(p.refs, ref)
	return channels.Result{OK: true}
}
func (p *recordingProvider) Close() {}
func (p *recordingProvider) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

func channelHarness(t *testing.T) (*harness, *recordingProvider) {
	h := newHarness(t)
	rec := &recordingProvider{}
	h.caller.Channels = &channels.Service{Providers: map[string]channels.Provider{model.ActionEmail: rec}}
	h.put(meta.KindEventDef, "optin", model.EventDefinition{Name: "optin", IdentityField: "userId", IdentityNamespace: "user",
		Schema: json.RawMessage(`{"type":"object","properties":{"userId":{"type":"string"},"email":{"type":"string"},"name":{"type":"string"},"tz":{"type":"string"},"consent":{"type":"boolean"}}}`)})
	return h, rec
}

func emailAct(id string, mod func(*model.Action)) model.Action {
	a := model.Action{ID: id, Name: id, Kind: model.ActionEmail,
		Provider: &model.Provider{Host: "smtp.test", From: "news@shop.test"},
		Message: &model.Message{Subject: "Hi {{ profile.attributes.name ?? \"there\" }}",
			HTML: "<p>Hello {{ profile.attributes.name }}</p>{{#if event.data.consent}}<p>thanks</p>{{/if}}", Text: "Hello {{ profile.attributes.name }}"},
		Retry: model.RetryPolicy{MaxAttempts: 1}}
	if mod != nil {
		mod(&a)
	}
	return a
}

// optinJourney stores the profile's address, consent and zone from the event, then sends.
func optinJourney(action string) model.Definition {
	return model.Definition{Nodes: []model.Node{
		{ID: "in", Kind: "event", Event: "optin", Next: "set"},
		{ID: "set", Kind: "update_profile", Set: map[string]string{"email": "event.data.email", "name": "event.data.name",
			"consent.email": "event.data.consent", "timezone": "event.data.tz"}, Next: "send"},
		{ID: "send", Kind: "action", Action: action, Next: "end", ErrorNext: "failed"},
		{ID: "failed", Kind: "end"},
		{ID: "end", Kind: "end"},
	}, Rules: model.Rules{Reentrance: model.Reentrance{Mode: model.ReenterAfter, Wait: model.Duration(time.Millisecond)}}}
}

func TestEmailActionRendersForTheProfileAndNeedsConsentAndAddress(t *testing.T) {
	h, rec := channelHarness(t)
	h.put(meta.KindAction, "welcome", emailAct("welcome", nil))
	h.publish("welcome", optinJourney("welcome"))
	h.send("optin", "ann", map[string]any{"email": "ann@example.com", "name": "<Ann>", "consent": true, "tz": "UTC"})
	h.send("optin", "bob", map[string]any{"email": "bob@example.com", "name": "Bob", "consent": false})
	h.send("optin", "cy", map[string]any{"name": "Cy", "consent": true})
	h.waitFor("ann's mail sent and two error paths", func() bool {
		return rec.count() == 1 && h.node("welcome", 1, "failed")["entered"] == 2
	})
	m := rec.msgs[0]
	if m.To[0] != "ann@example.com" || m.Subject != "Hi <Ann>" || m.HTML != "<p>Hello &lt;Ann&gt;</p><p>thanks</p>" || m.Text != "Hello <Ann>" {
		t.Errorf("rendered %+v", m)
	}
	if ref := rec.refs[0]; ref.Instance == "" || ref.Journey != "welcome" || ref.Profile != "user:ann" || ref.Key == "" {
		t.Errorf("ref %+v: want the instance, journey, profile and idempotency key", ref)
	}
	c, _ := h.eng.Counters(engine.ActionScope("welcome"))
	if got := c[engine.ActionScope("welcome")]; got["noConsent"] != 1 || got["noAddress"] != 1 {
		t.Errorf("action counters %v, want noConsent 1 and noAddress 1", got)
	}
}

func TestFrequencyCapSkipsTheFourthEmailOfTheDay(t *testing.T) {
	h, rec := channelHarness(t)
	h.put(meta.KindAction, "promo", emailAct("promo", func(a *model.Action) {
		a.Capping = &model.Capping{Max: 3, Period: model.Duration(24 * time.Hour)}
	}))
	h.publish("promo", optinJourney("promo"))
	for i := 0; i < 4; i++ {
		h.send("optin", "ann", map[string]any{"email": "ann@example.com", "name": "Ann", "consent": true})
		time.Sleep(10 * time.Millisecond)
	}
	h.waitFor("three sent, one capped", func() bool {
		return rec.count() == 3 && h.node("promo", 1, "failed")["entered"] == 1
	})
	c, _ := h.eng.Counters(engine.ActionScope("promo"))
	if got := c[engine.ActionScope("promo")]["capped"]; got != 1 {
		t.Errorf("capped = %d, want 1", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := rec.count(); n != 3 {
		t.Errorf("%d emails sent, want 3 (the cap)", n)
	}
}

func TestQuietHoursHoldASendInTheProfilesTimeZone(t *testing.T) {
	h, rec := channelHarness(t)
	// Quiet from an hour ago until two minutes from now, in Tokyo; a profile in Tokyo waits,
	// one in a zone 12 hours away gets its mail now.
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Now().In(tokyo)
	start, end := now.Add(-time.Hour).Format("15:04"), now.Add(2*time.Minute).Format("15:04")
	h.put(meta.KindAction, "digest", emailAct("digest", func(a *model.Action) {
		a.QuietHours = &model.QuietHours{Start: start, End: end}
	}))
	h.publish("digest", optinJourney("digest"))
	h.send("optin", "tokyo", map[string]any{"email": "t@example.com", "name": "T", "consent": true, "tz": "Asia/Tokyo"})
	h.send("optin", "ny", map[string]any{"email": "n@example.com", "name": "N", "consent": true, "tz": "America/Sao_Paulo"})
	h.waitFor("the profile outside quiet hours gets its mail", func() bool { return rec.count() == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := rec.count(); n != 1 || rec.msgs[0].To[0] != "n@example.com" {
		t.Fatalf("%d sent (%v); want only n@example.com while Tokyo is in quiet hours", n, rec.msgs)
	}
	c, _ := h.eng.Counters(engine.ActionScope("digest"))
	if got := c[engine.ActionScope("digest")]["quietHeld"]; got != 1 {
		t.Errorf("quietHeld = %d, want 1", got)
	}
	if h.eng.PendingActions() != 1 {
		t.Errorf("the held send must wait in the outbox")
	}
}

func TestABadTemplateFailsThePublishWithTheField(t *testing.T) {
	h, _ := channelHarness(t)
	h.put(meta.KindAction, "typo", emailAct("typo", func(a *model.Action) { a.Message.Subject = "Hi {{ event.data.nmae }}" }))
	h.put(meta.KindJourney, "typo", model.Journey{ID: "typo", Name: "typo"})
	h.put(meta.KindJourneyVersion, "typo/00000001", model.JourneyVersion{JourneyID: "typo", Version: 1, Definition: optinJourney("typo")})
	h.put(meta.KindJourney, "typo", model.Journey{ID: "typo", Name: "typo", Versions: 1, LiveVersion: 1, Status: model.StatusLive})
	var all []string
	for k, v := range h.cat.Current().Broken {
		all = append(all, k+": "+v)
	}
	if !strings.Contains(strings.Join(all, ";"), "unknown field event.data.nmae") {
		t.Fatalf("broken = %v; want the unknown field named", all)
	}
}
