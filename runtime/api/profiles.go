package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/engine"
)

// checkProfileID checks a profile id from the path: "namespace:value".
func checkProfileID(id string) error {
	i := strings.IndexByte(id, ':')
	if i <= 0 || i == len(id)-1 || len(id) > 512 || strings.ContainsRune(id, 0) {
		return apierr.New(400, apierr.InvalidRequest, "id", "a profile id is an identity \"namespace:value\", like \"email:ada@example.com\" (URL-encode it in the path)")
	}
	return nil
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), submitTimeout)
}

func (s *Server) getProfile(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if err := checkProfileID(id); err != nil {
		writeErr(ctx, err)
		return
	}
	if s.toOwner(ctx, id) {
		return
	}
	p, err := s.d.Engine.GetProfile(id)
	if err != nil {
		writeErr(ctx, profileErr(err, id))
		return
	}
	inst, _ := s.d.Engine.Instances(id)
	writeJSON(ctx, 200, map[string]any{"id": p.ID, "identities": p.Identities, "attributes": p.Attributes, "test": p.Test,
		"createdAt": p.CreatedAt, "updatedAt": p.UpdatedAt, "instances": inst})
}

func profileErr(err error, id string) error {
	if errors.Is(err, engine.ErrNoProfile) {
		return notFound("profile", id)
	}
	if errors.Is(err, engine.ErrStopped) {
		return apierr.New(503, apierr.Unavailable, "", "the node is shutting down; try again")
	}
	if errors.Is(err, engine.ErrNotLeader) {
		return apierr.New(503, apierr.Unavailable, "", "the profile's partition is changing leader; try again in a moment")
	}
	return err
}

// PUT /v1/profiles/{id}: {"attributes": {...}, "test": bool} deep-merged into the profile.
func (s *Server) upsertProfile(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if err := checkProfileID(id); err != nil {
		writeErr(ctx, err)
		return
	}
	if s.toOwner(ctx, id) {
		return
	}
	var in struct {
		Attributes map[string]any `json:"attributes"`
		Test       *bool          `json:"test"`
	}
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	if in.Attributes == nil && in.Test == nil {
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "attributes", "send {\"attributes\": {...}} to merge into the profile"))
		return
	}
	c, cancel := opCtx()
	defer cancel()
	p, err := s.d.Engine.UpsertProfile(c, id, in.Attributes, in.Test)
	if err != nil {
		writeErr(ctx, profileErr(err, id))
		return
	}
	writeJSON(ctx, 200, p)
}

func (s *Server) deleteProfile(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if err := checkProfileID(id); err != nil {
		writeErr(ctx, err)
		return
	}
	if s.toOwner(ctx, id) {
		return
	}
	c, cancel := opCtx()
	defer cancel()
	if err := s.d.Engine.DeleteProfile(c, id); err != nil {
		writeErr(ctx, profileErr(err, id))
		return
	}
	ctx.SetStatusCode(204)
}

func (s *Server) profileTrace(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if err := checkProfileID(id); err != nil {
		writeErr(ctx, err)
		return
	}
	if s.toOwner(ctx, id) {
		return
	}
	if _, err := s.d.Engine.GetProfile(id); err != nil {
		writeErr(ctx, profileErr(err, id))
		return
	}
	steps, err := s.d.Engine.Trace(id)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	if steps == nil {
		steps = []engine.TraceStep{}
	}
	writeJSON(ctx, 200, map[string]any{"profileId": id, "steps": steps, "at": time.Now().UTC()})
}
