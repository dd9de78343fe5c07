package api

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/journey"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// journeyInput is what create and update accept.
type journeyInput struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Draft       *model.Definition `json:"draft"`
	Revision    int64             `json:"revision"`
}

func versionID(id string, v int) string { return model.JourneyVersionID(id, v) }

func (s *Server) listJourneys(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindJourney, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, map[string]any{"items": orEmpty(raws), "nextCursor": next})
}

func (s *Server) createJourney(ctx *fasthttp.RequestCtx) {
	s.idempotent(ctx, func() {
		var in journeyInput
		if err := s.decodeBody(ctx, &in); err != nil {
			writeErr(ctx, err)
			return
		}
		if !idPattern.MatchString(in.ID) {
			writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "id", "id must be 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit"))
			return
		}
		if in.Name == "" {
			in.Name = in.ID
		}
		if in.Draft == nil {
			in.Draft = &model.Definition{}
		}
		now := time.Now().UTC()
		j := model.Journey{ID: in.ID, Name: in.Name, Description: in.Description, Status: model.StatusDraft,
			Draft: in.Draft, Revision: 1, CreatedAt: now, UpdatedAt: now}
		err := s.d.Meta.Update(meta.KindJourney, j.ID, func(cur []byte, tx *meta.Tx) (any, error) {
			if cur != nil {
				return nil, apierr.New(409, apierr.AlreadyExists, "id", "journey %q already exists", j.ID)
			}
			return &j, nil
		})
		if err != nil {
			writeErr(ctx, err)
			return
		}
		ctx.Response.Header.Set("ETag", strconv.FormatInt(j.Revision, 10))
		writeJSON(ctx, 201, j)
	})
}

func (s *Server) loadJourney(id string) (*model.Journey, error) {
	var j model.Journey
	if err := s.d.Meta.Get(meta.KindJourney, id, &j); err != nil {
		return nil, metaErr(err, "journey", id)
	}
	return &j, nil
}

func (s *Server) getJourney(ctx *fasthttp.RequestCtx) {
	j, err := s.loadJourney(param(ctx, "id"))
	if err != nil {
		writeErr(ctx, err)
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(j.Revision, 10))
	writeJSON(ctx, 200, j)
}

// mutateJourney applies fn to the stored journey under the metadata lock, checking the
// revision the client read (0: not checked) and bumping it.
func (s *Server) mutateJourney(id string, want int64, fn func(j *model.Journey, tx *meta.Tx) error) (*model.Journey, error) {
	var out model.Journey
	err := s.d.Meta.Update(meta.KindJourney, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		if err := json.Unmarshal(cur, &out); err != nil {
			return nil, err
		}
		if want != 0 && want != out.Revision {
			return nil, meta.ErrConflict
		}
		if err := fn(&out, tx); err != nil {
			return nil, err
		}
		out.Revision++
		out.UpdatedAt = time.Now().UTC()
		return &out, nil
	})
	if err != nil {
		return nil, metaErr(err, "journey", id)
	}
	return &out, nil
}

func (s *Server) updateJourney(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	var in journeyInput
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	if in.ID != "" && in.ID != id {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "id", "the id cannot change"))
		return
	}
	want, err := expectedRevision(ctx, in.Revision)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	j, err := s.mutateJourney(id, want, func(j *model.Journey, tx *meta.Tx) error {
		if in.Name != "" {
			j.Name = in.Name
		}
		j.Description = in.Description
		if in.Draft != nil {
			j.Draft = in.Draft
		} else if j.Draft == nil {
			return apierr.New(409, apierr.JourneyNotDraft, "draft", "journey %q has no draft; create one with POST /v1/journeys/%s/draft", id, id)
		}
		return nil
	})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(j.Revision, 10))
	writeJSON(ctx, 200, j)
}

func (s *Server) deleteJourney(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	j, err := s.loadJourney(id)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if j.Versions > 0 {
		writeErr(ctx, apierr.New(409, apierr.InUse, "", "journey %q has published versions; stop it instead (its history and reports stay)", id))
		return
	}
	if err := s.d.Meta.Delete(meta.KindJourney, id); err != nil {
		writeErr(ctx, metaErr(err, "journey", id))
		return
	}
	ctx.SetStatusCode(204)
}

// compileDraft validates a journey's draft against the current catalog.
func (s *Server) compileDraft(j *model.Journey) (*journey.Graph, apierr.List) {
	if j.Draft == nil {
		return nil, apierr.List{apierr.New(409, apierr.JourneyNotDraft, "draft", "journey %q has no draft; create one with POST /v1/journeys/%s/draft", j.ID, j.ID)}
	}
	return journey.Compile(j.ID, j.Versions+1, j.Name, j.Draft, s.d.Catalog.Current())
}

func (s *Server) validateJourney(ctx *fasthttp.RequestCtx) {
	j, err := s.loadJourney(param(ctx, "id"))
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if _, errs := s.compileDraft(j); len(errs) > 0 {
		if errs[0].Code == apierr.JourneyNotDraft {
			writeErr(ctx, errs[0])
			return
		}
		writeJSON(ctx, 200, map[string]any{"valid": false, "errors": errs})
		return
	}
	writeJSON(ctx, 200, map[string]any{"valid": true, "errors": []any{}})
}

func (s *Server) publishJourney(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	want, err := expectedRevision(ctx, 0)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	var published model.JourneyVersion
	j, err := s.mutateJourney(id, want, func(j *model.Journey, tx *meta.Tx) error {
		if _, errs := s.compileDraft(j); len(errs) > 0 {
			return errs
		}
		// Plugin references without a version are pinned to the latest now: a version keeps
		// calling the plugin it was published with.
		pinned := journey.Pin(j.Draft, s.d.Catalog.Current())
		published = model.JourneyVersion{JourneyID: j.ID, Version: j.Versions + 1, Name: j.Name, Definition: *pinned, PublishedAt: time.Now().UTC()}
		// The version and the journey pointing at it commit in one batch.
		if err := tx.Put(meta.KindJourneyVersion, versionID(j.ID, published.Version), &published); err != nil {
			return err
		}
		j.Versions, j.LiveVersion, j.Status, j.Draft = published.Version, published.Version, model.StatusLive, nil
		return nil
	})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	ctx.Response.Header.Set("ETag", strconv.FormatInt(j.Revision, 10))
	writeJSON(ctx, 200, map[string]any{"journey": j, "version": published})
}

func (s *Server) draftFromLive(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	want, err := expectedRevision(ctx, 0)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	j, err := s.mutateJourney(id, want, func(j *model.Journey, tx *meta.Tx) error {
		if j.Draft != nil {
			return apierr.New(409, apierr.AlreadyExists, "draft", "journey %q already has a draft; edit it or publish it", id)
		}
		if j.Versions == 0 {
			return apierr.New(409, apierr.JourneyNotLive, "", "journey %q has no published version to copy", id)
		}
		var v model.JourneyVersion
		if err := s.d.Meta.Get(meta.KindJourneyVersion, versionID(id, j.Versions), &v); err != nil {
			return err
		}
		j.Draft = &v.Definition
		return nil
	})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, j)
}

func (s *Server) stopJourney(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	j, err := s.mutateJourney(id, 0, func(j *model.Journey, tx *meta.Tx) error {
		if j.Status != model.StatusLive {
			return apierr.New(409, apierr.JourneyNotLive, "", "journey %q is not live (it is %s)", id, j.Status)
		}
		j.Status = model.StatusStopped
		return nil
	})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, j)
}

func (s *Server) listVersions(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if _, err := s.loadJourney(id); err != nil {
		writeErr(ctx, err)
		return
	}
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	items, _, next, err := s.d.Meta.ListPrefix(meta.KindJourneyVersion, id+"/", cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, map[string]any{"items": orEmpty(items), "nextCursor": next})
}

func (s *Server) getVersion(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	v, err := strconv.Atoi(param(ctx, "version"))
	if err != nil || v < 1 {
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "version", "version must be a positive number"))
		return
	}
	var out model.JourneyVersion
	if err := s.d.Meta.Get(meta.KindJourneyVersion, versionID(id, v), &out); err != nil {
		writeErr(ctx, metaErr(err, "journey version", fmt.Sprintf("%s v%d", id, v)))
		return
	}
	writeJSON(ctx, 200, out)
}

// journeyReport sums the counters of every version of a journey.
func (s *Server) journeyReport(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	j, err := s.loadJourney(id)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	counters, err := s.d.Reports.Counters("j/" + id + "/")
	if err != nil {
		writeErr(ctx, err)
		return
	}
	type versionReport struct {
		Version int                         `json:"version"`
		Totals  map[string]int64            `json:"totals"`
		Nodes   map[string]map[string]int64 `json:"nodes"`
	}
	byVersion := map[int]*versionReport{}
	for scope, counts := range counters {
		// scope: j/<id>/<version>/<node>
		rest := scope[len("j/"+id+"/"):]
		var v int
		var node string
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' {
				v, _ = strconv.Atoi(rest[:i])
				node = rest[i+1:]
				break
			}
		}
		vr := byVersion[v]
		if vr == nil {
			vr = &versionReport{Version: v, Totals: map[string]int64{}, Nodes: map[string]map[string]int64{}}
			byVersion[v] = vr
		}
		if node == "" {
			vr.Totals = counts
		} else {
			vr.Nodes[node] = counts
		}
	}
	versions := make([]*versionReport, 0, len(byVersion))
	for _, vr := range byVersion {
		versions = append(versions, vr)
	}
	sort.Slice(versions, func(a, b int) bool { return versions[a].Version < versions[b].Version })
	totals := map[string]int64{}
	for _, vr := range versions {
		if vr.Version == journey.DraftVersion {
			continue // test runs of the draft are not the journey's totals
		}
		for k, n := range vr.Totals {
			totals[k] += n
		}
	}
	hourly, err := s.d.Reports.Hourly(id)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	// Every instance counts "entered" once and "exited" once at the journey level.
	active := totals["entered"] - totals["exited"]
	actionsUsed := map[string]map[string]int64{}
	for _, a := range s.actionsOf(j) {
		c, err := s.d.Reports.Counters(engine.ActionScope(a))
		if err == nil {
			actionsUsed[a] = c[engine.ActionScope(a)]
		}
	}
	writeJSON(ctx, 200, map[string]any{"journeyId": id, "status": j.Status, "liveVersion": j.LiveVersion,
		"active": active, "totals": totals, "versions": versions, "hourly": hourly, "actions": actionsUsed})
}

// actionsOf lists the actions used by a journey's published versions.
func (s *Server) actionsOf(j *model.Journey) []string {
	seen := map[string]bool{}
	var out []string
	for v := 1; v <= j.Versions; v++ {
		var jv model.JourneyVersion
		if s.d.Meta.Get(meta.KindJourneyVersion, versionID(j.ID, v), &jv) != nil {
			continue
		}
		for _, n := range jv.Definition.Nodes {
			if n.Kind == model.NodeAction && n.Action != "" && !seen[n.Action] {
				seen[n.Action] = true
				out = append(out, n.Action)
			}
		}
	}
	sort.Strings(out)
	return out
}

// journeysUsing lists journeys whose draft or live version uses something.
func (s *Server) journeysUsing(uses func(def *model.Definition) bool) []string {
	var out []string
	_ = s.d.Meta.ListAll(meta.KindJourney, func(id string, raw []byte) error {
		var j model.Journey
		if json.Unmarshal(raw, &j) != nil {
			return nil
		}
		if j.Draft != nil && uses(j.Draft) {
			out = append(out, j.ID)
			return nil
		}
		if j.Status == model.StatusLive || j.Status == model.StatusStopped {
			var v model.JourneyVersion
			if s.d.Meta.Get(meta.KindJourneyVersion, versionID(j.ID, j.LiveVersion), &v) == nil && uses(&v.Definition) {
				out = append(out, j.ID)
			}
		}
		return nil
	})
	return out
}

func (s *Server) journeysUsingAction(id string) []string {
	return s.journeysUsing(func(d *model.Definition) bool {
		for _, n := range d.Nodes {
			if n.Kind == model.NodeAction && n.Action == id {
				return true
			}
		}
		return false
	})
}

func (s *Server) journeysUsingEvent(name string) []string {
	return s.journeysUsing(func(d *model.Definition) bool {
		for _, n := range d.Nodes {
			if n.Kind == model.NodeEvent && n.Event == name {
				return true
			}
		}
		for _, x := range d.Rules.ExitEvents {
			if x.Event == name {
				return true
			}
		}
		return false
	})
}
