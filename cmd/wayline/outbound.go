package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/channels"
	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/netguard"
)

// outboundGuard builds the SSRF guard every outbound call of a node dials through (REST
// actions, data sources, channel providers; plugins get their own from the same list): the
// internal ranges of --allow-net, and with --demo the node's own listen address, so the demo
// workspace's actions reach the built-in sink without opening the rest of loopback.
func outboundGuard(allowNet string, demo bool, self net.Addr) (*netguard.Guard, error) {
	allow, err := netguard.ParseAllow(splitList(allowNet))
	if err != nil {
		return nil, fmt.Errorf("--allow-net: %w", err)
	}
	g := &netguard.Guard{Allow: allow}
	if demo {
		if ap, err := netip.ParseAddrPort(self.String()); err == nil {
			g.AllowAddrs = append(g.AllowAddrs, ap)
		}
	}
	return g, nil
}

// trackingKeyID is where the key that signs message links is kept (meta kind "setting").
const trackingKeyID = "tracking-key"

// trackingKey returns the node's link-signing key, made once and stored, so links in messages
// already sent keep working after a restart.
func trackingKey(md *meta.Store) ([]byte, error) {
	var k []byte
	err := md.Get(meta.KindSetting, trackingKeyID, &k)
	if err == nil && len(k) >= 32 {
		return k, nil
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, md.Put(meta.KindSetting, trackingKeyID, k)
}

// newChannels builds the channel providers over guard, and the public endpoints of messages
// (open pixel, click redirect, unsubscribe, delivery callbacks) feeding eng.
func newChannels(md *meta.Store, guard *netguard.Guard, publicURL string, eng *engine.Engine) (*channels.Service, *channels.Handlers, error) {
	key, err := trackingKey(md)
	if err != nil {
		return nil, nil, fmt.Errorf("the link-signing key: %w", err)
	}
	if err := ensureReactionEvents(md); err != nil {
		return nil, nil, err
	}
	tr := &channels.Tracker{BaseURL: strings.TrimRight(publicURL, "/"), Key: key}
	svc := &channels.Service{Providers: map[string]channels.Provider{
		model.ActionEmail: &channels.Email{Guard: guard, Tracker: tr},
		model.ActionSMS:   channels.NewSMS(guard, 10*time.Second, tr),
		model.ActionPush:  channels.NewPush(guard, 10*time.Second),
	}}
	// The API registers these as its public message routes (api.Deps.Messages).
	h := &channels.Handlers{Tracker: tr, Reactor: engineReactor{eng}}
	return svc, h, nil
}

// ensureReactionEvents defines the system event types messages send back, so journeys can
// wait for them ("wait for a click, for 3 days").
func ensureReactionEvents(md *meta.Store) error {
	schema := json.RawMessage(`{"type":"object","properties":{"profileId":{"type":"string"},"journeyId":{"type":"string"},` +
		`"version":{"type":"number"},"nodeId":{"type":"string"},"instanceId":{"type":"string"},"actionId":{"type":"string"},` +
		`"channel":{"type":"string"},"messageKey":{"type":"string"},"url":{"type":"string"},"status":{"type":"string"},"errorCode":{"type":"string"}}}`)
	for _, name := range []string{engine.EventMessageOpened, engine.EventMessageClicked, engine.EventMessageDelivered, engine.EventMessageFailed} {
		if ok, err := md.Exists(meta.KindEventDef, name); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		now := time.Now().UTC()
		def := model.EventDefinition{Name: name, Description: "system event: sent by Wayline when a recipient reacts to a message",
			Schema: schema, IdentityField: "profileId", IdentityNamespace: "", Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := md.Put(meta.KindEventDef, name, def); err != nil {
			return err
		}
	}
	return nil
}

// engineReactor hands reactions to the engine.
type engineReactor struct{ eng *engine.Engine }

func (r engineReactor) React(ctx context.Context, ref channels.Ref, eventType, id string, data map[string]any) error {
	now := time.Now().UTC()
	ev := &model.Envelope{ID: id, Type: eventType, Timestamp: now, Identity: ref.Profile, Data: data, ReceivedAt: now}
	out := r.eng.Submit(ctx, []*model.Envelope{ev}, nil)
	return out[0].Err
}

func (r engineReactor) Unsubscribe(ctx context.Context, ref channels.Ref) error {
	kind := ref.Kind
	if kind == "" {
		kind = model.ActionEmail
	}
	_, err := r.eng.UpsertProfile(ctx, ref.Profile, map[string]any{"consent": map[string]any{kind: false}}, nil)
	return err
}
