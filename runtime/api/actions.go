package api

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/expr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// redacted is an action as the API returns it: secrets masked, with flags saying which are set.
type redacted struct {
	model.Action
	SecretsSet map[string]bool `json:"secretsSet,omitempty"`
}

func redact(a model.Action) redacted {
	out := redacted{Action: actions.Redact(a)}
	if a.Auth != nil {
		out.SecretsSet = map[string]bool{}
		out.SecretsSet["token"] = a.Auth.Token != ""
		out.SecretsSet["password"] = a.Auth.Password != ""
		out.SecretsSet["value"] = a.Auth.Value != ""
	}
	return out
}

// checkAction validates an action and that its templates compile.
func checkAction(a *model.Action) error {
	if errs := actions.ValidateAction(a); len(errs) > 0 {
		return errs
	}
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		return err
	}
	if a.Kind != model.ActionPlugin {
		if _, err := env.CompileStringTemplate(a.URL); err != nil {
			return withField(err, "url")
		}
	}
	if len(a.Payload) > 0 {
		if _, err := env.CompileJSONTemplate(a.Payload); err != nil {
			return withField(err, "payload")
		}
	}
	return nil
}

// checkActionPlugin checks that a plugin action's pinned plugin version exists, implements the
// kind "action" and accepts the action's config. Called under the metadata write lock, so the
// plugin cannot go in between.
func (s *Server) checkActionPlugin(a *model.Action) error {
	if a.Kind != model.ActionPlugin || a.Plugin == nil {
		return nil
	}
	v, err := s.resolvePlugin(a.Plugin, "action")
	if err != nil {
		return err
	}
	if l := pluginConfigErrors(v, a.Plugin, "plugin.config"); len(l) > 0 {
		return l
	}
	return nil
}

func withField(err error, field string) error {
	if e, ok := err.(*apierr.Error); ok && e.Field == "" {
		e.Field = field
		return e
	}
	return err
}

func (s *Server) listActions(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindAction, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	items := make([]redacted, 0, len(raws))
	for _, r := range raws {
		var a model.Action
		if json.Unmarshal(r, &a) == nil {
			items = append(items, redact(a))
		}
	}
	writeJSON(ctx, 200, map[string]any{"items": items, "nextCursor": next})
}

func (s *Server) createAction(ctx *fasthttp.RequestCtx) {
	s.idempotent(ctx, func() {
		var a model.Action
		if err := s.decodeBody(ctx, &a); err != nil {
			writeErr(ctx, err)
			return
		}
		a.Method = strings.ToUpper(a.Method)
		if err := checkAction(&a); err != nil {
			writeErr(ctx, err)
			return
		}
		now := time.Now().UTC()
		a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
		err := s.d.Meta.Update(meta.KindAction, a.ID, func(cur []byte, tx *meta.Tx) (any, error) {
			if cur != nil {
				return nil, apierr.New(409, apierr.AlreadyExists, "id", "action %q already exists; update it with PUT", a.ID)
			}
			if err := s.checkActionPlugin(&a); err != nil {
				return nil, err
			}
			return &a, nil
		})
		if err != nil {
			writeErr(ctx, err)
			return
		}
		writeJSON(ctx, 201, redact(a))
	})
}

func (s *Server) loadAction(id string) (*model.Action, error) {
	var a model.Action
	if err := s.d.Meta.Get(meta.KindAction, id, &a); err != nil {
		return nil, metaErr(err, "action", id)
	}
	return &a, nil
}

func (s *Server) getAction(ctx *fasthttp.RequestCtx) {
	a, err := s.loadAction(param(ctx, "id"))
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, redact(*a))
}

func (s *Server) updateAction(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	var a model.Action
	if err := s.decodeBody(ctx, &a); err != nil {
		writeErr(ctx, err)
		return
	}
	if a.ID == "" {
		a.ID = id
	}
	if a.ID != id {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "id", "the id cannot change; create a new action instead"))
		return
	}
	a.Method = strings.ToUpper(a.Method)
	want, err := expectedRevision(ctx, a.Version)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	err = s.d.Meta.Update(meta.KindAction, id, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur == nil {
			return nil, meta.ErrNotFound
		}
		var old model.Action
		if err := json.Unmarshal(cur, &old); err != nil {
			return nil, err
		}
		if want != 0 && want != old.Version {
			return nil, meta.ErrConflict
		}
		actions.MergeSecrets(&a, &old)
		if err := checkAction(&a); err != nil {
			return nil, err
		}
		if err := s.checkActionPlugin(&a); err != nil {
			return nil, err
		}
		if err := s.breaksPublished(overlay{base: s.d.Catalog.Current(), action: &a}); err != nil {
			return nil, err
		}
		a.Version, a.CreatedAt, a.UpdatedAt = old.Version+1, old.CreatedAt, time.Now().UTC()
		return &a, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "action", id))
		return
	}
	writeJSON(ctx, 200, redact(a))
}

func (s *Server) deleteAction(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if users := s.journeysUsingAction(id); len(users) > 0 {
		writeErr(ctx, apierr.New(409, apierr.InUse, "", "action %q is used by journeys %s; change or stop them first", id, strings.Join(users, ", ")))
		return
	}
	if err := s.d.Meta.Delete(meta.KindAction, id); err != nil {
		writeErr(ctx, metaErr(err, "action", id))
		return
	}
	ctx.SetStatusCode(204)
}

// testAction renders the action for a sample event/profile and calls it once.
func (s *Server) testAction(ctx *fasthttp.RequestCtx) {
	a, err := s.loadAction(param(ctx, "id"))
	if err != nil {
		writeErr(ctx, err)
		return
	}
	var in struct {
		Event   map[string]any `json:"event"`
		Profile map[string]any `json:"profile"`
		Vars    map[string]any `json:"vars"`
		// Channel actions: send to this address, or to the address of the stored profile.
		To        string `json:"to"`
		ProfileID string `json:"profileId"`
	}
	if b, _ := s.readBody(ctx); len(strings.TrimSpace(string(b))) > 0 {
		if err := decodeStrict(b, &in); err != nil {
			writeErr(ctx, err)
			return
		}
	}
	if model.IsChannel(a.Kind) {
		s.testChannelAction(ctx, a, channelTest{to: in.To, profileID: in.ProfileID, event: in.Event, profile: in.Profile, vars: in.Vars})
		return
	}
	if in.To != "" || in.ProfileID != "" {
		writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "to", "to and profileId are for email, sms and push actions; %q is not one", a.ID))
		return
	}
	env, err := expr.NewEnv(expr.Options{})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	act := &expr.Activation{Event: orMap(in.Event), Profile: orMap(in.Profile), Vars: orMap(in.Vars),
		Journey: map[string]any{"id": "test", "version": int64(0), "nodeId": "test"}, Now: time.Now().UTC()}
	if a.Kind == model.ActionPlugin {
		s.testPluginAction(ctx, a, env, act)
		return
	}
	ut, err := env.CompileStringTemplate(a.URL)
	if err != nil {
		writeErr(ctx, withField(err, "url"))
		return
	}
	u, err := ut.Render(act, nil)
	if err != nil {
		writeErr(ctx, apierr.New(422, apierr.InvalidExpression, "url", "could not render the url for this sample: %v", err))
		return
	}
	var body []byte
	if len(a.Payload) > 0 {
		pt, err := env.CompileJSONTemplate(a.Payload)
		if err != nil {
			writeErr(ctx, withField(err, "payload"))
			return
		}
		if body, err = pt.Render(act); err != nil {
			writeErr(ctx, apierr.New(422, apierr.InvalidExpression, "payload", "could not render the payload for this sample: %v", err))
			return
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := s.d.Tester.Call(cctx, a, engine.CallRequest{URL: u, Body: body, IdempotencyKey: "test-" + hashID(u+string(body)+time.Now().String()), Attempt: 1})
	status := 200
	if !out.OK {
		status = 502
	}
	writeJSON(ctx, status, map[string]any{"ok": out.OK, "status": out.Status, "retryable": out.Retryable, "error": out.Err,
		"request": map[string]any{"method": a.Method, "url": u, "body": json.RawMessage(orNull(body))}})
}

// testPluginAction renders a plugin action's payload for a sample and calls its plugin once,
// with the installation's secrets and config (the action's config merged over it).
func (s *Server) testPluginAction(ctx *fasthttp.RequestCtx, a *model.Action, env *expr.Env, act *expr.Activation) {
	if !s.pluginsEnabled(ctx) {
		return
	}
	body := []byte("{}")
	if len(a.Payload) > 0 {
		pt, err := env.CompileJSONTemplate(a.Payload)
		if err != nil {
			writeErr(ctx, withField(err, "payload"))
			return
		}
		if body, err = pt.Render(act); err != nil {
			writeErr(ctx, apierr.New(422, apierr.InvalidExpression, "payload", "could not render the payload for this sample: %v", err))
			return
		}
	}
	p, err := s.loadPlugin(a.Plugin.Name)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	config, err := mergeConfig(p.Config, a.Plugin.Config)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	key := "test-" + hashID(string(body)+time.Now().String())
	input, _ := json.Marshal(map[string]any{"idempotencyKey": key, "attempt": 1, "payload": json.RawMessage(body), "profile": act.Profile})
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := s.d.Plugins.Run(cctx, a.Plugin.Name, a.Plugin.Version, "action", input, config, p.Secrets)
	status, errMsg := 200, ""
	if run.Error != nil {
		status, errMsg = 502, run.Error.Code+": "+run.Error.Message
	}
	writeJSON(ctx, status, map[string]any{"ok": run.Error == nil, "status": 0, "retryable": retryableRun(run.Error), "error": errMsg,
		"request": map[string]any{"plugin": a.Plugin.Name, "version": a.Plugin.Version, "body": json.RawMessage(body)},
		"plugin":  runResult(run)})
}

func orMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func (s *Server) deadLetters(ctx *fasthttp.RequestCtx) {
	limit, _, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	items, err := s.d.Reports.DeadLetters(limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if items == nil {
		items = []engine.DeadLetter{}
	}
	writeJSON(ctx, 200, map[string]any{"items": items})
}

func deadLetterErr(err error, id string) error {
	if errors.Is(err, engine.ErrNoDeadLetter) {
		return notFound("dead letter", id)
	}
	if errors.Is(err, engine.ErrStopped) {
		return apierr.New(503, apierr.Unavailable, "", "the node is shutting down; try again")
	}
	if errors.Is(err, engine.ErrNotLeader) {
		return apierr.New(503, apierr.Unavailable, "", "the dead letter's partition is changing leader; try again in a moment")
	}
	return err
}

// POST /v1/dead-letters/{id}/retry: the call goes back to the outbox with its idempotency key.
func (s *Server) retryDeadLetter(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if pid, ok := s.d.Engine.DeadLetterPartition(id); ok && s.toPartitionOwner(ctx, pid) {
		return
	}
	c, cancel := opCtx()
	defer cancel()
	if err := s.d.Engine.RetryDeadLetter(c, id); err != nil {
		writeErr(ctx, deadLetterErr(err, id))
		return
	}
	writeJSON(ctx, 202, map[string]any{"id": id, "status": "requeued"})
}

func (s *Server) deleteDeadLetter(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if pid, ok := s.d.Engine.DeadLetterPartition(id); ok && s.toPartitionOwner(ctx, pid) {
		return
	}
	c, cancel := opCtx()
	defer cancel()
	if err := s.d.Engine.DeleteDeadLetter(c, id); err != nil {
		writeErr(ctx, deadLetterErr(err, id))
		return
	}
	ctx.SetStatusCode(204)
}
