// Package abi holds the names and codes of the Wayline plugin ABI that the host (plugins/)
// and the Go guest SDK (sdk/go) share. It imports nothing, so a guest can use it under
// GOOS=wasip1. The reference is sdk/ABI.md.
//
// WARNING: ONLY APPEND. These names and numbers are in plugins running today; never rename or
// re-purpose one.
package abi

// Version is the ABI version this package describes.
const Version = 1

// VersionMarkerPrefix + the version is the export that marks a module's ABI version.
const (
	VersionMarkerPrefix = "wayline_abi_version_"
	VersionMarker       = "wayline_abi_version_1"
)

// Guest exports.
const (
	ExportMemory         = "memory"
	ExportAlloc          = "wayline_alloc"
	ExportFree           = "wayline_free"
	ExportInitialize     = "_initialize"
	ExportCondition      = "wayline_condition"
	ExportConditionBatch = "wayline_condition_batch"
	ExportDataSource     = "wayline_datasource"
	ExportAction         = "wayline_action"
)

// Kinds of plugin.
const (
	KindCondition  = "condition"
	KindDataSource = "datasource"
	KindAction     = "action"
)

// HandlerExport names the export a kind needs.
func HandlerExport(kind string) string {
	switch kind {
	case KindCondition:
		return ExportCondition
	case KindDataSource:
		return ExportDataSource
	case KindAction:
		return ExportAction
	}
	return ""
}

// HostModule is the import module of the host functions.
const HostModule = "wayline"

// Host functions (imports from HostModule).
const (
	HostLog         = "log"
	HostError       = "error"
	HostNowUnixNano = "now_unix_nano"
	HostConfigGet   = "config_get"
	HostSecretGet   = "secret_get"
	HostKVGet       = "kv_get"
	HostKVSet       = "kv_set"
	HostKVDelete    = "kv_delete"
	HostHTTPRequest = "http_request"
	HostTakeResult  = "take_result"
)

// WASIModule is the only other import module a plugin may use.
const WASIModule = "wasi_snapshot_preview1"

// Host status codes: negative returns of host functions.
const (
	StatusNotFound    int32 = -1
	StatusDenied      int32 = -2
	StatusLimit       int32 = -3
	StatusFailed      int32 = -4
	StatusInvalid     int32 = -5
	StatusUnavailable int32 = -6
)

// ErrorCode is what a guest reports through the error import.
type ErrorCode int32

// Error codes.
const (
	ErrInvalidInput  ErrorCode = 1
	ErrInvalidConfig ErrorCode = 2
	ErrUpstream      ErrorCode = 3
	ErrInternal      ErrorCode = 4
	ErrRejected      ErrorCode = 5
)

// String names the code as the documents do.
func (c ErrorCode) String() string {
	switch c {
	case ErrInvalidInput:
		return "invalid_input"
	case ErrInvalidConfig:
		return "invalid_config"
	case ErrUpstream:
		return "upstream"
	case ErrInternal:
		return "internal"
	case ErrRejected:
		return "rejected"
	}
	return "unknown"
}

// Log levels of the log import.
const (
	LogDebug int32 = 0
	LogInfo  int32 = 1
	LogWarn  int32 = 2
	LogError int32 = 3
)

// Size limits of the key-value store.
const (
	MaxKVKeyBytes   = 512
	MaxKVValueBytes = 64 << 10
)
