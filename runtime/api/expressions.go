package api

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/expr"
)

// checkExpression compiles one CEL expression or template the way validation would, for the
// designer's live checking as the user types. The answer is always 200 with {valid, errors}
// (like journey validation): an invalid expression is the expected outcome of a check, not a
// failed request.
func (s *Server) checkExpression(ctx *fasthttp.RequestCtx) {
	var in struct {
		Expression string   `json:"expression"`
		Kind       string   `json:"kind"`
		Events     []string `json:"events"`
	}
	if err := s.decodeBody(ctx, &in); err != nil {
		writeErr(ctx, err)
		return
	}
	if len(in.Events) > 100 {
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "events", "at most 100 event types"))
		return
	}
	snap := s.d.Catalog.Current()
	var errs []*apierr.Error
	for i, name := range in.Events {
		if _, _, ok := snap.EventDefinition(name); !ok {
			errs = append(errs, apierr.New(422, apierr.UnknownEventType, "events["+itoa(i)+"]", "event type %q is not defined; create it under /v1/event-definitions first", name))
		}
	}
	env, err := expr.NewEnv(expr.Options{KnownEventField: func(path []string) bool {
		if len(in.Events) == 0 {
			return true
		}
		for _, name := range in.Events {
			if _, sch, ok := snap.EventDefinition(name); ok && (sch == nil || sch.Declares(path)) {
				return true
			}
		}
		return false
	}})
	if err != nil {
		writeErr(ctx, err)
		return
	}
	switch in.Kind {
	case "", "condition":
		_, err = env.CompileBool(in.Expression)
	case "timestamp":
		_, err = env.CompileTimestamp(in.Expression)
	case "value":
		_, err = env.CompileValue(in.Expression)
	case "template":
		_, err = env.CompileStringTemplate(in.Expression)
	default:
		writeErr(ctx, apierr.New(400, apierr.InvalidRequest, "kind", "kind must be condition (the default), timestamp, value or template"))
		return
	}
	if err != nil {
		e := apierr.As(err)
		errs = append(errs, &apierr.Error{Status: 422, Code: apierr.InvalidExpression, Field: "expression", Message: e.Message})
	}
	if errs == nil {
		errs = []*apierr.Error{}
	}
	writeJSON(ctx, 200, map[string]any{"valid": len(errs) == 0, "errors": errs})
}

func itoa(i int) string { return strconv.Itoa(i) }
