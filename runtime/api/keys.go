package api

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/auth"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// keyView is a key as listed: never the secret or its hash.
type keyView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"createdAt"`
}

func view(k model.APIKey) keyView {
	return keyView{ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, CreatedAt: k.CreatedAt}
}

func (s *Server) listKeys(ctx *fasthttp.RequestCtx) {
	limit, cursor, err := listParams(ctx)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	raws, _, next, err := s.d.Meta.List(meta.KindAPIKey, cursor, limit)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	out := make([]keyView, 0, len(raws))
	for _, r := range raws {
		var k model.APIKey
		if json.Unmarshal(r, &k) == nil {
			out = append(out, view(k))
		}
	}
	writeJSON(ctx, 200, map[string]any{"items": out, "nextCursor": next})
}

func (s *Server) createKey(ctx *fasthttp.RequestCtx) {
	s.idempotent(ctx, func() {
		var in struct {
			Name string `json:"name"`
			Role string `json:"role"`
		}
		if err := s.decodeBody(ctx, &in); err != nil {
			writeErr(ctx, err)
			return
		}
		if !auth.ValidRole(in.Role) {
			writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "role", "role must be one of admin, editor, viewer, ingest"))
			return
		}
		if in.Name == "" || len(in.Name) > 128 {
			writeErr(ctx, apierr.New(422, apierr.InvalidRequest, "name", "name is required (up to 128 characters): say who or what uses the key"))
			return
		}
		k, secret, err := s.d.Keys.Create(in.Name, in.Role, "")
		if err != nil {
			writeErr(ctx, err)
			return
		}
		// The secret is shown once, here; only its hash is stored.
		writeJSON(ctx, 201, map[string]any{"id": k.ID, "name": k.Name, "role": k.Role, "prefix": k.Prefix, "createdAt": k.CreatedAt, "key": secret})
	})
}

func (s *Server) deleteKey(ctx *fasthttp.RequestCtx) {
	id := param(ctx, "id")
	if cur, ok := ctx.UserValue(keyCtx).(*model.APIKey); ok && cur.ID == id {
		writeErr(ctx, apierr.New(409, apierr.InUse, "", "you cannot delete the key you are using; use another admin key"))
		return
	}
	if err := s.d.Keys.Delete(id); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			writeErr(ctx, notFound("key", id))
			return
		}
		writeErr(ctx, err)
		return
	}
	ctx.SetStatusCode(204)
}
