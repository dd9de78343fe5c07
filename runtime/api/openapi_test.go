package api

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/valyala/fasthttp"
)

// loadOpenAPI loads and returns the embedded OpenAPI document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatalf("runtime/api/openapi.json does not load: %v", err)
	}
	return doc
}

// TestOpenAPIIsValid checks that the served document is a valid OpenAPI 3 document (its
// examples included: kin-openapi validates them against their schemas).
func TestOpenAPIIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi is %q; want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("runtime/api/openapi.json is not a valid OpenAPI document: %v", err)
	}
}

// TestOpenAPIMatchesRoutes checks the document against the routes the server registers, both
// ways, and that each operation's x-wayline-role is the role the route enforces.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s, err := New(DefaultConfig(), Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	routes := map[string]Route{}
	for _, r := range s.Routes() {
		k := r.Method + " " + r.Path
		if _, dup := routes[k]; dup {
			t.Errorf("route %s is registered twice", k)
		}
		routes[k] = r
	}
	if len(routes) == 0 {
		t.Fatal("the server registers no routes")
	}

	doc := loadOpenAPI(t)
	documented := map[string]string{} // "METHOD /path" → x-wayline-role ("" for none)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			k := strings.ToUpper(method) + " " + path
			role, err := operationRole(op)
			if err != nil {
				t.Errorf("%s: %v", k, err)
			}
			documented[k] = role
			if !strings.Contains(op.Description, "Role: ") {
				t.Errorf("%s: the description does not say the role needed (\"Role: ...\")", k)
			}
		}
	}

	for _, k := range sortedKeys(routes) {
		role, ok := documented[k]
		if !ok {
			t.Errorf("route %s is not documented in runtime/api/openapi.json", k)
			continue
		}
		if want := routes[k].Role; role != want {
			t.Errorf("%s: x-wayline-role is %q in runtime/api/openapi.json; the route needs %q", k, role, want)
		}
	}
	for _, k := range sortedKeys(documented) {
		if _, ok := routes[k]; !ok {
			t.Errorf("operation %s is documented in runtime/api/openapi.json but no route serves it", k)
		}
	}
}

// operationRole returns an operation's x-wayline-role ("" when absent).
func operationRole(op *openapi3.Operation) (string, error) {
	v, ok := op.Extensions["x-wayline-role"]
	if !ok || v == nil {
		return "", nil
	}
	role, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("x-wayline-role is %T; want a string", v)
	}
	return role, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Extra routes (the demo sink: a path and its catch-all) register in any map order.
func TestExtraRoutesRegisterInAnyOrder(t *testing.T) {
	h := func(*fasthttp.RequestCtx) {}
	for i := 0; i < 20; i++ {
		if _, err := New(DefaultConfig(), Deps{Extra: map[string]fasthttp.RequestHandler{"/demo/sink/{path:*}": h, "/demo/sink": h}}); err != nil {
			t.Fatal(err)
		}
	}
}
