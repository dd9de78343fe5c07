package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// Activation is the input of one evaluation. The maps hold JSON-decoded values (see the package
// comment). Evaluation only reads an Activation, so one may serve many evaluations, concurrent
// ones too, as long as nothing changes it meanwhile.
type Activation struct {
	Event, Profile, Vars, Journey map[string]any
	// DS holds the data-source groups fetched for this evaluation: DS[source][group] is the
	// group's fields. The engine fills what a program's DataSources names before evaluating.
	DS map[string]any
	// Now is the engine's clock; the zero time means time.Now().
	Now time.Time
	// Params are a data-source group's evaluated parameters, read as params by the templates
	// compiled with NewParamsEnv.
	Params map[string]any
}

// activation is Activation seen by the CEL interpreter: a pointer conversion, so no per-call
// map is built and passing it costs no allocation.
type activation Activation

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "event":
		return a.Event, true
	case "profile":
		return a.Profile, true
	case "vars":
		return a.Vars, true
	case "journey":
		return a.Journey, true
	case "ds":
		if a.DS == nil {
			return map[string]any{}, true
		}
		return a.DS, true
	case "params":
		if a.Params == nil {
			return map[string]any{}, true
		}
		return a.Params, true
	case "now":
		if a.Now.IsZero() {
			return types.Timestamp{Time: time.Now().UTC()}, true
		}
		return types.Timestamp{Time: a.Now}, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Program is a compiled expression. It is immutable and safe for concurrent use.
type Program struct {
	src string
	prg cel.Program
	// tracked programs run with cost tracking and an iteration cap; the others were shown
	// bounded when compiled (see Env.staticallyBounded).
	tracked bool
	ds      []DSRef
}

// DataSources lists the data-source groups the program reads (ds.<source>.<group>), each once.
func (p *Program) DataSources() []DSRef { return p.ds }

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

func (p *Program) eval(a *Activation) (ref.Val, error) {
	if a == nil {
		a = &Activation{}
	}
	var out ref.Val
	var err error
	if p.tracked {
		out, _, err = p.prg.ContextEval(iterationCap{}, (*activation)(a))
	} else {
		out, _, err = p.prg.Eval((*activation)(a))
	}
	if err != nil {
		if strings.Contains(err.Error(), "no such overload") {
			return nil, fmt.Errorf("expr: evaluating %q: %w (an operator or function got values of types it does not take; note that JSON numbers are doubles: write 10.0 rather than 10 in arithmetic, or convert with int() or double())", p.src, err)
		}
		return nil, fmt.Errorf("expr: evaluating %q: %w", p.src, err)
	}
	return out, nil
}

// EvalBool evaluates a condition.
func (p *Program) EvalBool(a *Activation) (bool, error) {
	out, err := p.eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("expr: evaluating %q: got a %s, want a bool", p.src, out.Type().TypeName())
	}
	return bool(b), nil
}

// EvalTime evaluates a point in time: a timestamp, or a string in RFC 3339 format.
func (p *Program) EvalTime(a *Activation) (time.Time, error) {
	out, err := p.eval(a)
	if err != nil {
		return time.Time{}, err
	}
	switch v := out.(type) {
	case types.Timestamp:
		return v.Time, nil
	case types.String:
		t, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return time.Time{}, fmt.Errorf("expr: evaluating %q: %q is not an RFC 3339 time (like 2025-01-31T09:00:00Z)", p.src, string(v))
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expr: evaluating %q: got a %s, want a timestamp or an RFC 3339 string", p.src, out.Type().TypeName())
}

// EvalValue evaluates an expression into plain JSON-able Go values: map[string]any, []any,
// string, float64, int64, bool or nil. Timestamps become RFC 3339 strings, durations strings
// such as "7200s", bytes base64 strings; a non-finite double is an error.
func (p *Program) EvalValue(a *Activation) (any, error) {
	out, err := p.eval(a)
	if err != nil {
		return nil, err
	}
	v, err := toPlain(out, 0)
	if err != nil {
		return nil, fmt.Errorf("expr: evaluating %q: %w", p.src, err)
	}
	return v, nil
}

// iterationCap is a context that is already done. CEL checks a program's context every
// maxIterations comprehension iterations (cel.InterruptCheckFrequency), so the first check
// stops the evaluation: a deterministic cap on iterations rather than a deadline.
type iterationCap struct{}

var (
	closedDone           = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
	errTooManyIterations = fmt.Errorf("more than %d comprehension iterations", maxIterations)
)

func (iterationCap) Deadline() (time.Time, bool) { return time.Time{}, false }
func (iterationCap) Done() <-chan struct{}       { return closedDone }
func (iterationCap) Err() error                  { return errTooManyIterations }
func (iterationCap) Value(any) any               { return nil }
