package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/apierr"
)

func TestCompileAcceptsValidSchemas(t *testing.T) {
	cases := map[string]string{
		"empty":          ``,
		"blank":          "  \n",
		"null":           `null`,
		"empty object":   `{}`,
		"object":         `{"type":"object"}`,
		"nullable root":  `{"type":["object","null"]}`,
		"nested":         `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}}}}}`,
		"local ref":      `{"type":"object","properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"string"}}}`,
		"recursive ref":  `{"type":"object","properties":{"child":{"$ref":"#"}}}`,
		"draft 7":        `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":"string"}}}`,
		"pattern":        `{"properties":{"a":{"type":"string","pattern":"^[a-z]+$"}}}`,
		"unknown format": `{"properties":{"a":{"type":"string","format":"color"}}}`,
		"escaped ptr":    `{"properties":{"a":{"$ref":"#/$defs/a~1b"}},"$defs":{"a/b":{"type":"string"}}}`,
		"nested $id":     `{"$defs":{"a":{"$id":"https://example.com/a","$defs":{"b":{"type":"string"}},"properties":{"v":{"$ref":"#/$defs/b"}}}},"properties":{"a":{"$ref":"#/$defs/a"}}}`,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Compile([]byte(raw))
			if err != nil {
				t.Fatalf("Compile(%s) failed: %v", raw, err)
			}
			if s == nil {
				t.Fatalf("Compile(%s) returned a nil schema", raw)
			}
		})
	}
}

func TestCompileRejectsInvalidSchemas(t *testing.T) {
	cases := []struct {
		name, raw, field, msg string
	}{
		{"bad json", `{"type":`, "schema", "not valid JSON"},
		{"trailing data", `{"type":"object"} {}`, "schema", "not valid JSON"},
		{"array root", `[1,2]`, "schema", "must be a JSON object"},
		{"boolean root", `true`, "schema", "must be a JSON object"},
		{"string root", `"x"`, "schema", "must be a JSON object"},
		{"unknown root type", `{"type":"strin"}`, "schema.type", `unknown type "strin"`},
		{"unknown nested type", `{"properties":{"a":{"type":"strin"}}}`, "schema.properties.a.type", `unknown type "strin"`},
		{"unknown type in list", `{"properties":{"a":{"type":["string",3]}}}`, "schema.properties.a.type[1]", "unknown type 3"},
		{"type not a string", `{"properties":{"a":{"type":{}}}}`, "schema.properties.a.type", "must be a type name"},
		{"root not an object", `{"type":"string"}`, "schema.type", `must be "object"`},
		{"bad regex", `{"properties":{"a":{"type":"string","pattern":"(("}}}`, "schema.properties.a.pattern", "regular expression"},
		{"bad pattern property", `{"patternProperties":{"((":{"type":"string"}}}`, "schema.patternProperties.((", "regular expression"},
		{"remote ref", `{"properties":{"a":{"$ref":"https://example.com/a.json"}}}`, "schema.properties.a.$ref", "remote references are not fetched"},
		{"relative file ref", `{"properties":{"a":{"$ref":"other.json#/x"}}}`, "schema.properties.a.$ref", "remote references are not fetched"},
		{"missing local ref", `{"properties":{"a":{"$ref":"#/$defs/nope"}}}`, "schema.properties.a.$ref", "does not exist"},
		{"ref not a string", `{"properties":{"a":{"$ref":3}}}`, "schema.properties.a.$ref", "must be a string"},
		{"remote $schema", `{"$schema":"https://example.com/meta"}`, "schema.$schema", "JSON Schema draft"},
		{"negative minLength", `{"properties":{"a":{"minLength":-1}}}`, "schema.properties.a.minLength", "at least 0"},
		{"required not array", `{"required":"a"}`, "schema.required", "must be an array"},
		{"enum not array", `{"properties":{"a":{"enum":"x"}}}`, "schema.properties.a.enum", "must be an array"},
		{"items in allOf", `{"allOf":[{"properties":{"a":{"type":"nope"}}}]}`, "schema.allOf[0].properties.a.type", "unknown type"},
		{"dotted property", `{"properties":{"a.b":{"type":"nope"}}}`, `schema.properties["a.b"].type`, "unknown type"},
		{"too deep", strings.Repeat(`{"items":`, 70) + `{}` + strings.Repeat(`}`, 70), "", "levels deep"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.raw))
			if err == nil {
				t.Fatalf("Compile(%s) = %v, want an error", c.raw, s)
			}
			var e *apierr.Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%s) error is %T (%v), want *apierr.Error", c.raw, err, err)
			}
			if e.Status != 422 || e.Code != apierr.InvalidSchema {
				t.Errorf("status/code = %d/%s, want 422/%s", e.Status, e.Code, apierr.InvalidSchema)
			}
			if c.field != "" && e.Field != c.field {
				t.Errorf("field = %q, want %q (message %q)", e.Field, c.field, e.Message)
			}
			if !strings.Contains(e.Message, c.msg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, c.msg)
			}
		})
	}
}

func TestCompileNeverLoadsFiles(t *testing.T) {
	// A file the process can read must still not be pulled in through a reference.
	_, err := Compile([]byte(`{"properties":{"a":{"$ref":"file:///etc/hostname"}}}`))
	if err == nil || !strings.Contains(err.Error(), "remote references are not fetched") {
		t.Fatalf("Compile with a file reference: err = %v, want a refusal", err)
	}
	// A $id moves the base URI; a relative reference then names another document.
	_, err = Compile([]byte(`{"$id":"https://example.com/ev.json","properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"$ref":"#/$defs/b"}}}`))
	if err == nil {
		t.Fatal("Compile with a dangling reference under $id succeeded, want an error")
	}
}

func TestAnySchemaAcceptsAnyObject(t *testing.T) {
	s, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(map[string]any{"x": 1.0, "y": []any{"z"}}); errs != nil {
		t.Errorf("Validate on the any-object schema = %v, want no errors", errs)
	}
	if errs := s.Validate([]any{}); len(errs) != 1 || errs[0].Field != "data" {
		t.Errorf("Validate(array) = %v, want one error on data", errs)
	}
	if !s.HasField([]string{"anything", "at", "all"}) {
		t.Error("HasField on the any-object schema = false, want true")
	}
	if f := s.Fields(); f != nil {
		t.Errorf("Fields() = %v, want none", f)
	}
}
