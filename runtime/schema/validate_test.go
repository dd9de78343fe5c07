package schema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/apierr"
)

// signupSchema is the schema most tests validate against.
const signupSchema = `{
  "type": "object",
  "required": ["userId", "plan"],
  "properties": {
    "userId":  {"type": "string", "minLength": 1, "maxLength": 64},
    "email":   {"type": "string", "format": "email"},
    "plan":    {"enum": ["free", "pro"]},
    "seats":   {"type": "integer", "minimum": 1, "maximum": 500},
    "ratio":   {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.5},
    "site":    {"type": "string", "format": "uri"},
    "at":      {"type": "string", "format": "date-time"},
    "code":    {"type": "string", "pattern": "^[A-Z]{3}$"},
    "kind":    {"const": "signup"},
    "ref":     {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    "tags":    {"type": "array", "items": {"type": "string"}, "maxItems": 3, "uniqueItems": true},
    "address": {
      "type": "object",
      "required": ["city"],
      "additionalProperties": false,
      "properties": {
        "city": {"type": "string"},
        "zip":  {"type": ["string", "null"]}
      }
    },
    "items": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": ["sku"],
        "properties": {"sku": {"type": "string", "maxLength": 8}, "qty": {"type": "integer"}}
      }
    }
  }
}`

func mustCompile(t testing.TB, raw string) *Schema {
	t.Helper()
	s, err := Compile([]byte(raw))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func decode(t testing.TB, js string) any {
	t.Helper()
	var v any
	if err := sonic.UnmarshalString(js, &v); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return v
}

func render(errs apierr.List) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Field + ": " + e.Message
	}
	return strings.Join(lines, "\n")
}

func TestValidate(t *testing.T) {
	s := mustCompile(t, signupSchema)
	cases := []struct {
		name string
		data string
		want string // one "field: message" per line, in order; empty: valid
	}{
		{"minimal", `{"userId":"u1","plan":"free"}`, ""},
		{"full", `{"userId":"u1","plan":"pro","email":"a@b.co","seats":3,"ratio":1.5,"site":"https://x.io/a","at":"2024-05-01T12:00:00Z","code":"ABC","kind":"signup","ref":7,"tags":["a","b"],"address":{"city":"Paris","zip":null},"items":[{"sku":"A1","qty":2}]}`, ""},
		{"integer as float", `{"userId":"u1","plan":"free","seats":3.0}`, ""},
		{"missing required", `{}`, "data.plan: is required\ndata.userId: is required"},
		{"enum", `{"userId":"u1","plan":"gold"}`, `data.plan: must be one of: "free", "pro"`},
		{"type", `{"userId":5,"plan":"free"}`, "data.userId: must be a string"},
		{"nullable type", `{"userId":"u","plan":"free","address":{"city":"P","zip":5}}`, "data.address.zip: must be a string or null"},
		{"integer", `{"userId":"u","plan":"free","seats":2.5}`, "data.seats: must be an integer"},
		{"email", `{"userId":"u","plan":"free","email":"nope"}`, "data.email: must be a valid email address"},
		{"uri", `{"userId":"u","plan":"free","site":"/relative"}`, "data.site: must be an absolute URI such as https://example.com/page"},
		{"date-time", `{"userId":"u","plan":"free","at":"yesterday"}`, "data.at: must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z"},
		{"max length", `{"userId":"` + strings.Repeat("x", 65) + `","plan":"free"}`, "data.userId: must be at most 64 characters"},
		{"min length", `{"userId":"","plan":"free"}`, "data.userId: must be at least 1 character"},
		{"minimum", `{"userId":"u","plan":"free","seats":0}`, "data.seats: must be at least 1"},
		{"maximum", `{"userId":"u","plan":"free","seats":501}`, "data.seats: must be at most 500"},
		{"exclusive minimum", `{"userId":"u","plan":"free","ratio":0}`, "data.ratio: must be greater than 0"},
		{"multiple of", `{"userId":"u","plan":"free","ratio":0.7}`, "data.ratio: must be a multiple of 0.5"},
		{"pattern", `{"userId":"u","plan":"free","code":"abc"}`, "data.code: must match the pattern ^[A-Z]{3}$"},
		{"const", `{"userId":"u","plan":"free","kind":"login"}`, `data.kind: must be "signup"`},
		{"any of types", `{"userId":"u","plan":"free","ref":true}`, "data.ref: must be a string or an integer"},
		{"max items", `{"userId":"u","plan":"free","tags":["a","b","c","d"]}`, "data.tags: must have at most 3 items"},
		{"unique items", `{"userId":"u","plan":"free","tags":["a","a"]}`, "data.tags: must not contain duplicates (items [0] and [1] are equal)"},
		{"item type", `{"userId":"u","plan":"free","tags":["a",3]}`, "data.tags[1]: must be a string"},
		{"nested required", `{"userId":"u","plan":"free","address":{}}`, "data.address.city: is required"},
		{"additional property", `{"userId":"u","plan":"free","address":{"city":"P","cty":"x"}}`, "data.address.cty: is not a field of this event; remove it or add it to the event's schema"},
		{"array of objects", `{"userId":"u","plan":"free","items":[{"sku":"A"},{"sku":"B"},{"qty":1}]}`, "data.items[2].sku: is required"},
		{"nested max length", `{"userId":"u","plan":"free","items":[{"sku":"TOO-LONG-SKU"}]}`, "data.items[0].sku: must be at most 8 characters"},
		{"min items", `{"userId":"u","plan":"free","items":[]}`, "data.items: must have at least 1 item"},
		{"object expected", `{"userId":"u","plan":"free","address":"Paris"}`, "data.address: must be an object"},
		{"many, sorted", `{"userId":7,"plan":"x","seats":"3","address":{"zip":1}}`,
			"data.address.city: is required\ndata.address.zip: must be a string or null\n" +
				`data.plan: must be one of: "free", "pro"` + "\ndata.seats: must be an integer\ndata.userId: must be a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := s.Validate(decode(t, c.data))
			if got := render(errs); got != c.want {
				t.Fatalf("Validate(%s):\n got: %s\nwant: %s", c.data, got, c.want)
			}
			for _, e := range errs {
				if e.Status != 400 || e.Code != apierr.InvalidEvent {
					t.Errorf("%s: status/code = %d/%s, want 400/%s", e.Field, e.Status, e.Code, apierr.InvalidEvent)
				}
			}
		})
	}
}

func TestValidateNonObjectData(t *testing.T) {
	s := mustCompile(t, signupSchema)
	for _, v := range []any{nil, "x", 1.0, true, []any{}} {
		errs := s.Validate(v)
		if len(errs) != 1 || errs[0].Field != "data" || !strings.HasPrefix(errs[0].Message, "must be a JSON object") {
			t.Errorf("Validate(%#v) = %s, want one error on data", v, render(errs))
		}
	}
}

func TestValidateFieldPathsQuoteOddKeys(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"a.b":{"type":"string"},"0":{"type":"object","properties":{"c d":{"type":"string"}}}}}`)
	got := render(s.Validate(decode(t, `{"a.b":1,"0":{"c d":2}}`)))
	want := "data.0[\"c d\"]: must be a string\ndata[\"a.b\"]: must be a string"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidateRefsAndCombinators(t *testing.T) {
	s := mustCompile(t, `{
	  "type":"object",
	  "$defs":{"money":{"type":"object","required":["amount","currency"],"properties":{"amount":{"type":"number"},"currency":{"enum":["EUR","USD"]}}}},
	  "properties":{
	    "total":{"$ref":"#/$defs/money"},
	    "either":{"oneOf":[{"type":"string","maxLength":2},{"type":"string","minLength":1}]},
	    "notx":{"not":{"const":"x"}},
	    "flag":false
	  },
	  "allOf":[{"required":["total"]}],
	  "if":{"properties":{"notx":{"const":"y"}},"required":["notx"]},
	  "then":{"required":["either"]}
	}`)
	cases := []struct{ data, want string }{
		{`{"total":{"amount":1,"currency":"EUR"}}`, ""},
		{`{}`, "data.total: is required"},
		{`{"total":{"amount":"1","currency":"GBP"}}`, "data.total.amount: must be a number\ndata.total.currency: must be one of: \"EUR\", \"USD\""},
		{`{"total":{"amount":1,"currency":"EUR"},"either":"ab"}`, "data.either: matches more than one of the alternatives (oneOf); it must match exactly one"},
		{`{"total":{"amount":1,"currency":"EUR"},"notx":"x"}`, "data.notx: is not allowed: it matches a schema it must not match"},
		{`{"total":{"amount":1,"currency":"EUR"},"flag":1}`, "data.flag: is not allowed"},
		{`{"total":{"amount":1,"currency":"EUR"},"notx":"y"}`, "data.either: is required"},
	}
	for _, c := range cases {
		if got := render(s.Validate(decode(t, c.data))); got != c.want {
			t.Errorf("Validate(%s):\n got: %s\nwant: %s", c.data, got, c.want)
		}
	}
}

func TestValidateIsDeterministic(t *testing.T) {
	s := mustCompile(t, signupSchema)
	data := decode(t, `{"userId":7,"plan":"x","seats":"3","tags":[1,2,3,4],"address":{"zip":1,"a":1,"b":2,"c":3},"items":[{},{},{}]}`)
	first := render(s.Validate(data))
	for i := 0; i < 50; i++ {
		if got := render(s.Validate(data)); got != first {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i, got, first)
		}
	}
}

func TestValidateListsAtMostTenEnumValues(t *testing.T) {
	vals := make([]string, 15)
	for i := range vals {
		vals[i] = fmt.Sprintf("%q", fmt.Sprint("v", i))
	}
	s := mustCompile(t, `{"properties":{"a":{"enum":[`+strings.Join(vals, ",")+`]}}}`)
	errs := s.Validate(map[string]any{"a": "zz"})
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Message, "… (5 more)") {
		t.Fatalf("got %s, want the list cut after ten values", render(errs))
	}
}
