package datasource

import (
	"testing"
)

// FuzzDecodeAnswers feeds the two decoders of outside bytes — a REST source's answer and an
// adapter plugin's output — anything: each returns fields or an error, never panics, and
// never returns both or neither.
func FuzzDecodeAnswers(f *testing.F) {
	for _, s := range []string{`{"tempC":18.5,"condition":"rain"}`, `{"fields":{"a":[1,2,{"b":null}]}}`, `[]`, `null`, `{"fields":null}`, `{`, "\xff", `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, decode := range map[string]func([]byte) (map[string]any, error){"rest": decodeRESTAnswer, "adapter": decodeAdapterOutput} {
			fields, err := decode(b)
			if (err == nil) == (fields == nil) {
				t.Fatalf("%s: %q gave fields %v and error %v", name, b, fields, err)
			}
		}
	})
}
