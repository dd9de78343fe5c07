package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/wayline/wayline/runtime/apierr"
)

// maxTemplateDepth bounds the nesting of a JSON template.
const maxTemplateDepth = 64

// segment is one piece of a string holding {{ expr }} parts: literal text or an expression.
type segment struct {
	lit  string
	expr string // the source between the braces, when isExpr
	// isExpr marks an expression part.
	isExpr bool
}

// splitTemplate cuts s into literal and {{ expr }} segments. An expression ends at the first
// "}}" outside CEL string literals and outside braces opened inside it, so map literals and
// strings holding "}}" work: {{ {"a": {"b": 1}} }}.
func splitTemplate(s string) ([]segment, error) {
	var segs []segment
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			if s != "" {
				segs = append(segs, segment{lit: s})
			}
			return segs, nil
		}
		if open > 0 {
			segs = append(segs, segment{lit: s[:open]})
		}
		body := s[open+2:]
		end, err := exprEnd(body)
		if err != nil {
			return nil, err
		}
		src := body[:end]
		if strings.TrimSpace(src) == "" {
			return nil, errors.New("empty {{ }}: put an expression between the braces")
		}
		segs = append(segs, segment{expr: src, isExpr: true})
		s = body[end+2:]
	}
}

// exprEnd returns the index of the "}}" that closes an expression starting at s[0].
func exprEnd(s string) (int, error) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			j, err := skipString(s, i)
			if err != nil {
				return 0, err
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			} else if i+1 < len(s) && s[i+1] == '}' {
				return i, nil
			}
		}
	}
	return 0, errors.New(`unclosed "{{": end the expression with "}}"`)
}

// skipString returns the index of the quote closing the CEL string literal whose opening quote
// is at s[i]: single, double or tripled quotes, raw (r"...") or not.
func skipString(s string, i int) (int, error) {
	q := s[i]
	raw := i > 0 && (s[i-1] == 'r' || s[i-1] == 'R')
	if strings.HasPrefix(s[i:], string([]byte{q, q, q})) {
		delim := s[i : i+3]
		for j := i + 3; j < len(s); j++ {
			if s[j] == '\\' && !raw {
				j++
				continue
			}
			if strings.HasPrefix(s[j:], delim) {
				return j + 2, nil
			}
		}
		return 0, errors.New("unterminated string literal inside {{ }}")
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if !raw {
				j++
			}
		case q:
			return j, nil
		case '\n', '\r':
			return 0, errors.New("unterminated string literal inside {{ }}")
		}
	}
	return 0, errors.New("unterminated string literal inside {{ }}")
}

// compileSegments compiles the expressions of segs; where says where the string is, for errors.
func (e *Env) compileSegments(segs []segment, where string) ([]*Program, error) {
	progs := make([]*Program, len(segs))
	for i, sg := range segs {
		if !sg.isExpr {
			continue
		}
		p, err := e.CompileValue(strings.TrimSpace(sg.expr))
		if err != nil {
			var ae *apierr.Error
			if errors.As(err, &ae) {
				return nil, invalid("%sin {{ %s }}: %s", where, strings.TrimSpace(sg.expr), ae.Message)
			}
			return nil, err
		}
		progs[i] = p
	}
	return progs, nil
}

// partKind is what a Template part writes.
type partKind uint8

const (
	partLiteral partKind = iota // lit, as is
	partValue                   // the expression's value as a JSON value
	partText                    // the expression's value as text inside a JSON string
)

type part struct {
	kind partKind
	lit  []byte
	prog *Program
	path string // the JSON path of the string holding the expression, for errors
}

// Template is a compiled JSON template. It is immutable and safe for concurrent use.
type Template struct {
	parts []part
	size  int // a guess at the rendered size
}

// CompileJSONTemplate compiles a JSON document whose string values may hold {{ expr }} parts
// (object keys are always literal). A string that is one {{ expr }} and nothing else but
// whitespace becomes the expression's JSON value (number, object, null, ...); otherwise the
// parts are written as text into the string. Object key order is kept.
func (e *Env) CompileJSONTemplate(raw []byte) (*Template, error) {
	c := templateCompiler{env: e, dec: json.NewDecoder(bytes.NewReader(raw))}
	c.dec.UseNumber()
	if err := c.value("", 0); err != nil {
		return nil, err
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return nil, invalid("the template is not valid JSON: unexpected data after the top-level value")
	}
	c.flush()
	t := &Template{parts: c.parts}
	for _, p := range t.parts {
		t.size += len(p.lit) + 32
	}
	return t, nil
}

type templateCompiler struct {
	env   *Env
	dec   *json.Decoder
	parts []part
	lit   []byte // literal output not yet in parts
}

func (c *templateCompiler) flush() {
	if len(c.lit) > 0 {
		c.parts = append(c.parts, part{kind: partLiteral, lit: c.lit})
		c.lit = nil
	}
}

func (c *templateCompiler) add(k partKind, p *Program, path string) {
	c.flush()
	c.parts = append(c.parts, part{kind: k, prog: p, path: path})
}

func syntaxErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg += fmt.Sprintf(" (at byte %d)", se.Offset)
	}
	return invalid("the template is not valid JSON: %s", msg)
}

// value compiles the JSON value at the decoder's position; path is its JSON path.
func (c *templateCompiler) value(path string, depth int) error {
	if depth > maxTemplateDepth {
		return invalid("the template is nested more than %d levels deep", maxTemplateDepth)
	}
	tok, err := c.dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			c.lit = append(c.lit, '{')
			seen := map[string]bool{}
			for i := 0; c.dec.More(); i++ {
				kt, err := c.dec.Token()
				if err != nil {
					return syntaxErr(err)
				}
				key, ok := kt.(string)
				if !ok {
					return invalid("the template is not valid JSON: object key is not a string")
				}
				kp := joinPath(path, key)
				if seen[key] {
					return invalid("%s: duplicate key in the template", kp)
				}
				seen[key] = true
				if i > 0 {
					c.lit = append(c.lit, ',')
				}
				c.lit = appendJSONString(c.lit, key)
				c.lit = append(c.lit, ':')
				if err := c.value(kp, depth+1); err != nil {
					return err
				}
			}
			if _, err := c.dec.Token(); err != nil {
				return syntaxErr(err)
			}
			c.lit = append(c.lit, '}')
		case '[':
			c.lit = append(c.lit, '[')
			for i := 0; c.dec.More(); i++ {
				if i > 0 {
					c.lit = append(c.lit, ',')
				}
				if err := c.value(path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
			if _, err := c.dec.Token(); err != nil {
				return syntaxErr(err)
			}
			c.lit = append(c.lit, ']')
		default:
			return invalid("the template is not valid JSON: unexpected %q", t.String())
		}
	case string:
		return c.str(t, path)
	case json.Number:
		c.lit = append(c.lit, t...)
	case bool:
		c.lit = strconv.AppendBool(c.lit, t)
	case nil:
		c.lit = append(c.lit, "null"...)
	}
	return nil
}

func (c *templateCompiler) str(s, path string) error {
	where := path
	if where == "" {
		where = "(root)"
	}
	where += ": "
	segs, err := splitTemplate(s)
	if err != nil {
		return invalid("%s%s", where, err.Error())
	}
	if typed, err := splitTemplate(strings.TrimSpace(s)); err == nil && len(typed) == 1 && typed[0].isExpr {
		progs, err := c.env.compileSegments(typed, where)
		if err != nil {
			return err
		}
		c.add(partValue, progs[0], path)
		return nil
	}
	progs, err := c.env.compileSegments(segs, where)
	if err != nil {
		return err
	}
	c.lit = append(c.lit, '"')
	for i, sg := range segs {
		if sg.isExpr {
			c.add(partText, progs[i], path)
		} else {
			c.lit = appendJSONStringContent(c.lit, sg.lit)
		}
	}
	c.lit = append(c.lit, '"')
	return nil
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// joinPath appends an object key to a JSON path: user.name, or items[0]["first name"].
func joinPath(path, key string) string {
	if !identRE.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Render evaluates the template and returns compact JSON.
func (t *Template) Render(a *Activation) ([]byte, error) {
	b := make([]byte, 0, t.size)
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == partLiteral {
			b = append(b, p.lit...)
			continue
		}
		v, err := p.prog.eval(a)
		if err != nil {
			return nil, renderErr(p.path, err)
		}
		if p.kind == partValue {
			b, err = appendValueJSON(b, v)
		} else {
			b, err = appendTextJSON(b, v)
		}
		if err != nil {
			return nil, renderErr(p.path, fmt.Errorf("expr: evaluating %q: %w", p.prog.src, err))
		}
	}
	return b, nil
}

// appendTextJSON appends v as text escaped for the inside of a JSON string.
func appendTextJSON(b []byte, v ref.Val) ([]byte, error) {
	switch v := v.(type) {
	case types.String:
		return appendJSONStringContent(b, string(v)), nil
	case types.Null, types.Bool, types.Int, types.Uint, types.Double, types.Timestamp:
		// Their text is plain ASCII that needs no escaping.
		return appendText(b, v)
	}
	text, err := appendText(nil, v)
	if err != nil {
		return b, err
	}
	return appendJSONStringContent(b, string(text)), nil
}

func renderErr(path string, err error) error {
	if path == "" {
		path = "(root)"
	}
	return fmt.Errorf("%s: %w", path, err)
}

// StringTemplate is a compiled string with {{ expr }} parts, such as a URL. It is immutable and
// safe for concurrent use.
type StringTemplate struct {
	segs  []segment
	progs []*Program
	size  int
}

// CompileStringTemplate compiles a string whose {{ expr }} parts are replaced by the
// expressions' values as text (see Render).
func (e *Env) CompileStringTemplate(s string) (*StringTemplate, error) {
	segs, err := splitTemplate(s)
	if err != nil {
		return nil, invalid("%s", err.Error())
	}
	progs, err := e.compileSegments(segs, "")
	if err != nil {
		return nil, err
	}
	t := &StringTemplate{segs: segs, progs: progs}
	for _, sg := range segs {
		t.size += len(sg.lit) + 16
	}
	return t, nil
}

// Render evaluates the template. Each expression's value is written as text (strings as they
// are, null as nothing, numbers as in JSON, timestamps in RFC 3339, lists and maps as compact
// JSON) and passed through escape (url.PathEscape, say) when escape is not nil; literal text is
// never escaped.
func (t *StringTemplate) Render(a *Activation, escape func(string) string) (string, error) {
	if len(t.segs) == 1 && !t.segs[0].isExpr {
		return t.segs[0].lit, nil
	}
	b := make([]byte, 0, t.size)
	var scratch []byte
	for i, sg := range t.segs {
		if !sg.isExpr {
			b = append(b, sg.lit...)
			continue
		}
		p := t.progs[i]
		v, err := p.eval(a)
		if err != nil {
			return "", err
		}
		if escape == nil {
			if b, err = appendText(b, v); err != nil {
				return "", fmt.Errorf("expr: evaluating %q: %w", p.src, err)
			}
			continue
		}
		if scratch, err = appendText(scratch[:0], v); err != nil {
			return "", fmt.Errorf("expr: evaluating %q: %w", p.src, err)
		}
		b = append(b, escape(string(scratch))...)
	}
	return string(b), nil
}

// DataSources lists the data-source groups the template's expressions read, each once.
func (t *Template) DataSources() []DSRef {
	var out []DSRef
	for _, p := range t.parts {
		if p.prog != nil {
			out = mergeRefs(out, p.prog.ds)
		}
	}
	return out
}

// DataSources lists the data-source groups the template's expressions read, each once.
func (t *StringTemplate) DataSources() []DSRef {
	var out []DSRef
	for _, p := range t.progs {
		if p != nil {
			out = mergeRefs(out, p.ds)
		}
	}
	return out
}

func mergeRefs(into, from []DSRef) []DSRef {
	for _, r := range from {
		if !slices.Contains(into, r) {
			into = append(into, r)
		}
	}
	return into
}
