package ingest

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/bytedance/sonic"

	"github.com/wayline/wayline/runtime/apierr"
)

// RawEvent is one event as a client sent it, before normalisation:
//
//	{"id":"..","type":"..","timestamp":"RFC 3339","identity":"ns:value or value","data":{...},"test":false}
//
// Only Type is required. WARNING: this is the public wire format: ONLY ADD optional fields.
type RawEvent struct {
	ID        string
	Type      string
	Timestamp string
	Identity  string
	Data      map[string]any
	Test      bool
}

// utf8BOM is skipped at the start of a body: some clients (PowerShell, Windows editors) send it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// maxTypeLen caps an event's type: it names an event definition.
const maxTypeLen = 256

// jsonAPI decodes outside bytes. CopyString makes every decoded string (object keys included)
// its own copy: nothing decoded points into the request buffer, which fasthttp reuses after the
// handler returns, and one kept event does not pin a whole 1 MiB body. This is also what lets
// decodeJSON hand sonic the buffer without copying it first (TestDecodedStringsDoNotAlias
// guards it). ValidateString refuses raw control characters in strings, as the JSON spec does.
var jsonAPI = sonic.Config{CopyString: true, ValidateString: true}.Froze()

// decodeJSON decodes b into a generic value: map[string]any, []any, float64, string, bool, nil.
func decodeJSON(b []byte) (any, *apierr.Error) {
	var v any
	// No copy of b: with CopyString, sonic keeps no reference to it once it returns.
	if err := jsonAPI.UnmarshalFromString(unsafe.String(unsafe.SliceData(b), len(b)), &v); err != nil {
		return nil, jsonError(err)
	}
	return v, nil
}

func jsonError(err error) *apierr.Error {
	if msg, pos, ok := syntaxDetail(err); ok {
		return apierr.New(400, apierr.InvalidJSON, "", "the body is not valid JSON: %s at byte %d; check the JSON syntax", msg, pos)
	}
	return apierr.New(400, apierr.InvalidJSON, "", "the body is not valid JSON (%v); check the JSON syntax", err)
}

// DecodeEvent decodes one event object, checking the size and depth limits first. Every error
// is returned as an *apierr.Error; field errors name the field without a prefix ("type").
func DecodeEvent(b []byte, lim Limits) (RawEvent, *apierr.Error) {
	lim = lim.withDefaults()
	if e := checkBody(b, lim); e != nil {
		return RawEvent{}, e
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	first := firstByte(b)
	if first != '{' {
		return RawEvent{}, notAnObject(first)
	}
	if ok, _ := scan(b, lim.MaxDepth, false); !ok {
		return RawEvent{}, tooDeep(lim.MaxDepth)
	}
	v, e := decodeJSON(b)
	if e != nil {
		return RawEvent{}, e
	}
	return eventFrom(v, "")
}

// DecodeBatch decodes a body holding one event object or a JSON array of them.
//
// err is set, and nothing else, when the body as a whole is refused: too large (413), not JSON
// (400), too deep (400), too many events (413), empty. Otherwise events and itemErrs have one
// entry per item, index-aligned: itemErrs[i] is nil when item i decoded, and events[i] is then
// meaningful. Item errors of an array name fields with the item's index ("[3].type"); those of
// a single object have no prefix ("type").
func DecodeBatch(b []byte, lim Limits) (events []RawEvent, itemErrs []*apierr.Error, err *apierr.Error) {
	lim = lim.withDefaults()
	if e := checkBody(b, lim); e != nil {
		return nil, nil, e
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	first := firstByte(b)
	switch first {
	case '{':
		if ok, _ := scan(b, lim.MaxDepth, false); !ok {
			return nil, nil, tooDeep(lim.MaxDepth)
		}
		v, e := decodeJSON(b)
		if e != nil {
			return nil, nil, e
		}
		ev, ie := eventFrom(v, "")
		return []RawEvent{ev}, []*apierr.Error{ie}, nil
	case '[':
	default:
		return nil, nil, notAnObject(first)
	}
	// The array adds one level above its events.
	ok, n := scan(b, lim.MaxDepth+1, true)
	if !ok {
		return nil, nil, tooDeep(lim.MaxDepth)
	}
	if n > lim.MaxBatchEvents {
		return nil, nil, tooMany(n, lim.MaxBatchEvents)
	}
	v, e := decodeJSON(b)
	if e != nil {
		return nil, nil, e
	}
	arr, _ := v.([]any)
	if len(arr) == 0 {
		return nil, nil, apierr.New(400, apierr.InvalidRequest, "", "the batch is empty; send at least one event")
	}
	if len(arr) > lim.MaxBatchEvents {
		return nil, nil, tooMany(len(arr), lim.MaxBatchEvents)
	}
	events = make([]RawEvent, len(arr))
	itemErrs = make([]*apierr.Error, len(arr))
	for i, item := range arr {
		events[i], itemErrs[i] = eventFrom(item, "["+strconv.Itoa(i)+"]")
	}
	return events, itemErrs, nil
}

// ForItem returns copies of errs with their fields prefixed by a batch index: "data.plan"
// becomes "[3].data.plan". The API uses it for errors found after decoding (Normalise).
func ForItem(index int, errs apierr.List) apierr.List {
	if len(errs) == 0 {
		return errs
	}
	prefix := "[" + strconv.Itoa(index) + "]"
	out := make(apierr.List, len(errs))
	for i, e := range errs {
		c := *e
		c.Field = joinField(prefix, e.Field)
		out[i] = &c
	}
	return out
}

func checkBody(b []byte, lim Limits) *apierr.Error {
	if len(b) > lim.MaxBodyBytes {
		return apierr.New(413, apierr.BodyTooLarge, "", "the body is %d bytes, over the limit of %d bytes; send fewer events per request", len(b), lim.MaxBodyBytes)
	}
	return nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func notAnObject(first byte) *apierr.Error {
	if first == 0 {
		return apierr.New(400, apierr.InvalidJSON, "", "the body is empty; send an event as a JSON object")
	}
	return apierr.New(400, apierr.InvalidJSON, "", "the body must be a JSON object (one event) or an array of them")
}

func tooDeep(max int) *apierr.Error {
	return apierr.New(400, apierr.TooDeep, "", "an event nests objects and arrays more than %d levels deep; flatten the event's data", max)
}

func tooMany(n, max int) *apierr.Error {
	return apierr.New(413, apierr.TooManyEvents, "", "the batch holds %d events, over the limit of %d; split it into smaller batches", n, max)
}

// allowedFields are the top-level fields of an event, in the order messages list them.
var allowedFields = [...]string{"id", "type", "timestamp", "identity", "data", "test"}

// eventFrom checks one decoded item against the envelope rules. prefix is "" or "[i]".
func eventFrom(v any, prefix string) (RawEvent, *apierr.Error) {
	obj, ok := v.(map[string]any)
	if !ok {
		field := prefix
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, field, "must be an event object such as {\"type\":\"signup\",\"data\":{...}}, not %s", kindOf(v))
	}
	var ev RawEvent
	known := 0
	for _, name := range allowedFields {
		if _, ok := obj[name]; ok {
			known++
		}
	}
	if known != len(obj) {
		return RawEvent{}, unknownFields(obj, prefix)
	}
	var e *apierr.Error
	if ev.Type, e = stringField(obj, "type", prefix); e != nil {
		return RawEvent{}, e
	}
	switch {
	case ev.Type == "" && obj["type"] == nil:
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, joinField(prefix, "type"), "is required: name the event's definition, e.g. \"type\":\"signup\"")
	case strings.TrimSpace(ev.Type) == "":
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, joinField(prefix, "type"), "must not be empty: name the event's definition, e.g. \"type\":\"signup\"")
	case len(ev.Type) > maxTypeLen:
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, joinField(prefix, "type"), "is %d bytes long; an event type is at most %d", len(ev.Type), maxTypeLen)
	}
	if ev.ID, e = stringField(obj, "id", prefix); e != nil {
		return RawEvent{}, e
	}
	if ev.Timestamp, e = stringField(obj, "timestamp", prefix); e != nil {
		return RawEvent{}, e
	}
	if ev.Identity, e = stringField(obj, "identity", prefix); e != nil {
		return RawEvent{}, e
	}
	// null is taken as absent for the optional fields: it is what many clients send for an
	// unset value (a nil Go map marshals to null).
	switch d := obj["data"].(type) {
	case nil:
	case map[string]any:
		ev.Data = d
	default:
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, joinField(prefix, "data"), "must be a JSON object, not %s", kindOf(d))
	}
	switch t := obj["test"].(type) {
	case nil:
	case bool:
		ev.Test = t
	default:
		return RawEvent{}, apierr.New(400, apierr.InvalidEvent, joinField(prefix, "test"), "must be true or false, not %s", kindOf(t))
	}
	return ev, nil
}

func stringField(obj map[string]any, name, prefix string) (string, *apierr.Error) {
	switch s := obj[name].(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	default:
		hint := ""
		if name == "timestamp" {
			hint = ` such as "2024-05-01T12:00:00Z" (RFC 3339)`
		}
		return "", apierr.New(400, apierr.InvalidEvent, joinField(prefix, name), "must be a string%s, not %s", hint, kindOf(s))
	}
}

func unknownFields(obj map[string]any, prefix string) *apierr.Error {
	var unknown []string
	for name := range obj {
		if !isAllowed(name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	quoted := make([]string, 0, 3)
	for i, name := range unknown {
		if i == 3 {
			quoted = append(quoted, fmt.Sprintf("and %d more", len(unknown)-3))
			break
		}
		quoted = append(quoted, strconv.Quote(truncate(name, 64)))
	}
	noun := "field"
	if len(unknown) > 1 {
		noun = "fields"
	}
	return apierr.New(400, apierr.InvalidEvent, joinField(prefix, fieldName(unknown[0])),
		"unknown %s %s; an event has only id, type, timestamp, identity, data and test: put your own fields inside \"data\"",
		noun, strings.Join(quoted, ", "))
}

func isAllowed(name string) bool {
	for _, a := range allowedFields {
		if a == name {
			return true
		}
	}
	return false
}

// joinField joins a prefix ("", "[3]") and a field ("type", "data.plan", "[2]").
func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case field[0] == '[':
		return prefix + field
	}
	return prefix + "." + field
}

// fieldName renders an unknown top-level key as a field: long or odd keys are quoted.
func fieldName(name string) string {
	name = truncate(name, 64)
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == '.' || c == '[' || c == ']' || c == '"' || c == '\\' || c == 0x7f {
			return "[" + strconv.Quote(name) + "]"
		}
	}
	if name == "" {
		return `[""]`
	}
	return name
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
