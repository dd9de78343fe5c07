package expr

import (
	"net/url"
	"testing"
)

func BenchmarkEvalBool(b *testing.B) {
	env := checkedEnv(b)
	p, err := env.CompileBool(`profile.attributes.country == "FR" && event.data.amount > 10.0`)
	if err != nil {
		b.Fatal(err)
	}
	a := testActivation()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(a); !ok || err != nil {
			b.Fatalf("EvalBool = %v, %v", ok, err)
		}
	}
}

func BenchmarkTemplateRender(b *testing.B) {
	env := checkedEnv(b)
	tp, err := env.CompileJSONTemplate([]byte(`{
		"userId": "{{ profile.id }}",
		"email": "{{ event.data.email }}",
		"greeting": "Hello {{ profile.attributes.name }}, thanks for your order of {{ event.data.amount }} EUR",
		"amount": "{{ event.data.amount }}",
		"country": "{{ profile.attributes.country }}",
		"journey": {"id": "{{ journey.id }}", "version": "{{ journey.version }}", "static": [1, 2, 3]},
		"at": "{{ now }}"
	}`))
	if err != nil {
		b.Fatal(err)
	}
	a := testActivation()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.Render(a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringTemplateRender(b *testing.B) {
	env := checkedEnv(b)
	st, err := env.CompileStringTemplate("https://api.example.com/users/{{ profile.id }}/orders/{{ event.id }}")
	if err != nil {
		b.Fatal(err)
	}
	a := testActivation()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Render(a, url.PathEscape); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileBool(b *testing.B) {
	env := checkedEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.CompileBool(`profile.attributes.country == "FR" && event.data.amount > 10.0`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalBoolComprehension measures the tracked path: CEL cost tracking plus the
// iteration cap, over a two-element list.
func BenchmarkEvalBoolComprehension(b *testing.B) {
	env := checkedEnv(b)
	p, err := env.CompileBool(`event.data.items.exists(i, i.sku == "b" && i.price > 7.0)`)
	if err != nil {
		b.Fatal(err)
	}
	a := testActivation()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(a); !ok || err != nil {
			b.Fatalf("EvalBool = %v, %v", ok, err)
		}
	}
}
