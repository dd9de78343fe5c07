//go:build (amd64 && go1.17 && !go1.28) || (arm64 && go1.20 && !go1.28)

package ingest

import (
	"errors"

	"github.com/bytedance/sonic/decoder"
)

// syntaxDetail extracts what went wrong and where from a decoding error. sonic's native decoder
// (the build tags above are sonic's own) has its own SyntaxError; the fallback build in
// jsonerr_compat.go reads encoding/json's.
func syntaxDetail(err error) (msg string, pos int, ok bool) {
	var se decoder.SyntaxError
	if errors.As(err, &se) {
		return se.Message(), se.Pos, true
	}
	return "", 0, false
}
