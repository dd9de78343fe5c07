//go:build wasip1

package wayline

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	"github.com/wayline/wayline/sdk/abi"
)

//go:wasmimport wayline log
func hostLog(level int32, ptr uint32, n int32)

//go:wasmimport wayline error
func hostError(code int32, ptr uint32, n int32)

//go:wasmimport wayline now_unix_nano
func hostNow() int64

//go:wasmimport wayline config_get
func hostConfigGet(ptr uint32, n int32) int32

//go:wasmimport wayline secret_get
func hostSecretGet(ptr uint32, n int32) int32

//go:wasmimport wayline kv_get
func hostKVGet(ptr uint32, n int32) int32

//go:wasmimport wayline kv_set
func hostKVSet(kp uint32, kn int32, vp uint32, vn int32) int32

//go:wasmimport wayline kv_delete
func hostKVDelete(ptr uint32, n int32) int32

//go:wasmimport wayline http_request
func hostHTTPRequest(ptr uint32, n int32) int32

//go:wasmimport wayline take_result
func hostTakeResult(ptr uint32, capacity int32) int32

func bufPtr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func strBytes(s string) []byte { return []byte(s) }

// take copies n bytes of the result slot.
func take(n int32) []byte {
	b := make([]byte, n)
	if n > 0 {
		got := hostTakeResult(bufPtr(b), n)
		b = b[:got]
	}
	return b
}

func hostErr(s int32) error {
	// A failure's message waits in the result slot; read what fits.
	return &HostError{Status: s, Message: string(take(4096))}
}

// Log writes a log line at a level (abi.LogDebug … abi.LogError).
func Log(level int32, msg string) {
	b := strBytes(msg)
	hostLog(level, bufPtr(b), int32(len(b)))
}

// Logf writes an info log line.
func Logf(format string, a ...any) { Log(abi.LogInfo, fmt.Sprintf(format, a...)) }

// Now is the host's clock.
func Now() time.Time { return time.Unix(0, hostNow()).UTC() }

// ConfigGet returns the JSON value of one top-level key of the call's config.
func ConfigGet(key string) (json.RawMessage, bool) {
	k := strBytes(key)
	n := hostConfigGet(bufPtr(k), int32(len(k)))
	if n < 0 {
		return nil, false
	}
	return take(n), true
}

// Secret returns a secret set on the plugin installation.
func Secret(name string) (string, bool) {
	k := strBytes(name)
	n := hostSecretGet(bufPtr(k), int32(len(k)))
	if n < 0 {
		return "", false
	}
	return string(take(n)), true
}

// KVGet reads the plugin's key-value store; found is false when the key is absent.
func KVGet(key string) (value []byte, found bool, err error) {
	k := strBytes(key)
	n := hostKVGet(bufPtr(k), int32(len(k)))
	switch {
	case n == abi.StatusNotFound:
		return nil, false, nil
	case n < 0:
		return nil, false, hostErr(n)
	}
	return take(n), true, nil
}

// KVSet writes the plugin's key-value store.
func KVSet(key string, value []byte) error {
	k := strBytes(key)
	if s := hostKVSet(bufPtr(k), int32(len(k)), bufPtr(value), int32(len(value))); s < 0 {
		return hostErr(s)
	}
	return nil
}

// KVDelete deletes a key.
func KVDelete(key string) error {
	k := strBytes(key)
	if s := hostKVDelete(bufPtr(k), int32(len(k))); s < 0 {
		return hostErr(s)
	}
	return nil
}

// HTTP sends a request through the host (allow-listed hosts only, under the call's deadline).
func HTTP(req HTTPRequest) (*HTTPResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	n := hostHTTPRequest(bufPtr(b), int32(len(b)))
	if n < 0 {
		he := hostErr(n)
		if n == abi.StatusDenied {
			return nil, fmt.Errorf("%w: %v", ErrDenied, he)
		}
		return nil, he
	}
	var resp HTTPResponse
	if err := json.Unmarshal(take(n), &resp); err != nil {
		return nil, fmt.Errorf("wayline: host response: %w", err)
	}
	return &resp, nil
}
