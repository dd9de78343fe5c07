package api

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/datasource"
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

	// Compile as a publish would: event fields against the sample event's schema, data-source
	// fields against the sources' declared fields.
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
		writeErr(ctx, err)
		return
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
		writeErr(ctx, errs)
		return
	}

	// The activation a send would see.
	prof := &model.Profile{ID: in.ProfileID, Attributes: map[string]any{}}
	if in.ProfileID != "" {
		if err := checkProfileID(in.ProfileID); err != nil {
			writeErr(ctx, withField(err, "profileId"))
			return
		}
		p, err := s.d.Engine.GetProfile(in.ProfileID)
		if err != nil {
			writeErr(ctx, withField(profileErr(err, in.ProfileID), "profileId"))
			return
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
		writeErr(ctx, errs)
		return
	}
	out := map[string]any{"kind": kind}
	data := map[string]string{}
	for _, p := range parts {
		if k, ok := strings.CutPrefix(p.field, "message.data."); ok {
			data[k] = p.out
			continue
		}
		out[strings.TrimPrefix(p.field, "message.")] = p.out
	}
	if len(data) > 0 {
		out["data"] = data
	}
	warnings = append(warnings, sendWarnings(kind, provider, prof.Attributes)...)
	if warnings == nil {
		warnings = []*apierr.Error{}
	}
	out["warnings"] = warnings
	writeJSON(ctx, 200, out)
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
