package api

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/channels"
	"github.com/wayline/wayline/runtime/datasource"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/model"
)

// previewTimeout bounds the data-source reads of one preview.
const previewTimeout = 10 * time.Second

// previewRequest is the body of POST /v1/messages/preview.
type previewRequest struct {
	// Action names a channel action whose message is rendered; or Kind and Message give one.
	Action  string         `json:"action,omitempty"`
	Kind    string         `json:"kind,omitempty"`
	Message *model.Message `json:"message,omitempty"`
	// ProfileID is a stored profile; Profile gives attributes inline (both: Profile's
	// attributes are laid over the stored ones).
	ProfileID string `json:"profileId,omitempty"`
	Profile   *struct {
		Attributes map[string]any `json:"attributes"`
	} `json:"profile,omitempty"`
	// Event is the sample event: its type (checked against its definition's schema) and data.
	Event *struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	} `json:"event,omitempty"`
	Vars map[string]any `json:"vars,omitempty"`
	// DS gives data-source groups ({source: {group: {field: value}}}) instead of reading them.
	DS map[string]any `json:"ds,omitempty"`
}

// previewMessage renders a channel message for a profile and a sample event, the way a send
// would (data sources read through the node's cache), without sending anything.
// Template errors name the field (message.subject, message.data.url); the answer also says
// what would stop a real send (consent, address) in warnings.
func (s *Server) previewMessage(ctx *fasthttp.RequestCtx) {
	if s.d.Engine == nil {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "profiles are not served by this server"))
		return
	}
	var in previewRequest
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	snap := s.d.Catalog.Current()
	kind, msg := in.Kind, in.Message
	var provider *model.Provider
	switch {
	case in.Action != "" && in.Message != nil:
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "message", "give either action (a stored channel action) or message with kind, not both"))
		return
	case in.Action != "":
		a, ok := snap.Actions[in.Action]
		if !ok {
			writeErr(ctx, apierr.New(422, apierr.UnknownAction, "action", "action %q does not exist; see GET /v1/actions", clipText(in.Action, 80)))
			return
		}
		if a.Message == nil {
			writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "action", "action %q is a %s action and has no message; preview an email, sms or push action", a.ID, a.Kind))
			return
		}
		if in.Kind != "" && in.Kind != a.Kind {
			writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "kind", "action %q is a %s action, not %s; leave kind out", a.ID, a.Kind, clipText(in.Kind, 20)))
			return
		}
		kind, msg, provider = a.Kind, a.Message, a.Provider
	case in.Message == nil:
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "action", "action (the id of a channel action) or message (with kind) is required"))
		return
	}
	switch kind {
	case model.ActionEmail, model.ActionSMS, model.ActionPush:
	case "":
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "kind", "kind is required with an inline message: email, sms or push"))
		return
	default:
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "kind", "kind %q has no message; use email, sms or push", clipText(kind, 20)))
		return
	}

	rm, err := s.renderMessage(snap, kind, msg, &in)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	out := map[string]any{"kind": kind}
	for k, v := range rm.parts {
		out[k] = v
	}
	if len(rm.data) > 0 {
		out["data"] = rm.data
	}
	warnings := append(rm.warnings, sendWarnings(kind, provider, rm.profile.Attributes)...)
	if warnings == nil {
		warnings = []*apierr.Error{}
	}
	out["warnings"] = warnings
	writeJSON(ctx, 200, out)
}

// renderedParts is a channel message rendered for one profile and sample: the parts by name
// (subject, html, text, title, body), the data fields, the profile it was rendered for, and
// warnings about data sources that could not be read.
type renderedParts struct {
	parts    map[string]string
	data     map[string]string
	profile  *model.Profile
	warnings []*apierr.Error
}

// renderMessage compiles msg as a publish would (event fields against the sample event's
// schema, data-source fields against the sources' declared fields) and renders it for the
// request's profile, event and vars, the way a send would. Errors name their field.
func (s *Server) renderMessage(snap *catalog.Snapshot, kind string, msg *model.Message, in *previewRequest) (*renderedParts, error) {
	var errs apierr.List
	known := func(path []string) bool { return true }
	if in.Event != nil && in.Event.Type != "" {
		_, sch, ok := snap.EventDefinition(in.Event.Type)
		if !ok {
			errs = append(errs, apierr.New(422, apierr.UnknownEventType, "event.type", "event type %q is not defined; see GET /v1/event-definitions", clipText(in.Event.Type, 80)))
		} else if sch != nil {
			known = sch.Declares
		}
	}
	env, err := expr.NewEnv(expr.Options{KnownEventField: known, KnownDataSourceField: func(path []string) bool {
		return datasource.KnownField(snap.Sources, path)
	}})
	if err != nil {
		return nil, err
	}
	type part struct {
		field string
		src   string
		html  bool
		tmpl  *expr.MessageTemplate
		out   string
	}
	var parts []*part
	add := func(field, src string, html bool) {
		if src != "" {
			parts = append(parts, &part{field: field, src: src, html: html})
		}
	}
	add("message.subject", msg.Subject, false)
	add("message.html", msg.HTML, true)
	add("message.text", msg.Text, false)
	add("message.title", msg.Title, false)
	add("message.body", msg.Body, false)
	for _, k := range slices.Sorted(maps.Keys(msg.Data)) {
		add("message.data."+k, msg.Data[k], false)
	}
	var refs []expr.DSRef
	for _, p := range parts {
		if p.tmpl, err = env.CompileMessageTemplate(p.src, p.html); err != nil {
			e := apierr.As(err)
			errs = append(errs, apierr.New(422, apierr.InvalidExpression, p.field, "%s", e.Message))
			continue
		}
		for _, r := range p.tmpl.DataSources() {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}

	// The activation a send would see.
	prof := &model.Profile{ID: in.ProfileID, Attributes: map[string]any{}}
	if in.ProfileID != "" {
		if err := checkProfileID(in.ProfileID); err != nil {
			return nil, withField(err, "profileId")
		}
		p, err := s.d.Engine.GetProfile(in.ProfileID)
		if err != nil {
			return nil, withField(profileErr(err, in.ProfileID), "profileId")
		}
		prof = p
		if prof.Attributes == nil {
			prof.Attributes = map[string]any{}
		}
	}
	if in.Profile != nil {
		attrs := maps.Clone(prof.Attributes)
		maps.Copy(attrs, in.Profile.Attributes)
		prof.Attributes = attrs
	}
	now := time.Now().UTC()
	act := &expr.Activation{Now: now,
		Profile: map[string]any{"id": prof.ID, "identities": prof.Identities, "attributes": prof.Attributes, "test": prof.Test},
		Vars:    in.Vars, DS: in.DS,
		Journey: map[string]any{"id": "", "version": int64(0), "instanceId": "", "nodeId": ""},
		Event:   map[string]any{}}
	if act.Vars == nil {
		act.Vars = map[string]any{}
	}
	if in.Event != nil {
		data := in.Event.Data
		if data == nil {
			data = map[string]any{}
		}
		act.Event = map[string]any{"id": "preview", "type": in.Event.Type, "timestamp": now, "identity": prof.ID, "data": data}
	}
	var warnings []*apierr.Error
	if len(refs) > 0 {
		rctx, cancel := context.WithTimeout(context.Background(), previewTimeout)
		err := s.d.Engine.ReadDataSources(rctx, act, refs)
		cancel()
		if err != nil {
			warnings = append(warnings, apierr.New(200, apierr.InvalidRequest, "ds", "a data source could not be read, so a send would fail or use its fallback: %v", err))
		}
	}
	for _, p := range parts {
		if p.out, err = p.tmpl.Render(act); err != nil {
			errs = append(errs, apierr.New(422, apierr.InvalidExpression, p.field, "%s", strings.TrimPrefix(err.Error(), "expr: ")))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	rm := &renderedParts{parts: map[string]string{}, data: map[string]string{}, profile: prof, warnings: warnings}
	for _, p := range parts {
		if k, ok := strings.CutPrefix(p.field, "message.data."); ok {
			rm.data[k] = p.out
			continue
		}
		rm.parts[strings.TrimPrefix(p.field, "message.")] = p.out
	}
	return rm, nil
}

// channelTest is what POST /v1/actions/{id}/test takes for a channel action.
type channelTest struct {
	to, profileID        string
	event, profile, vars map[string]any
}

// testChannelAction renders a channel action's message for the sample (and the stored profile,
// when profileId names one) and sends it once through the action's provider, to the address
// given in to or else to the profile's address. A profile without consent for the channel is
// refused: a test must not reach a customer who opted out. An address typed in to is the
// editor's own choice and skips the consent check.
func (s *Server) testChannelAction(ctx *fasthttp.RequestCtx, a *model.Action, t channelTest) {
	if s.d.Engine == nil && t.profileID != "" {
		writeErr(ctx, apierr.New(503, apierr.Unavailable, "", "profiles are not served by this server"))
		return
	}
	if t.to == "" && t.profileID == "" {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "to", "a send test needs a recipient: to (an address) or profileId (a stored profile with an address)"))
		return
	}
	if a.Message == nil {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "message", "action %q has no message to send", a.ID))
		return
	}
	in := previewRequest{ProfileID: t.profileID, Vars: t.vars}
	if attrs, ok := t.profile["attributes"].(map[string]any); ok {
		in.Profile = &struct {
			Attributes map[string]any `json:"attributes"`
		}{attrs}
	}
	if t.event != nil {
		in.Event = &struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}{}
		in.Event.Type, _ = t.event["type"].(string)
		in.Event.Data, _ = t.event["data"].(map[string]any)
	}
	rm, err := s.renderMessage(s.d.Catalog.Current(), a.Kind, a.Message, &in)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	to := []string{t.to}
	if t.to == "" {
		for _, w := range sendWarnings(a.Kind, a.Provider, rm.profile.Attributes) {
			w.Status = 422
			writeErr(ctx, w)
			return
		}
		to = addresses(a.Kind, a.Provider, rm.profile.Attributes)
	}
	msg := channels.Rendered{Kind: a.Kind, To: to, Subject: rm.parts["subject"], HTML: rm.parts["html"], Text: rm.parts["text"],
		Title: rm.parts["title"], Body: rm.parts["body"]}
	if len(rm.data) > 0 {
		msg.Data = rm.data
	}
	body, err := json.Marshal(msg)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	profile := t.profileID
	if profile == "" {
		profile = "test"
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := s.d.Tester.Call(cctx, a, engine.CallRequest{Body: body, Profile: profile,
		IdempotencyKey: "test-" + hashID(string(body)+time.Now().String()), Attempt: 1})
	status := 200
	if !out.OK {
		status = 502
	}
	writeJSON(ctx, status, map[string]any{"ok": out.OK, "status": out.Status, "retryable": out.Retryable, "error": out.Err,
		"request": map[string]any{"to": to, "message": msg}})
}

// addresses reads a profile's addresses for a channel as the engine does: a string or a list.
func addresses(kind string, p *model.Provider, attrs map[string]any) []string {
	addr := ""
	if p != nil {
		addr = p.Address
	}
	if addr == "" {
		addr = map[string]string{model.ActionEmail: "email", model.ActionSMS: "phone", model.ActionPush: "pushTokens"}[kind]
	}
	switch v := attrAt(attrs, addr).(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// sendWarnings says what would stop a real send to this profile: consent and address, read as
// the engine reads them (runtime/engine/channel.go).
func sendWarnings(kind string, p *model.Provider, attrs map[string]any) []*apierr.Error {
	if p == nil {
		p = &model.Provider{}
	}
	var out []*apierr.Error
	consent := p.Consent
	if consent == "" {
		consent = "consent." + kind
	}
	if v, _ := attrAt(attrs, consent).(bool); !v {
		out = append(out, apierr.New(200, apierr.InvalidRequest, "profile.attributes."+consent, "a send would take the error path: no %s consent (profile attribute %s is not true)", kind, consent))
	}
	addr := p.Address
	if addr == "" {
		addr = map[string]string{model.ActionEmail: "email", model.ActionSMS: "phone", model.ActionPush: "pushTokens"}[kind]
	}
	switch v := attrAt(attrs, addr).(type) {
	case string:
		if v != "" {
			return out
		}
	case []any:
		if len(v) > 0 {
			return out
		}
	}
	return append(out, apierr.New(200, apierr.InvalidRequest, "profile.attributes."+addr, "a send would take the error path: no %s address (profile attribute %s is missing or empty)", kind, addr))
}

func attrAt(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
