package ingest

import (
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/apierr"
	"github.com/wayline/wayline/runtime/model"
	"github.com/wayline/wayline/runtime/schema"
)

func TestIdentityWithAZeroByteIsRefused(t *testing.T) {
	def := &model.EventDefinition{Name: "signup", IdentityField: "userId", IdentityNamespace: "user"}
	for _, raw := range []RawEvent{
		{Type: "signup", Data: map[string]any{"userId": "a\x00b"}},
		{Type: "signup", Identity: "user:a\x00b", Data: map[string]any{}},
	} {
		_, errs := Normalise(raw, def, schema.Any(), time.Now())
		if len(errs) != 1 || errs[0].Code != apierr.InvalidEvent {
			t.Fatalf("identity with a zero byte: got %v, want one invalid_event", errs)
		}
	}
}
