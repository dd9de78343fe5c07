package schema

import (
	"reflect"
	"strings"
	"testing"
)

func TestFields(t *testing.T) {
	s := mustCompile(t, signupSchema)
	got := s.Fields()
	want := []Field{
		{Path: "address", Type: "object"},
		{Path: "address.city", Type: "string", Required: true},
		{Path: "address.zip", Type: "string"},
		{Path: "at", Type: "string", Format: "date-time"},
		{Path: "code", Type: "string"},
		{Path: "email", Type: "string", Format: "email"},
		{Path: "items", Type: "array"},
		{Path: "items[].qty", Type: "integer"},
		{Path: "items[].sku", Type: "string", Required: true},
		{Path: "kind", Enum: []any{"signup"}},
		{Path: "plan", Required: true, Enum: []any{"free", "pro"}},
		{Path: "ratio", Type: "number"},
		{Path: "ref"},
		{Path: "seats", Type: "integer"},
		{Path: "site", Type: "string", Format: "uri"},
		{Path: "tags", Type: "array"},
		{Path: "userId", Type: "string", Required: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields():\n got %+v\nwant %+v", got, want)
	}
	// The result is the caller's to change.
	got[0].Path = "changed"
	if s.Fields()[0].Path != "address" {
		t.Fatal("changing the result of Fields changed the schema")
	}
}

func TestFieldsFollowsRefsAndAllOf(t *testing.T) {
	s := mustCompile(t, `{
	  "type":"object",
	  "$defs":{"addr":{"type":"object","required":["city"],"properties":{"city":{"type":"string"}}},
	           "node":{"type":"object","properties":{"name":{"type":"string"},"next":{"$ref":"#/$defs/node"}}}},
	  "properties":{
	    "home":{"$ref":"#/$defs/addr"},
	    "list":{"$ref":"#/$defs/node"},
	    "n":{"enum":[1, 2.5]},
	    "matrix":{"type":"array","items":{"type":"array","items":{"type":"object","properties":{"v":{"type":"number"}}}}}
	  },
	  "allOf":[{"required":["home"],"properties":{"extra":{"type":"boolean"}}}]
	}`)
	got := s.Fields()
	paths := make([]string, len(got))
	for i, f := range got {
		paths[i] = f.Path
	}
	joined := strings.Join(paths, " ")
	for _, p := range []string{"extra", "home", "home.city", "list.name", "list.next.name", "matrix[][].v", "n"} {
		if !strings.Contains(" "+joined+" ", " "+p+" ") {
			t.Errorf("Fields() lacks %q; got %s", p, joined)
		}
	}
	if len(got) > maxFields {
		t.Errorf("Fields() returned %d fields, want at most %d", len(got), maxFields)
	}
	for _, f := range got {
		switch f.Path {
		case "home":
			if !f.Required || f.Type != "object" {
				t.Errorf("home = %+v, want a required object", f)
			}
		case "home.city":
			if !f.Required {
				t.Errorf("home.city = %+v, want required (from the $ref target)", f)
			}
		case "n":
			if !reflect.DeepEqual(f.Enum, []any{1.0, 2.5}) {
				t.Errorf("n.Enum = %#v, want float64 values", f.Enum)
			}
		}
	}
}

func TestHasField(t *testing.T) {
	s := mustCompile(t, `{
	  "type":"object",
	  "additionalProperties": false,
	  "properties":{
	    "plan":{"type":"string"},
	    "address":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"}}},
	    "meta":{"type":"object"},
	    "attrs":{"type":"object","additionalProperties":{"type":"object","additionalProperties":false,"properties":{"v":{}}}},
	    "items":{"type":"array","items":{"type":"object","additionalProperties":false,"properties":{"sku":{"type":"string"}}}},
	    "tags":{"type":"array"},
	    "labels":{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false},
	    "gone":false,
	    "ref":{"$ref":"#/$defs/r"},
	    "alt":{"anyOf":[{"properties":{"a":{}}, "additionalProperties":false},{"properties":{"b":{}}}]}
	  },
	  "$defs":{"r":{"type":"object","additionalProperties":false,"properties":{"id":{"type":"string"}}}}
	}`)
	cases := []struct {
		path string
		want bool
	}{
		{"", true},
		{"plan", true},
		{"plna", false},
		{"plan.x", false}, // a string has no fields
		{"address", true},
		{"address.city", true},
		{"address.cty", false},
		{"meta.anything.deep", true},
		{"attrs.someKey", true},
		{"attrs.someKey.v", true},
		{"attrs.someKey.w", false},
		{"items[]", true},
		{"items[0]", true},
		{"items[].sku", true},
		{"items[3].sku", true},
		{"items.0.sku", true},
		{"items[].skew", false},
		{"items.sku", false},
		{"tags[5]", true},
		{"tags[5].x", true},
		{"plan[0]", false},
		{"labels.x-color", true},
		{"labels.color", false},
		{"gone", false},
		{"ref.id", true},
		{"ref.idd", false},
		{"alt.a", true},
		{"alt.b", true},
		{"alt.c", true},
	}
	for _, c := range cases {
		var path []string
		if c.path != "" {
			path = strings.Split(c.path, ".")
		}
		if got := s.HasField(path); got != c.want {
			t.Errorf("HasField(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestHasFieldOpenSchema(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"plan":{"type":"string"},"n":{"type":["integer","null"]}}}`)
	for _, p := range [][]string{{"plan"}, {"plna"}, {"x", "y"}} {
		if !s.HasField(p) {
			t.Errorf("HasField(%q) = false on an open schema, want true", p)
		}
	}
	if s.HasField([]string{"n", "x"}) {
		t.Error(`HasField(["n","x"]) = true, want false: an integer has no fields`)
	}
}

func TestSplitSegment(t *testing.T) {
	cases := []struct {
		in    string
		name  string
		steps int
	}{
		{"items", "items", 0},
		{"items[]", "items", 1},
		{"items[0][12]", "items", 2},
		{"[]", "", 1},
		{"a[b]", "a[b]", 0},
		{"a[", "a[", 0},
		{"a]", "a]", 0},
	}
	for _, c := range cases {
		name, steps := splitSegment(c.in)
		if name != c.name || steps != c.steps {
			t.Errorf("splitSegment(%q) = %q, %d; want %q, %d", c.in, name, steps, c.name, c.steps)
		}
	}
}
