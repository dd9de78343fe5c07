package schema

import (
	"sort"
	"strconv"
	"strings"
)

// joinPath renders a location inside doc (a list of object keys and array indexes, as the
// validator reports it) as a field path: "data.items[2].sku". doc is walked alongside, so that
// an index into an array is told apart from an object key that happens to be digits.
func joinPath(prefix string, doc any, toks []string) string {
	if len(toks) == 0 {
		return prefix
	}
	var b strings.Builder
	b.Grow(len(prefix) + 8*len(toks))
	b.WriteString(prefix)
	cur := doc
	for _, tok := range toks {
		switch c := cur.(type) {
		case []any:
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(c) {
				b.WriteByte('[')
				b.WriteString(tok)
				b.WriteByte(']')
				cur = c[i]
				continue
			}
			cur = nil
		case map[string]any:
			cur = c[tok]
		default:
			cur = nil
		}
		b.WriteString(fieldKey(tok))
	}
	return b.String()
}

// fieldKey renders one object key of a field path: ".city", or `["first name"]` for a key that
// would be ambiguous in dotted form.
func fieldKey(name string) string {
	if plainKey(name) {
		return "." + name
	}
	return "[" + strconv.Quote(name) + "]"
}

func plainKey(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == '.' || c == '[' || c == ']' || c == '"' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
