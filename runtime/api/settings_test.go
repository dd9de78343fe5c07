package api

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/catalog"
)

func emailAction(id string, capping map[string]any) map[string]any {
	a := map[string]any{"id": id, "name": id, "kind": "email",
		"provider": map[string]any{"host": "smtp.example.com", "port": 587, "from": "Shop <news@example.com>"},
		"message":  map[string]any{"subject": "Hi", "text": "Hello"}}
	if capping != nil {
		a["capping"] = capping
	}
	return a
}

func TestWorkspaceChannelDefaults(t *testing.T) {
	c, md := newAPI(t, nil)
	if s := c.must(200, "GET", "/v1/settings", nil); s["version"] != float64(0) || len(s["channels"].(map[string]any)) != 0 {
		t.Fatalf("settings before any update: %v", s)
	}
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"channels": map[string]any{"fax": map[string]any{}}}, "channels.fax"},
		{map[string]any{"channels": map[string]any{"email": map[string]any{"capping": map[string]any{"max": 0, "period": "24h"}}}}, "channels.email.capping.max"},
		{map[string]any{"channels": map[string]any{"sms": map[string]any{"quietHours": map[string]any{"start": "25:00", "end": "08:00"}}}}, "channels.sms.quietHours.start"},
		{map[string]any{"channels": map[string]any{"push": map[string]any{"quietHours": map[string]any{"start": "21:00", "end": "08:00", "mode": "later"}}}}, "channels.push.quietHours.mode"},
	}
	for _, tc := range bad {
		r := c.json("PUT", "/v1/settings", tc.body)
		if code, field, _ := r.errOf(t); r.status != 422 || code != "invalid_request" || field != tc.field {
			t.Errorf("%v: %d %s; want 422 on %s", tc.body, r.status, r.body, tc.field)
		}
	}
	// Only admins change them.
	if r := c.json("PUT", "/v1/settings", map[string]any{}, "Authorization", "Bearer "+viewerKey); r.status != 403 {
		t.Errorf("a viewer's PUT: %d %s", r.status, r.body)
	}
	set := map[string]any{"channels": map[string]any{"email": map[string]any{
		"capping":    map[string]any{"max": 3, "period": "24h"},
		"quietHours": map[string]any{"start": "21:00", "end": "08:00", "mode": "skip"}}}}
	s := c.must(200, "PUT", "/v1/settings", set)
	if s["version"] != float64(1) {
		t.Fatalf("after the first update: %v", s)
	}
	if r := c.json("PUT", "/v1/settings", set, "If-Match", "7"); r.status != 409 {
		t.Errorf("a stale If-Match: %d %s, want 409", r.status, r.body)
	}

	c.must(201, "POST", "/v1/actions", emailAction("plain", nil))
	c.must(201, "POST", "/v1/actions", emailAction("own", map[string]any{"max": 1, "period": "1h"}))
	cat, err := catalog.New(md, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap := cat.Current()
	plain, own := snap.Actions["plain"], snap.Actions["own"]
	if plain.Capping == nil || plain.Capping.Max != 3 || plain.Capping.Period.D() != 24*time.Hour || plain.QuietHours == nil || plain.QuietHours.Mode != "skip" {
		t.Errorf("an email action without its own policy did not get the workspace's: %+v %+v", plain.Capping, plain.QuietHours)
	}
	if own.Capping.Max != 1 || own.QuietHours == nil {
		t.Errorf("an action's own cap must win (and quiet hours still default): %+v %+v", own.Capping, own.QuietHours)
	}
	// The stored action is unchanged: GET shows what the user wrote.
	if a := c.must(200, "GET", "/v1/actions/plain", nil); a["capping"] != nil {
		t.Errorf("the defaults were written into the action: %v", a)
	}
}
