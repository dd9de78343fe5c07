package expr

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/apierr"
)

func TestJSONTemplateRender(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		name string
		tmpl string
		want string
	}{
		{"no expressions, compacted, key order kept",
			`{ "z": 1.50, "a": [true, null, "x"], "m": {} }`,
			`{"z":1.50,"a":[true,null,"x"],"m":{}}`},
		{"typed substitution",
			`{"amount": "{{ event.data.amount }}", "n": "{{1 + 2}}", "flag": "{{ event.data.flag }}", "none": "{{ null }}", "s": "{{ profile.id }}"}`,
			`{"amount":12.5,"n":3,"flag":true,"none":null,"s":"user:42"}`},
		{"typed substitution with whitespace around",
			`{"n": "  {{ 7 }}\n"}`,
			`{"n":7}`},
		{"typed objects and lists, keys sorted",
			`{"customer": "{{ event.data.customer }}", "tags": "{{ profile.attributes.tags }}", "m": "{{ {'b': 1, 'a': [now]} }}"}`,
			`{"customer":{"email":"c@example.com"},"tags":["vip"],"m":{"a":["2025-03-14T09:26:53Z"],"b":1}}`},
		{"typed timestamp and duration",
			`{"at": "{{ event.timestamp }}", "d": "{{ duration('1h') }}"}`,
			`{"at":"2025-03-14T08:26:53Z","d":"3600s"}`},
		{"string concatenation",
			`{"msg": "Hi {{ profile.attributes.name }}, you paid {{ event.data.amount }} EUR at {{ event.timestamp }} ({{ event.data.count }} items, {{ true }}, {{ null }}end)"}`,
			`{"msg":"Hi Ada, you paid 12.5 EUR at 2025-03-14T08:26:53Z (3 items, true, end)"}`},
		{"concatenated list is JSON text",
			`{"msg": "tags: {{ profile.attributes.tags }}"}`,
			`{"msg":"tags: [\"vip\"]"}`},
		{"nested objects and arrays",
			`{"user": {"id": "{{ profile.id }}", "tags": ["a", "{{ journey.name }}", {"v": "{{ journey.version }}"}]}, "list": [["{{ 1 }}"]]}`,
			`{"user":{"id":"user:42","tags":["a","Welcome",{"v":3}]},"list":[[1]]}`},
		{"keys are never templates",
			`{"{{ profile.id }}": "x"}`,
			`{"{{ profile.id }}":"x"}`},
		{"literal escapes survive",
			`{"q": "say \"hi\" \\ \u00e9 \n {{ 'x' }}"}`,
			`{"q":"say \"hi\" \\ é \n x"}`},
		{"braces and }} inside the expression",
			`{"m": "{{ {'a': {'b': 1}} }}", "s": "{{ 'x}}y' }}", "t": "<{{ \"}}\" + '{' }}>"}`,
			`{"m":{"a":{"b":1}},"s":"x}}y","t":"<}}{>"}`},
		{"root is a template",
			`"{{ vars.step }}"`,
			`2`},
		{"a lone }} is literal",
			`{"s": "a }} b"}`,
			`{"s":"a }} b"}`},
	}
	a := testActivation()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := env.CompileJSONTemplate([]byte(tt.tmpl))
			if err != nil {
				t.Fatalf("compiling %s: %v", tt.tmpl, err)
			}
			got, err := tp.Render(a)
			if err != nil {
				t.Fatalf("rendering %s: %v", tt.tmpl, err)
			}
			if string(got) != tt.want {
				t.Errorf("rendering %s\n got %s\nwant %s", tt.tmpl, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("rendering %s: output %s is not valid JSON", tt.tmpl, got)
			}
		})
	}
}

func TestJSONTemplateEscapesSubstitutedStrings(t *testing.T) {
	env := checkedEnv(t)
	tp, err := env.CompileJSONTemplate([]byte(`{"typed": "{{ profile.attributes.name }}", "text": "<{{ profile.attributes.name }}>", "obj": "{{ {'k': profile.attributes.name} }}", "list": "x{{ [profile.attributes.name] }}"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		`Ada "the Countess" Lovelace`,
		`back\slash`,
		"line\nbreak\ttab\r\x00\x1f",
		"\u2028\u2029 é 日本 😀",
		"bad utf8 \xff\xfe",
		`</script>{{ not an expression }}`,
	} {
		a := testActivation()
		a.Profile["attributes"] = map[string]any{"name": name}
		out, err := tp.Render(a)
		if err != nil {
			t.Fatalf("rendering with name %q: %v", name, err)
		}
		var got struct {
			Typed, Text string
			Obj         map[string]string
			List        string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("rendering with name %q gave invalid JSON %s: %v", name, out, err)
		}
		// encoding/json's view of the name: invalid UTF-8 bytes each become U+FFFD.
		var want string
		enc, _ := json.Marshal(name)
		_ = json.Unmarshal(enc, &want)
		var list []string
		if !strings.HasPrefix(got.List, "x") || json.Unmarshal([]byte(got.List[1:]), &list) != nil || len(list) != 1 || list[0] != want {
			t.Errorf("rendering with name %q: list part %q is not x followed by the JSON list of it", name, got.List)
		}
		if got.Typed != want || got.Text != "<"+want+">" || got.Obj["k"] != want {
			t.Errorf("rendering with name %q: got %+v from %s", name, got, out)
		}
	}
}

func TestJSONTemplateCompileErrors(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		name, tmpl, want string
	}{
		{"unclosed braces", `{"a": {"b": "hi {{ profile.id "}}`, `a.b: unclosed "{{"`},
		{"unclosed braces in string literal", `{"a": "{{ 'x }}"}`, `a: unterminated string literal`},
		{"empty expression", `{"a": ["x", "{{  }}"]}`, `a[1]: empty {{ }}`},
		{"syntax error with path", `{"payload": {"user": {"name": "{{ profile.id + }}"}}}`, `payload.user.name: in {{ profile.id + }}: 1:13: Syntax error`},
		{"unknown variable", `{"x": "a{{ foo }}b"}`, `x: in {{ foo }}: 1:1: undeclared reference to 'foo'`},
		{"unknown field", `{"items": [{"n": "{{ profile.attributes.nmae }}"}]}`, `items[0].n: in {{ profile.attributes.nmae }}: 1:1: unknown field profile.attributes.nmae`},
		{"key needing quotes in path", `{"first name": "{{ foo }}"}`, `["first name"]: in {{ foo }}`},
		{"root string", `"{{ foo }}"`, `(root): in {{ foo }}`},
		{"not JSON", `{"a": }`, `the template is not valid JSON`},
		{"truncated", `{"a": [1, 2`, `the template is not valid JSON`},
		{"empty", ``, `the template is not valid JSON`},
		{"trailing data", `{"a": 1} {"b": 2}`, `unexpected data after the top-level value`},
		{"duplicate key", `{"a": 1, "a": 2}`, `a: duplicate key`},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), `nested more than 64 levels`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.CompileJSONTemplate([]byte(tt.tmpl))
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("compiling %s: error %v, want an *apierr.Error containing %q", tt.tmpl, err, tt.want)
			}
			if ae.Code != apierr.InvalidExpression || ae.Status != 422 {
				t.Errorf("compiling %s: code %q status %d, want %q 422", tt.tmpl, ae.Code, ae.Status, apierr.InvalidExpression)
			}
			if !strings.Contains(ae.Message, tt.want) {
				t.Errorf("compiling %s: message %q does not contain %q", tt.tmpl, ae.Message, tt.want)
			}
		})
	}
}

func TestJSONTemplateRenderErrors(t *testing.T) {
	env, err := NewEnv(Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ tmpl, want string }{
		{`{"a": {"b": "{{ event.data.nope }}"}}`, `a.b: expr: evaluating "event.data.nope": no such key: nope`},
		{`{"a": ["x {{ event.data.nope }}"]}`, `a[0]: expr: evaluating "event.data.nope": no such key`},
		{`{"a": "{{ math.sqrt(-1.0) }}"}`, `a: expr: evaluating "math.sqrt(-1.0)": NaN cannot be turned into JSON`},
		{`{"a": "x{{ [math.sqrt(-1.0)] }}"}`, `NaN cannot be turned into JSON`},
	}
	for _, tt := range tests {
		tp, err := env.CompileJSONTemplate([]byte(tt.tmpl))
		if err != nil {
			t.Errorf("compiling %s: %v", tt.tmpl, err)
			continue
		}
		out, err := tp.Render(testActivation())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rendering %s = %s, %v; want an error containing %q", tt.tmpl, out, err, tt.want)
		}
	}
}

func TestStringTemplate(t *testing.T) {
	env := checkedEnv(t)
	tests := []struct {
		tmpl   string
		escape func(string) string
		want   string
	}{
		{"https://x.test/users/{{ profile.id }}/orders?plan={{ event.data.plan }}", url.PathEscape, "https://x.test/users/user:42/orders?plan=pro"},
		{"https://x.test/u/{{ profile.attributes.name + ' /?#' }}", url.PathEscape, "https://x.test/u/Ada%20%2F%3F%23"},
		{"https://x.test/q?n={{ profile.attributes.name + ' &' }}", url.QueryEscape, "https://x.test/q?n=Ada+%26"},
		{"{{ event.data.amount }}|{{ event.data.count }}|{{ journey.version }}|{{ null }}|{{ now }}", nil, "12.5|3|3||2025-03-14T09:26:53Z"},
		{"plain text, no parts", url.PathEscape, "plain text, no parts"},
		{"", nil, ""},
		{"{{ profile.attributes.tags }}", nil, `["vip"]`},
	}
	a := testActivation()
	for _, tt := range tests {
		st, err := env.CompileStringTemplate(tt.tmpl)
		if err != nil {
			t.Errorf("compiling %q: %v", tt.tmpl, err)
			continue
		}
		got, err := st.Render(a, tt.escape)
		if err != nil {
			t.Errorf("rendering %q: %v", tt.tmpl, err)
			continue
		}
		if got != tt.want {
			t.Errorf("rendering %q = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

func TestStringTemplateErrors(t *testing.T) {
	env := checkedEnv(t)
	for _, tt := range []struct{ tmpl, want string }{
		{"https://x/{{ profile.id", `unclosed "{{"`},
		{"https://x/{{}}", `empty {{ }}`},
		{"https://x/{{ foo }}", `in {{ foo }}: 1:1: undeclared reference to 'foo'`},
		{"https://x/{{ event.data.plna }}", `unknown field event.data.plna`},
	} {
		_, err := env.CompileStringTemplate(tt.tmpl)
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != apierr.InvalidExpression || !strings.Contains(ae.Message, tt.want) {
			t.Errorf("compiling %q: %v; want an invalid_expression error containing %q", tt.tmpl, err, tt.want)
		}
	}
	unchecked, _ := NewEnv(Options{})
	st, err := unchecked.CompileStringTemplate("https://x/{{ event.data.nope }}")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.Render(testActivation(), nil); err == nil || !strings.Contains(err.Error(), "no such key: nope") {
		t.Errorf("rendering with a missing key = %q, %v; want a no such key error", got, err)
	}
}

func TestSplitTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want []segment
	}{
		{"", nil},
		{"abc", []segment{{lit: "abc"}}},
		{"{{a}}", []segment{{expr: "a", isExpr: true}}},
		{"x{{ a }}y{{b}}", []segment{{lit: "x"}, {expr: " a ", isExpr: true}, {lit: "y"}, {expr: "b", isExpr: true}}},
		{`{{ "a\"}}" }}`, []segment{{expr: ` "a\"}}" `, isExpr: true}}},
		{`{{ r"a\" }}!`, []segment{{expr: ` r"a\" `, isExpr: true}, {lit: "!"}}},
		{`{{ '''a}}'b''' }}`, []segment{{expr: ` '''a}}'b''' `, isExpr: true}}},
		{"{{ {1: {2: 3}} }}", []segment{{expr: " {1: {2: 3}} ", isExpr: true}}},
		{"{{a}}}", []segment{{expr: "a", isExpr: true}, {lit: "}"}}},
	}
	for _, tt := range tests {
		got, err := splitTemplate(tt.in)
		if err != nil {
			t.Errorf("splitTemplate(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitTemplate(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
