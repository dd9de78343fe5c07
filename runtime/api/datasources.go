package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

var (
	// A data source's id is read in expressions as ds.<id>, so it is a CEL identifier: the
	// action id alphabet without '-'.
	dsIDPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)
	// A group is read as ds.<id>.<group>.
	dsGroupPattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`)
)

// Limits on a data source definition.
const (
	maxDSNameLength  = 200
	maxDSParamName   = 128
	maxDSGroups      = 100
	maxDSParamsGroup = 50
)

// checkDataSource validates a data source and pins its plugin version (the latest when it names
// none). Every problem is reported at once, each naming its field.
func (s *Server) checkDataSource(d *model.DataSource) error {
	var errs apierr.List
	add := func(code apierr.Code, field, format string, args ...any) {
		errs = append(errs, apierr.New(422, code, field, format, args...))
	}
	bad := func(field, format string, args ...any) { add(apierr.InvalidRequest, field, format, args...) }

	if !dsIDPattern.MatchString(d.ID) {
		bad("id", "id must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter or _ (journeys read it as ds.<id>.<group>.<field>, so no '-'); got %q", clipText(d.ID, 80))
	}
	switch name := strings.TrimSpace(d.Name); {
	case name == "":
		bad("name", "name is required; give the data source a name people will recognise in the designer")
	case utf8.RuneCountInString(d.Name) > maxDSNameLength:
		bad("name", "name is %d characters long; shorten it to at most %d", utf8.RuneCountInString(d.Name), maxDSNameLength)
	}
	switch d.Kind {
	case model.DataSourcePlugin:
		switch {
		case d.Plugin == nil:
			bad("plugin", "plugin is required for a plugin data source: {\"name\":\"weather\"} (the latest version) or {\"name\":\"weather\",\"version\":\"1.0.0\"}")
		case strings.TrimSpace(d.Plugin.Name) == "":
			bad("plugin.name", "plugin.name is required: the name of an uploaded plugin with the kind \"datasource\" (see GET /v1/plugins)")
		default:
			if err := checkConfigObject(d.Plugin.Config, "plugin.config"); err != nil {
				errs = append(errs, apierr.As(err))
			}
			v, err := s.resolvePlugin(d.Plugin, "datasource")
			var ae *apierr.Error
			switch {
			case errors.As(err, &ae):
				errs = append(errs, ae)
			case err != nil:
				return err
			default:
				d.Plugin.Version = v.Version // pinned: a new upload does not change a source
				errs = append(errs, pluginConfigErrors(v, d.Plugin, "plugin.config")...)
			}
		}
	case model.DataSourceREST:
		if d.Plugin != nil {
			bad("plugin", "a REST data source has no plugin; remove plugin, or use kind \"plugin\"")
		}
		checkRESTSource(d, bad, func(e *apierr.Error) { errs = append(errs, e) })
	case "":
		bad("kind", "kind is required; use \"rest\" (an HTTP endpoint) or \"plugin\" (a Wasm data-source adapter)")
	default:
		bad("kind", "kind %q is not supported; use \"rest\" (an HTTP endpoint) or \"plugin\" (a Wasm data-source adapter)", clipText(d.Kind, 40))
	}
	if d.Kind == model.DataSourcePlugin && d.REST != nil {
		bad("rest", "a plugin data source has no rest settings; remove rest, or use kind \"rest\"")
	}

	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		return err
	}
	switch {
	case len(d.Groups) == 0:
		bad("groups", "groups is required: at least one field group, such as {\"name\":\"current\",\"params\":{\"city\":\"profile.attributes.city\"}}")
	case len(d.Groups) > maxDSGroups:
		bad("groups", "a data source may have at most %d groups, not %d", maxDSGroups, len(d.Groups))
	}
	seen := map[string]int{}
	for i, g := range d.Groups {
		f := fmt.Sprintf("groups[%d]", i)
		if !dsGroupPattern.MatchString(g.Name) {
			bad(f+".name", "the group name must be 1-64 letters, digits and _, not starting with a digit (journeys read it as ds.%s.<group>); got %q", d.ID, clipText(g.Name, 80))
		} else if j, dup := seen[g.Name]; dup {
			bad(f+".name", "group %q is also groups[%d]; give each group its own name", g.Name, j)
		} else {
			seen[g.Name] = i
		}
		if len(g.Params) > maxDSParamsGroup {
			bad(f+".params", "a group may have at most %d parameters, not %d", maxDSParamsGroup, len(g.Params))
		}
		for _, k := range slices.Sorted(maps.Keys(g.Params)) {
			pf := f + ".params." + k
			if k == "" || len(k) > maxDSParamName {
				bad(f+".params", "parameter names must be 1-%d characters", maxDSParamName)
				continue
			}
			if strings.TrimSpace(g.Params[k]) == "" {
				bad(pf, "the parameter's expression is empty; write a CEL expression over event, profile and vars, such as profile.attributes.city")
				continue
			}
			if _, err := env.CompileValue(g.Params[k]); err != nil {
				e := apierr.As(err)
				errs = append(errs, apierr.New(422, e.Code, pf, "%s", e.Message))
			}
		}
		if len(g.Fields) > 0 && string(g.Fields) != "null" {
			if _, err := schema.Compile(g.Fields); err != nil {
				e := apierr.As(err)
				field := f + ".fields"
				if rest, ok := strings.CutPrefix(e.Field, "schema"); ok {
					field += rest
				}
				errs = append(errs, apierr.New(422, e.Code, field, "%s", e.Message))
			}
		}
	}
	if t := d.CacheTTL.D(); t < 0 {
		bad("cacheTtl", "cacheTtl is negative (%s); use 0 for the default (1m) or a duration such as \"5m\"", t)
	}
	switch d.OnError {
	case "", "error", "default":
	default:
		bad("onError", "onError %q is not known; use \"error\" (the default: the expression fails) or \"default\" (use the group's defaults)", clipText(d.OnError, 40))
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (s *Server) listDataSources(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindDataSource, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	items := make([]redactedSource, 0, len(raws))
	for _, raw := range raws {
		var d model.DataSource
		if err := json.Unmarshal(raw, &d); err != nil {
			writeErr(ctx, err)
			return
		}
		items = append(items, redactSource(d))
	}
	writeJSON(ctx, 200, map[string]any{"items": items, "nextCursor": next})
}

func (s *Server) createDataSource(ctx *fasthttp.RequestCtx) {
	s.idempotent(ctx, func() {
		var d model.DataSource
		if err := s.decodeBody(ctx, &d); err != nil {
			writeErr(ctx, err)
			return
		}
		mergeSourceSecrets(&d, nil) // a mask on create sets nothing
		if err := s.checkDataSource(&d); err != nil {
			writeErr(ctx, err)
			return
		}
		now := time.Now().UTC()
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		err := s.d.Meta.Update(meta.KindDataSource, d.ID, func(cur []byte, tx *meta.Tx) (any, error) {
			if cur != nil {
				return nil, apierr.New(409, apierr.AlreadyExists, "id", "data source %q already exists; update it with PUT", d.ID)
			}
			// Under the write lock: the plugin version may have gone since it was checked.
			if d.Plugin != nil {
				if _, err := s.resolvePlugin(d.Plugin, "datasource"); err != nil {
					return nil, err
				}
			}
			return &d, nil
		})
		if err != nil {
			writeErr(ctx, err)
			return
		}
		writeJSON(ctx, 201, redactSource(d))
	})
}

func (s *Server) getDataSource(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	var d model.DataSource
	if err := s.d.Meta.Get(meta.KindDataSource, id, &d); err != nil {
		writeErr(ctx, metaErr(err, "data source", id))
		return
	}
	writeJSON(ctx, 200, redactSource(d))
}

func (s *Server) updateDataSource(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	var d model.DataSource
	if err := s.decodeBody(ctx, &d); err != nil {
		writeErr(ctx, err)
		return
	}
	if d.ID == "" {
		d.ID = id
	}
	if d.ID != id {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "id", "the id cannot change (journeys read it as ds.%s); create a new data source instead", id))
		return
	}
	want, err := expectedRevision(ctx, d.Version)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	// Secrets are write-only: a masked or empty one keeps the stored value.
	var stored model.DataSource
	if err := s.d.Meta.Get(meta.KindDataSource, id, &stored); err == nil {
		mergeSourceSecrets(&d, &stored)
	} else {
		mergeSourceSecrets(&d, nil)
	}
	if err := s.checkDataSource(&d); err != nil {
		writeErr(ctx, err)
		return
	}
	err = s.d.Meta.Update(meta.KindDataSource, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		var old model.DataSource
		if err := json.Unmarshal(cur, &old); err != nil {
			return nil, err
		}
		if want != 0 && want != old.Version {
			return nil, meta.ErrConflict
		}
		if d.Plugin != nil {
			if _, err := s.resolvePlugin(d.Plugin, "datasource"); err != nil {
				return nil, err
			}
		}
		// A group or field that a published journey reads must not disappear under it.
		if err := s.breaksPublished(overlay{base: s.d.Catalog.Current(), source: &d}); err != nil {
			return nil, err
		}
		d.Version, d.CreatedAt, d.UpdatedAt = old.Version+1, old.CreatedAt, time.Now().UTC()
		return &d, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "data source", id))
		return
	}
	writeJSON(ctx, 200, redactSource(d))
}

// DELETE /v1/data-sources/{id}: refused while a journey draft or published version reads it.
func (s *Server) deleteDataSource(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	err := s.d.Meta.Update(meta.KindDataSource, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		if users := s.journeysWhere(func(def *model.Definition) bool { return readsDataSource(def, id) }); len(users) > 0 {
			return nil, apierr.New(409, apierr.InUse, "", "data source %q is read by %s (ds.%s); change them first", id, listUsers(users), id)
		}
		return nil, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "data source", id))
		return
	}
	ctx.SetStatusCode(204)
}

// readsDataSource reports whether any expression or template of a definition mentions
// ds.<id>. It reads the definition's JSON, so every place an expression can be (conditions,
// branches, waits, updates, payloads, exit rules) counts, including ones added later.
func readsDataSource(def *model.Definition, id string) bool {
	b, err := json.Marshal(def)
	if err != nil {
		return true // cannot tell: keep the source
	}
	return dsMention(id).Match(b)
}

// dsMention matches ds.<id> as a whole name: not inside another name (ads.x, event.ds.x), and
// followed by a member (ds.x.group) or index (ds.x["group"]), not by more of a longer id.
func dsMention(id string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])ds\s*\.\s*` + regexp.QuoteMeta(id) + `(?:[^A-Za-z0-9_]|$)`)
}
