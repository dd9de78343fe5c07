package client

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bytedance/sonic"
)

// Event is one event as the node's ingest API takes it. Only Type is required; the node fills
// a missing timestamp with the time of receipt and reads the identity from the field its event
// definition names.
type Event struct {
	// ID identifies the event for de-duplication (1-128 characters of A-Z a-z 0-9 . _ : -).
	// The client assigns one before the first attempt when it is empty.
	ID        string         `json:"id,omitempty"`
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp,omitzero"`
	Identity  string         `json:"identity,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	// Test marks the event as coming from a test profile.
	Test bool `json:"test,omitempty"`
}

// Per-event statuses of Result. The first five are the node's; "dropped" is the client's own.
const (
	StatusAccepted     = "accepted"
	StatusDuplicate    = "duplicate"     // the node already had an event with this id: acknowledged
	StatusNotQualified = "not_qualified" // stored, but its qualifying expression did not hold
	StatusRejected     = "rejected"      // bad input: final, never retried
	StatusFailed       = "failed"        // not stored after every attempt
	StatusDropped      = "dropped"       // dropped from a full queue (Overflow DropOldest)
)

// Result is the outcome of one event.
type Result struct {
	ID     string
	Status string
	// Err says why the event was rejected or failed; nil when it was acknowledged.
	Err *APIError
}

// Acked reports whether the node durably stored the event (or already had it).
func (r Result) Acked() bool {
	return r.Status == StatusAccepted || r.Status == StatusDuplicate || r.Status == StatusNotQualified
}

// APIError is an error answered by a node, or made by the client for an event it could not
// deliver (Code "unavailable", "timeout", "canceled", "closed", "invalid_event").
type APIError struct {
	// Status is the HTTP status: that of the answer when the whole request was refused; for one
	// event of a batch, the status the node gives that error when it is alone (400 for bad
	// input, 401, 429, 503). 0 for the client's own errors.
	Status  int    `json:"status,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the field the error concerns ("data.email", "[3].type"), if any.
	Field string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("wayline: ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Retryable reports whether sending the event again may succeed: rate limits and unavailable
// nodes, not bad input.
func (e *APIError) Retryable() bool {
	return e != nil && (e.Status == 429 || e.Status == 408 || e.Status >= 500 || e.Code == "rate_limited" || e.Code == "unavailable")
}

// Errors of the client itself.
var (
	// ErrQueueFull is returned by Enqueue when the queue is full and Overflow is ErrorWhenFull.
	ErrQueueFull = errors.New("client: queue full; slow down, raise Config.QueueSize or use Overflow Block")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("client: closed")
)

// BatchError is returned by SendBatch when some events were not acknowledged; the results say
// which and why.
type BatchError struct {
	Rejected, Failed int
	// First is the first rejection or failure.
	First *APIError
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("client: %d rejected and %d failed events; first: %v", e.Rejected, e.Failed, e.First)
}

// Unwrap returns the first rejection or failure.
func (e *BatchError) Unwrap() error {
	if e.First == nil {
		return nil
	}
	return e.First
}

// NewID returns a new event id, made as the node makes its own: 16 hex digits of the time in
// nanoseconds (ids sort by creation time), then 32 hex digits of randomness (ids made by any
// client or node do not clash). math/rand/v2's top-level source is ChaCha8 seeded by the
// runtime, per thread: unpredictable and cheap enough for every event.
func NewID() string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint64(b[8:16], rand.Uint64())
	binary.BigEndian.PutUint64(b[16:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// dataAPI encodes event data. ValidateString replaces invalid UTF-8 as encoding/json does.
var dataAPI = sonic.Config{ValidateString: true}.Froze()

// MarshalJSON encodes the event as the node reads it.
func (ev Event) MarshalJSON() ([]byte, error) {
	return appendEvent(nil, &ev)
}

// appendEvent appends the event's JSON object to b.
func appendEvent(b []byte, ev *Event) ([]byte, error) {
	b = append(b, '{')
	if ev.ID != "" {
		b = append(b, `"id":`...)
		b = appendString(b, ev.ID)
		b = append(b, ',')
	}
	b = append(b, `"type":`...)
	b = appendString(b, ev.Type)
	if !ev.Timestamp.IsZero() {
		b = append(b, `,"timestamp":"`...)
		b = ev.Timestamp.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if ev.Identity != "" {
		b = append(b, `,"identity":`...)
		b = appendString(b, ev.Identity)
	}
	if len(ev.Data) > 0 {
		d, err := dataAPI.Marshal(ev.Data)
		if err != nil {
			return nil, fmt.Errorf("client: event %s: data cannot be encoded as JSON: %v", ev.ID, err)
		}
		b = append(b, `,"data":`...)
		b = append(b, d...)
	}
	if ev.Test {
		b = append(b, `,"test":true`...)
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
