package ingest

import "bytes"

// CheckDepth reports whether the JSON text b nests objects and arrays at most max levels deep
// ({} and [] are one level; {"a":[1]} is two). It is a cheap byte scan, run before decoding so
// that a hostile body cannot make the decoder recurse: brackets inside strings (escaped quotes
// included) are ignored, and b need not be valid JSON.
func CheckDepth(b []byte, max int) bool {
	ok, _ := scan(b, max, false)
	return ok
}

// scan walks b once, outside strings, tracking the nesting depth. It stops with false as soon
// as the depth passes max. With countTop, it also counts the elements of a top-level array
// (commas at depth 1, plus one for a non-empty array): an estimate, exact for valid JSON, that
// lets a batch over the limit be refused before decoding.
func scan(b []byte, max int, countTop bool) (ok bool, elems int) {
	depth := 0
	open := false // inside the top-level array, no element seen yet
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '"':
			end := stringEnd(b, i+1)
			if end < 0 {
				return true, elems // unterminated string: the decoder will say so
			}
			if open {
				open, elems = false, elems+1
			}
			i = end
		case '{', '[':
			depth++
			if depth > max {
				return false, elems
			}
			if open {
				open, elems = false, elems+1
			}
			if countTop && depth == 1 && c == '[' {
				open = true
			}
		case '}', ']':
			depth--
			if depth <= 0 {
				open = false
			}
		case ',':
			if countTop && depth == 1 {
				elems++
			}
		case ' ', '\t', '\n', '\r':
		default:
			if open {
				open, elems = false, elems+1
			}
		}
	}
	return true, elems
}

// stringEnd returns the index of the quote closing the string whose contents start at b[from],
// or -1. Quotes preceded by an odd number of backslashes are escaped.
func stringEnd(b []byte, from int) int {
	// Most strings are short keys and values: a plain loop beats the call to IndexByte.
	for i := from; i < len(b) && i < from+32; i++ {
		switch b[i] {
		case '"':
			return i
		case '\\':
			return stringEndSlow(b, from)
		}
	}
	return stringEndSlow(b, from)
}

func stringEndSlow(b []byte, from int) int {
	for from <= len(b) {
		q := bytes.IndexByte(b[from:], '"')
		if q < 0 {
			return -1
		}
		q += from
		n := 0
		for j := q - 1; j >= from && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		from = q + 1
	}
	return -1
}
