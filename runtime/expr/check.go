package expr

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// checkFields walks a checked AST and reports every field path under event.data,
// profile.attributes or ds that Options does not know, and the data-source groups the
// expression reads. A path is the longest chain of field selections (a.b, a.?b) and constant
// string indexes (a["b"]) from the variable; a dynamic index ends it.
func (e *Env) checkFields(a *cel.Ast) ([]string, []DSRef) {
	native := a.NativeRep()
	w := fieldWalker{opts: &e.opts, info: native.SourceInfo(), seen: map[string]bool{}}
	w.walk(native.Expr(), nil)
	return w.msgs, w.refs
}

// DSRef is a data-source field group an expression reads: ds.<Source>.<Group>.
type DSRef struct{ Source, Group string }

type fieldWalker struct {
	opts *Options
	info *celast.SourceInfo
	seen map[string]bool
	msgs []string
	refs []DSRef
}

func (w *fieldWalker) walk(x celast.Expr, shadow []string) {
	if x == nil {
		return
	}
	if base, segs := chainOf(x); len(segs) > 0 {
		if base.Kind() == celast.IdentKind {
			if !contains(shadow, base.AsIdent()) {
				w.checkPath(base, base.AsIdent(), segs)
			}
			return
		}
		w.walk(base, shadow)
		return
	}
	switch x.Kind() {
	case celast.SelectKind:
		w.walk(x.AsSelect().Operand(), shadow)
	case celast.CallKind:
		c := x.AsCall()
		if c.IsMemberFunction() {
			w.walk(c.Target(), shadow)
		}
		for _, arg := range c.Args() {
			w.walk(arg, shadow)
		}
	case celast.ListKind:
		for _, el := range x.AsList().Elements() {
			w.walk(el, shadow)
		}
	case celast.MapKind:
		for _, en := range x.AsMap().Entries() {
			if en.Kind() == celast.MapEntryKind {
				w.walk(en.AsMapEntry().Key(), shadow)
				w.walk(en.AsMapEntry().Value(), shadow)
			}
		}
	case celast.StructKind:
		for _, f := range x.AsStruct().Fields() {
			if f.Kind() == celast.StructFieldKind {
				w.walk(f.AsStructField().Value(), shadow)
			}
		}
	case celast.ComprehensionKind:
		c := x.AsComprehension()
		w.walk(c.IterRange(), shadow)
		w.walk(c.AccuInit(), shadow)
		inner := append(shadow[:len(shadow):len(shadow)], c.IterVar(), c.AccuVar())
		if c.HasIterVar2() {
			inner = append(inner, c.IterVar2())
		}
		w.walk(c.LoopCondition(), inner)
		w.walk(c.LoopStep(), inner)
		w.walk(c.Result(), inner)
	}
}

// chainOf returns the expression a selection chain starts from and the field names along it,
// outermost last; segs is empty when x is not a selection.
func chainOf(x celast.Expr) (base celast.Expr, segs []string) {
	for {
		var operand celast.Expr
		var field string
		switch x.Kind() {
		case celast.SelectKind:
			s := x.AsSelect()
			operand, field = s.Operand(), s.FieldName()
		case celast.CallKind:
			c := x.AsCall()
			switch c.FunctionName() {
			case operators.Index, operators.OptIndex, operators.OptSelect:
			default:
				return x, reverse(segs)
			}
			args := c.Args()
			if len(args) != 2 || args[1].Kind() != celast.LiteralKind {
				return x, reverse(segs)
			}
			s, ok := args[1].AsLiteral().(types.String)
			if !ok {
				return x, reverse(segs)
			}
			operand, field = args[0], string(s)
		default:
			return x, reverse(segs)
		}
		segs = append(segs, field)
		x = operand
	}
}

func (w *fieldWalker) checkPath(root celast.Expr, name string, segs []string) {
	if len(segs) < 2 {
		return
	}
	var known func([]string) bool
	var schema string
	path := segs[1:]
	switch {
	case name == "ds":
		ref := DSRef{segs[0], segs[1]}
		if !slices.Contains(w.refs, ref) {
			w.refs = append(w.refs, ref)
		}
		known, schema, path = w.opts.KnownDataSourceField, "the data source's field groups", segs
	case name == "event" && segs[0] == "data":
		known, schema = w.opts.KnownEventField, "the event schema"
	case name == "profile" && segs[0] == "attributes":
		known, schema = w.opts.KnownProfileField, "the profile schema"
	}
	if known == nil || known(path) {
		return
	}
	full := name + "." + strings.Join(segs, ".")
	if w.seen[full] {
		return
	}
	w.seen[full] = true
	loc := w.info.GetStartLocation(root.ID())
	prefix := ""
	if loc.Line() > 0 {
		prefix = fmt.Sprintf("%d:%d: ", loc.Line(), loc.Column()+1)
	}
	w.msgs = append(w.msgs, fmt.Sprintf("%sunknown field %s: not declared in %s", prefix, full, schema))
}

func reverse(s []string) []string {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
