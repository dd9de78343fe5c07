package schema

import (
	"math"
	"math/big"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path.
//
// The library validates correctly but allocates for every value it visits (about 130
// allocations and 10 µs for a typical event), and most ingested events are valid. So Validate
// first walks a mirror of the compiled schema with everything precomputed (bounds as float64,
// type bits), for the keywords event schemas use. The walk answers only "certainly valid":
// whenever it meets a keyword it does not handle, or a case where its answer could differ from
// the library's (a number equal to a bound once rounded to float64), it answers false and the
// library decides, and words the errors. Soundness (fast says valid ⇒ the library says valid)
// is checked by FuzzValidate and TestFastPathAgreesWithLibrary.

// maxFastDepth bounds the walk: schema references that cycle without consuming data are left
// to the library, which reports them.
const maxFastDepth = 64

// fnode mirrors one compiled schema for the fast path.
type fnode struct {
	s       *jsonschema.Schema
	unsure  bool // uses a keyword the fast path leaves to the library
	boolean int8 // 1: the schema `true`, -1: `false`, 0: neither
	refOnly bool // before 2019-09, keywords beside $ref are ignored

	types     jsonschema.Types // 0: any
	hasEnum   bool
	enum      []any // enum values, or the const value
	format    *jsonschema.Format
	minLen    int // -1: none
	maxLen    int
	pattern   jsonschema.Regexp
	minItems  int
	maxItems  int
	unique    bool
	minProps  int
	maxProps  int
	bounds    [4]float64 // minimum, maximum, exclusiveMinimum, exclusiveMaximum
	hasBound  [4]bool
	wholeEq   [2]bool  // minimum/maximum is a whole number float64 holds exactly
	multInt   float64  // multipleOf when it is a whole number below 2^53, else 0
	multRat   *big.Rat // multipleOf otherwise
	required  []string
	props     map[string]*fnode
	propList  []fprop // props as a slice, walked instead of the data's keys
	patterns  []fpattern
	closed    bool   // additionalProperties: false
	extra     *fnode // additionalProperties as a schema
	openProps bool   // no properties, patternProperties nor additionalProperties
	items     *fnode
	ref       *fnode
	allOf     []*fnode
	anyOf     []*fnode
	ifS       *fnode
	thenS     *fnode
}

type fprop struct {
	name string
	n    *fnode
}

type fpattern struct {
	re jsonschema.Regexp
	n  *fnode
}

// buildFast mirrors the compiled schema graph; shared and recursive subschemas map to one node.
func buildFast(s *jsonschema.Schema, memo map[*jsonschema.Schema]*fnode) *fnode {
	if n, ok := memo[s]; ok {
		return n
	}
	n := &fnode{s: s, minLen: -1, maxLen: -1, minItems: -1, maxItems: -1, minProps: -1, maxProps: -1}
	memo[s] = n
	if s.Bool != nil {
		n.boolean = -1
		if *s.Bool {
			n.boolean = 1
		}
		return n
	}
	if s.RecursiveRef != nil || s.DynamicRef != nil || s.Not != nil || len(s.OneOf) > 0 ||
		s.PropertyNames != nil || s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil ||
		s.Contains != nil || len(s.PrefixItems) > 0 || s.AdditionalItems != nil ||
		len(s.Dependencies) > 0 || len(s.DependentSchemas) > 0 || len(s.DependentRequired) > 0 ||
		s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil ||
		len(s.Extensions) > 0 || (s.If != nil && (s.Then == nil || s.Else != nil)) {
		n.unsure = true
		return n
	}
	if s.Ref != nil {
		n.ref = buildFast(s.Ref, memo)
		n.refOnly = s.DraftVersion < 2019
	}
	if s.Types != nil {
		n.types = *s.Types
	}
	if s.Const != nil {
		n.hasEnum, n.enum = true, []any{*s.Const}
	}
	if s.Enum != nil {
		if n.hasEnum {
			n.unsure = true // both const and enum: rare, leave it to the library
		}
		n.hasEnum, n.enum = true, s.Enum.Values
	}
	n.format = s.Format
	setInt(&n.minLen, s.MinLength)
	setInt(&n.maxLen, s.MaxLength)
	n.pattern = s.Pattern
	setInt(&n.minItems, s.MinItems)
	setInt(&n.maxItems, s.MaxItems)
	n.unique = s.UniqueItems
	setInt(&n.minProps, s.MinProperties)
	setInt(&n.maxProps, s.MaxProperties)
	for i, b := range [4]*big.Rat{s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum} {
		if b == nil {
			continue
		}
		f, exact := b.Float64()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			n.unsure = true
		}
		n.bounds[i], n.hasBound[i] = f, true
		if i < 2 {
			n.wholeEq[i] = exact && b.IsInt() && math.Abs(f) < 1<<53
		}
	}
	if m := s.MultipleOf; m != nil {
		if f, exact := m.Float64(); m.IsInt() && exact && f > 0 && f < 1<<53 {
			n.multInt = f
		} else {
			n.multRat = m
		}
	}
	n.required = s.Required
	if len(s.Properties) > 0 {
		n.props = make(map[string]*fnode, len(s.Properties))
		for _, name := range sortedSchemaKeys(s.Properties) {
			sub := buildFast(s.Properties[name], memo)
			n.props[name] = sub
			n.propList = append(n.propList, fprop{name: name, n: sub})
		}
	}
	for re, sub := range s.PatternProperties {
		n.patterns = append(n.patterns, fpattern{re: re, n: buildFast(sub, memo)})
	}
	switch extra := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		n.closed = !extra
	case *jsonschema.Schema:
		n.extra = buildFast(extra, memo)
	default:
		n.unsure = true
	}
	n.openProps = len(n.props) == 0 && len(n.patterns) == 0 && s.AdditionalProperties == nil
	switch items := s.Items.(type) {
	case nil:
	case *jsonschema.Schema:
		n.items = buildFast(items, memo)
	default:
		n.unsure = true // tuple form of draft-07 items
	}
	if s.Items2020 != nil {
		n.items = buildFast(s.Items2020, memo)
	}
	for _, sub := range s.AllOf {
		n.allOf = append(n.allOf, buildFast(sub, memo))
	}
	for _, sub := range s.AnyOf {
		n.anyOf = append(n.anyOf, buildFast(sub, memo))
	}
	if s.If != nil {
		n.ifS, n.thenS = buildFast(s.If, memo), buildFast(s.Then, memo)
	}
	return n
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

// valid reports whether v is certainly valid against n, answering false when unsure.
func (n *fnode) valid(v any, depth int) bool {
	if n.unsure || depth > maxFastDepth {
		return false
	}
	if n.boolean != 0 {
		return n.boolean > 0
	}
	if n.ref != nil {
		if !n.ref.valid(v, depth+1) {
			return false
		}
		if n.refOnly {
			return true
		}
	}
	if n.types != 0 && !typeMatches(n.types, v) {
		return false
	}
	if n.hasEnum && !inEnum(v, n.enum) {
		return false
	}
	if n.format != nil && n.format.Validate(v) != nil {
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		if !n.objectValid(x, depth) {
			return false
		}
	case []any:
		if !n.arrayValid(x, depth) {
			return false
		}
	case string:
		if n.minLen >= 0 || n.maxLen >= 0 {
			c := utf8.RuneCountInString(x)
			if c < n.minLen || (n.maxLen >= 0 && c > n.maxLen) {
				return false
			}
		}
		if n.pattern != nil && !n.pattern.MatchString(x) {
			return false
		}
	case float64:
		if !n.numberValid(x) {
			return false
		}
	case nil, bool:
	default:
		return false // json.Number, ints: not what sonic produces; leave them to the library
	}
	for _, sub := range n.allOf {
		if !sub.valid(v, depth+1) {
			return false
		}
	}
	if len(n.anyOf) > 0 {
		matched := false
		for _, sub := range n.anyOf {
			if sub.valid(v, depth+1) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	// if/then without else: valid when if fails (not knowable here) or then holds; the second
	// alone is enough to be sure.
	if n.ifS != nil && !(n.ifS.valid(v, depth+1) && n.thenS.valid(v, depth+1)) {
		return false
	}
	return true
}

// typeBits maps type names to the library's bit of each, read through its public API.
var typeBits = func() map[string]jsonschema.Types {
	m := map[string]jsonschema.Types{}
	for t := range knownTypes {
		var bit jsonschema.Types
		bit.Add(t)
		m[t] = bit
	}
	return m
}()

var (
	bitNull    = typeBits["null"]
	bitBoolean = typeBits["boolean"]
	bitNumber  = typeBits["number"]
	bitInteger = typeBits["integer"]
	bitString  = typeBits["string"]
	bitArray   = typeBits["array"]
	bitObject  = typeBits["object"]
)

func typeMatches(types jsonschema.Types, v any) bool {
	switch x := v.(type) {
	case nil:
		return types&bitNull != 0
	case bool:
		return types&bitBoolean != 0
	case string:
		return types&bitString != 0
	case []any:
		return types&bitArray != 0
	case map[string]any:
		return types&bitObject != 0
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
		// A float64 is a whole number exactly when its shortest decimal is, which is what the
		// library checks.
		return types&bitNumber != 0 || (types&bitInteger != 0 && x == math.Trunc(x))
	}
	return false
}

func (n *fnode) objectValid(obj map[string]any, depth int) bool {
	if len(obj) < n.minProps || (n.maxProps >= 0 && len(obj) > n.maxProps) {
		return false
	}
	for _, name := range n.required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	if n.openProps {
		return true
	}
	if len(n.patterns) == 0 && n.extra == nil {
		// Only declared fields are checked: look each up rather than iterate the data's map
		// (cheaper), and tell extra fields by count.
		present := 0
		for _, p := range n.propList {
			if val, ok := obj[p.name]; ok {
				present++
				if !p.n.valid(val, depth+1) {
					return false
				}
			}
		}
		return !n.closed || present == len(obj)
	}
	for name, val := range obj {
		evaluated := false
		if sub, ok := n.props[name]; ok {
			evaluated = true
			if !sub.valid(val, depth+1) {
				return false
			}
		}
		for _, p := range n.patterns {
			if p.re.MatchString(name) {
				evaluated = true
				if !p.n.valid(val, depth+1) {
					return false
				}
			}
		}
		switch {
		case evaluated:
		case n.closed:
			return false
		case n.extra != nil:
			if !n.extra.valid(val, depth+1) {
				return false
			}
		}
	}
	return true
}

func (n *fnode) arrayValid(arr []any, depth int) bool {
	if len(arr) < n.minItems || (n.maxItems >= 0 && len(arr) > n.maxItems) {
		return false
	}
	if n.unique && len(arr) > 1 && !certainlyUnique(arr) {
		return false
	}
	if n.items != nil {
		for _, el := range arr {
			if !n.items.valid(el, depth+1) {
				return false
			}
		}
	}
	return true
}

// certainlyUnique handles short arrays of strings and booleans; anything else is left to the
// library (numbers compare as exact decimals there).
func certainlyUnique(arr []any) bool {
	if len(arr) > 64 {
		return false
	}
	for i, el := range arr {
		switch el.(type) {
		case string, bool:
		default:
			return false
		}
		for j := 0; j < i; j++ {
			if el == arr[j] {
				return false
			}
		}
	}
	return true
}

// numberValid checks the numeric keywords. The library compares the shortest decimal that
// rounds to x, as an exact rational, with the exact bound. A strict comparison of x with the
// bound rounded to float64 gives the same answer (the two rounding intervals are disjoint).
// When they are equal it may not, so that case is left to the library, unless the bound is a
// whole number below 2^53: then x is exactly the bound.
func (n *fnode) numberValid(x float64) bool {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return false
	}
	if n.hasBound[0] && !(x > n.bounds[0] || (n.wholeEq[0] && x == n.bounds[0])) {
		return false
	}
	if n.hasBound[1] && !(x < n.bounds[1] || (n.wholeEq[1] && x == n.bounds[1])) {
		return false
	}
	if (n.hasBound[2] && !(x > n.bounds[2])) || (n.hasBound[3] && !(x < n.bounds[3])) {
		return false
	}
	if n.multInt != 0 {
		// A whole float64 below 2^53 is its own shortest decimal, and Mod is exact.
		if x != math.Trunc(x) || math.Abs(x) >= 1<<53 || math.Mod(x, n.multInt) != 0 {
			return false
		}
	} else if n.multRat != nil {
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
		if !ok || n.multRat.Sign() == 0 || !r.Quo(r, n.multRat).IsInt() {
			return false
		}
	}
	return true
}

// inEnum matches strings, booleans and null exactly; numbers and containers are left to the
// library, which compares numbers as exact decimals.
func inEnum(v any, values []any) bool {
	for _, want := range values {
		switch x := v.(type) {
		case string:
			if w, ok := want.(string); ok && x == w {
				return true
			}
		case bool:
			if w, ok := want.(bool); ok && x == w {
				return true
			}
		case nil:
			if want == nil {
				return true
			}
		default:
			return false
		}
	}
	return false
}

func sortedSchemaKeys(m map[string]*jsonschema.Schema) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
