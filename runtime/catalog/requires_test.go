package catalog

import (
	"cmp"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

func TestRequiresNamesWhatALiveJourneyNeedsToRun(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	md := meta.New(st)
	put := func(kind, id, raw string) {
		t.Helper()
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		if err := md.Put(kind, id, v); err != nil {
			t.Fatal(err)
		}
	}
	put(meta.KindEventDef, "signup", `{"name":"signup","identityField":"userId","identityNamespace":"user","schema":{"type":"object","properties":{"plan":{"type":"string"}}}}`)
	put(meta.KindAction, "hello", `{"id":"hello","name":"Hello","method":"POST","url":"http://127.0.0.1:9/hello"}`)
	def := `{"nodes":[
		{"id":"start","kind":"event","event":"signup","next":"is-pro"},
		{"id":"is-pro","kind":"condition","branches":[{"id":"pro","expression":"event.data.plan == \"pro\"","next":"hello"}],"else":"end"},
		{"id":"hello","kind":"action","action":"hello","next":"end"},
		{"id":"end","kind":"end"}]}`
	version := `{"journeyId":"onboard","version":1,"name":"Onboarding","definition":` + def + `}`
	put(meta.KindJourneyVersion, "onboard/00000001", version)
	put(meta.KindJourney, "onboard", `{"id":"onboard","name":"Onboarding","status":"live","liveVersion":1,"versions":1}`)
	cat, err := New(md, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if entries := cat.Current().Journeys.Entries("signup"); len(entries) != 1 || entries[0].JourneyID != "onboard" {
		t.Fatal("the test journey is not live in the catalog; its records are wrong")
	}

	live, _ := md.GetRaw(meta.KindJourney, "onboard")
	if got, want := cat.Requires(meta.KindJourney, "onboard", live), []Ref{{meta.KindJourneyVersion, "onboard/00000001"}}; !slices.Equal(got, want) {
		t.Errorf("a live journey requires %v, want %v", got, want)
	}
	got := cat.Requires(meta.KindJourneyVersion, "onboard/00000001", []byte(version))
	slices.SortFunc(got, func(a, b Ref) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	if want := []Ref{{meta.KindAction, "hello"}, {meta.KindEventDef, "signup"}}; !slices.Equal(got, want) {
		t.Errorf("the version requires %v, want %v", got, want)
	}
	for _, tc := range []struct{ kind, value string }{
		{meta.KindJourney, `{"id":"onboard","status":"draft"}`},
		{meta.KindJourney, `{"id":"onboard","status":"stopped","liveVersion":1}`},
		{meta.KindJourney, `not json`},
		{meta.KindJourneyVersion, `{"definition":`},
		{meta.KindAction, `{"id":"hello"}`},
	} {
		if got := cat.Requires(tc.kind, "x", []byte(tc.value)); got != nil {
			t.Errorf("%s %s requires %v, want nothing", tc.kind, tc.value, got)
		}
	}
}
