package ingest

import (
	"bytes"
	"strings"

	"github.com/wayline/wayline/runtime/apierr"
)

// ProfileRecord is one line of a bulk profile import: attributes deep-merged into the profile
// with the id (created when new), and optionally its test flag.
type ProfileRecord struct {
	ID         string
	Attributes map[string]any
	Test       *bool
}

// maxProfileIDLen bounds a profile id, as the profile API does.
const maxProfileIDLen = 512

// DecodeProfileLine decodes one import line, {"id":"email:ada@example.com","attributes":{...},
// "test":false}, checking the size and depth limits first. Every error is an *apierr.Error
// naming the field ("id", "attributes").
func DecodeProfileLine(b []byte, lim Limits) (ProfileRecord, *apierr.Error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxLineBytes {
		return ProfileRecord{}, apierr.New(413, apierr.BodyTooLarge, "", "the line is %d bytes, over the limit of %d bytes", len(b), lim.MaxLineBytes)
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	if first := firstByte(b); first != '{' {
		return ProfileRecord{}, apierr.New(400, apierr.InvalidJSON, "", "each line must be a JSON object such as {\"id\":\"email:ada@example.com\",\"attributes\":{\"plan\":\"pro\"}}")
	}
	if ok, _ := scan(b, lim.MaxDepth, false); !ok {
		return ProfileRecord{}, apierr.New(400, apierr.TooDeep, "", "the line nests objects and arrays more than %d levels deep; flatten the attributes", lim.MaxDepth)
	}
	v, e := decodeJSON(b)
	if e != nil {
		return ProfileRecord{}, e
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return ProfileRecord{}, apierr.New(400, apierr.InvalidJSON, "", "each line must be a JSON object")
	}
	for name := range obj {
		switch name {
		case "id", "attributes", "test":
		default:
			return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, fieldName(name), "unknown field %q; a line has only id, attributes and test: put the profile's own fields inside \"attributes\"", truncate(name, 64))
		}
	}
	var rec ProfileRecord
	id, isStr := obj["id"].(string)
	switch {
	case obj["id"] == nil:
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "id", "is required: the profile's identity \"namespace:value\", like \"email:ada@example.com\"")
	case !isStr:
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "id", "must be a string \"namespace:value\", not %s", kindOf(obj["id"]))
	}
	if i := strings.IndexByte(id, ':'); i <= 0 || i == len(id)-1 || len(id) > maxProfileIDLen || strings.ContainsRune(id, 0) {
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "id", "%q is not a profile id: an identity \"namespace:value\" of at most %d bytes, like \"email:ada@example.com\"", truncate(id, 64), maxProfileIDLen)
	}
	rec.ID = id
	switch a := obj["attributes"].(type) {
	case nil:
	case map[string]any:
		rec.Attributes = a
	default:
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "attributes", "must be a JSON object, not %s", kindOf(a))
	}
	switch t := obj["test"].(type) {
	case nil:
	case bool:
		rec.Test = &t
	default:
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "test", "must be true or false, not %s", kindOf(t))
	}
	if rec.Attributes == nil && rec.Test == nil {
		return ProfileRecord{}, apierr.New(400, apierr.InvalidRequest, "attributes", "is required: the attributes to merge into the profile, such as {\"plan\":\"pro\"}")
	}
	return rec, nil
}
