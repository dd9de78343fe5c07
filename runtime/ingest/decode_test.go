package ingest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/apierr"
)

func TestLimitsDefaultsAndValidate(t *testing.T) {
	d := DefaultLimits()
	if d.MaxBodyBytes != 1<<20 || d.MaxBatchEvents != 1000 || d.MaxDepth != 32 || d.MaxLineBytes != 256<<10 {
		t.Fatalf("DefaultLimits() = %+v", d)
	}
	if got := (Limits{}).withDefaults(); got != d {
		t.Fatalf("zero Limits with defaults = %+v, want %+v", got, d)
	}
	if got := (Limits{MaxDepth: 5}).withDefaults(); got.MaxDepth != 5 || got.MaxBodyBytes != d.MaxBodyBytes {
		t.Fatalf("withDefaults overrode a set field: %+v", got)
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Fatalf("zero Limits: Validate() = %v, want nil", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("DefaultLimits: Validate() = %v, want nil", err)
	}
	for _, c := range []struct {
		l     Limits
		field string
	}{
		{Limits{MaxBodyBytes: -1}, "MaxBodyBytes"},
		{Limits{MaxBatchEvents: -2}, "MaxBatchEvents"},
		{Limits{MaxDepth: -1}, "MaxDepth"},
		{Limits{MaxDepth: MaxDepthLimit + 1}, "MaxDepth"},
		{Limits{MaxLineBytes: -5}, "MaxLineBytes"},
	} {
		err := c.l.Validate()
		if err == nil || !strings.Contains(err.Error(), "Limits."+c.field) || !strings.HasPrefix(err.Error(), "ingest: ") {
			t.Errorf("Validate(%+v) = %v, want an error naming Limits.%s", c.l, err, c.field)
		}
	}
}

func TestCheckDepth(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want bool
	}{
		{`{}`, 1, true},
		{`{}`, 0, false},
		{`1`, 0, true},
		{`{"a":[1]}`, 2, true},
		{`{"a":[1]}`, 1, false},
		{`{"a":"[[[[[[{{{{"}`, 1, true},
		{`{"a":"\"[[[["}`, 1, true},
		{`{"a":"\\"}`, 1, true},
		{`{"a":"\\\"[[["}`, 1, true},
		{`{"a":"\\",  "b":[[1]]}`, 2, false},
		{`[[[]]] [[[]]]`, 3, true},
		{`[[[[`, 3, false},
		{`"unterminated [[[[`, 1, true},
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), 32, false},
		{strings.Repeat("[", 32) + strings.Repeat("]", 32), 32, true},
	}
	for _, c := range cases {
		if got := CheckDepth([]byte(c.in), c.max); got != c.want {
			t.Errorf("CheckDepth(%s, %d) = %v, want %v", c.in, c.max, got, c.want)
		}
	}
}

func TestScanCountsTopLevelElements(t *testing.T) {
	cases := map[string]int{
		`[]`:                        0,
		`[ ]`:                       0,
		`[{}]`:                      1,
		`[1]`:                       1,
		`["a"]`:                     1,
		`[{},{},{}]`:                3,
		`[{"a":[1,2,3]},{"b":","}]`: 2,
		" [\n{} ,\n{}\n] ":          2,
	}
	for in, want := range cases {
		if _, got := scan([]byte(in), 10, true); got != want {
			t.Errorf("scan(%s) counted %d elements, want %d", in, got, want)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"id":"e1","type":"signup","timestamp":"2024-05-01T12:00:00Z","identity":"email:a@b.co","data":{"plan":"pro","n":3,"tags":["x"]},"test":true}`), Limits{})
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	want := RawEvent{ID: "e1", Type: "signup", Timestamp: "2024-05-01T12:00:00Z", Identity: "email:a@b.co",
		Data: map[string]any{"plan": "pro", "n": 3.0, "tags": []any{"x"}}, Test: true}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("DecodeEvent = %+v, want %+v", ev, want)
	}
	ev, err = DecodeEvent([]byte("\xEF\xBB\xBF"+`{"type":"bom"}`), Limits{})
	if err != nil || ev.Type != "bom" {
		t.Fatalf("DecodeEvent with a UTF-8 BOM = %+v, %v; want the BOM skipped", ev, err)
	}
	ev, err = DecodeEvent([]byte(`  {"type":"ping","id":null,"data":null,"test":null}  `), Limits{})
	if err != nil || ev.Type != "ping" || ev.Data != nil || ev.ID != "" {
		t.Fatalf("DecodeEvent with nulls = %+v, %v; want nulls taken as absent", ev, err)
	}
}

func TestDecodeEventErrors(t *testing.T) {
	deep := `{"type":"x","data":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`
	cases := []struct {
		name, in string
		lim      Limits
		status   int
		code     apierr.Code
		field    string
		msg      string
	}{
		{"empty", ``, Limits{}, 400, apierr.InvalidJSON, "", "empty"},
		{"blank", " \n", Limits{}, 400, apierr.InvalidJSON, "", "empty"},
		{"array", `[{"type":"x"}]`, Limits{}, 400, apierr.InvalidJSON, "", "JSON object"},
		{"bad json", `{"type":}`, Limits{}, 400, apierr.InvalidJSON, "", "not valid JSON: "},
		{"trailing", `{"type":"x"} {}`, Limits{}, 400, apierr.InvalidJSON, "", "not valid JSON"},
		{"control char", "{\"type\":\"a\x01\"}", Limits{}, 400, apierr.InvalidJSON, "", "not valid JSON"},
		{"too large", `{"type":"x","data":{"s":"` + strings.Repeat("x", 100) + `"}}`, Limits{MaxBodyBytes: 64}, 413, apierr.BodyTooLarge, "", "over the limit of 64 bytes"},
		{"too deep", deep, Limits{}, 400, apierr.TooDeep, "", "more than 32 levels"},
		{"unknown field", `{"type":"x","plan":"pro"}`, Limits{}, 400, apierr.InvalidEvent, "plan", `unknown field "plan"`},
		{"unknown fields", `{"type":"x","b":1,"a":2,"c":3,"d":4}`, Limits{}, 400, apierr.InvalidEvent, "a", `unknown fields "a", "b", "c", and 1 more`},
		{"odd unknown field", `{"type":"x","a b":1}`, Limits{}, 400, apierr.InvalidEvent, `["a b"]`, "unknown field"},
		{"missing type", `{"data":{}}`, Limits{}, 400, apierr.InvalidEvent, "type", "is required"},
		{"null type", `{"type":null}`, Limits{}, 400, apierr.InvalidEvent, "type", "is required"},
		{"empty type", `{"type":" "}`, Limits{}, 400, apierr.InvalidEvent, "type", "must not be empty"},
		{"long type", `{"type":"` + strings.Repeat("t", 300) + `"}`, Limits{}, 400, apierr.InvalidEvent, "type", "at most 256"},
		{"type not string", `{"type":1}`, Limits{}, 400, apierr.InvalidEvent, "type", "must be a string, not a number"},
		{"id not string", `{"type":"x","id":7}`, Limits{}, 400, apierr.InvalidEvent, "id", "must be a string"},
		{"timestamp number", `{"type":"x","timestamp":1714564800}`, Limits{}, 400, apierr.InvalidEvent, "timestamp", "RFC 3339"},
		{"identity object", `{"type":"x","identity":{}}`, Limits{}, 400, apierr.InvalidEvent, "identity", "must be a string, not an object"},
		{"data array", `{"type":"x","data":[1]}`, Limits{}, 400, apierr.InvalidEvent, "data", "must be a JSON object, not an array"},
		{"data string", `{"type":"x","data":"s"}`, Limits{}, 400, apierr.InvalidEvent, "data", "must be a JSON object, not a string"},
		{"test string", `{"type":"x","test":"yes"}`, Limits{}, 400, apierr.InvalidEvent, "test", "true or false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(c.in), c.lim)
			if err == nil {
				t.Fatalf("DecodeEvent(%s) succeeded, want an error", c.in)
			}
			if err.Status != c.status || err.Code != c.code || err.Field != c.field || !strings.Contains(err.Message, c.msg) {
				t.Fatalf("DecodeEvent(%.80s) = %d %s field %q %q;\nwant %d %s field %q, message containing %q",
					c.in, err.Status, err.Code, err.Field, err.Message, c.status, c.code, c.field, c.msg)
			}
		})
	}
}

func TestDecodeBatch(t *testing.T) {
	body := `[
	  {"type":"a","data":{"x":1}},
	  {"type":"b","bogus":1},
	  "not an event",
	  {"data":{}},
	  {"type":"e","data":[]}
	]`
	events, itemErrs, err := DecodeBatch([]byte(body), Limits{})
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if len(events) != 5 || len(itemErrs) != 5 {
		t.Fatalf("got %d events and %d item errors, want 5 of each", len(events), len(itemErrs))
	}
	if itemErrs[0] != nil || events[0].Type != "a" || events[0].Data["x"] != 1.0 {
		t.Errorf("item 0 = %+v, %v; want a decoded event", events[0], itemErrs[0])
	}
	wantFields := []string{"", "[1].bogus", "[2]", "[3].type", "[4].data"}
	for i := 1; i < 5; i++ {
		if itemErrs[i] == nil || itemErrs[i].Field != wantFields[i] || itemErrs[i].Code != apierr.InvalidEvent {
			t.Errorf("item %d error = %v, want an invalid_event on %q", i, itemErrs[i], wantFields[i])
		}
	}

	// A single object is a batch of one, with unprefixed fields.
	events, itemErrs, err = DecodeBatch([]byte(`{"type":"solo","nope":1}`), Limits{})
	if err != nil || len(events) != 1 || len(itemErrs) != 1 || itemErrs[0] == nil || itemErrs[0].Field != "nope" {
		t.Fatalf("DecodeBatch(single) = %v, %v, %v; want one item error on field nope", events, itemErrs, err)
	}
}

func TestDecodeBatchWholeBodyErrors(t *testing.T) {
	many := "[" + strings.Repeat(`{"type":"x"},`, 10) + `{"type":"x"}]`
	deepEvent := `{"type":"x","data":{"a":` + strings.Repeat(`[`, 30) + strings.Repeat(`]`, 30) + `}}` // 32 deep
	cases := []struct {
		name, in string
		lim      Limits
		status   int
		code     apierr.Code
	}{
		{"empty", ``, Limits{}, 400, apierr.InvalidJSON},
		{"number", `42`, Limits{}, 400, apierr.InvalidJSON},
		{"bad json", `[{"type":"x"},]`, Limits{}, 400, apierr.InvalidJSON},
		{"unclosed", `[{"type":"x"}`, Limits{}, 400, apierr.InvalidJSON},
		{"empty batch", `[]`, Limits{}, 400, apierr.InvalidRequest},
		{"too many", many, Limits{MaxBatchEvents: 10}, 413, apierr.TooManyEvents},
		{"too large", many, Limits{MaxBodyBytes: 100}, 413, apierr.BodyTooLarge},
		{"too deep single", `{"type":"x","data":{"a":[[]]}}`, Limits{MaxDepth: 3}, 400, apierr.TooDeep},
		{"too deep in batch", `[{"type":"x","data":{"a":[[]]}}]`, Limits{MaxDepth: 3}, 400, apierr.TooDeep},
		{"too deep default", "[" + strings.Replace(deepEvent, `[]`, `[[]]`, 1) + "]", Limits{}, 400, apierr.TooDeep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			events, itemErrs, err := DecodeBatch([]byte(c.in), c.lim)
			if err == nil {
				t.Fatalf("DecodeBatch succeeded with %d events, want a whole-body error", len(events))
			}
			if events != nil || itemErrs != nil {
				t.Errorf("a whole-body error came with items: %v %v", events, itemErrs)
			}
			if err.Status != c.status || err.Code != c.code || err.Message == "" {
				t.Errorf("err = %d %s %q, want %d %s", err.Status, err.Code, err.Message, c.status, c.code)
			}
		})
	}
	// The depth limit is the same for an event alone and inside a batch.
	if _, err := DecodeEvent([]byte(deepEvent), Limits{}); err != nil {
		t.Errorf("a 32-deep event alone: %v", err)
	}
	if _, _, err := DecodeBatch([]byte("["+deepEvent+"]"), Limits{}); err != nil {
		t.Errorf("a 32-deep event in a batch: %v", err)
	}
}

func TestDecodedStringsDoNotAlias(t *testing.T) {
	// The API hands us fasthttp's request buffer, which is reused after the handler returns;
	// decodeJSON gives sonic the buffer without copying it. Nothing decoded may point into it.
	b := []byte(`{"type":"signup","id":"abc","data":{"plainKey":"plainValue","k\u00e9y":"v\u00e9","arr":["elem"],"obj":{"inner":"value"}}}`)
	ev, err := DecodeEvent(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprintf("%+v", ev)
	for i := range b {
		b[i] = 'Z'
	}
	if after := fmt.Sprintf("%+v", ev); after != before {
		t.Fatalf("decoded event changed when the input buffer was overwritten:\nbefore %s\nafter  %s", before, after)
	}
}

func TestForItem(t *testing.T) {
	errs := apierr.List{
		apierr.New(400, apierr.InvalidEvent, "data.plan", "x"),
		apierr.New(400, apierr.InvalidEvent, "", "y"),
		apierr.New(400, apierr.InvalidEvent, `["a b"]`, "z"),
	}
	got := ForItem(3, errs)
	want := []string{"[3].data.plan", "[3]", `[3]["a b"]`}
	for i, e := range got {
		if e.Field != want[i] {
			t.Errorf("ForItem field %d = %q, want %q", i, e.Field, want[i])
		}
	}
	if errs[0].Field != "data.plan" {
		t.Error("ForItem changed its input")
	}
	if ForItem(1, nil) != nil {
		t.Error("ForItem(nil) != nil")
	}
}
