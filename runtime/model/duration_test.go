package model

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestDurationJSON(t *testing.T) {
	cases := map[string]time.Duration{`"30s"`: 30 * time.Second, `"7d"`: 7 * 24 * time.Hour, `"1.5d"`: 36 * time.Hour, `90`: 90 * time.Second, `null`: 0, `""`: 0}
	for in, want := range cases {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.D() != want {
			t.Errorf("%s: got %v, %v; want %v", in, d.D(), err, want)
		}
	}
	b, _ := json.Marshal(Duration(48 * time.Hour))
	if string(b) != `"2d"` {
		t.Errorf("48h marshals as %s, want \"2d\"", b)
	}
}

func TestBadDurationNamesItsField(t *testing.T) {
	var a Action
	err := json.Unmarshal([]byte(`{"timeout":"soon"}`), &a)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "timeout" {
		t.Fatalf("want a type error on field timeout, got %v", err)
	}
	err = json.Unmarshal([]byte(`{"retry":{"maxBackoff":true}}`), &a)
	if !errors.As(err, &te) || te.Field != "retry.maxBackoff" {
		t.Fatalf("want a type error on field retry.maxBackoff, got %#v", err)
	}
}
