package expr

import (
	"errors"
	"fmt"
	"html"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"

	"github.com/wayline/wayline/runtime/apierr"
)

// Limits of a message template's rendering.
const (
	// MaxMessageBytes bounds a rendered message part.
	MaxMessageBytes = 1 << 20
	// maxLoopItems bounds the items one {{#each}} walks.
	maxLoopItems = 1000
	// maxBlockDepth bounds nested blocks.
	maxBlockDepth = 16
)

// MessageTemplate is a compiled message part (a subject, an HTML or text body, an SMS text):
// literal text with
//
//	{{ expr }}                 the value as text, HTML-escaped in an HTML template
//	{{{ expr }}}               the value as it is (trusted HTML)
//	{{ expr ?? fallback }}     fallback (another expression) when expr fails, is null or ""
//	{{#if expr}}…{{else if expr}}…{{else}}…{{/if}}
//	{{#each expr as item}}…{{/each}}   item is in scope inside, as are the usual variables
//
// Expressions are CEL over event, profile, vars, journey, ds and now, checked against the
// schemas when the template is compiled, like every other expression. It is immutable and safe
// for concurrent use.
type MessageTemplate struct {
	body []mnode
	html bool
	ds   []DSRef
}

type mkind uint8

const (
	mLit mkind = iota
	mExpr
	mRaw
	mIf
	mEach
)

type mnode struct {
	kind     mkind
	lit      string
	prog     *Program   // mExpr, mRaw, mEach (the list)
	fallback *Program   // mExpr, mRaw
	conds    []*Program // mIf
	bodies   [][]mnode  // mIf: one per cond, then else (may be nil)
	name     string     // mEach
	body     []mnode    // mEach
}

// CompileMessageTemplate compiles s; escapeHTML makes {{ expr }} HTML-escaped.
func (e *Env) CompileMessageTemplate(s string, escapeHTML bool) (*MessageTemplate, error) {
	toks, err := lexMessage(s)
	if err != nil {
		return nil, invalid("%s", err.Error())
	}
	p := &mparser{env: e, toks: toks}
	body, end, err := p.parse(nil, 0)
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, invalid("%s without a matching block opening", end)
	}
	return &MessageTemplate{body: body, html: escapeHTML, ds: p.ds}, nil
}

// DataSources lists the data-source groups the template reads, each once.
func (t *MessageTemplate) DataSources() []DSRef { return t.ds }

// mtok is a lexed piece: literal text or a tag.
type mtok struct {
	lit   string
	tag   string // the tag's inside, trimmed: "#if x", "/if", "else", "x ?? y"
	raw   bool   // {{{ }}}
	isTag bool
}

func lexMessage(s string) ([]mtok, error) {
	var out []mtok
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			if s != "" {
				out = append(out, mtok{lit: s})
			}
			return out, nil
		}
		if open > 0 {
			out = append(out, mtok{lit: s[:open]})
		}
		raw := strings.HasPrefix(s[open:], "{{{")
		start := open + 2
		if raw {
			start++
		}
		body := s[start:]
		end, err := exprEnd(body)
		if err != nil {
			return nil, err
		}
		inner := strings.TrimSpace(body[:end])
		rest := body[end+2:]
		if raw {
			if !strings.HasPrefix(rest, "}") {
				return nil, errors.New(`unclosed "{{{": end raw output with "}}}"`)
			}
			rest = rest[1:]
		}
		if inner == "" {
			return nil, errors.New("empty {{ }}: put an expression between the braces")
		}
		out = append(out, mtok{tag: inner, raw: raw, isTag: true})
		s = rest
	}
}

type mparser struct {
	env  *Env
	toks []mtok
	pos  int
	ds   []DSRef
}

// parse reads nodes until a closing tag that is not its own ("else…", "/if", "/each") and
// returns that tag ("" at the end of input).
func (p *mparser) parse(loopVars []string, depth int) ([]mnode, string, error) {
	if depth > maxBlockDepth {
		return nil, "", invalid("blocks are nested more than %d deep", maxBlockDepth)
	}
	var out []mnode
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		p.pos++
		if !t.isTag {
			out = append(out, mnode{kind: mLit, lit: t.lit})
			continue
		}
		tag := t.tag
		switch {
		case !t.raw && (tag == "else" || strings.HasPrefix(tag, "else ") || tag == "/if" || tag == "/each"):
			return out, tag, nil
		case !t.raw && strings.HasPrefix(tag, "#if "):
			n, err := p.ifBlock(strings.TrimSpace(tag[4:]), loopVars, depth)
			if err != nil {
				return nil, "", err
			}
			out = append(out, n)
		case !t.raw && strings.HasPrefix(tag, "#each "):
			n, err := p.eachBlock(strings.TrimSpace(tag[6:]), loopVars, depth)
			if err != nil {
				return nil, "", err
			}
			out = append(out, n)
		case !t.raw && strings.HasPrefix(tag, "#"):
			return nil, "", invalid("{{%s}}: unknown block; use {{#if expr}} or {{#each expr as item}}", tag)
		default:
			left, right := splitFallback(tag)
			prog, err := p.compile(left, loopVars, false)
			if err != nil {
				return nil, "", err
			}
			n := mnode{kind: mExpr, prog: prog}
			if t.raw {
				n.kind = mRaw
			}
			if right != "" {
				if n.fallback, err = p.compile(right, loopVars, false); err != nil {
					return nil, "", err
				}
			}
			out = append(out, n)
		}
	}
	return out, "", nil
}

func (p *mparser) ifBlock(cond string, loopVars []string, depth int) (mnode, error) {
	n := mnode{kind: mIf}
	for {
		prog, err := p.compile(cond, loopVars, true)
		if err != nil {
			return n, err
		}
		body, end, err := p.parse(loopVars, depth+1)
		if err != nil {
			return n, err
		}
		n.conds = append(n.conds, prog)
		n.bodies = append(n.bodies, body)
		switch {
		case end == "/if":
			return n, nil
		case strings.HasPrefix(end, "else if "):
			cond = strings.TrimSpace(end[len("else if "):])
		case end == "else":
			body, end, err := p.parse(loopVars, depth+1)
			if err != nil {
				return n, err
			}
			if end != "/if" {
				return n, invalid("{{#if %s}}: the {{else}} part must end with {{/if}}", cond)
			}
			n.bodies = append(n.bodies, body)
			return n, nil
		default:
			return n, invalid("{{#if %s}} is not closed; end it with {{/if}}", cond)
		}
	}
}

func (p *mparser) eachBlock(spec string, loopVars []string, depth int) (mnode, error) {
	src, name, ok := cutLast(spec, " as ")
	name = strings.TrimSpace(name)
	if !ok || !validIdent(name) {
		return mnode{}, invalid("{{#each %s}}: write {{#each list as item}}, naming the item", spec)
	}
	switch name {
	case "event", "profile", "vars", "journey", "ds", "now":
		return mnode{}, invalid("{{#each %s}}: %s is a built-in variable; name the item otherwise", spec, name)
	}
	prog, err := p.compile(strings.TrimSpace(src), loopVars, false)
	if err != nil {
		return mnode{}, err
	}
	body, end, err := p.parse(append(append([]string(nil), loopVars...), name), depth+1)
	if err != nil {
		return mnode{}, err
	}
	if end != "/each" {
		return mnode{}, invalid("{{#each %s}} is not closed; end it with {{/each}}", spec)
	}
	return mnode{kind: mEach, prog: prog, name: name, body: body}, nil
}

// compile compiles src in an environment that also declares the loop variables in scope.
func (p *mparser) compile(src string, loopVars []string, boolean bool) (*Program, error) {
	env := p.env
	if len(loopVars) > 0 {
		opts := make([]cel.EnvOption, len(loopVars))
		for i, v := range loopVars {
			opts[i] = cel.Variable(v, cel.DynType)
		}
		ext, err := env.cel.Extend(opts...)
		if err != nil {
			return nil, invalid("declaring the loop variables: %v", err)
		}
		env = &Env{cel: ext, opts: env.opts}
	}
	var prog *Program
	var err error
	if boolean {
		prog, err = env.CompileBool(src)
	} else {
		prog, err = env.CompileValue(src)
	}
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return nil, invalid("in {{ %s }}: %s", src, ae.Message)
		}
		return nil, err
	}
	p.ds = mergeRefs(p.ds, prog.ds)
	return prog, nil
}

// splitFallback cuts "a ?? b" at the first ?? outside string literals and brackets.
func splitFallback(s string) (string, string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			j, err := skipString(s, i)
			if err != nil {
				return s, ""
			}
			i = j
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '?':
			if depth == 0 && i+1 < len(s) && s[i+1] == '?' {
				return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+2:])
			}
		}
	}
	return s, ""
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// scope is an activation with loop variables over the template's activation.
type scope struct {
	name   string
	val    ref.Val
	parent interpreter.Activation
}

func (s *scope) ResolveName(n string) (any, bool) {
	if n == s.name {
		return s.val, true
	}
	return s.parent.ResolveName(n)
}

func (s *scope) Parent() interpreter.Activation { return s.parent }

// Render renders the template for a.
func (t *MessageTemplate) Render(a *Activation) (string, error) {
	if a == nil {
		a = &Activation{}
	}
	var b strings.Builder
	if err := t.render(&b, t.body, (*activation)(a)); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (t *MessageTemplate) render(b *strings.Builder, nodes []mnode, act interpreter.Activation) error {
	for i := range nodes {
		n := &nodes[i]
		switch n.kind {
		case mLit:
			b.WriteString(n.lit)
		case mExpr, mRaw:
			v, err := n.prog.evalIn(act)
			if n.fallback != nil && (err != nil || isBlank(v)) {
				v, err = n.fallback.evalIn(act)
			}
			if err != nil {
				return err
			}
			text, err := appendText(nil, v)
			if err != nil {
				return fmt.Errorf("expr: evaluating %q: %w", n.prog.src, err)
			}
			if n.kind == mExpr && t.html {
				b.WriteString(html.EscapeString(string(text)))
			} else {
				b.Write(text)
			}
		case mIf:
			chosen := -1
			for j, c := range n.conds {
				v, err := c.evalIn(act)
				if err != nil {
					return err
				}
				if bv, ok := v.(types.Bool); ok && bool(bv) {
					chosen = j
					break
				} else if !ok {
					return fmt.Errorf("expr: evaluating %q: got a %s, want a bool", c.src, v.Type().TypeName())
				}
			}
			if chosen < 0 && len(n.bodies) > len(n.conds) {
				chosen = len(n.conds)
			}
			if chosen >= 0 {
				if err := t.render(b, n.bodies[chosen], act); err != nil {
					return err
				}
			}
		case mEach:
			v, err := n.prog.evalIn(act)
			if err != nil {
				return err
			}
			if _, isNull := v.(types.Null); isNull {
				continue
			}
			l, ok := v.(traits.Lister)
			if !ok {
				return fmt.Errorf("expr: {{#each %s}}: got a %s, want a list", n.prog.src, v.Type().TypeName())
			}
			it := l.Iterator()
			for k := 0; it.HasNext() == types.True; k++ {
				if k >= maxLoopItems {
					return fmt.Errorf("expr: {{#each %s}}: more than %d items", n.prog.src, maxLoopItems)
				}
				if err := t.render(b, n.body, &scope{name: n.name, val: it.Next(), parent: act}); err != nil {
					return err
				}
			}
		}
		if b.Len() > MaxMessageBytes {
			return fmt.Errorf("expr: the rendered message is longer than %d bytes", MaxMessageBytes)
		}
	}
	return nil
}

func isBlank(v ref.Val) bool {
	switch v := v.(type) {
	case nil, types.Null:
		return true
	case types.String:
		return v == ""
	}
	return false
}

// evalIn evaluates p over any activation (a loop scope, say).
func (p *Program) evalIn(act interpreter.Activation) (ref.Val, error) {
	if a, ok := act.(*activation); ok {
		return p.eval((*Activation)(a))
	}
	var out ref.Val
	var err error
	if p.tracked {
		out, _, err = p.prg.ContextEval(iterationCap{}, act)
	} else {
		out, _, err = p.prg.Eval(act)
	}
	if err != nil {
		return nil, fmt.Errorf("expr: evaluating %q: %w", p.src, err)
	}
	return out, nil
}
