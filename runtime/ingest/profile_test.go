package ingest

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeProfileLine(t *testing.T) {
	rec, e := DecodeProfileLine([]byte(`{"id":"email:ada@example.com","attributes":{"plan":"pro","n":2},"test":true}`), Limits{})
	if e != nil || rec.ID != "email:ada@example.com" || rec.Attributes["plan"] != "pro" || rec.Test == nil || !*rec.Test {
		t.Fatalf("%+v %v", rec, e)
	}
	for _, tc := range []struct{ line, code, field, msg string }{
		{``, "invalid_json", "", "JSON object"},
		{`[1]`, "invalid_json", "", "JSON object"},
		{`{"id":"x:y","attributes":{}`, "invalid_json", "", "not valid JSON"},
		{`{"attributes":{"a":1}}`, "invalid_request", "id", "required"},
		{`{"id":42,"attributes":{"a":1}}`, "invalid_request", "id", "must be a string"},
		{`{"id":"nocolon","attributes":{"a":1}}`, "invalid_request", "id", "namespace:value"},
		{`{"id":"x:y"}`, "invalid_request", "attributes", "required"},
		{`{"id":"x:y","attributes":[1]}`, "invalid_request", "attributes", "JSON object"},
		{`{"id":"x:y","attributes":{},"test":"yes"}`, "invalid_request", "test", "true or false"},
		{`{"id":"x:y","attributes":{},"plan":"pro"}`, "invalid_request", "plan", "inside \"attributes\""},
		{`{"id":"x:y","attributes":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, "too_deep", "", "levels deep"},
	} {
		_, e := DecodeProfileLine([]byte(tc.line), Limits{})
		if e == nil || string(e.Code) != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %+v; want %s on %q saying %q", tc.line, e, tc.code, tc.field, tc.msg)
		}
	}
	if _, e := DecodeProfileLine([]byte(`{"id":"x:y","attributes":{"s":"`+strings.Repeat("a", 300<<10)+`"}}`), Limits{}); e == nil || e.Status != 413 {
		t.Errorf("an over-long line: %+v, want 413", e)
	}
}

// FuzzDecodeProfileLine: no input makes the import line decoder panic or hang; every error is
// a client *apierr.Error; an accepted line has a valid id and re-encodes as JSON.
func FuzzDecodeProfileLine(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"id":"a:b","attributes":{}}`, `{"id":"a:b","test":false}`, `{"id":":b","attributes":{}}`,
		`{"id":"a:b","attributes":{"x":[1,{"y":"]"}]}}`, "{\"id\":\"a:\xff\",\"attributes\":{}}", `{"id":"a:b","attributes":{"n":1e400}}`,
		`{"id":"a:b","attributes":null,"test":null}`, `{"id":"a:b","attributes":{}}{"id":"c:d"}`, "\xef\xbb\xbf{\"id\":\"a:b\",\"test\":true}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, e := DecodeProfileLine(b, Limits{MaxLineBytes: 4096, MaxDepth: 8})
		if e != nil {
			checkErr(t, "DecodeProfileLine", e)
			return
		}
		if i := strings.IndexByte(rec.ID, ':'); i <= 0 || i == len(rec.ID)-1 {
			t.Fatalf("accepted id %q", rec.ID)
		}
		if rec.Attributes == nil && rec.Test == nil {
			t.Fatal("accepted a line with nothing to import")
		}
		if _, err := json.Marshal(rec.Attributes); err != nil {
			t.Fatalf("accepted attributes that do not re-encode: %v", err)
		}
	})
}
