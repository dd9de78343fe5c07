package wayline

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wayline/wayline/sdk/abi"
)

// Event is the event in scope of a call.
type Event struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Identity  string         `json:"identity"`
	Data      map[string]any `json:"data"`
}

// Profile is the customer's profile as a call sees it.
type Profile struct {
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
}

// ConditionInput is the input of a condition.
type ConditionInput struct {
	ABI     int             `json:"abi"`
	Kind    string          `json:"kind"`
	Config  json.RawMessage `json:"config"`
	Event   Event           `json:"event"`
	Profile Profile         `json:"profile"`
	Vars    map[string]any  `json:"vars"`
	Now     string          `json:"now"`
}

// ConditionOutput is a condition's answer.
type ConditionOutput struct {
	Result bool   `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// DataSourceInput asks an adapter for one field group.
type DataSourceInput struct {
	ABI    int             `json:"abi"`
	Kind   string          `json:"kind"`
	Config json.RawMessage `json:"config"`
	Group  string          `json:"group"`
	Params map[string]any  `json:"params"`
}

// DataSourceOutput is a field group's values.
type DataSourceOutput struct {
	Fields map[string]any `json:"fields"`
}

// ActionInput is one attempt of an action call.
type ActionInput struct {
	ABI            int             `json:"abi"`
	Kind           string          `json:"kind"`
	Config         json.RawMessage `json:"config"`
	IdempotencyKey string          `json:"idempotencyKey"`
	Attempt        int             `json:"attempt"`
	Payload        json.RawMessage `json:"payload"`
	Profile        Profile         `json:"profile"`
}

// ActionOutput reports a successful action call.
type ActionOutput struct {
	OK   bool `json:"ok"`
	Data any  `json:"data,omitempty"`
}

// Error is a failure with an ABI error code. Handlers return it (or any error, which counts as
// internal).
type Error struct {
	Code    abi.ErrorCode
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

// InvalidInput reports input the plugin cannot use.
func InvalidInput(format string, a ...any) error {
	return &Error{abi.ErrInvalidInput, fmt.Sprintf(format, a...)}
}

// InvalidConfig reports a wrong config.
func InvalidConfig(format string, a ...any) error {
	return &Error{abi.ErrInvalidConfig, fmt.Sprintf(format, a...)}
}

// Upstream reports a failure of a system the plugin called; actions are retried.
func Upstream(format string, a ...any) error {
	return &Error{abi.ErrUpstream, fmt.Sprintf(format, a...)}
}

// Rejected reports an upstream that refused for good; actions are dead-lettered.
func Rejected(format string, a ...any) error {
	return &Error{abi.ErrRejected, fmt.Sprintf(format, a...)}
}

// DecodeConfig decodes a call's config into v, reporting invalid_config on failure.
func DecodeConfig(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return InvalidConfig("config: %v", err)
	}
	return nil
}

// HostError is a negative status from a host function, with the host's message.
type HostError struct {
	Status  int32
	Message string
}

func (e *HostError) Error() string {
	names := map[int32]string{abi.StatusNotFound: "not_found", abi.StatusDenied: "denied", abi.StatusLimit: "limit", abi.StatusFailed: "failed", abi.StatusInvalid: "invalid", abi.StatusUnavailable: "unavailable"}
	return fmt.Sprintf("host: %s: %s", names[e.Status], e.Message)
}

// HTTPRequest is an outbound request made through the host.
type HTTPRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// HTTPResponse is the host's answer.
type HTTPResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// ErrDenied is wrapped by HTTP when the host refuses the destination.
var ErrDenied = errors.New("wayline: destination not allowed")
