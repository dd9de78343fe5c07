package schema

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Field is one declared field of an event's data, for the designer's field picker.
type Field struct {
	// Path is the dotted path inside data: "plan", "address.city", "items[].sku".
	Path string `json:"path"`
	// Type is the declared JSON type ("string", "number", "integer", "boolean", "object",
	// "array"); several non-null types are joined with "|"; empty when not declared.
	Type string `json:"type,omitempty"`
	// Required is true when the enclosing object requires the field.
	Required bool `json:"required,omitempty"`
	// Enum lists the allowed values (numbers as float64, as events decode them).
	Enum []any `json:"enum,omitempty"`
	// Format is the declared string format ("email", "date-time", "uri", ...).
	Format string `json:"format,omitempty"`
}

// Bounds of the walks over a schema's shape: recursive schemas ("$ref": "#") describe
// infinitely deep data, and the picker only needs the first levels.
const (
	maxFieldDepth = 16
	maxFields     = 2000
	maxMixinDepth = 16
)

// node is the declared shape of one schema, read from the raw document: what Fields lists and
// HasField checks. Constraints that come from $ref and allOf apply in full (mixins); those of
// anyOf and oneOf may apply (alts): their fields are declared, but they close nothing.
type node struct {
	never    bool // the schema `false`
	types    []string
	format   string
	enum     []any
	props    map[string]*node
	required map[string]bool
	patterns []patternNode
	extra    *node // additionalProperties as a schema
	closed   bool  // additionalProperties or unevaluatedProperties is false
	items    *node
	mixins   []*node
	alts     []*node
}

type patternNode struct {
	re *regexp.Regexp
	n  *node
}

type treeBuilder struct {
	root map[string]any
	refs map[string]*node // $ref targets by JSON pointer, so recursive schemas stay finite
}

func buildTree(root map[string]any) *node {
	b := &treeBuilder{root: root, refs: map[string]*node{}}
	return b.build(root, 0)
}

func (b *treeBuilder) build(v any, depth int) *node {
	n := &node{}
	b.fill(n, v, depth)
	return n
}

func (b *treeBuilder) fill(n *node, v any, depth int) {
	if depth > maxSchemaDepth {
		return
	}
	if bv, ok := v.(bool); ok {
		n.never = !bv
		return
	}
	s, ok := v.(map[string]any)
	if !ok {
		return
	}
	n.types = typeList(s["type"])
	n.format, _ = s["format"].(string)
	if e, ok := s["enum"].([]any); ok {
		n.enum = make([]any, len(e))
		for i, x := range e {
			n.enum[i] = plainValue(x)
		}
	} else if c, ok := s["const"]; ok {
		n.enum = []any{plainValue(c)}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		n.props = make(map[string]*node, len(props))
		for name, sub := range props {
			n.props[name] = b.build(sub, depth+1)
		}
	}
	if req, ok := s["required"].([]any); ok {
		n.required = make(map[string]bool, len(req))
		for _, r := range req {
			if name, ok := r.(string); ok {
				n.required[name] = true
			}
		}
	}
	if pp, ok := s["patternProperties"].(map[string]any); ok {
		for _, pat := range sortedKeys(pp) {
			if re, err := regexp.Compile(pat); err == nil {
				n.patterns = append(n.patterns, patternNode{re: re, n: b.build(pp[pat], depth+1)})
			}
		}
	}
	switch ap := s["additionalProperties"].(type) {
	case bool:
		n.closed = !ap
	case map[string]any:
		n.extra = b.build(ap, depth+1)
	}
	if up, ok := s["unevaluatedProperties"].(bool); ok && !up {
		n.closed = true
	}
	switch it := s["items"].(type) {
	case map[string]any, bool:
		n.items = b.build(it, depth+1)
	}
	if ref, ok := s["$ref"].(string); ok && (ref == "#" || strings.HasPrefix(ref, "#/")) {
		if target := b.ref(ref[1:], depth); target != nil {
			n.mixins = append(n.mixins, target)
		}
	}
	for _, sub := range schemaList(s["allOf"]) {
		n.mixins = append(n.mixins, b.build(sub, depth+1))
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		for _, sub := range schemaList(s[kw]) {
			n.alts = append(n.alts, b.build(sub, depth+1))
		}
	}
}

// ref returns the node of the schema at ptr, building it once: a reference back to an
// enclosing schema reuses the node being built, so the tree may contain cycles.
func (b *treeBuilder) ref(ptr string, depth int) *node {
	if n, ok := b.refs[ptr]; ok {
		return n
	}
	target, ok := resolvePointer(b.root, ptr)
	if !ok {
		return nil
	}
	n := &node{}
	b.refs[ptr] = n
	b.fill(n, target, depth+1)
	return n
}

func schemaList(v any) []any {
	arr, _ := v.([]any)
	return arr
}

// plainValue converts the compiler's exact numbers into what events decode to (float64).
func plainValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return f
		}
		return string(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainValue(e)
		}
		return out
	}
	return v
}

// typeList returns the declared types, its own or those of a $ref/allOf.
func (n *node) typeList(depth int) []string {
	if len(n.types) > 0 || depth > maxMixinDepth {
		return n.types
	}
	for _, m := range n.mixins {
		if t := m.typeList(depth + 1); len(t) > 0 {
			return t
		}
	}
	return nil
}

func (n *node) formatOf(depth int) string {
	if n.format != "" || depth > maxMixinDepth {
		return n.format
	}
	for _, m := range n.mixins {
		if f := m.formatOf(depth + 1); f != "" {
			return f
		}
	}
	return ""
}

func (n *node) enumOf(depth int) []any {
	if n.enum != nil || depth > maxMixinDepth {
		return n.enum
	}
	for _, m := range n.mixins {
		if e := m.enumOf(depth + 1); e != nil {
			return e
		}
	}
	return nil
}

// prop finds the schema of a declared property.
func (n *node) prop(name string, depth int) (*node, bool) {
	if c, ok := n.props[name]; ok {
		return c, true
	}
	if depth > maxMixinDepth {
		return nil, false
	}
	for _, group := range [2][]*node{n.mixins, n.alts} {
		for _, m := range group {
			if c, ok := m.prop(name, depth+1); ok {
				return c, true
			}
		}
	}
	return nil, false
}

func (n *node) isRequired(name string, depth int) bool {
	if n.required[name] {
		return true
	}
	if depth > maxMixinDepth {
		return false
	}
	for _, m := range n.mixins {
		if m.isRequired(name, depth+1) {
			return true
		}
	}
	return false
}

func (n *node) pattern(name string, depth int) *node {
	for _, p := range n.patterns {
		if p.re.MatchString(name) {
			return p.n
		}
	}
	if depth > maxMixinDepth {
		return nil
	}
	for _, m := range n.mixins {
		if c := m.pattern(name, depth+1); c != nil {
			return c
		}
	}
	return nil
}

func (n *node) isClosed(depth int) bool {
	if n.closed || n.never {
		return true
	}
	if depth > maxMixinDepth {
		return false
	}
	for _, m := range n.mixins {
		if m.isClosed(depth + 1) {
			return true
		}
	}
	return false
}

func (n *node) extraOf(depth int) *node {
	if n.extra != nil || depth > maxMixinDepth {
		return n.extra
	}
	for _, m := range n.mixins {
		if e := m.extraOf(depth + 1); e != nil {
			return e
		}
	}
	return nil
}

func (n *node) itemsOf(depth int) *node {
	if n.items != nil || depth > maxMixinDepth {
		return n.items
	}
	for _, group := range [2][]*node{n.mixins, n.alts} {
		for _, m := range group {
			if it := m.itemsOf(depth + 1); it != nil {
				return it
			}
		}
	}
	return nil
}

func (n *node) propNames(depth int, into map[string]bool) {
	for name := range n.props {
		into[name] = true
	}
	if depth > maxMixinDepth {
		return
	}
	for _, group := range [2][]*node{n.mixins, n.alts} {
		for _, m := range group {
			m.propNames(depth+1, into)
		}
	}
}

// fieldType words the declared type for the picker: nullability is dropped ("string" for
// ["string","null"]), an undeclared type is inferred from properties or items.
func (n *node) fieldType() string {
	types := n.typeList(0)
	if len(types) > 1 {
		nonNull := make([]string, 0, len(types))
		for _, t := range types {
			if t != "null" {
				nonNull = append(nonNull, t)
			}
		}
		types = nonNull
	}
	if len(types) > 0 {
		return strings.Join(types, "|")
	}
	names := map[string]bool{}
	n.propNames(0, names)
	if len(names) > 0 {
		return "object"
	}
	if n.itemsOf(0) != nil {
		return "array"
	}
	return ""
}

// flatten lists the declared fields depth first, in name order at each level.
func flatten(root *node) []Field {
	var out []Field
	var walk func(prefix string, n *node, depth int)
	var descend func(path string, n *node, depth int)
	walk = func(prefix string, n *node, depth int) {
		set := map[string]bool{}
		n.propNames(0, set)
		names := make([]string, 0, len(set))
		for name := range set {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if len(out) >= maxFields {
				return
			}
			c, _ := n.prop(name, 0)
			if c.never {
				continue
			}
			path := prefix + name
			out = append(out, Field{
				Path:     path,
				Type:     c.fieldType(),
				Required: n.isRequired(name, 0),
				Enum:     c.enumOf(0),
				Format:   c.formatOf(0),
			})
			descend(path, c, depth+1)
		}
	}
	descend = func(path string, n *node, depth int) {
		if depth > maxFieldDepth || len(out) >= maxFields {
			return
		}
		set := map[string]bool{}
		n.propNames(0, set)
		if len(set) > 0 {
			walk(path+".", n, depth)
		}
		if it := n.itemsOf(0); it != nil {
			descend(path+"[]", it, depth+1)
		}
	}
	if root != nil {
		walk("", root, 0)
	}
	return out
}

// Fields returns the declared fields of data, flattened: nested objects as dotted paths,
// elements of arrays as "items[]" ("items[].sku"). A schema that declares nothing has none.
func (s *Schema) Fields() []Field {
	if s == nil || len(s.fields) == 0 {
		return nil
	}
	out := make([]Field, len(s.fields))
	copy(out, s.fields)
	return out
}

// HasField reports whether data may hold a field at path (["address", "city"]; an array
// element is a segment "items[]", "items[0]", or a bare index after the array's segment). It is
// true when the path is declared, and also when the schema leaves it open (no properties
// declared at that level, or additionalProperties not false); false when the schema rules it
// out, e.g. a typo in an object with additionalProperties false, or a field inside a string.
func (s *Schema) HasField(path []string) bool { return s.hasField(path, false) }

// Declares is HasField for expressions: an object that lists its properties is treated as
// closed even without additionalProperties: false, so that a typo like event.data.emial is
// reported when a journey is validated, not discovered when it runs. Objects that list no
// properties stay open.
func (s *Schema) Declares(path []string) bool { return s.hasField(path, true) }

func (s *Schema) hasField(path []string, strict bool) bool {
	if s == nil || s.root == nil {
		return true
	}
	cur := s.root
	for _, seg := range path {
		name, idx := splitSegment(seg)
		if name != "" && isIndex(name) && !cur.mayBe("object") && cur.mayBe("array") {
			name, idx = "", idx+1
		}
		if name != "" {
			next, ok := cur.child(name)
			if !ok {
				return false
			}
			if next == nil && strict && cur.listsProps() {
				return false
			}
			if next == nil {
				return true
			}
			cur = next
		}
		for range idx {
			next, ok := cur.elem()
			if !ok {
				return false
			}
			if next == nil {
				return true
			}
			cur = next
		}
	}
	return !cur.never
}

// child returns the schema of field name: (node, true) when declared or constrained, (nil,
// true) when the schema leaves it open, (nil, false) when it rules the field out.
func (n *node) child(name string) (*node, bool) {
	if n.never || !n.mayBe("object") {
		return nil, false
	}
	if c, ok := n.prop(name, 0); ok {
		return c, !c.never
	}
	if c := n.pattern(name, 0); c != nil {
		return c, !c.never
	}
	if n.isClosed(0) {
		return nil, false
	}
	if e := n.extraOf(0); e != nil {
		return e, !e.never
	}
	return nil, true
}

// listsProps reports whether the object (or one of the schemas it is all of) names its
// properties.
func (n *node) listsProps() bool {
	if len(n.props) > 0 {
		return true
	}
	for _, m := range n.mixins {
		if m.listsProps() {
			return true
		}
	}
	return false
}

// elem returns the schema of an array's elements, with child's conventions.
func (n *node) elem() (*node, bool) {
	if n.never || !n.mayBe("array") {
		return nil, false
	}
	if it := n.itemsOf(0); it != nil {
		return it, !it.never
	}
	return nil, true
}

// mayBe reports whether the declared type allows t (an undeclared type allows everything).
func (n *node) mayBe(t string) bool {
	types := n.typeList(0)
	return len(types) == 0 || contains(types, t)
}

// splitSegment splits "items[0][]" into "items" and 2 element steps.
func splitSegment(seg string) (string, int) {
	i := strings.IndexByte(seg, '[')
	if i < 0 || !strings.HasSuffix(seg, "]") {
		return seg, 0
	}
	name, rest := seg[:i], seg[i:]
	steps := 0
	for rest != "" {
		if rest[0] != '[' {
			return seg, 0
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return seg, 0
		}
		if inner := rest[1:end]; inner != "" && !isIndex(inner) {
			return seg, 0
		}
		steps++
		rest = rest[end+1:]
	}
	return name, steps
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
