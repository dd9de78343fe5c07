package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/wayline/wayline/runtime/expr"
)

// ReadDataSources fills act.DS with the data-source groups refs names that it does not hold
// yet, as a step would (cache, single-flight, the source's fallback): for previews outside a
// journey. It returns the first read error; the groups that could be read are filled. Safe for
// concurrent use.
func (e *Engine) ReadDataSources(ctx context.Context, act *expr.Activation, refs []expr.DSRef) error {
	if len(refs) == 0 {
		return nil
	}
	if e.sources == nil {
		return errors.New("data sources are not enabled on this node")
	}
	cat := e.catalog.Load()
	if cat == nil {
		return errors.New("the node is starting; try again")
	}
	var first error
	for _, r := range refs {
		if m, ok := act.DS[r.Source].(map[string]any); ok {
			if _, ok := m[r.Group]; ok {
				continue
			}
		}
		var fields map[string]any
		var err error
		if src, ok := cat.DataSource(r.Source); !ok {
			err = fmt.Errorf("data source %q does not exist", r.Source)
		} else {
			fields, err = e.sources.Read(ctx, src, r.Group, act)
		}
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if act.DS == nil {
			act.DS = map[string]any{}
		}
		m, _ := act.DS[r.Source].(map[string]any)
		if m == nil {
			m = map[string]any{}
			act.DS[r.Source] = m
		}
		m[r.Group] = fields
	}
	return first
}
