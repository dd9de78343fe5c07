//go:build designer

package designer

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether this binary carries the built designer.
const Built = true

// FS returns the built designer: index.html and assets/.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at build time; a missing one fails the build instead
	}
	return sub
}
