package schema

import (
	"errors"
	"strings"
	"testing"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/apierr"
)

// FuzzCompile feeds arbitrary bytes to Compile: it must never panic, and every failure must be
// an invalid_schema *apierr.Error that says something. A schema that compiles must validate,
// list its fields and answer HasField without panicking.
func FuzzCompile(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `true`, `{"type":"strin"}`, signupSchema,
		`{"properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"$ref":"#/$defs/a"}}}`,
		`{"properties":{"a":{"$ref":"#"}}}`,
		`{"properties":{"a":{"pattern":"(("}}}`,
		`{"$ref":"https://example.com/s.json"}`,
		`{"$id":"x","properties":{"a":{"$ref":"x#/properties/a"}}}`,
		`{"$schema":"https://json-schema.org/draft/2019-09/schema","items":[{}]}`,
		`{"properties":{"a":{"$dynamicRef":"#meta"}},"$dynamicAnchor":"meta"}`,
		`{"properties":{"a":{"minimum":1e400}}}`,
		`{"properties":{"a":{"enum":[]}}}`,
	} {
		f.Add([]byte(seed))
	}
	data := map[string]any{"a": "x", "n": 1.0, "o": map[string]any{"k": []any{true, nil}}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := Compile(raw)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) error %T, want *apierr.Error", raw, err)
			}
			if e.Code != apierr.InvalidSchema || e.Status != 422 || e.Field == "" || e.Message == "" {
				t.Fatalf("Compile(%q) = %+v, want a 422 invalid_schema error with field and message", raw, e)
			}
			return
		}
		for _, v := range s.Validate(data) {
			if v.Field == "" || v.Message == "" || !strings.HasPrefix(v.Field, "data") {
				t.Fatalf("Validate gave %+v, want a field under data and a message", v)
			}
		}
		checkAgreement(t, s, data)
		s.Fields()
		s.HasField([]string{"a", "b[]", "0"})
	})
}

// fuzzSchema is the fixed schema FuzzValidate checks random data against.
const fuzzSchema = `{
  "type":"object",
  "required":["id"],
  "properties":{
    "id":{"type":"string","minLength":1,"maxLength":8,"pattern":"^[a-z0-9]+$"},
    "email":{"type":"string","format":"email"},
    "at":{"type":"string","format":"date-time"},
    "url":{"type":"string","format":"uri"},
    "n":{"type":"integer","minimum":0,"multipleOf":3},
    "plan":{"enum":["free","pro",1,null]},
    "nested":{"type":"object","additionalProperties":false,"properties":{"a":{"type":"array","items":{"$ref":"#"},"uniqueItems":true}}},
    "alt":{"oneOf":[{"type":"string"},{"type":"number"}]}
  }
}`

// FuzzValidate validates random JSON against a fixed schema: no panic, the fast path never
// accepts what the library rejects, and every violation has a field under data and a message.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"id":"abc"}`, `{"id":"ABC","email":"x","at":"2024-13-01T00:00:00Z","url":"a b"}`,
		`{"id":"a","n":4.5,"plan":"gold","nested":{"a":[{"id":"b"},{"id":"b"}],"z":1}}`,
		`{"id":1e308,"alt":true}`, `[]`, `"s"`, `null`, `{"id":"a","nested":{"a":[[],{}]}}`,
		`{"id":"\u00e9\u0000","email":"\"a b\"@c.d"}`,
	} {
		f.Add([]byte(seed))
	}
	s := mustCompile(f, fuzzSchema)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var data any
		if err := sonic.Unmarshal(raw, &data); err != nil {
			return
		}
		checkAgreement(t, s, data)
		errs := s.Validate(data)
		for i, e := range errs {
			if e.Field == "" || e.Message == "" || !strings.HasPrefix(e.Field, "data") {
				t.Fatalf("violation %+v lacks a field under data or a message", e)
			}
			if i > 0 && errs[i-1].Field > e.Field {
				t.Fatalf("violations are not sorted: %q before %q", errs[i-1].Field, e.Field)
			}
		}
	})
}

var benchData = `{"userId":"u-123456","plan":"pro","email":"ada@example.com","seats":12,"ratio":2.5,
  "site":"https://example.com/pricing","at":"2024-05-01T12:00:00Z","code":"ABC","kind":"signup",
  "tags":["a","b"],"address":{"city":"Paris","zip":"75001"},
  "items":[{"sku":"A1","qty":1},{"sku":"B2","qty":3}]}`

// BenchmarkValidate measures the per-event cost on the ingest path: a valid event against a
// schema with formats, nesting and arrays.
func BenchmarkValidate(b *testing.B) {
	s := mustCompile(b, signupSchema)
	data := decode(b, benchData)
	if errs := s.Validate(data); errs != nil {
		b.Fatalf("bench data is invalid: %v", errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Validate(data) != nil {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkValidateInvalid measures the cost of reporting violations (rejected events).
func BenchmarkValidateInvalid(b *testing.B) {
	s := mustCompile(b, signupSchema)
	data := decode(b, `{"userId":7,"plan":"gold","email":"nope","items":[{"qty":"x"}],"address":{"zip":1}}`)
	b.ReportAllocs()
	for b.Loop() {
		if s.Validate(data) == nil {
			b.Fatal("valid")
		}
	}
}

// BenchmarkValidateAny is the floor: the any-object schema.
func BenchmarkValidateAny(b *testing.B) {
	s := Any()
	data := decode(b, benchData)
	b.ReportAllocs()
	for b.Loop() {
		s.Validate(data)
	}
}
