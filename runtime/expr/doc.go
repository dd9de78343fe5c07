// Package expr owns Wayline's expression language: CEL expressions and the JSON and string
// templates built from them. Everything is compiled once, when a journey, event definition or
// action is published, into an immutable *Program, *Template or *StringTemplate; the engine's
// hot path only evaluates those, from any number of goroutines at once.
//
// # Flow
//
// NewEnv (once per validation) → Env.CompileBool / CompileTimestamp / CompileValue /
// CompileJSONTemplate / CompileStringTemplate (parse, type-check, check event.data and
// profile.attributes field paths against Options, plan) → Program.Eval* or Template.Render with
// an *Activation per step.
//
// Compile errors are *apierr.Error values with code invalid_expression (422) and an empty Field
// that the caller fills in; the message gives line:column inside the expression and, for
// templates, the JSON path of the string that holds it. Evaluation errors are plain errors: a
// missing map key, a value of the wrong type at run time or the cost limit are errors, never
// panics.
//
// # Variables
//
//	event    map(string, dyn)  {id, type, timestamp (a timestamp), identity, data: {...}}
//	profile  map(string, dyn)  {id, identities, attributes: {...}}; attributes are only under
//	                           profile.attributes (profile.attributes.country), never at top level
//	vars     map(string, dyn)  the journey instance's variables
//	journey  map(string, dyn)  {id, version, name, nodeId}
//	now      timestamp         Activation.Now (the engine's clock; time.Now() when zero)
//
// # Functions
//
// The CEL standard library (including timestamp(), duration("2h"), timestamp arithmetic and
// getHours() and friends, which default to UTC), the optional-value syntax
// (event.data.?plan.orValue("free")), cel-go's ext.Strings (lowerAscii, split, format, ...) and
// ext.Math (math.greatest, math.round, ...), and:
//
//	hash_percent(string) -> int   0..99, stable across nodes, versions and restarts:
//	                              FNV-1a 64 of the UTF-8 bytes, modulo 100. Salt it for
//	                              independent splits: hash_percent(profile.id + journey.id).
//
// # Numbers
//
// JSON numbers arrive as doubles. Comparisons across int and double work both ways, statically
// and at run time: event.data.amount > 10 and event.data.amount == 10 are fine. Arithmetic does
// not mix them: write event.data.amount * 1.2 (not * 1) or int(event.data.count) + 1, and
// double(x) to turn an int into a double.
//
// # Limits
//
// Sources are limited to maxSourceLen code points and the parser's nesting depth is bounded.
// Evaluation is bounded two ways. An expression without comprehensions whose estimated cost,
// with every input value 64 KiB long, is under costLimit runs as is: its work is at most linear
// in the size of its input. Any other runs under CEL's cost limit (costLimit) and a cap of
// maxIterations comprehension iterations. Either way no expression can run away with a
// partition's goroutine. cel-go's run-time cost tracking is slow (allocations on every node,
// time quadratic in a comprehension's length), which is why the first kind skips it.
//
// Activation maps hold JSON-decoded Go values: map[string]any, []any, string, float64, int64,
// bool, nil, plus time.Time (event.timestamp).
package expr
