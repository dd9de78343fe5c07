//go:build !wasip1

package wayline

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Outside wasm the host functions are not there: these stand-ins let a plugin's package build
// and its pure logic be unit-tested with the ordinary Go toolchain.

var errNotInHost = errors.New("wayline: host functions exist only inside a Wayline plugin (GOOS=wasip1)")

// Log writes to stderr outside the host.
func Log(level int32, msg string) { fmt.Fprintln(os.Stderr, msg) }

// Logf writes to stderr outside the host.
func Logf(format string, a ...any) { Log(1, fmt.Sprintf(format, a...)) }

// Now is the local clock outside the host.
func Now() time.Time { return time.Now().UTC() }

// ConfigGet finds nothing outside the host.
func ConfigGet(string) (json.RawMessage, bool) { return nil, false }

// Secret finds nothing outside the host.
func Secret(string) (string, bool) { return "", false }

// KVGet fails outside the host.
func KVGet(string) ([]byte, bool, error) { return nil, false, errNotInHost }

// KVSet fails outside the host.
func KVSet(string, []byte) error { return errNotInHost }

// KVDelete fails outside the host.
func KVDelete(string) error { return errNotInHost }

// HTTP fails outside the host.
func HTTP(HTTPRequest) (*HTTPResponse, error) { return nil, errNotInHost }
