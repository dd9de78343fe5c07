package auth

import (
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/store"
)

func TestAllowsFollowsTheRoleOrder(t *testing.T) {
	cases := []struct {
		have, need string
		want       bool
	}{
		{model.RoleAdmin, model.RoleEditor, true},
		{model.RoleEditor, model.RoleAdmin, false},
		{model.RoleViewer, model.RoleViewer, true},
		{model.RoleViewer, model.RoleEditor, false},
		{model.RoleIngest, model.RoleViewer, false},
		{model.RoleIngest, model.RoleIngest, true},
		{model.RoleEditor, model.RoleIngest, true},
		{model.RoleViewer, model.RoleIngest, false},
		{"bogus", model.RoleViewer, false},
	}
	for _, c := range cases {
		if got := Allows(c.have, c.need); got != c.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", c.have, c.need, got, c.want)
		}
	}
}

func TestKeysStoreOnlyHashesAndSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := New(meta.New(st))
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := keys.Create("ci", model.RoleIngest, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "wl_") || k.Hash == secret || strings.Contains(k.Hash, secret) {
		t.Fatalf("the record must hold a hash, not the secret: %+v", k)
	}
	if _, ok := keys.Lookup(secret + "x"); ok {
		t.Fatal("a wrong secret resolved")
	}
	st.Close()
	st, err = store.Open(store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err = New(meta.New(st))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := keys.Lookup(secret)
	if !ok || got.Role != model.RoleIngest {
		t.Fatalf("key not found after reopen: %+v %v", got, ok)
	}
	if err := keys.Delete(got.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := keys.Lookup(secret); ok {
		t.Fatal("a deleted key still resolves")
	}
}
