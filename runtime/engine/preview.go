package engine

import (
	"context"
	"errors"

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
	return readSources(ctx, e.sources, cat, act, refs)
}
