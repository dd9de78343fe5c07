package expr

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/wayline/wayline/runtime/apierr"
)

const (
	// costLimit bounds one evaluation, in CEL cost units (roughly one per operation, 0.1 per
	// byte for string work). A condition over a few fields costs under 20; a comprehension
	// over 5,000 elements with a small body fits. It also stops values that grow faster than
	// their input (chained string replaces) before they eat the memory.
	costLimit = 100_000
	// maxIterations bounds the comprehension iterations (all comprehensions together) of one
	// evaluation. cel-go v0.31's cost tracker takes time quadratic in the iterations of a
	// comprehension (its value stack grows by one per iteration and is searched linearly), so
	// the cost limit alone would let a 30,000-element list run for over half a second; 5,000
	// iterations take at most about 50 ms.
	maxIterations = 5_000
	// maxSourceLen bounds an expression's source, in code points.
	maxSourceLen = 8192
	// maxErrors is how many CEL issues one compile error reports.
	maxErrors = 5
)

// Options are the checks an Env adds to CEL's own type checking.
type Options struct {
	// KnownEventField reports whether event.data.<path...> is a declared field; nil disables the check.
	KnownEventField func(path []string) bool
	// KnownProfileField likewise for profile.attributes.<path...>; nil disables.
	KnownProfileField func(path []string) bool
	// KnownDataSourceField likewise for ds.<source>.<group>.<field...> (path starts with the
	// source); nil disables.
	KnownDataSourceField func(path []string) bool
}

// Env compiles expressions and templates. It is safe for concurrent use; the CEL environment
// behind it is built once per process and shared, so NewEnv is cheap.
type Env struct {
	cel  *cel.Env
	opts Options
}

// NewEnv returns an Env with the given field checks.
func NewEnv(opts Options) (*Env, error) {
	base, err := baseEnv()
	if err != nil {
		return nil, err
	}
	return &Env{cel: base, opts: opts}, nil
}

// baseEnv is the one CEL environment: variables, libraries and limits. Options only change the
// checks run after type-checking, so every Env shares it.
var baseEnv = sync.OnceValues(func() (*cel.Env, error) {
	dyn := cel.MapType(cel.StringType, cel.DynType)
	env, err := cel.NewEnv(
		cel.Variable("event", dyn),
		cel.Variable("profile", dyn),
		cel.Variable("vars", dyn),
		cel.Variable("journey", dyn),
		cel.Variable("ds", dyn),
		cel.Variable("now", cel.TimestampType),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(maxSourceLen),
		cel.ParserRecursionLimit(100),
		cel.RegexProgramSizeLimit(1000),
		ext.Strings(),
		ext.Math(),
		cel.Function("hash_percent",
			cel.Overload("hash_percent_string", []*cel.Type{cel.StringType}, cel.IntType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(v)
					}
					return types.Int(hashPercent(string(s)))
				}))),
	)
	if err != nil {
		return nil, fmt.Errorf("expr: building the CEL environment: %w", err)
	}
	return env, nil
})

// NewParamsEnv returns an Env for the request templates of a REST data source: they read only
// params, the group's evaluated parameters ({{ params.id }}), set as Activation.Params.
func NewParamsEnv() (*Env, error) {
	env, err := paramsEnv()
	if err != nil {
		return nil, err
	}
	return &Env{cel: env}, nil
}

var paramsEnv = sync.OnceValues(func() (*cel.Env, error) {
	env, err := cel.NewEnv(
		cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.ParserExpressionSizeLimit(maxSourceLen),
		cel.ParserRecursionLimit(100),
		cel.RegexProgramSizeLimit(1000),
		ext.Strings(),
		ext.Math(),
	)
	if err != nil {
		return nil, fmt.Errorf("expr: building the CEL environment for parameters: %w", err)
	}
	return env, nil
})

// hashPercent is hash_percent: FNV-1a 64 of s's bytes, modulo 100. Its results never change;
// percentage splits depend on them.
func hashPercent(s string) int {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	return int(h % 100)
}

// resultKind is what a Program must produce.
type resultKind uint8

const (
	resultAny resultKind = iota
	resultBool
	resultTime
)

// CompileBool compiles a condition. Its static type must be bool or dyn; a dyn result that is
// not a bool at run time is an evaluation error.
func (e *Env) CompileBool(src string) (*Program, error) {
	return e.compile(src, resultBool)
}

// CompileTimestamp compiles a point in time: a timestamp, a string (parsed as RFC 3339 when
// evaluated) or dyn.
func (e *Env) CompileTimestamp(src string) (*Program, error) {
	return e.compile(src, resultTime)
}

// CompileValue compiles an expression of any type.
func (e *Env) CompileValue(src string) (*Program, error) {
	return e.compile(src, resultAny)
}

func (e *Env) compile(src string, want resultKind) (p *Program, err error) {
	defer func() {
		// cel-go is well fuzzed, but a publish must never take the node down.
		if r := recover(); r != nil {
			p, err = nil, invalid("internal error compiling the expression (%v); please report it", r)
		}
	}()
	if strings.TrimSpace(src) == "" {
		return nil, invalid("the expression is empty")
	}
	ast, iss := e.cel.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, invalid("%s", issuesMessage(iss))
	}
	if err := checkResultType(ast.OutputType(), want); err != nil {
		return nil, err
	}
	msgs, refs := e.checkFields(ast)
	if len(msgs) > 0 {
		return nil, invalid("%s", strings.Join(msgs, "; "))
	}
	tracked := !e.staticallyBounded(ast)
	popts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if tracked {
		popts = append(popts, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(maxIterations+1))
	}
	prg, err := e.cel.Program(ast, popts...)
	if err != nil {
		return nil, invalid("%s", readable(err.Error()))
	}
	return &Program{src: src, prg: prg, tracked: tracked, ds: refs}, nil
}

// staticallyBounded reports whether a program may run without run-time cost tracking, which
// costs allocations on every evaluation (about 5x the time of a simple condition). It may when
// the expression has no comprehension (every node then runs at most once) and its worst-case
// cost, with every input value (string, list, map under a variable) maxInputSize long, stays
// under costLimit. Anything whose cost grows faster than linearly with input sizes (chained
// string replaces, say) estimates far above the limit and keeps the tracker; what is left is at
// most linear in the size of the input, which the API has already bounded.
func (e *Env) staticallyBounded(ast *cel.Ast) bool {
	native := ast.NativeRep()
	if len(celast.MatchDescendants(celast.NavigateAST(native), celast.KindMatcher(celast.ComprehensionKind))) > 0 {
		return false
	}
	est, err := e.cel.EstimateCost(ast, inputSizes{})
	return err == nil && est.Max <= costLimit
}

// maxInputSize is the size assumed for any input value when estimating cost.
const maxInputSize = 1 << 16

// inputSizes is a cost estimator that bounds the size of values read from the variables.
type inputSizes struct{}

func (inputSizes) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if len(n.Path()) > 0 {
		return &checker.SizeEstimate{Min: 0, Max: maxInputSize}
	}
	return nil
}

func (inputSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

func checkResultType(t *cel.Type, want resultKind) error {
	k := t.Kind()
	switch want {
	case resultBool:
		if k != types.BoolKind && k != types.DynKind {
			return invalid("the expression must be a bool (a condition), not %s", typeName(t))
		}
	case resultTime:
		if k != types.TimestampKind && k != types.StringKind && k != types.DynKind {
			return invalid("the expression must be a timestamp or an RFC 3339 string, not %s", typeName(t))
		}
	}
	return nil
}

func typeName(t *cel.Type) string {
	if t == nil {
		return "unknown"
	}
	return t.String()
}

func invalid(format string, args ...any) *apierr.Error {
	return apierr.New(http.StatusUnprocessableEntity, apierr.InvalidExpression, "", format, args...)
}

// issuesMessage turns CEL issues into "line:col: message; ..." without CEL's snippets.
func issuesMessage(iss *cel.Issues) string {
	errs := iss.Errors()
	var b strings.Builder
	for i, e := range errs {
		if i == maxErrors {
			fmt.Fprintf(&b, "; and %d more", len(errs)-maxErrors)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		if l := e.Location; l != nil && l.Line() > 0 {
			fmt.Fprintf(&b, "%d:%d: ", l.Line(), l.Column()+1)
		}
		b.WriteString(readable(e.Message))
	}
	if b.Len() == 0 {
		return readable(iss.String())
	}
	return b.String()
}

// readable drops CEL wording that means nothing to a journey author.
func readable(msg string) string {
	msg = strings.ReplaceAll(msg, " (in container '')", "")
	return msg
}
