package expr

import (
	"strings"
	"testing"
)

func TestMessageTemplateRendersFallbacksBlocksAndEscapes(t *testing.T) {
	env, err := NewEnv(Options{KnownEventField: func(p []string) bool { return p[0] == "items" || p[0] == "total" }})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activation{
		Profile: map[string]any{"attributes": map[string]any{"firstName": "<Ann>", "vip": true}},
		Event:   map[string]any{"data": map[string]any{"items": []any{map[string]any{"name": "tea"}, map[string]any{"name": "cake & jam"}}, "total": 12.5}},
	}
	tests := []struct {
		name, src string
		html      bool
		want      string
	}{
		{"escaped", `Hi {{ profile.attributes.firstName }}!`, true, "Hi &lt;Ann&gt;!"},
		{"raw", `Hi {{{ profile.attributes.firstName }}}!`, true, "Hi <Ann>!"},
		{"text is not escaped", `Hi {{ profile.attributes.firstName }}!`, false, "Hi <Ann>!"},
		{"fallback on a missing key", `Hi {{ profile.attributes.nickname ?? "there" }}`, false, "Hi there"},
		{"no fallback needed", `Hi {{ profile.attributes.firstName ?? "there" }}`, false, "Hi <Ann>"},
		{"if else", `{{#if profile.attributes.vip}}VIP{{else}}member{{/if}}`, false, "VIP"},
		{"else if", `{{#if event.data.total > 100.0}}big{{else if event.data.total > 10.0}}mid{{else}}small{{/if}}`, false, "mid"},
		{"each", `<ul>{{#each event.data.items as it}}<li>{{ it.name }}</li>{{/each}}</ul>`, true, "<ul><li>tea</li><li>cake &amp; jam</li></ul>"},
		{"each with outer vars", `{{#each event.data.items as it}}{{ it.name }}/{{ event.data.total }} {{/each}}`, false, "tea/12.5 cake & jam/12.5 "},
	}
	for _, tc := range tests {
		tmpl, err := env.CompileMessageTemplate(tc.src, tc.html)
		if err != nil {
			t.Errorf("%s: compile %q: %v", tc.name, tc.src, err)
			continue
		}
		got, err := tmpl.Render(a)
		if err != nil || got != tc.want {
			t.Errorf("%s: Render = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestMessageTemplateRejectsBadTemplatesWithReasons(t *testing.T) {
	env, err := NewEnv(Options{KnownEventField: func(p []string) bool { return p[0] == "items" }})
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		`Hi {{ event.data.nmae }}`:             "unknown field event.data.nmae",
		`Hi {{ profile.attributes.x + }}`:      "Syntax error",
		`{{#if true}}open`:                     "not closed",
		`{{/if}}`:                              "without a matching block",
		`{{#each event.data.items}}x{{/each}}`: "naming the item",
		`{{#loop x}}`:                          "unknown block",
		`{{ }}`:                                "empty",
		`Hi {{ profile.attributes.x`:           "unclosed",
		`{{#if "a"}}x{{/if}}`:                  "bool",
	} {
		_, err := env.CompileMessageTemplate(src, true)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("%q: got %v, want an error mentioning %q", src, err, want)
		}
	}
}
