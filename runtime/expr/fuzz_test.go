package expr

import (
	"encoding/json"
	"testing"
)

// FuzzCompile checks that no source string makes compiling or evaluating panic or run away.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`profile.attributes.country == "FR" && event.data.amount > 10.0`,
		`has(event.data.x) ? event.data.x : "none"`,
		`event.data.items.exists(i, i.price > 1)`,
		`[1,2,3].map(x, [1,2,3].map(y, x * y))`,
		`now + duration("2h") > timestamp("2025-01-01T00:00:00Z")`,
		`hash_percent(profile.id + journey.id) < 50`,
		`event.data.?plan.orValue("free").upperAscii()`,
		`{"a": [b"x", 1u, -2, 3.5e10, null]}`,
		`"%s-%d".format(["a", 1])`,
		`math.greatest([1, 2.0, 3u])`,
		`"a}}b" + '''c''' + r"\d"`,
		"((((((((((1))))))))))",
		`event.data["a"]["b"][0]`,
	} {
		f.Add(s)
	}
	checked := checkedEnv(f)
	unchecked, err := NewEnv(Options{})
	if err != nil {
		f.Fatal(err)
	}
	a := testActivation()
	f.Fuzz(func(t *testing.T, src string) {
		for _, env := range []*Env{checked, unchecked} {
			p, err := env.CompileValue(src)
			if err != nil {
				continue
			}
			if v, err := p.EvalValue(a); err == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatalf("EvalValue(%q) = %#v, which is not JSON-able: %v", src, v, err)
				}
			}
			if p, err := env.CompileBool(src); err == nil {
				_, _ = p.EvalBool(a)
			}
			if p, err := env.CompileTimestamp(src); err == nil {
				_, _ = p.EvalTime(a)
			}
		}
	})
}

// FuzzTemplate checks that any template either fails to compile or renders valid JSON or an
// error, and never panics.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		`{"user": {"id": "{{ profile.id }}", "tags": ["a", "{{ journey.name }}"]}, "n": 1.5}`,
		`{"msg": "Hi {{ profile.attributes.name }}, {{ event.data.amount }}"}`,
		`"{{ {'a': {'b': 1}} }}"`,
		`["{{ 'x}}y' }}", "{{ now }}", null, true]`,
		`{"a": "{{ event.data.nope }}"}`,
		`{"a": "{{"}`,
		`"\u2028{{ b'\xff' }}\"\\"`,
	} {
		f.Add([]byte(s))
	}
	env, err := NewEnv(Options{})
	if err != nil {
		f.Fatal(err)
	}
	a := testActivation()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if tp, err := env.CompileJSONTemplate(raw); err == nil {
			if out, err := tp.Render(a); err == nil && !json.Valid(out) {
				t.Fatalf("template %q rendered invalid JSON %q", raw, out)
			}
		}
		if st, err := env.CompileStringTemplate(string(raw)); err == nil {
			_, _ = st.Render(a, nil)
		}
	})
}
