package actions

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/model"
)

func TestRedactMasksSetSecretsAndLeavesTheOriginal(t *testing.T) {
	orig := model.Action{
		ID:      "a",
		Auth:    &model.ActionAuth{Type: "basic", Username: "ann", Password: "pw", Token: ""},
		Headers: map[string]string{"X-Api-Key": "k", "Authorization": "", "X-Source": "wayline"},
	}
	red := Redact(orig)
	if red.Auth.Password != Mask || red.Auth.Username != "ann" || red.Auth.Token != "" {
		t.Errorf("redacted auth = %+v, want password masked, username kept, empty token empty", *red.Auth)
	}
	if red.Headers["X-Api-Key"] != Mask || red.Headers["Authorization"] != "" || red.Headers["X-Source"] != "wayline" {
		t.Errorf("redacted headers = %v, want only set sensitive values masked", red.Headers)
	}
	if orig.Auth.Password != "pw" || orig.Headers["X-Api-Key"] != "k" {
		t.Errorf("Redact changed the original: %+v %v", *orig.Auth, orig.Headers)
	}
	b, _ := json.Marshal(Redact(model.Action{Auth: &model.ActionAuth{Type: "apiKey", Header: "X-K", Value: "very-secret"}}))
	if strings.Contains(string(b), "very-secret") {
		t.Errorf("redacted JSON %s holds the secret", b)
	}
}

func TestMergeSecrets(t *testing.T) {
	stored := &model.Action{
		Auth:    &model.ActionAuth{Type: "bearer", Token: "old-token"},
		Headers: map[string]string{"X-Api-Key": "old-key"},
	}
	tests := []struct {
		name        string
		updated     model.Action
		wantAuth    model.ActionAuth
		wantHeaders map[string]string
	}{
		{
			"mask keeps the token",
			model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: Mask}},
			model.ActionAuth{Type: "bearer", Token: "old-token"}, nil,
		},
		{
			"empty keeps the token",
			model.Action{Auth: &model.ActionAuth{Type: "bearer"}},
			model.ActionAuth{Type: "bearer", Token: "old-token"}, nil,
		},
		{
			"a new token replaces it",
			model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: "new"}},
			model.ActionAuth{Type: "bearer", Token: "new"}, nil,
		},
		{
			"another auth type keeps nothing and clears masks",
			model.Action{Auth: &model.ActionAuth{Type: "apiKey", Header: "X-K", Value: Mask}},
			model.ActionAuth{Type: "apiKey", Header: "X-K"}, nil,
		},
		{
			"masked sensitive header is kept, case-insensitively",
			model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: Mask}, Headers: map[string]string{"x-api-key": Mask, "X-Other-Token": Mask, "X-Plain": Mask}},
			model.ActionAuth{Type: "bearer", Token: "old-token"},
			map[string]string{"x-api-key": "old-key", "X-Other-Token": "", "X-Plain": Mask},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.updated
			sharedAuth := u.Auth
			before := *sharedAuth
			MergeSecrets(&u, stored)
			if *u.Auth != tc.wantAuth {
				t.Errorf("auth = %+v, want %+v", *u.Auth, tc.wantAuth)
			}
			if *sharedAuth != before {
				t.Errorf("MergeSecrets wrote through the caller's auth pointer: %+v", *sharedAuth)
			}
			for k, want := range tc.wantHeaders {
				if u.Headers[k] != want {
					t.Errorf("header %s = %q, want %q", k, u.Headers[k], want)
				}
			}
		})
	}
	if stored.Auth.Token != "old-token" || stored.Headers["X-Api-Key"] != "old-key" {
		t.Errorf("MergeSecrets changed the stored action: %+v %v", *stored.Auth, stored.Headers)
	}
	MergeSecrets(nil, stored) // no panic
	fresh := model.Action{Auth: &model.ActionAuth{Type: "bearer", Token: Mask}}
	MergeSecrets(&fresh, nil)
	if fresh.Auth.Token != "" {
		t.Errorf("a mask with nothing stored = %q, want it cleared", fresh.Auth.Token)
	}
}

func TestRedactThenMergeRoundTrips(t *testing.T) {
	stored := validAction()
	stored.Auth = &model.ActionAuth{Type: "basic", Username: "u", Password: "p"}
	stored.Headers = map[string]string{"X-Session": "s"}
	shown := Redact(*stored)
	MergeSecrets(&shown, stored)
	if *shown.Auth != *stored.Auth || shown.Headers["X-Session"] != "s" {
		t.Errorf("redact then merge = %+v %v, want the stored secrets back", *shown.Auth, shown.Headers)
	}
	if errs := ValidateAction(&shown); errs != nil {
		t.Errorf("merged action does not validate: %v", errs)
	}
}
