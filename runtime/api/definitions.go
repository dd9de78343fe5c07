package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/catalog"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

var (
	eventNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,127}$`)
	idPattern        = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	pathPattern      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$`)
)

// checkEventDef validates a definition and compiles it; name is the path's name on updates.
func checkEventDef(d *model.EventDefinition) (*catalog.EventType, error) {
	var errs apierr.List
	bad := func(field, format string, args ...any) {
		errs = append(errs, apierr.New(422, apierr.InvalidRequest, field, format, args...))
	}
	if !eventNamePattern.MatchString(d.Name) {
		bad("name", "name must start with a letter and hold 1-128 letters, digits, '.', '_' or '-' (like \"order.placed\")")
	}
	if !pathPattern.MatchString(d.IdentityField) {
		bad("identityField", "identityField must be a dotted path inside data, like \"userId\" or \"customer.email\"")
	}
	if d.IdentityNamespace == "" || strings.ContainsAny(d.IdentityNamespace, ": \x00") || len(d.IdentityNamespace) > 64 {
		bad("identityNamespace", "identityNamespace must be 1-64 characters without ':' or spaces, like \"email\" or \"user\"")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	t, err := catalog.CompileEventType(d)
	if err != nil {
		if e, ok := err.(*apierr.Error); ok {
			if e.Code == apierr.InvalidExpression && e.Field == "" {
				e.Field = "qualifier"
			}
			return nil, e
		}
		return nil, err
	}
	if sch := t.Schema; sch != nil && !sch.HasField(strings.Split(d.IdentityField, ".")) {
		return nil, apierr.New(422, apierr.InvalidRequest, "identityField", "identityField %q is not declared in the schema", d.IdentityField)
	}
	return t, nil
}

func (s *Server) listEventDefs(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindEventDef, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, map[string]any{"items": orEmpty(raws), "nextCursor": next})
}

func orEmpty(r []json.RawMessage) []json.RawMessage {
	if r == nil {
		return []json.RawMessage{}
	}
	return r
}

func (s *Server) createEventDef(ctx *fasthttp.RequestCtx) {
	s.idempotent(ctx, func() {
		var d model.EventDefinition
		if err := s.decodeBody(ctx, &d); err != nil {
			writeErr(ctx, err)
			return
		}
		if _, err := checkEventDef(&d); err != nil {
			writeErr(ctx, err)
			return
		}
		now := time.Now().UTC()
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		err := s.d.Meta.Update(meta.KindEventDef, d.Name, func(cur []byte, tx *meta.Tx) (any, error) {
			if cur != nil {
				return nil, apierr.New(409, apierr.AlreadyExists, "name", "event type %q already exists; update it with PUT", d.Name)
			}
			return &d, nil
		})
		if err != nil {
			writeErr(ctx, err)
			return
		}
		writeJSON(ctx, 201, d)
	})
}

func (s *Server) getEventDef(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	var d model.EventDefinition
	if err := s.d.Meta.Get(meta.KindEventDef, name, &d); err != nil {
		writeErr(ctx, metaErr(err, "event type", name))
		return
	}
	var fields any
	if t, ok := s.d.Catalog.Current().Events[name]; ok && t.Schema != nil {
		fields = t.Schema.Fields()
	}
	writeJSON(ctx, 200, mergeObj(d, fields))
}

// mergeObj returns d's JSON with a "fields" member added (the designer's field picker).
func mergeObj(d model.EventDefinition, fields any) map[string]any {
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if fields != nil {
		m["fields"] = fields
	}
	return m
}

func (s *Server) updateEventDef(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	var d model.EventDefinition
	if err := s.decodeBody(ctx, &d); err != nil {
		writeErr(ctx, err)
		return
	}
	if d.Name == "" {
		d.Name = name
	}
	if d.Name != name {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "name", "the name cannot change (it is the id); create a new definition instead"))
		return
	}
	t, err := checkEventDef(&d)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if err := s.breaksPublished(overlay{base: s.d.Catalog.Current(), event: &d, schema: t.Schema}); err != nil {
		writeErr(ctx, err)
		return
	}
	want, err := expectedRevision(ctx, d.Version)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	err = s.d.Meta.Update(meta.KindEventDef, name, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		var old model.EventDefinition
		if err := json.Unmarshal(cur, &old); err != nil {
			return nil, err
		}
		if want != 0 && want != old.Version {
			return nil, meta.ErrConflict
		}
		d.Version, d.CreatedAt, d.UpdatedAt = old.Version+1, old.CreatedAt, time.Now().UTC()
		return &d, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "event type", name))
		return
	}
	writeJSON(ctx, 200, d)
}

func (s *Server) deleteEventDef(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	if users := s.journeysUsingEvent(name); len(users) > 0 {
		writeErr(ctx, apierr.New(409, apierr.InUse, "", "event type %q is used by journeys %s; change or stop them first", name, strings.Join(users, ", ")))
		return
	}
	if err := s.d.Meta.Delete(meta.KindEventDef, name); err != nil {
		writeErr(ctx, metaErr(err, "event type", name))
		return
	}
	ctx.SetStatusCode(204)
}

// expectedRevision reads If-Match (or the body's version/revision); 0 means "not given".
func expectedRevision(ctx *fasthttp.RequestCtx, body int64) (int64, error) {
	h := strings.Trim(string(ctx.Request.Header.Peek("If-Match")), `" W/`)
	if h == "" {
		return body, nil
	}
	n, err := fasthttp.ParseUint([]byte(h))
	if err != nil {
		return 0, apierr.New(400, apierr.InvalidRequest, "If-Match", "If-Match must be the revision number you read, like \"3\"")
	}
	return int64(n), nil
}
