package expr

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// maxValueDepth bounds the nesting of a value turned into Go or JSON.
const maxValueDepth = 100

var errTooDeep = errors.New("the value is nested too deeply")

// toPlain turns a CEL value into plain JSON-able Go values (see Program.EvalValue).
func toPlain(v ref.Val, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errTooDeep
	}
	switch v := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(v), nil
	case types.Int:
		return int64(v), nil
	case types.Uint:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return float64(v), nil
	case types.Double:
		return finite(float64(v))
	case types.String:
		return string(v), nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(v), nil
	case types.Timestamp:
		return formatTime(v.Time), nil
	case types.Duration:
		return formatDuration(v.Duration), nil
	case *types.Optional:
		if !v.HasValue() {
			return nil, nil
		}
		return toPlain(v.GetValue(), depth+1)
	case *types.Err:
		return nil, v
	case ref.Type:
		return v.TypeName(), nil
	case traits.Mapper:
		if m, ok := v.Value().(map[string]any); ok {
			return plainNative(m, depth)
		}
		out := make(map[string]any, int(v.Size().(types.Int)))
		for it := v.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			key, err := keyText(k)
			if err != nil {
				return nil, err
			}
			el, err := toPlain(v.Get(k), depth+1)
			if err != nil {
				return nil, err
			}
			out[key] = el
		}
		return out, nil
	case traits.Lister:
		if l, ok := v.Value().([]any); ok {
			return plainNative(l, depth)
		}
		n := int(v.Size().(types.Int))
		out := make([]any, n)
		for i := range n {
			el, err := toPlain(v.Get(types.Int(i)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = el
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s value cannot be turned into JSON", v.Type().TypeName())
}

// plainNative copies a Go value from an Activation into plain JSON-able values; the copy keeps
// results from aliasing the caller's input.
func plainNative(x any, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errTooDeep
	}
	switch x := x.(type) {
	case nil, bool, string, int64:
		return x, nil
	case float64:
		return finite(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			v, err := plainNative(el, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			v, err := plainNative(el, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case int:
		return int64(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", string(x))
		}
		return finite(f)
	case time.Time:
		return formatTime(x), nil
	case ref.Val:
		return toPlain(x, depth+1)
	}
	return toPlain(types.DefaultTypeAdapter.NativeToValue(x), depth+1)
}

func finite(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%v cannot be turned into JSON", f)
	}
	return f, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// formatDuration writes a duration the way CEL's string(duration) and protobuf JSON do: "7200s".
func formatDuration(d time.Duration) string {
	return string(types.Duration{Duration: d}.ConvertToType(types.StringType).(types.String))
}

func keyText(k ref.Val) (string, error) {
	switch k := k.(type) {
	case types.String:
		return string(k), nil
	case types.Int:
		return strconv.FormatInt(int64(k), 10), nil
	case types.Uint:
		return strconv.FormatUint(uint64(k), 10), nil
	case types.Bool:
		return strconv.FormatBool(bool(k)), nil
	}
	return "", fmt.Errorf("a map key of type %s cannot be turned into JSON", k.Type().TypeName())
}

// appendText appends v as text, for a {{ }} part concatenated into a string: strings as they
// are, null as nothing, numbers as in JSON, timestamps in RFC 3339, lists and maps as compact JSON.
func appendText(b []byte, v ref.Val) ([]byte, error) {
	switch v := v.(type) {
	case types.String:
		return append(b, v...), nil
	case types.Null:
		return b, nil
	case types.Bool:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case types.Uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case types.Double:
		return appendFloat(b, float64(v))
	case types.Timestamp:
		return v.Time.UTC().AppendFormat(b, time.RFC3339Nano), nil
	case *types.Optional:
		if !v.HasValue() {
			return b, nil
		}
		return appendText(b, v.GetValue())
	}
	p, err := toPlain(v, 0)
	if err != nil {
		return b, err
	}
	if s, ok := p.(string); ok {
		return append(b, s...), nil
	}
	return appendJSON(b, p, 0)
}

// appendValueJSON appends v as a JSON value, for a string that is exactly one {{ }} part.
func appendValueJSON(b []byte, v ref.Val) ([]byte, error) {
	switch v := v.(type) {
	case types.String:
		return appendJSONString(b, string(v)), nil
	case types.Null:
		return append(b, "null"...), nil
	case types.Bool:
		return strconv.AppendBool(b, bool(v)), nil
	case types.Int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case types.Double:
		return appendFloat(b, float64(v))
	case types.Timestamp:
		b = append(b, '"')
		b = v.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	}
	p, err := toPlain(v, 0)
	if err != nil {
		return b, err
	}
	return appendJSON(b, p, 0)
}

// appendJSON appends a plain value (from toPlain) as compact JSON, object keys sorted.
func appendJSON(b []byte, x any, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return b, errTooDeep
	}
	var err error
	switch x := x.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		return appendFloat(b, x)
	case []any:
		b = append(b, '[')
		for i, el := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, el, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, err = appendJSON(b, x[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("a %T value cannot be turned into JSON", x)
}

// appendFloat formats like encoding/json: no exponent between 1e-6 and 1e21, integers without
// a fraction ("10", not "10.0").
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("%v cannot be turned into JSON", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64), nil
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONStringContent(b, s)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// appendJSONStringContent appends s escaped for the inside of a JSON string: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped so the output is also safe inside JavaScript.
func appendJSONStringContent(b []byte, s string) []byte {
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
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
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
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
