// Package wayline is the Go SDK for Wayline plugins. Build a plugin with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// and register its handlers in an init function; main stays empty (a plugin is a WASI
// reactor, so main is never run):
//
//	func init() {
//		wayline.HandleCondition(func(in *wayline.ConditionInput) (wayline.ConditionOutput, error) {
//			points, _ := in.Profile.Attributes["points"].(float64)
//			return wayline.ConditionOutput{Result: points >= 1000}, nil
//		})
//	}
//
//	func main() {}
//
// The SDK implements the exports of sdk/ABI.md (version marker, alloc/free, the handlers and
// the batch condition handler on top of the one-item function) and wraps the host functions
// as ordinary Go functions: Log, Now, ConfigGet, Secret, KVGet/KVSet/KVDelete and HTTP.
package wayline
