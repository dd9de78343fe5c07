package schema

import (
	"math"
	"testing"
)

// checkAgreement fails when the fast path calls data valid and the library does not: the fast
// path may only ever be less sure than the library.
func checkAgreement(t testing.TB, s *Schema, data any) {
	t.Helper()
	if s.compiled == nil {
		return
	}
	fast := s.fast.valid(data, 0)
	lib := s.compiled.Validate(data) == nil
	if fast && !lib {
		t.Fatalf("fast path says %#v is valid, the library says: %v", data, s.compiled.Validate(data))
	}
}

func TestFastPathAgreesWithLibrary(t *testing.T) {
	cases := []struct {
		key    string // the property the schema constrains
		schema string
		data   []any
		// fastValid lists the indexes of data the fast path must accept by itself (the common
		// cases must not fall back to the slow path).
		fastValid []int
	}{
		{
			key:       "n",
			schema:    `{"properties":{"n":{"type":"integer","minimum":1,"maximum":10}}}`,
			data:      []any{1.0, 10.0, 5.0, 0.0, 11.0, 1.5, -1.0, 1e300, math.Inf(1)},
			fastValid: []int{0, 1, 2},
		},
		{
			key:       "n",
			schema:    `{"properties":{"n":{"type":"number","minimum":0.1,"maximum":0.3}}}`,
			data:      []any{0.1, 0.3, 0.2, 0.1 + 0.2, 0.09999999999999999, 0.30000000000000004},
			fastValid: []int{2},
		},
		{
			key:       "n",
			schema:    `{"properties":{"n":{"exclusiveMinimum":0.1,"exclusiveMaximum":1}}}`,
			data:      []any{0.1, 1.0, 0.5, 0.10000000000000002},
			fastValid: []int{2, 3},
		},
		{
			key:       "n",
			schema:    `{"properties":{"n":{"multipleOf":0.1}}}`,
			data:      []any{0.3, 0.7, 0.35, 3.0, 1e-7},
			fastValid: []int{0, 1, 3},
		},
		{
			key:       "n",
			schema:    `{"properties":{"n":{"multipleOf":3}}}`,
			data:      []any{9.0, 10.0, 9.5, 9007199254740993.0, -3.0, 0.0},
			fastValid: []int{0, 4, 5},
		},
		{
			key:       "n",
			schema:    `{"properties":{"n":{"enum":[1,"1",true,null,[1],{"a":1}]}}}`,
			data:      []any{1.0, "1", true, nil, []any{1.0}, map[string]any{"a": 1.0}, "2", false, 2.0},
			fastValid: []int{1, 2, 3},
		},
		{
			key:       "s",
			schema:    `{"properties":{"s":{"type":"string","minLength":2,"maxLength":3}}}`,
			data:      []any{"ab", "abc", "éé", "a", "abcd", "ééé", "éééé"},
			fastValid: []int{0, 1, 2, 5},
		},
		{
			key:       "a",
			schema:    `{"properties":{"a":{"type":"array","uniqueItems":true,"items":{"type":["string","number"]}}}}`,
			data:      []any{[]any{"a", "b"}, []any{"a", "a"}, []any{1.0, 1.0}, []any{1.0, 2.0}, []any{}, []any{true}},
			fastValid: []int{0, 4},
		},
		{
			key:       "o",
			schema:    `{"properties":{"o":{"type":"object","additionalProperties":false,"properties":{"a":{}},"required":["a"]}}}`,
			data:      []any{map[string]any{"a": 1.0}, map[string]any{"a": 1.0, "b": 2.0}, map[string]any{}, "x"},
			fastValid: []int{0},
		},
		{
			key:       "o",
			schema:    `{"properties":{"o":{"patternProperties":{"^x":{"type":"string"}},"additionalProperties":{"type":"number"}}}}`,
			data:      []any{map[string]any{"xa": "s", "b": 1.0}, map[string]any{"xa": 1.0}, map[string]any{"b": "s"}},
			fastValid: []int{0},
		},
		{
			key:       "v",
			schema:    `{"properties":{"v":{"anyOf":[{"type":"string"},{"type":"integer"}],"allOf":[{"not":{"const":"x"}}]}}}`,
			data:      []any{"a", "x", 1.0, 1.5},
			fastValid: nil, // not is left to the library
		},
		{
			key:       "v",
			schema:    `{"properties":{"v":{"if":{"type":"string"},"then":{"minLength":2}}}}`,
			data:      []any{"ab", "a", 1.0},
			fastValid: []int{0},
		},
		{
			key:       "v",
			schema:    `{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"v":{"$ref":"#/definitions/s","type":"number"}},"definitions":{"s":{"type":"string"}}}`,
			data:      []any{"a", 1.0},
			fastValid: []int{0}, // draft-07 ignores keywords beside $ref
		},
		{
			key:       "v",
			schema:    `{"properties":{"v":{"format":"email"},"u":{"format":"uri"},"d":{"format":"date-time"}}}`,
			data:      []any{"a@b.co", "nope", 3.0},
			fastValid: []int{0, 2},
		},
	}
	for _, c := range cases {
		s := mustCompile(t, c.schema)
		for i, v := range c.data {
			data := map[string]any{c.key: v}
			checkAgreement(t, s, data)
			wantFast := false
			for _, j := range c.fastValid {
				wantFast = wantFast || i == j
			}
			if got := s.fast.valid(data, 0); got != wantFast {
				t.Errorf("schema %s, data %#v: fast path valid = %v, want %v", c.schema, data, got, wantFast)
			}
		}
	}
}
