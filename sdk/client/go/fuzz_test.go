package client

import (
	"bytes"
	"testing"
)

// The node's answers are outside bytes: whatever they hold, reading them must not panic, and
// every answer must land on one of the events sent.
func FuzzReadAnswers(f *testing.F) {
	f.Add([]byte(`{"line":1,"id":"a","status":"accepted"}` + "\n" + `{"line":2,"status":"rejected","error":{"code":"invalid_event","message":"m","field":"data.x"}}` + "\n" + `{"summary":{"accepted":1}}` + "\n"))
	f.Add([]byte(`{"line":3,"status":"failed","errors":[{"code":"unavailable","message":"x"},{"code":"y"}]}` + "\n" + `{"summary":{"error":{"code":"too_many_events","message":"m"}}}`))
	f.Add([]byte(`{"error":{"code":"unauthenticated","message":"no"}}`))
	f.Add([]byte(`{"errors":[null,{"code":"x"}]}`))
	f.Add([]byte("{\"line\":-5}\n{\"line\":99999999999}\n\n{bad"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := outcome{answers: make([]answer, 3)}
		_ = readNDJSON(bytes.NewReader(b), &out)
		if len(out.answers) != 3 {
			t.Fatalf("answers resized to %d", len(out.answers))
		}
		for _, status := range []int{400, 413, 429, 503} {
			if e := errorOf(status, b); e == nil || e.Status != status {
				t.Fatalf("errorOf(%d) = %+v", status, e)
			}
		}
	})
}
