package main

import (
	"encoding/json"
	"net/netip"
	"time"

	"github.com/wayline/wayline/runtime/demo"
	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
)

// loadDemo loads the demo workspace (package demo). Loading it again keeps what exists (so a
// user's edits survive) and only points the actions and the data source at this run's sink,
// CRM and SMTP sink addresses.
func loadDemo(md *meta.Store, sinkURL, crmURL string, smtpAddr netip.AddrPort) error {
	now := time.Now().UTC()
	for _, d := range demo.Events {
		d.Version, d.CreatedAt, d.UpdatedAt = 1, now, now
		if err := putIfAbsent(md, meta.KindEventDef, d.Name, &d); err != nil {
			return err
		}
	}
	a := demo.Action(sinkURL)
	err := md.Update(meta.KindAction, a.ID, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var old model.Action
			if err := json.Unmarshal(cur, &old); err != nil {
				return nil, err
			}
			old.URL = a.URL // the sink moves with --listen
			return &old, nil
		}
		a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
		return &a, nil
	})
	if err != nil {
		return err
	}
	if err := loadDemoFollowup(md, crmURL, smtpAddr, now); err != nil {
		return err
	}
	return md.Update(meta.KindJourney, demo.JourneyID, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur != nil {
			var j model.Journey
			err := json.Unmarshal(cur, &j)
			return &j, err
		}
		v := model.JourneyVersion{JourneyID: demo.JourneyID, Version: 1, Name: demo.JourneyName, Definition: demo.Journey, PublishedAt: now}
		if err := tx.Put(meta.KindJourneyVersion, demo.JourneyID+"/00000001", &v); err != nil {
			return nil, err
		}
		return &model.Journey{ID: demo.JourneyID, Name: v.Name, Description: "Demo: greet new users; pro users at once, others after 2 seconds",
			Status: model.StatusLive, LiveVersion: 1, Versions: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}, nil
	})
}

// loadDemoFollowup loads the CRM data source, the email action and the follow-up journey.
func loadDemoFollowup(md *meta.Store, crmURL string, smtpAddr netip.AddrPort, now time.Time) error {
	ds := demo.DataSource(crmURL)
	err := md.Update(meta.KindDataSource, ds.ID, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var old model.DataSource
			if err := json.Unmarshal(cur, &old); err != nil {
				return nil, err
			}
			if old.REST != nil && old.REST.BaseURL != ds.REST.BaseURL {
				old.REST.BaseURL = ds.REST.BaseURL // the CRM moves with --listen
				old.Version, old.UpdatedAt = old.Version+1, now
			}
			return &old, nil
		}
		ds.Version, ds.CreatedAt, ds.UpdatedAt = 1, now, now
		return &ds, nil
	})
	if err != nil {
		return err
	}
	a := demo.EmailAction(smtpAddr.Addr().String(), int(smtpAddr.Port()))
	err = md.Update(meta.KindAction, a.ID, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var old model.Action
			if err := json.Unmarshal(cur, &old); err != nil {
				return nil, err
			}
			if old.Provider != nil {
				old.Provider.Host, old.Provider.Port = a.Provider.Host, a.Provider.Port // a new port each run
			}
			return &old, nil
		}
		a.Version, a.CreatedAt, a.UpdatedAt = 1, now, now
		return &a, nil
	})
	if err != nil {
		return err
	}
	return md.Update(meta.KindJourney, demo.FollowupJourneyID, func(cur []byte, tx *meta.Tx) (any, error) {
		if cur != nil {
			var j model.Journey
			err := json.Unmarshal(cur, &j)
			return &j, err
		}
		v := model.JourneyVersion{JourneyID: demo.FollowupJourneyID, Version: 1, Name: demo.FollowupJourneyName, Definition: demo.FollowupJourney, PublishedAt: now}
		if err := tx.Put(meta.KindJourneyVersion, demo.FollowupJourneyID+"/00000001", &v); err != nil {
			return nil, err
		}
		return &model.Journey{ID: demo.FollowupJourneyID, Name: v.Name, Description: "Demo: thank gold customers (tier from the demo CRM data source) by email, and wait 3 days for a click",
			Status: model.StatusLive, LiveVersion: 1, Versions: 1, Revision: 1, CreatedAt: now, UpdatedAt: now}, nil
	})
}

func putIfAbsent(md *meta.Store, kind, id string, v any) error {
	return md.Update(kind, id, func(cur []byte, _ *meta.Tx) (any, error) {
		if cur != nil {
			var keep json.RawMessage = append([]byte(nil), cur...)
			return keep, nil
		}
		return v, nil
	})
}
