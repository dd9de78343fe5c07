//go:build (!amd64 && !arm64) || go1.28 || !go1.17 || (arm64 && !go1.20)

package ingest

import (
	"encoding/json"
	"errors"
)

// syntaxDetail: where sonic falls back to encoding/json (see jsonerr_native.go), errors are
// encoding/json's.
func syntaxDetail(err error) (msg string, pos int, ok bool) {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error(), int(se.Offset), true
	}
	return "", 0, false
}
