//lint:file-ignore U1000 the handlers are read by exports.go, which builds only under GOOS=wasip1

package wayline

// The handlers a plugin registered. This file builds on every platform so that a plugin's
// package also compiles (and can be unit-tested) outside wasm.
import "encoding/json"

var (
	// conditionFn decodes one condition input (the one-item JSON of sdk/ABI.md) and answers.
	conditionFn  func(input []byte) (ConditionOutput, error)
	dataSourceFn func(*DataSourceInput) (DataSourceOutput, error)
	actionFn     func(*ActionInput) (ActionOutput, error)
)

// HandleCondition registers the condition handler; call it from init. The input arrives
// decoded into ConditionInput, event data and attributes as generic maps.
func HandleCondition(fn func(*ConditionInput) (ConditionOutput, error)) {
	HandleConditionOf(fn)
}

// HandleConditionOf registers a condition whose input is decoded into the author's own type T:
// declare only the fields the condition reads (for example Profile.Attributes.Points). Go's
// JSON decoding of generic maps is slow under wasm, so a condition that names its few fields
// runs several times faster than one that takes ConditionInput.
func HandleConditionOf[T any](fn func(*T) (ConditionOutput, error)) {
	conditionFn = func(b []byte) (ConditionOutput, error) {
		in := new(T)
		if err := json.Unmarshal(b, in); err != nil {
			return ConditionOutput{}, InvalidInput("input is not the JSON sdk/ABI.md describes: %v", err)
		}
		return fn(in)
	}
}

// HandleDataSource registers the data-source handler; call it from init.
func HandleDataSource(fn func(*DataSourceInput) (DataSourceOutput, error)) { dataSourceFn = fn }

// HandleAction registers the action handler; call it from init.
func HandleAction(fn func(*ActionInput) (ActionOutput, error)) { actionFn = fn }
