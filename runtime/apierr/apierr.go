// Package apierr is the one catalogue of public API error codes and the error value that carries
// them. Handlers turn an *Error into `{"error":{"code","message","field"}}` and a list of them
// into `{"errors":[...]}`.
//
// Codes are part of the API contract: ONLY APPEND to the catalogue, and never change what an
// existing code means.
package apierr

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable snake_case error code.
type Code string

// The catalogue. WARNING: ONLY APPEND; a code never changes meaning.
const (
	InvalidJSON        Code = "invalid_json"        // 400: the body is not valid JSON / NDJSON
	InvalidEvent       Code = "invalid_event"       // 400: the event fails its definition's schema or envelope rules
	UnknownEventType   Code = "unknown_event_type"  // 400: no event definition with that name
	MissingIdentity    Code = "missing_identity"    // 400: the identity field is absent or empty
	BodyTooLarge       Code = "body_too_large"      // 413
	TooManyEvents      Code = "too_many_events"     // 413: batch larger than the limit
	TooDeep            Code = "too_deep"            // 400: nesting deeper than the limit
	UnsupportedMedia   Code = "unsupported_media"   // 415
	Unauthenticated    Code = "unauthenticated"     // 401: no key, or an unknown key
	Forbidden          Code = "forbidden"           // 403: the key's role may not do this
	NotFound           Code = "not_found"           // 404
	AlreadyExists      Code = "already_exists"      // 409
	VersionConflict    Code = "version_conflict"    // 409: If-Match / version does not match
	InvalidRequest     Code = "invalid_request"     // 400: a request field is missing or malformed
	JourneyInvalid     Code = "journey_invalid"     // 422: the journey fails validation
	InvalidExpression  Code = "invalid_expression"  // 422: a CEL expression does not compile or type-check
	InvalidSchema      Code = "invalid_schema"      // 422: an event definition's JSON schema is invalid
	NotQualified       Code = "not_qualified"       // reported per event: the qualifying expression was false
	RateLimited        Code = "rate_limited"        // 429
	JourneyNotDraft    Code = "journey_not_draft"   // 409: the journey has no draft to change or publish
	JourneyNotLive     Code = "journey_not_live"    // 409: the operation needs a live version
	UnknownAction      Code = "unknown_action"      // 422: a node names an action that does not exist
	Unavailable        Code = "unavailable"         // 503: the node is shutting down or not ready
	Internal           Code = "internal"            // 500: a bug; the message says what to report
	MethodNotAllowed   Code = "method_not_allowed"  // 405
	DuplicateEvent     Code = "duplicate_event"     // reported per event: already accepted within the dedupe window
	ActionCallFailed   Code = "action_call_failed"  // 502: a test call to an action failed
	InvalidIdempotency Code = "invalid_idempotency" // 422: Idempotency-Key reused with a different body
	InUse              Code = "in_use"              // 409: the resource is referenced by something live
)

// The catalogue, continued (plugins and data sources). WARNING: ONLY APPEND.
const (
	PluginInvalid Code = "plugin_invalid"        // 422: an uploaded plugin's module or manifest is refused (field says which)
	PluginExists  Code = "plugin_version_exists" // 409: that plugin name and version was uploaded with other bytes
	PluginInUse   Code = "plugin_in_use"         // 409: actions, data sources or journeys use the plugin
	UnknownPlugin Code = "unknown_plugin"        // 422: a reference names a plugin or version that does not exist or lacks the kind
)

// The catalogue, continued (people and the designer). WARNING: ONLY APPEND.
const (
	CSRFInvalid Code = "csrf_invalid" // 403: a state-changing call with a session cookie lacks the X-CSRF-Token header or it is wrong
)

// Error is one API error: an HTTP status, a stable code, a message that says what went wrong and
// what to do, and the path of the field concerned (empty when it concerns the whole request).
type Error struct {
	Status  int    `json:"-"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// New returns an error with the given status, code, field and message.
func New(status int, code Code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// List is many errors of one request (validation); it is an error itself.
type List []*Error

func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// As returns err as an *Error, wrapping unknown errors as an internal one.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: 500, Code: Internal, Message: "internal error: " + err.Error() + "; please report it with the request that caused it"}
}
