package journey

import (
	"fmt"
	"sort"
	"time"

	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
)

// CompileMessage compiles a channel action's message templates (checked against the schemas
// env knows) and quiet hours. Errors name the message field: "message.subject: …".
func CompileMessage(env *expr.Env, a *model.Action) (*Message, error) {
	m := &Message{Kind: a.Kind}
	if a.Message == nil {
		return nil, fmt.Errorf("action %q has no message; set message (subject, html, text; text for sms; title, body for push)", a.ID)
	}
	msg := a.Message
	one := func(field, src string, html bool) (*expr.MessageTemplate, error) {
		if src == "" {
			return nil, nil
		}
		t, err := env.CompileMessageTemplate(src, html)
		if err != nil {
			return nil, fmt.Errorf("the message of action %q: message.%s: %w", a.ID, field, err)
		}
		return t, nil
	}
	var err error
	if m.Subject, err = one("subject", msg.Subject, false); err != nil {
		return nil, err
	}
	if m.HTML, err = one("html", msg.HTML, true); err != nil {
		return nil, err
	}
	if m.Text, err = one("text", msg.Text, false); err != nil {
		return nil, err
	}
	if m.Title, err = one("title", msg.Title, false); err != nil {
		return nil, err
	}
	if m.Body, err = one("body", msg.Body, false); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(msg.Data))
	for k := range msg.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, err := one("data."+k, msg.Data[k], false)
		if err != nil {
			return nil, err
		}
		if m.Data == nil {
			m.Data = map[string]*expr.MessageTemplate{}
		}
		m.Data[k] = t
	}
	if q := a.QuietHours; q != nil {
		w, field, err := compileWindow(&model.TimeWindow{Start: q.Start, End: q.End,
			TimeZoneAttribute: q.TimeZoneAttribute, DefaultTimeZone: q.DefaultTimeZone})
		if err != nil {
			return nil, fmt.Errorf("action %q: quietHours.%s: %w", a.ID, field, err)
		}
		m.Quiet, m.QuietSkip = w, q.Mode == "skip"
	}
	return m, nil
}

// EndAfter returns when the window that holds now ends, in the profile's time zone, and
// whether now is in the window at all.
func (w *Window) EndAfter(now time.Time, attributes map[string]any) (time.Time, bool) {
	if !w.Contains(now, attributes) {
		return time.Time{}, false
	}
	loc := w.fallback
	if name, ok := attributes[w.attribute].(string); ok && name != "" {
		if l, err := loadZone(name); err == nil {
			loc = l
		}
	}
	local := now.In(loc)
	minute := local.Hour()*60 + local.Minute()
	day := local.Day()
	if w.start > w.end && minute >= w.start {
		day++ // the window spans midnight and ends tomorrow
	}
	return time.Date(local.Year(), local.Month(), day, w.end/60, w.end%60, 0, 0, loc), true
}
