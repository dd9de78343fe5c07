package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/wayline/wayline/runtime/apierr"
)

// resourceURL is where the compiler files the schema being compiled. It is never fetched: the
// document is added as a resource and every other URL is refused by noRemoteLoader.
const resourceURL = "mem:///event-data.schema.json"

// maxSchemaDepth bounds how deeply schemas may nest inside one another. Real event schemas
// nest a handful of levels; the bound keeps a hostile definition from costing unbounded stack.
const maxSchemaDepth = 64

// Schema is a compiled event-data schema. It is immutable and safe for concurrent use.
type Schema struct {
	compiled *jsonschema.Schema // nil: any object
	fast     *fnode             // mirror of compiled for the fast path
	root     *node              // declared shape, for Fields and HasField; nil: any object
	fields   []Field
}

// Any is a schema that accepts any object.
func Any() *Schema { return &Schema{} }

// Compile compiles raw, a JSON Schema for an event's data object. Empty raw (or JSON null) means
// "any object". Every problem is reported as an *apierr.Error with code invalid_schema, status
// 422, and the field of the offending keyword ("schema.properties.plan.enum").
func Compile(raw []byte) (s *Schema, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Any(), nil
	}
	doc, derr := decodeSchemaJSON(raw)
	if derr != nil {
		return nil, invalid("schema", "is not valid JSON (%s); send the schema as a JSON object such as {\"type\":\"object\",\"properties\":{...}}", derr)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, invalid("schema", "must be a JSON object such as {\"type\":\"object\",\"properties\":{...}}, not %s", jsonKind(doc))
	}
	if e := precheck(obj, obj, "schema", 0, true); e != nil {
		return nil, e
	}
	if e := checkRootIsObject(obj); e != nil {
		return nil, e
	}

	// The compiler is a large third-party state machine fed with outside input: a panic in it
	// must become an error for this definition, not a crashed node.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, invalid("schema", "could not be compiled (%v); simplify the schema and try again", r)
		}
	}()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noRemoteLoader{})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, invalid("schema", "could not be loaded: %v", err)
	}
	compiled, cerr := c.Compile(resourceURL)
	if cerr != nil {
		return nil, compileError(cerr, obj)
	}
	root := buildTree(obj)
	fast := buildFast(compiled, map[*jsonschema.Schema]*fnode{})
	return &Schema{compiled: compiled, fast: fast, root: root, fields: flatten(root)}, nil
}

// decodeSchemaJSON decodes raw keeping numbers exact (json.Number), as the compiler wants, and
// refuses trailing data after the value.
func decodeSchemaJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return doc, nil
}

func invalid(field, format string, args ...any) *apierr.Error {
	return apierr.New(422, apierr.InvalidSchema, field, format, args...)
}

// noRemoteLoader refuses every URL: schemas are self-contained, so compiling one never reaches
// the network or the file system.
type noRemoteLoader struct{}

var errRemote = errors.New("remote references are not fetched")

func (noRemoteLoader) Load(string) (any, error) { return nil, errRemote }

var knownTypes = map[string]bool{
	"string": true, "number": true, "integer": true, "boolean": true,
	"object": true, "array": true, "null": true,
}

// Keywords whose value is one schema, a map of schemas, or an array of schemas.
var (
	schemaKeywords = []string{
		"additionalProperties", "unevaluatedProperties", "propertyNames", "not", "if", "then",
		"else", "contains", "unevaluatedItems", "additionalItems", "contentSchema", "items",
	}
	schemaMapKeywords   = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
	schemaArrayKeywords = []string{"allOf", "anyOf", "oneOf", "prefixItems", "items"}
)

// precheck walks the schema before the compiler sees it, to give the errors integrators hit
// most (a misspelt type, a reference to another file) with a precise field and a fix.
//
// checkPtr is false under a nested "$id": "#/..." pointers there are relative to that resource,
// and the compiler checks them.
func precheck(s, root map[string]any, field string, depth int, checkPtr bool) *apierr.Error {
	if depth > maxSchemaDepth {
		return invalid(field, "nests schemas more than %d levels deep; flatten the schema", maxSchemaDepth)
	}
	if _, ok := s["$id"]; ok && depth > 0 {
		checkPtr = false
	}
	if t, ok := s["type"]; ok {
		switch t := t.(type) {
		case string:
			if !knownTypes[t] {
				return invalid(field+".type", "unknown type %q; use one of string, number, integer, boolean, object, array, null", t)
			}
		case []any:
			for i, v := range t {
				name, ok := v.(string)
				if !ok || !knownTypes[name] {
					return invalid(fmt.Sprintf("%s.type[%d]", field, i), "unknown type %s; use one of string, number, integer, boolean, object, array, null", jsonText(v))
				}
			}
		default:
			return invalid(field+".type", "must be a type name such as \"string\", or an array of them")
		}
	}
	for _, kw := range []string{"$ref", "$dynamicRef", "$recursiveRef"} {
		v, ok := s[kw]
		if !ok {
			continue
		}
		ref, ok := v.(string)
		if !ok {
			return invalid(field+"."+kw, "must be a string such as \"#/$defs/address\"")
		}
		if !strings.HasPrefix(ref, "#") {
			return invalid(field+"."+kw, "refers to %q outside this schema; remote references are not fetched: copy the referenced schema under \"$defs\" and refer to it as \"#/$defs/name\"", ref)
		}
		if checkPtr && (strings.HasPrefix(ref, "#/") || ref == "#") {
			if _, found := resolvePointer(root, ref[1:]); !found {
				return invalid(field+"."+kw, "points to %q, which does not exist in this schema", ref)
			}
		}
	}
	if v, ok := s["pattern"].(string); ok {
		if _, err := regexp.Compile(v); err != nil {
			return invalid(field+".pattern", "is not a valid regular expression (%v); use Go RE2 syntax", err)
		}
	}
	if pp, ok := s["patternProperties"].(map[string]any); ok {
		for _, pat := range sortedKeys(pp) {
			if _, err := regexp.Compile(pat); err != nil {
				return invalid(field+".patternProperties"+fieldKey(pat), "is not a valid regular expression (%v); use Go RE2 syntax", err)
			}
		}
	}
	if v, ok := s["$schema"]; ok {
		u, _ := v.(string)
		if !strings.HasPrefix(u, "https://json-schema.org/") && !strings.HasPrefix(u, "http://json-schema.org/") {
			return invalid(field+".$schema", "must name a JSON Schema draft such as \"https://json-schema.org/draft/2020-12/schema\" (or be left out)")
		}
	}
	for _, kw := range schemaKeywords {
		if sub, ok := s[kw].(map[string]any); ok {
			if e := precheck(sub, root, field+"."+kw, depth+1, checkPtr); e != nil {
				return e
			}
		}
	}
	for _, kw := range schemaMapKeywords {
		m, ok := s[kw].(map[string]any)
		if !ok {
			continue
		}
		for _, name := range sortedKeys(m) {
			if sub, ok := m[name].(map[string]any); ok {
				if e := precheck(sub, root, field+"."+kw+fieldKey(name), depth+1, checkPtr); e != nil {
					return e
				}
			}
		}
	}
	for _, kw := range schemaArrayKeywords {
		arr, ok := s[kw].([]any)
		if !ok {
			continue
		}
		for i, v := range arr {
			if sub, ok := v.(map[string]any); ok {
				if e := precheck(sub, root, fmt.Sprintf("%s.%s[%d]", field, kw, i), depth+1, checkPtr); e != nil {
					return e
				}
			}
		}
	}
	return nil
}

// checkRootIsObject refuses a root schema that can never accept an object: an event's data is
// always one.
func checkRootIsObject(root map[string]any) *apierr.Error {
	types := typeList(root["type"])
	if len(types) == 0 {
		return nil
	}
	for _, t := range types {
		if t == "object" {
			return nil
		}
	}
	return invalid("schema.type", "must be \"object\": an event's data is always a JSON object")
}

// resolvePointer resolves a JSON pointer (RFC 6901, possibly percent-encoded as in a URI
// fragment) inside doc.
func resolvePointer(doc any, ptr string) (any, bool) {
	if p, err := url.PathUnescape(ptr); err == nil {
		ptr = p
	}
	if ptr == "" {
		return doc, true
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// compileError turns an error of the compiler into an invalid_schema error with the field of the
// keyword at fault.
func compileError(err error, root map[string]any) *apierr.Error {
	var sv *jsonschema.SchemaValidationError
	if errors.As(err, &sv) {
		var ve *jsonschema.ValidationError
		if errors.As(sv.Err, &ve) {
			leaf := deepestLeaf(ve)
			field := joinPath("schema", root, leaf.InstanceLocation)
			return invalid(field, "%s", metaMessage(leaf))
		}
	}
	var re *jsonschema.InvalidRegexError
	if errors.As(err, &re) {
		return invalid(fragmentField(re.URL, root), "is not a valid regular expression (%v); use Go RE2 syntax", re.Err)
	}
	var le *jsonschema.LoadURLError
	if errors.As(err, &le) {
		return invalid("schema", "refers to %q, which is not part of this schema; remote references are not fetched: copy the referenced schema under \"$defs\" and refer to it as \"#/$defs/name\"", le.URL)
	}
	var pe *jsonschema.JSONPointerNotFoundError
	if errors.As(err, &pe) {
		return invalid("schema", "has a reference to %q, which does not exist in this schema", fragmentOf(pe.URL))
	}
	var ae *jsonschema.AnchorNotFoundError
	if errors.As(err, &ae) {
		return invalid("schema", "has a reference to an anchor that does not exist (%v)", ae)
	}
	return invalid("schema", "is not a valid JSON Schema: %v", strings.ReplaceAll(err.Error(), resourceURL, ""))
}

// deepestLeaf picks, among the leaves of a metaschema error tree, the one deepest in the schema
// document: it is the most specific keyword at fault.
func deepestLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	best := ve
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if best == ve || len(e.InstanceLocation) > len(best.InstanceLocation) {
				best = e
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return best
}

// metaMessage describes a metaschema violation found in the schema itself.
func metaMessage(e *jsonschema.ValidationError) string {
	if f, ok := formatKind(e); ok && f.Want == "regex" {
		return fmt.Sprintf("is not a valid regular expression (%v); use Go RE2 syntax", f.Err)
	}
	return describe(e) + "; fix this keyword of the schema"
}

func fragmentOf(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		return u[i:]
	}
	return u
}

// fragmentField maps "mem:///x.json#/properties/a/pattern" to "schema.properties.a.pattern".
func fragmentField(u string, root map[string]any) string {
	frag := strings.TrimPrefix(fragmentOf(u), "#")
	if p, err := url.PathUnescape(frag); err == nil {
		frag = p
	}
	if frag == "" || frag[0] != '/' {
		return "schema"
	}
	toks := strings.Split(frag[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return joinPath("schema", root, toks)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func typeList(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
