package api

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/actions"
	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// GET /v1/settings: the workspace settings (version 0 and no channels before the first PUT).
func (s *Server) getSettings(ctx *fasthttp.RequestCtx) {
	st, err := s.loadSettings()
	if err != nil {
		writeErr(ctx, err)
		return
	}
	writeJSON(ctx, 200, st)
}

func (s *Server) loadSettings() (model.Settings, error) {
	var st model.Settings
	if err := s.d.Meta.Get(meta.KindSetting, model.SettingsID, &st); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return st, err
	}
	if st.Channels == nil {
		st.Channels = map[string]model.ChannelPolicy{}
	}
	return st, nil
}

// PUT /v1/settings: replaces the workspace settings. Channel defaults apply at once to every
// channel action of that kind that sets no cap or quiet hours of its own (sends already queued
// keep the policy they were queued under).
func (s *Server) putSettings(ctx *fasthttp.RequestCtx) {
	var in model.Settings
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	want, err := expectedRevision(ctx, in.Version)
	if err != nil {
		writeErr(ctx, err)
		return
	}
	var errs apierr.List
	for _, kind := range slices.Sorted(maps.Keys(in.Channels)) {
		if !model.IsChannel(kind) {
			errs = append(errs, apierr.New(422, apierr.InvalidRequest, "channels."+kind, "%q is not a channel; use email, sms or push", clipText(kind, 40)))
			continue
		}
		p := in.Channels[kind]
		errs = append(errs, actions.ValidatePolicy(p.Capping, p.QuietHours, "channels."+kind+".")...)
	}
	if len(errs) > 0 {
		writeErr(ctx, errs)
		return
	}
	if in.Channels == nil {
		in.Channels = map[string]model.ChannelPolicy{}
	}
	err = s.d.Meta.Update(meta.KindSetting, model.SettingsID, func(cur []byte, _ *meta.Tx) (any, error) {
		var old model.Settings
		if cur != nil {
			if err := json.Unmarshal(cur, &old); err != nil {
				return nil, err
			}
		}
		if want != 0 && want != old.Version {
			return nil, meta.ErrConflict
		}
		in.Version, in.UpdatedAt = old.Version+1, time.Now().UTC()
		return &in, nil
	})
	if err != nil {
		writeErr(ctx, metaErr(err, "settings", model.SettingsID))
		return
	}
	writeJSON(ctx, 200, in)
}
