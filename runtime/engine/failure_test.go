package engine

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/wayline/wayline/runtime/store"
)

// A record that cannot be encoded (a bug) fails its whole batch instead of crashing the node or
// committing half of it; the partition goes on working.
func TestAnUnencodableRecordFailsItsBatchNotTheNode(t *testing.T) {
	h := startBenchEngine(t, nil)
	ctx := context.Background()
	err := h.e.do(ctx, "user:x", func(st *stepCtx) error {
		st.put(store.PartKey(st.pid(), store.KindProfile, "user:half"), map[string]any{"ok": true})
		st.put(store.PartKey(st.pid(), store.KindProfile, "user:x"), map[string]any{"n": math.Inf(1)})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "encode record") {
		t.Fatalf("want the batch refused with an encode error, got %v", err)
	}
	if _, ok, _ := store.Get(h.st.DB, store.PartKey(store.PartitionOf("user:x", h.e.Partitions()), store.KindProfile, "user:half")); ok {
		t.Fatal("half of a refused batch was committed")
	}
	if _, err := h.e.UpsertProfile(ctx, "user:x", map[string]any{"fine": 1.0}, nil); err != nil {
		t.Fatalf("the partition should work after a refused batch: %v", err)
	}
}
