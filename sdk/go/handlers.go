package wayline

// The handlers a plugin registered. This file builds on every platform so that a plugin's
// package also compiles (and can be unit-tested) outside wasm.
var (
	conditionFn  func(*ConditionInput) (ConditionOutput, error)
	dataSourceFn func(*DataSourceInput) (DataSourceOutput, error)
	actionFn     func(*ActionInput) (ActionOutput, error)
)

// HandleCondition registers the condition handler; call it from init.
func HandleCondition(fn func(*ConditionInput) (ConditionOutput, error)) { conditionFn = fn }

// HandleDataSource registers the data-source handler; call it from init.
func HandleDataSource(fn func(*DataSourceInput) (DataSourceOutput, error)) { dataSourceFn = fn }

// HandleAction registers the action handler; call it from init.
func HandleAction(fn func(*ActionInput) (ActionOutput, error)) { actionFn = fn }
