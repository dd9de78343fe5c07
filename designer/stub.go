//go:build !designer

package designer

import (
	"embed"
	"io/fs"
)

// Without the designer build tag the binary serves a page that says how to build the designer:
// Go builds and tests of the other packages need no Node.js (the vault assets_stub.go pattern).
//
//go:embed stub/index.html
var stub embed.FS

// Built reports whether this binary carries the built designer.
const Built = false

// FS returns the placeholder page.
func FS() fs.FS {
	sub, err := fs.Sub(stub, "stub")
	if err != nil {
		panic(err)
	}
	return sub
}
