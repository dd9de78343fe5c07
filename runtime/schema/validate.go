package schema

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/wayline/wayline/runtime/apierr"
)

// dataField is the root of every violation's field path.
const dataField = "data"

// maxEnumShown caps how many allowed values a message lists.
const maxEnumShown = 10

// Validate checks data (a value as sonic decodes JSON: map[string]any, []any, float64, string,
// bool, nil) against the schema. Each violation is an *apierr.Error with status 400, code
// invalid_event, a field such as "data.items[2].sku" and a plain-English message; the list is
// sorted by field, then message, and is nil when data is valid.
func (s *Schema) Validate(data any) apierr.List {
	if _, ok := data.(map[string]any); !ok {
		return apierr.List{violation(dataField, "must be a JSON object, not "+jsonKind(data))}
	}
	if s == nil || s.compiled == nil || s.fast.valid(data, 0) {
		return nil
	}
	err := s.validateSlow(data)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return apierr.List{violation(dataField, "could not be validated: "+err.Error())}
	}
	var out apierr.List
	collect(ve, data, &out)
	if len(out) == 0 {
		// A failure with no describable leaf: still report it rather than pass bad data.
		out = append(out, violation(dataField, "does not match the event's schema"))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Field != out[j].Field {
			return out[i].Field < out[j].Field
		}
		return out[i].Message < out[j].Message
	})
	// The same violation can be reached through two paths of the schema (allOf, $ref).
	uniq := out[:1]
	for _, e := range out[1:] {
		last := uniq[len(uniq)-1]
		if e.Field != last.Field || e.Message != last.Message {
			uniq = append(uniq, e)
		}
	}
	return uniq
}

// validateSlow runs the library. A panic in it (a bug there, met with outside data) becomes a
// rejected event rather than a crashed node.
func (s *Schema) validateSlow(data any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the validator failed (%v); please report it with the event's definition", r)
		}
	}()
	return s.compiled.Validate(data)
}

func violation(field, msg string) *apierr.Error {
	return &apierr.Error{Status: 400, Code: apierr.InvalidEvent, Field: field, Message: msg}
}

// collect flattens the validator's error tree into one violation per leaf. Wrapper kinds (the
// root, groups, allOf, $ref) are looked through; an anyOf/oneOf failure is reported once at its
// own location, because its causes are alternatives, not all required.
func collect(e *jsonschema.ValidationError, data any, out *apierr.List) {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		for _, c := range e.Causes {
			collect(c, data, out)
		}
		return
	case *kind.Required:
		base := joinPath(dataField, data, e.InstanceLocation)
		for _, name := range k.Missing {
			*out = append(*out, violation(base+fieldKey(name), "is required"))
		}
		return
	case *kind.DependentRequired:
		base := joinPath(dataField, data, e.InstanceLocation)
		for _, name := range k.Missing {
			*out = append(*out, violation(base+fieldKey(name), fmt.Sprintf("is required when %q is present", k.Prop)))
		}
		return
	case *kind.Dependency:
		base := joinPath(dataField, data, e.InstanceLocation)
		if len(k.Missing) == 0 {
			*out = append(*out, violation(base, fmt.Sprintf("does not match the schema required when %q is present", k.Prop)))
		}
		for _, name := range k.Missing {
			*out = append(*out, violation(base+fieldKey(name), fmt.Sprintf("is required when %q is present", k.Prop)))
		}
		return
	case *kind.AdditionalProperties:
		base := joinPath(dataField, data, e.InstanceLocation)
		for _, name := range k.Properties {
			*out = append(*out, violation(base+fieldKey(name), "is not a field of this event; remove it or add it to the event's schema"))
		}
		return
	}
	*out = append(*out, violation(joinPath(dataField, data, e.InstanceLocation), describe(e)))
}

// describe words one leaf violation in plain English.
func describe(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return "must be " + typeNames(k.Want)
	case *kind.Enum:
		return "must be one of: " + valueList(k.Want)
	case *kind.Const:
		return "must be " + jsonText(k.Want)
	case *kind.Format:
		return formatMessage(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %s", plural(k.Want, "character"))
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %s", plural(k.Want, "character"))
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %s", plural(k.Want, "item"))
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %s", plural(k.Want, "item"))
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %s", plural(k.Want, "field"))
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %s", plural(k.Want, "field"))
	case *kind.Minimum:
		return "must be at least " + ratText(k.Want)
	case *kind.Maximum:
		return "must be at most " + ratText(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be greater than " + ratText(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be less than " + ratText(k.Want)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratText(k.Want)
	case *kind.Pattern:
		return "must match the pattern " + k.Want
	case *kind.UniqueItems:
		return fmt.Sprintf("must not contain duplicates (items [%d] and [%d] are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "must contain at least one item that matches the schema"
	case *kind.MinContains:
		return fmt.Sprintf("must contain at least %s that match the schema", plural(k.Want, "item"))
	case *kind.MaxContains:
		return fmt.Sprintf("must contain at most %s that match the schema", plural(k.Want, "item"))
	case *kind.AdditionalItems:
		return fmt.Sprintf("must not have more than %s", plural(k.Count, "item"))
	case *kind.FalseSchema:
		return "is not allowed"
	case *kind.Not:
		return "is not allowed: it matches a schema it must not match"
	case *kind.PropertyNames:
		return fmt.Sprintf("has a field name that is not allowed: %q", k.Property)
	case *kind.AnyOf:
		if want := altTypes(e); want != nil {
			return "must be " + typeNames(want)
		}
		return "does not match any of the allowed alternatives (anyOf)"
	case *kind.OneOf:
		if len(k.Subschemas) > 0 {
			return "matches more than one of the alternatives (oneOf); it must match exactly one"
		}
		if want := altTypes(e); want != nil {
			return "must be " + typeNames(want)
		}
		return "does not match any of the allowed alternatives (oneOf)"
	case *kind.InvalidJsonValue:
		return "is not a JSON value"
	case *kind.RefCycle:
		return "could not be checked: the schema's references loop without end; fix the event's schema"
	}
	// Kinds event schemas do not use (content*, ...). The library's own wording would need
	// golang.org/x/text, which this module does not require directly.
	if kw := e.ErrorKind.KeywordPath(); len(kw) > 0 {
		return fmt.Sprintf("does not satisfy the schema's %q keyword", strings.Join(kw, "/"))
	}
	return "does not match the schema"
}

// altTypes returns the union of wanted types when every alternative of an anyOf/oneOf failed
// only on its type ("a string or an integer"), nil otherwise.
func altTypes(e *jsonschema.ValidationError) []string {
	var want []string
	for _, c := range e.Causes {
		for c != nil {
			if _, ok := c.ErrorKind.(*kind.Reference); ok && len(c.Causes) == 1 {
				c = c.Causes[0]
				continue
			}
			break
		}
		t, ok := c.ErrorKind.(*kind.Type)
		if !ok || len(c.Causes) != 0 {
			return nil
		}
		for _, w := range t.Want {
			if !contains(want, w) {
				want = append(want, w)
			}
		}
	}
	return want
}

func formatKind(e *jsonschema.ValidationError) (*kind.Format, bool) {
	f, ok := e.ErrorKind.(*kind.Format)
	return f, ok
}

func formatMessage(format string) string {
	switch format {
	case "email":
		return "must be a valid email address"
	case "date-time":
		return "must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z"
	case "date":
		return "must be a date such as 2024-05-01"
	case "time":
		return "must be a time such as 12:00:00Z"
	case "uri", "iri":
		return "must be an absolute URI such as https://example.com/page"
	case "uri-reference", "iri-reference":
		return "must be a valid URI reference"
	case "uuid":
		return "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000"
	case "ipv4":
		return "must be an IPv4 address"
	case "ipv6":
		return "must be an IPv6 address"
	case "hostname":
		return "must be a valid host name"
	case "duration":
		return "must be an ISO 8601 duration such as P3D or PT1H30M"
	case "regex":
		return "must be a valid regular expression"
	}
	return "must be a valid " + format
}

var article = map[string]string{
	"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean",
	"object": "an object", "array": "an array", "null": "null",
}

// typeNames words a list of JSON types: "a string", "a string or null", "a string, a number or
// null".
func typeNames(types []string) string {
	names := make([]string, 0, len(types))
	nullable := false
	for _, t := range types {
		switch a, ok := article[t]; {
		case t == "null":
			nullable = true
		case ok:
			names = append(names, a)
		default:
			names = append(names, t)
		}
	}
	if nullable {
		names = append(names, "null")
	}
	switch len(names) {
	case 0:
		return "of another type"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// valueList renders allowed values as JSON: `"free", "pro"`.
func valueList(vals []any) string {
	n := len(vals)
	if n > maxEnumShown {
		n = maxEnumShown
	}
	parts := make([]string, n, n+1)
	for i := range n {
		parts[i] = jsonText(vals[i])
	}
	if len(vals) > n {
		parts = append(parts, fmt.Sprintf("… (%d more)", len(vals)-n))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ratText renders a schema bound: "3", "0.5", "1e+21".
func ratText(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() && len(r.Num().String()) <= 21 {
		return r.Num().String()
	}
	f, _ := r.Float64()
	if math.Abs(f) < 1e15 && math.Abs(f) >= 1e-6 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
