package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

// renderedMessage is what a channel action writes into the outbox (runtime/channels.Rendered
// has the same JSON shape; the engine does not import the channels package).
type renderedMessage struct {
	Kind    string            `json:"kind"`
	To      []string          `json:"to"`
	Subject string            `json:"subject,omitempty"`
	HTML    string            `json:"html,omitempty"`
	Text    string            `json:"text,omitempty"`
	Title   string            `json:"title,omitempty"`
	Body    string            `json:"body,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}

// maxChannelLog bounds the send times kept per profile and channel.
const maxChannelLog = 1000

// prepareMessage decides, in the partition worker (the one writer of the profile's state),
// whether a channel message may go: consent and address from the profile, the frequency cap,
// quiet hours. It returns the rendered body and when to send it, or an error that sends the
// instance down the action's error path with the reason.
func (st *stepCtx) prepareMessage(prof *storedProfile, a *model.Action, m *journey.Message, act *expr.Activation) (json.RawMessage, time.Time, error) {
	p := a.Provider
	if p == nil {
		p = &model.Provider{}
	}
	consent := p.Consent
	if consent == "" {
		consent = "consent." + a.Kind
	}
	if v, _ := attrPath(prof.Attributes, consent).(bool); !v {
		st.count(ActionScope(a.ID), "noConsent", 1)
		return nil, time.Time{}, fmt.Errorf("no %s consent: profile attribute %s is not true", a.Kind, consent)
	}
	addrAttr := p.Address
	if addrAttr == "" {
		addrAttr = map[string]string{model.ActionEmail: "email", model.ActionSMS: "phone", model.ActionPush: "pushTokens"}[a.Kind]
	}
	to := addresses(attrPath(prof.Attributes, addrAttr))
	if len(to) == 0 {
		st.count(ActionScope(a.ID), "noAddress", 1)
		return nil, time.Time{}, fmt.Errorf("no %s address: profile attribute %s is missing or empty", a.Kind, addrAttr)
	}
	if a.Kind != model.ActionPush {
		to = to[:1]
	}

	due := st.now
	if m.Quiet != nil {
		if end, in := m.Quiet.EndAfter(st.now, prof.Attributes); in {
			if m.QuietSkip {
				st.count(ActionScope(a.ID), "quietSkipped", 1)
				return nil, time.Time{}, fmt.Errorf("quiet hours in the profile's time zone until %s; the action skips sends in quiet hours", end.Format(time.RFC3339))
			}
			due = end
			st.count(ActionScope(a.ID), "quietHeld", 1)
		}
	}
	if c := a.Capping; c != nil && c.Max > 0 && c.Period > 0 {
		key := store.PartKey(st.pid(), store.KindChannelLog, prof.ID, a.Kind)
		var sent []int64
		if raw, ok := st.get(key); ok {
			_ = decode(raw, &sent)
		}
		from := due.Add(-c.Period.D()).UnixNano()
		n := 0
		for _, t := range sent {
			if t > from && t <= due.UnixNano() {
				n++
			}
		}
		if n >= c.Max {
			st.count(ActionScope(a.ID), "capped", 1)
			return nil, time.Time{}, fmt.Errorf("frequency cap: %d %s message(s) in %s already sent to this profile (capping.max %d)", n, a.Kind, c.Period.D(), c.Max)
		}
		// Keep the log short: drop what no cap of a month or less can count.
		keepFrom := st.now.Add(-31 * 24 * time.Hour).UnixNano()
		kept := sent[:0]
		for _, t := range sent {
			if t > keepFrom {
				kept = append(kept, t)
			}
		}
		kept = append(kept, due.UnixNano())
		if len(kept) > maxChannelLog {
			kept = kept[len(kept)-maxChannelLog:]
		}
		st.put(key, kept)
	}

	msg := renderedMessage{Kind: a.Kind, To: to}
	var err error
	render := func(t *expr.MessageTemplate, field string, into *string) {
		if t == nil || err != nil {
			return
		}
		if *into, err = t.Render(act); err != nil {
			err = fmt.Errorf("message.%s: %w", field, err)
		}
	}
	render(m.Subject, "subject", &msg.Subject)
	render(m.HTML, "html", &msg.HTML)
	render(m.Text, "text", &msg.Text)
	render(m.Title, "title", &msg.Title)
	render(m.Body, "body", &msg.Body)
	for k, t := range m.Data {
		if msg.Data == nil {
			msg.Data = map[string]string{}
		}
		var v string
		render(t, "data."+k, &v)
		msg.Data[k] = v
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, time.Time{}, err
	}
	return b, due, nil
}

// attrPath reads a dotted attribute path.
func attrPath(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// addresses reads a string or a list of strings.
func addresses(v any) []string {
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); s != "" {
			return []string{s}
		}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	return nil
}

// Reaction events: what messages send back (runtime/channels makes them from the open pixel,
// click redirects and delivery callbacks). WARNING: ONLY APPEND; journeys name them.
const (
	EventMessageOpened    = "message.opened"
	EventMessageClicked   = "message.clicked"
	EventMessageDelivered = "message.delivered"
	EventMessageFailed    = "message.failed"
)

// countReaction counts a reaction event for the action that sent the message, in the reports
// ("opened", "clicked", "delivered", "failed" beside "sent").
func (st *stepCtx) countReaction(ev *model.Envelope) {
	var metric string
	switch ev.Type {
	case EventMessageOpened:
		metric = "opened"
	case EventMessageClicked:
		metric = "clicked"
	case EventMessageDelivered:
		metric = "delivered"
	case EventMessageFailed:
		metric = "deliveryFailed"
	default:
		return
	}
	if id, ok := ev.Data["actionId"].(string); ok && id != "" {
		st.count(ActionScope(id), metric, 1)
	}
	j, _ := ev.Data["journeyId"].(string)
	n, _ := ev.Data["nodeId"].(string)
	v, _ := ev.Data["version"].(float64)
	if j != "" && n != "" {
		st.count(NodeScope(j, int(v), n), metric, 1)
	}
}
