package ingest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 2*3600))

const signupSchema = `{
  "type":"object",
  "required":["userId","plan"],
  "properties":{
    "userId":{"type":["string","number"]},
    "plan":{"enum":["free","pro"]},
    "customer":{"type":"object","properties":{"email":{"type":"string","format":"email"}}}
  }
}`

func signupDef() *model.EventDefinition {
	return &model.EventDefinition{Name: "signup", IdentityField: "userId", IdentityNamespace: "user"}
}

func mustSchema(t testing.TB, raw string) *schema.Schema {
	t.Helper()
	s, err := schema.Compile([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNormalise(t *testing.T) {
	sch := mustSchema(t, signupSchema)
	raw := RawEvent{ID: "evt-1", Type: "signup", Timestamp: "2024-05-01T13:30:00.5+02:00", Data: map[string]any{"userId": "u42", "plan": "pro"}, Test: true}
	env, errs := Normalise(raw, signupDef(), sch, testNow)
	if errs != nil {
		t.Fatalf("Normalise: %v", errs)
	}
	if env.ID != "evt-1" || env.Type != "signup" || env.Identity != "user:u42" || !env.Test || env.Data["plan"] != "pro" {
		t.Errorf("envelope = %+v", env)
	}
	if want := time.Date(2024, 5, 1, 11, 30, 0, 5e8, time.UTC); !env.Timestamp.Equal(want) || env.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp = %v, want %v in UTC", env.Timestamp, want)
	}
	if !env.ReceivedAt.Equal(testNow) || env.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt = %v, want %v in UTC", env.ReceivedAt, testNow)
	}
}

func TestNormaliseDefaults(t *testing.T) {
	env, errs := Normalise(RawEvent{Type: "ping", Identity: "device:d1"}, &model.EventDefinition{Name: "ping"}, nil, testNow)
	if errs != nil {
		t.Fatalf("Normalise: %v", errs)
	}
	if !env.Timestamp.Equal(testNow) {
		t.Errorf("Timestamp = %v, want now", env.Timestamp)
	}
	if env.Data == nil || len(env.Data) != 0 {
		t.Errorf("Data = %#v, want an empty map", env.Data)
	}
	if !regexp.MustCompile(`^[0-9a-f]{48}$`).MatchString(env.ID) {
		t.Errorf("generated ID %q is not 48 hex digits", env.ID)
	}
}

func TestNormaliseIdentity(t *testing.T) {
	sch := mustSchema(t, `{"type":"object"}`)
	def := &model.EventDefinition{Name: "order", IdentityField: "customer.id", IdentityNamespace: "crm"}
	cases := []struct {
		name     string
		data     map[string]any
		override string
		def      *model.EventDefinition
		want     string
		code     apierr.Code
		field    string
	}{
		{"nested string", map[string]any{"customer": map[string]any{"id": "c1"}}, "", def, "crm:c1", "", ""},
		{"integer", map[string]any{"customer": map[string]any{"id": 12345.0}}, "", def, "crm:12345", "", ""},
		{"big integer", map[string]any{"customer": map[string]any{"id": 9007199254740992.0}}, "", def, "crm:9007199254740992", "", ""},
		{"fraction", map[string]any{"customer": map[string]any{"id": 1.5}}, "", def, "crm:1.5", "", ""},
		{"override with namespace", map[string]any{}, "email:a@b.co", def, "email:a@b.co", "", ""},
		{"override bare", map[string]any{}, "c9", def, "crm:c9", "", ""},
		{"override wins", map[string]any{"customer": map[string]any{"id": "c1"}}, "c2", def, "crm:c2", "", ""},
		{"no namespace", map[string]any{"customer": map[string]any{"id": "c1"}}, "", &model.EventDefinition{IdentityField: "customer.id"}, "c1", "", ""},
		{"missing", map[string]any{}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"parent not object", map[string]any{"customer": "c1"}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"null", map[string]any{"customer": map[string]any{"id": nil}}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"empty string", map[string]any{"customer": map[string]any{"id": "  "}}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"boolean", map[string]any{"customer": map[string]any{"id": true}}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"object", map[string]any{"customer": map[string]any{"id": map[string]any{}}}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"inexact number", map[string]any{"customer": map[string]any{"id": 1e20}}, "", def, "", apierr.MissingIdentity, "data.customer.id"},
		{"no identity field", map[string]any{}, "", &model.EventDefinition{Name: "x"}, "", apierr.MissingIdentity, "identity"},
		{"blank override", map[string]any{}, " ", def, "", apierr.MissingIdentity, "identity"},
		{"override empty namespace", map[string]any{}, ":v", def, "", apierr.InvalidEvent, "identity"},
		{"override empty value", map[string]any{}, "ns:", def, "", apierr.InvalidEvent, "identity"},
		{"too long", map[string]any{"customer": map[string]any{"id": strings.Repeat("a", 600)}}, "", def, "", apierr.InvalidEvent, "data.customer.id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, errs := Normalise(RawEvent{Type: "order", Identity: c.override, Data: c.data}, c.def, sch, testNow)
			if c.code == "" {
				if errs != nil || env.Identity != c.want {
					t.Fatalf("identity = %q, %v; want %q", env.Identity, errs, c.want)
				}
				return
			}
			if len(errs) != 1 || errs[0].Code != c.code || errs[0].Field != c.field || errs[0].Status != 400 || errs[0].Message == "" {
				t.Fatalf("errors = %v; want one %s on %q", errs, c.code, c.field)
			}
		})
	}
}

func TestNormaliseIDAndTimestamp(t *testing.T) {
	def := &model.EventDefinition{Name: "x"}
	cases := []struct {
		name, id, ts string
		field        string // "" when valid
	}{
		{"plain id", "abc-123_X.9:z", "", ""},
		{"max id", strings.Repeat("a", 128), "", ""},
		{"long id", strings.Repeat("a", 129), "", "id"},
		{"id with space", "a b", "", "id"},
		{"id with slash", "a/b", "", "id"},
		{"id with accent", "é", "", "id"},
		{"utc", "", "2024-05-01T10:00:00Z", ""},
		{"offset", "", "2024-05-01T10:00:00-07:00", ""},
		{"nanos", "", "2024-05-01T10:00:00.123456789Z", ""},
		{"future within a day", "", "2024-05-02T09:00:00Z", ""},
		{"too far ahead", "", "2024-05-02T10:00:01Z", "timestamp"},
		{"date only", "", "2024-05-01", "timestamp"},
		{"unix", "", "1714564800", "timestamp"},
		{"no zone", "", "2024-05-01T10:00:00", "timestamp"},
		{"garbage", "", "yesterday", "timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, errs := Normalise(RawEvent{Type: "x", ID: c.id, Timestamp: c.ts, Identity: "ns:v"}, def, nil, testNow)
			if c.field == "" {
				if errs != nil {
					t.Fatalf("errors = %v, want none", errs)
				}
				if c.id != "" && env.ID != c.id {
					t.Errorf("ID = %q, want the client's %q", env.ID, c.id)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != c.field || errs[0].Code != apierr.InvalidEvent {
				t.Fatalf("errors = %v, want one invalid_event on %s", errs, c.field)
			}
		})
	}
}

func TestNormaliseReportsEverythingSorted(t *testing.T) {
	sch := mustSchema(t, signupSchema)
	raw := RawEvent{Type: "signup", ID: "bad id", Timestamp: "soon", Data: map[string]any{"plan": "gold", "customer": map[string]any{"email": "nope"}}}
	_, errs := Normalise(raw, signupDef(), sch, testNow)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	want := "data.customer.email data.plan data.userId id timestamp"
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("fields = %s\nwant     %s\n(%v)", got, want, errs)
	}
}

func TestNewIDIsOrderedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := NewID(testNow.Add(time.Duration(i) * time.Microsecond))
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("id %s does not sort after %s", id, prev)
		}
		prev = id
	}
	a, b := NewID(testNow), NewID(testNow)
	if a == b {
		t.Fatal("two ids made at the same instant are equal")
	}
}
