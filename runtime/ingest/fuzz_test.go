package ingest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
)

func checkErr(t *testing.T, what string, e *apierr.Error) {
	t.Helper()
	if e.Message == "" && e.Field == "" {
		t.Fatalf("%s: error %+v has neither field nor message", what, e)
	}
	if e.Status < 400 || e.Status > 499 || e.Code == "" {
		t.Fatalf("%s: error %+v has no client status or code", what, e)
	}
}

// FuzzDecodeBatch: no input makes DecodeBatch or DecodeEvent panic or hang; every error is a
// client *apierr.Error; items and their errors stay index-aligned; CheckDepth agrees with a
// byte-at-a-time reference.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `[{}]`, `{"type":"a"}`, `[{"type":"a","data":{"x":[1,{"y":"]"}]}},{"type":"b"}]`,
		`[{"type":"a"},1,"s",null,[],{"type":"b","extra":1}]`, `{"type":"a","data":null,"test":true,"id":"x"}`,
		`{"type":"a","data":{"s":"\"[[[[\\"}}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		"{\"type\":\"\xff\"}", `{"type":"a"}{"type":"b"}`, `[{"type":"a"},]`, `{"type":"a","data":{"n":1e400}}`,
		`  [ {"type" : "a" } ,  {"type":"b"} ]  `, `{"type":"a","timestamp":"2024-05-01T00:00:00Z","identity":"x:y"}`,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, knob uint8) {
		lim := Limits{}
		if knob&1 != 0 {
			lim = Limits{MaxBodyBytes: 256, MaxBatchEvents: 3, MaxDepth: 4}
		}
		events, itemErrs, err := DecodeBatch(b, lim)
		if err != nil {
			checkErr(t, "DecodeBatch", err)
			if events != nil || itemErrs != nil {
				t.Fatalf("whole-body error %v came with items", err)
			}
		} else {
			if len(events) == 0 || len(events) != len(itemErrs) {
				t.Fatalf("%d events and %d item errors", len(events), len(itemErrs))
			}
			lim := lim.withDefaults()
			if len(events) > lim.MaxBatchEvents {
				t.Fatalf("%d events passed a limit of %d", len(events), lim.MaxBatchEvents)
			}
			array := firstByte(b) == '['
			for i, ie := range itemErrs {
				if ie == nil {
					if events[i].Type == "" {
						t.Fatalf("item %d decoded without a type", i)
					}
					continue
				}
				checkErr(t, "item", ie)
				if array && !strings.HasPrefix(ie.Field, "[") {
					t.Fatalf("item %d error field %q lacks its index", i, ie.Field)
				}
			}
		}
		if _, e := DecodeEvent(b, lim); e != nil {
			checkErr(t, "DecodeEvent", e)
		}
		for _, max := range []int{int(knob % 8), int(knob)} {
			if got, want := CheckDepth(b, max), referenceDepthOK(b, max); got != want {
				t.Fatalf("CheckDepth(%q, %d) = %v, the reference says %v", b, max, got, want)
			}
		}
	})
}

// referenceDepthOK is the obvious byte-at-a-time version of CheckDepth.
func referenceDepthOK(b []byte, max int) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return true
}

// referenceLines is the obvious, memory-hungry splitter the LineReader must agree with.
func referenceLines(in []byte, max int) []string {
	var out []string
	if len(in) == 0 {
		return nil
	}
	parts := bytes.Split(in, []byte("\n"))
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1] // the final newline ends the last line
	}
	for i, p := range parts {
		p = bytes.TrimSuffix(p, []byte("\r"))
		switch {
		case len(p) > max:
			out = append(out, strconv.Itoa(i+1)+":ERR")
		case len(bytes.Trim(p, " \t\r")) == 0:
		default:
			out = append(out, strconv.Itoa(i+1)+":"+string(p))
		}
	}
	return out
}

// FuzzLineReader compares the LineReader with a reference splitter, on whole and dribbled
// reads: no panic, no hang, no line over the limit, and the same lines and errors.
func FuzzLineReader(f *testing.F) {
	for _, seed := range []string{
		"", "a", "a\n", "a\r\nb", "\n\n\n", "0123456789abcdef\nx", "  \t\r\n{}\n", "\r", "\r\r\n",
		strings.Repeat("z", 100) + "\nshort\n",
	} {
		f.Add([]byte(seed), uint8(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxLine uint8) {
		max := int(maxLine%64) + 1
		want := strings.Join(referenceLines(in, max), "|")
		for _, dribble := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(in)
			if dribble {
				r = &oneByte{r: r}
			}
			lr := NewLineReader(r, max)
			var got []string
			for calls := 0; ; calls++ {
				if calls > len(in)+2 {
					t.Fatalf("more calls to Next than bytes in the input")
				}
				line, n, err := lr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var ae *apierr.Error
					if !errors.As(err, &ae) || ae.Message == "" {
						t.Fatalf("Next error %v is not a described *apierr.Error", err)
					}
					got = append(got, strconv.Itoa(n)+":ERR")
					continue
				}
				if len(line) > max || bytes.IndexByte(line, '\n') >= 0 {
					t.Fatalf("line %q breaks the limit %d or holds a newline", line, max)
				}
				got = append(got, strconv.Itoa(n)+":"+string(line))
			}
			if s := strings.Join(got, "|"); s != want {
				t.Fatalf("dribble=%v max=%d input %q:\n got %q\nwant %q", dribble, max, in, s, want)
			}
		}
	})
}

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// FuzzNormalise normalises random data against a fixed schema and definition: no panic; every
// error has a field or a message; an accepted envelope has an identity, a valid id and a
// timestamp no further than 24h ahead.
func FuzzNormalise(f *testing.F) {
	for _, seed := range []struct{ data, id, ts, identity string }{
		{`{"userId":"u1","plan":"pro"}`, "", "", ""},
		{`{"userId":1,"plan":"free","customer":{"email":"a@b.co"}}`, "e-1", "2024-05-01T00:00:00Z", ""},
		{`{"userId":true,"plan":"x"}`, "bad id", "tomorrow", ""},
		{`{"plan":"pro"}`, "", "", "email:x@y.z"},
		{`{"userId":1e300}`, "", "9999-12-31T23:59:59Z", ":"},
		{`{"userId":"","customer":[]}`, strings.Repeat("i", 200), "2024-05-01T00:00:00+25:00", "a:b:c"},
	} {
		f.Add([]byte(seed.data), seed.id, seed.ts, seed.identity, false)
	}
	sch := mustSchema(f, signupSchema)
	def := signupDef()
	f.Fuzz(func(t *testing.T, data []byte, id, ts, identity string, test bool) {
		var m map[string]any
		if v, e := decodeJSON(data); e == nil {
			m, _ = v.(map[string]any)
		}
		raw := RawEvent{ID: id, Type: "signup", Timestamp: ts, Identity: identity, Data: m, Test: test}
		env, errs := Normalise(raw, def, sch, testNow)
		if len(errs) > 0 {
			for _, e := range errs {
				checkErr(t, "Normalise", e)
			}
			return
		}
		if env.Identity == "" || env.ID == "" || len(env.ID) > maxIDLen || env.Data == nil {
			t.Fatalf("accepted envelope is incomplete: %+v", env)
		}
		if env.Timestamp.After(testNow.Add(24 * time.Hour)) {
			t.Fatalf("accepted a timestamp %v more than 24h ahead", env.Timestamp)
		}
	})
}
