package ingest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

const (
	// maxIDLen caps a client-supplied event id.
	maxIDLen = 128
	// maxIdentityLen caps a profile identity ("namespace:value"): it becomes a storage key.
	maxIdentityLen = 512
	// maxFuture is how far ahead of the node's clock an event's timestamp may be.
	maxFuture = 24 * time.Hour
)

// Normalise turns a decoded event into the envelope the engine sees, given its definition and
// compiled schema (nil: any object). now is the node's clock, read once by the caller.
//
//   - data is validated against sch (fields "data.address.city"); absent data is {}.
//   - the identity is def.IdentityNamespace + ":" + the value at def.IdentityField (a dotted
//     path in data; a non-empty string, or a number), unless raw.Identity overrides it with
//     "namespace:value" or a bare value, which gets the definition's namespace.
//   - a client id (1-128 characters of A-Z a-z 0-9 . _ : -) is kept; without one a new,
//     time-ordered, unique id is made.
//   - the timestamp is RFC 3339, kept in UTC; absent, it is now; more than 24h ahead of now, it
//     is refused.
//
// All problems are reported together, sorted by field; the envelope is only meaningful when the
// list is empty. Fields have no batch prefix: see ForItem.
func Normalise(raw RawEvent, def *model.EventDefinition, sch *schema.Schema, now time.Time) (model.Envelope, apierr.List) {
	if def == nil {
		def = &model.EventDefinition{}
	}
	now = now.UTC()
	data := raw.Data
	if data == nil {
		data = map[string]any{}
	}
	var errs apierr.List
	if sch != nil {
		errs = append(errs, sch.Validate(data)...)
	}
	id, e := eventID(raw.ID, now)
	if e != nil {
		errs = append(errs, e)
	}
	ts, e := timestamp(raw.Timestamp, now)
	if e != nil {
		errs = append(errs, e)
	}
	identity, e := identityOf(raw, def, data)
	if e != nil && !hasField(errs, e.Field) { // the schema may already have said it is missing
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return model.Envelope{}, errs
	}
	return model.Envelope{
		ID:         id,
		Type:       raw.Type,
		Timestamp:  ts,
		Identity:   identity,
		Data:       data,
		ReceivedAt: now,
		Test:       raw.Test,
	}, nil
}

func hasField(errs apierr.List, field string) bool {
	for _, e := range errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

func invalidEvent(field, format string, args ...any) *apierr.Error {
	return apierr.New(400, apierr.InvalidEvent, field, format, args...)
}

// eventID keeps a valid client id or makes a new one.
func eventID(id string, now time.Time) (string, *apierr.Error) {
	if id == "" {
		return NewID(now), nil
	}
	if len(id) > maxIDLen {
		return "", invalidEvent("id", "is %d characters long; an event id is at most %d (or leave it out and one is made)", len(id), maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return "", invalidEvent("id", "has the character %s at position %d; an event id may hold only letters, digits, '.', '_', ':' and '-'", quoteByte(id, i), i+1)
		}
	}
	return id, nil
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

// quoteByte quotes the character starting at s[i], whole even when multi-byte.
func quoteByte(s string, i int) string {
	for _, r := range s[i:] {
		return strconv.QuoteRune(r)
	}
	return "?"
}

// NewID returns a new event id: 16 hex digits of the time in nanoseconds (so that ids sort by
// creation time), then 32 hex digits of randomness (so that ids made on any node never clash).
func NewID(now time.Time) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func timestamp(s string, now time.Time) (time.Time, *apierr.Error) {
	if s == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, invalidEvent("timestamp", "%q is not an RFC 3339 date-time; send one such as \"2024-05-01T12:00:00Z\" or \"2024-05-01T14:00:00.123+02:00\", or leave it out for the time of receipt", truncate(s, 64))
	}
	t = t.UTC()
	if t.After(now.Add(maxFuture)) {
		return time.Time{}, invalidEvent("timestamp", "%s is more than 24 hours ahead of the server's clock (%s); check the sender's clock", t.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return t, nil
}

// identityOf returns the profile identity, "namespace:value".
func identityOf(raw RawEvent, def *model.EventDefinition, data map[string]any) (string, *apierr.Error) {
	if raw.Identity != "" {
		return overrideIdentity(raw.Identity, def.IdentityNamespace)
	}
	if def.IdentityField == "" {
		return "", apierr.New(400, apierr.MissingIdentity, "identity", "is required: the event type %q names no identity field, so send the profile identity as \"identity\":\"namespace:value\"", def.Name)
	}
	field := "data." + def.IdentityField
	v, found := lookup(data, def.IdentityField)
	if !found || v == nil {
		return "", apierr.New(400, apierr.MissingIdentity, field, "is required: it carries the profile identity of a %q event", def.Name)
	}
	value, problem := identityValue(v)
	if problem != "" {
		return "", apierr.New(400, apierr.MissingIdentity, field, "%s; it carries the profile identity of a %q event", problem, def.Name)
	}
	return joinIdentity(def.IdentityNamespace, value, field)
}

func overrideIdentity(id, namespace string) (string, *apierr.Error) {
	if strings.TrimSpace(id) == "" {
		return "", apierr.New(400, apierr.MissingIdentity, "identity", "is blank; send \"namespace:value\", a bare value, or leave it out")
	}
	if ns, value, ok := strings.Cut(id, ":"); ok {
		if ns == "" || strings.TrimSpace(value) == "" {
			return "", invalidEvent("identity", "%q must be \"namespace:value\" with both parts non-empty, or a bare value", truncate(id, 64))
		}
		return joinIdentity(ns, value, "identity")
	}
	return joinIdentity(namespace, id, "identity")
}

func joinIdentity(namespace, value, field string) (string, *apierr.Error) {
	id := value
	if namespace != "" {
		id = namespace + ":" + value
	}
	if len(id) > maxIdentityLen {
		return "", invalidEvent(field, "makes a profile identity %d bytes long; an identity is at most %d", len(id), maxIdentityLen)
	}
	// The zero byte separates the parts of storage keys: an identity holding one could reach
	// another profile's records.
	if strings.IndexByte(id, 0) >= 0 {
		return "", invalidEvent(field, "holds a zero byte (\\u0000), which an identity may not contain")
	}
	return id, nil
}

// identityValue renders an identity value, or says what is wrong with it.
func identityValue(v any) (string, string) {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return "", "is empty"
		}
		return x, ""
	case float64:
		return floatIdentity(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "", "is not a valid number"
		}
		if f == math.Trunc(f) && math.Abs(f) > 1<<53 {
			return string(x), "" // exact as sent
		}
		return floatIdentity(f)
	case int64:
		return strconv.FormatInt(x, 10), ""
	case int:
		return strconv.Itoa(x), ""
	}
	return "", "must be a string or a number, not " + kindOf(v)
}

// floatIdentity renders a number decoded as float64. A whole number beyond 2^53 may already have
// lost digits in decoding: it is refused rather than silently merged with another profile.
func floatIdentity(f float64) (string, string) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "", "is not a finite number"
	case f == math.Trunc(f) && math.Abs(f) <= 1<<53:
		return strconv.FormatInt(int64(f), 10), ""
	case f == math.Trunc(f):
		return "", "is a number too large to be exact; send it as a string"
	}
	return strconv.FormatFloat(f, 'f', -1, 64), ""
}

// lookup finds the value at a dotted path in data.
func lookup(data map[string]any, path string) (any, bool) {
	cur := any(data)
	for path != "" {
		seg, rest, _ := strings.Cut(path, ".")
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[seg]; !ok {
			return nil, false
		}
		path = rest
	}
	return cur, true
}
