package engine

import (
	"testing"
)

// FuzzPluginAnswers feeds the decoders of a condition plugin's output (bytes a guest chose),
// alone and as a batch, anything: an answer or an error, never a panic, and a batch answer has
// exactly one entry per item.
func FuzzPluginAnswers(f *testing.F) {
	for _, s := range []string{`{"result":true,"reason":"gold"}`, `{"result":false}`, `{"results":[{"result":true},{"error":{"code":1,"message":"x"}},{}]}`, `{"result":"yes"}`, `null`, `{"results":null}`, "\x00"} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if _, _, err := decodeConditionAnswer(b); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
		if n < 0 || n > 1000 {
			return
		}
		answers, err := decodeBatchAnswer(b, n)
		if err == nil && len(answers) != n {
			t.Fatalf("%d answers for %d items", len(answers), n)
		}
	})
}

func TestPluginAnswersAreRead(t *testing.T) {
	if ok, reason, err := decodeConditionAnswer([]byte(`{"result":true,"reason":"gold"}`)); !ok || reason != "gold" || err != nil {
		t.Fatalf("one answer: %v %q %v", ok, reason, err)
	}
	if _, _, err := decodeConditionAnswer([]byte(`{"reason":"no result"}`)); err == nil {
		t.Fatal("an answer without result must be an error")
	}
	a, err := decodeBatchAnswer([]byte(`{"results":[{"result":true},{"error":{"code":1,"message":"bad input"}},{}]}`), 3)
	if err != nil || !a[0].ok || a[1].err == nil || a[2].err == nil {
		t.Fatalf("batch: %+v %v", a, err)
	}
	if _, err := decodeBatchAnswer([]byte(`{"results":[{"result":true}]}`), 2); err == nil {
		t.Fatal("a batch answer with the wrong count must be an error")
	}
}
