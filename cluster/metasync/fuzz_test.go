package metasync

import (
	"context"
	"maps"
	"testing"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

// fuzzNode is one node with a few records whose Fetch answers nothing: whatever a message
// offers, the store must stay as it was.
func fuzzNode(f *testing.F) (*Sync, *store.Store) {
	st, err := store.Open(store.Config{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	m := meta.New(st)
	s, err := New(Config{Meta: m, DB: st.DB, Node: "self",
		Fetch: func(context.Context, string, []Key) ([]Entry, error) { return nil, nil },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	for _, id := range []string{"a", "b"} {
		if err := m.Put(meta.KindAction, id, id); err != nil {
			f.Fatal(err)
		}
	}
	if err := m.Delete(meta.KindAction, "b"); err != nil {
		f.Fatal(err)
	}
	return s, st
}

func digestSeeds(f *testing.F) {
	f.Add(encodeDigests("peer", []item{
		{Key: Key{meta.KindAction, "a"}, Version: Version{9, "peer"}},
		{Key: Key{meta.KindAction, "b"}, Version: Version{1, "other"}, Deleted: true},
		{Key: Key{meta.KindPluginBinary, "sha"}, Version: Version{3, "peer"}},
	}, 0)[0])
	f.Add([]byte{formatDigestJSON})
	f.Add([]byte("\x01{\"n\":\"self\",\"e\":[{\"k\":\"setting\",\"i\":\"x\",\"c\":1}]}"))
	f.Add([]byte("\x01{\"n\":\"p\",\"e\":[{\"k\":\"action\",\"i\":\"\\u0000\",\"c\":18446744073709551615}]}"))
	f.Add([]byte("\x01{\"n\":\"p\",\"e\":null}"))
	f.Add([]byte("\x02{}"))
	f.Add([]byte{})
}

func FuzzNotifyMsg(f *testing.F) {
	s, st := fuzzNode(f)
	digestSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := rawState(t, st.DB)
		s.NotifyMsg(msg)
		s.waitFetches()
		if after := rawState(t, st.DB); !maps.Equal(before, after) {
			t.Fatalf("a broadcast with nothing behind it changed the store: %q", msg)
		}
	})
}

func FuzzMergeRemoteState(f *testing.F) {
	s, st := fuzzNode(f)
	digestSeeds(f)
	f.Fuzz(func(t *testing.T, buf []byte) {
		before := rawState(t, st.DB)
		s.MergeRemoteState("", buf)
		s.MergeRemoteState("peer", buf)
		s.waitFetches()
		if after := rawState(t, st.DB); !maps.Equal(before, after) {
			t.Fatalf("a push/pull state with nothing behind it changed the store: %q", buf)
		}
	})
}

// FuzzUnmarshalEntries decodes fetch answers and applies what decodes: no panic, and what
// does not decode changes nothing.
func FuzzUnmarshalEntries(f *testing.F) {
	s, st := fuzzNode(f)
	f.Add(MarshalEntries([]Entry{
		{Key: Key{meta.KindAction, "a"}, Version: Version{5, "peer"}, Value: []byte(`"new"`)},
		{Key: Key{meta.KindSetting, "partitions"}, Version: Version{5, "peer"}, Value: []byte("x")},
		{Key: Key{meta.KindUser, "u"}, Version: Version{2, "peer"}, Deleted: true},
	}))
	f.Add([]byte{formatBinary, 6})
	f.Add([]byte{formatBinary, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		before := rawState(t, st.DB)
		es, err := UnmarshalEntries(b)
		if err != nil {
			if after := rawState(t, st.DB); !maps.Equal(before, after) {
				t.Fatal("a message that did not decode changed the store")
			}
			return
		}
		again, err := UnmarshalEntries(MarshalEntries(es))
		if err != nil || len(again) != len(es) {
			t.Fatalf("re-encoding %d entries gave %d (%v)", len(es), len(again), err)
		}
		if _, err := s.Apply(es); err != nil {
			t.Fatalf("apply: %v", err)
		}
		if _, err := s.Entries(keysOf(es)); err != nil {
			t.Fatalf("entries: %v", err)
		}
	})
}

func FuzzUnmarshalKeys(f *testing.F) {
	s, _ := fuzzNode(f)
	f.Add(MarshalKeys([]Key{{meta.KindAction, "a"}, {meta.KindIdempotency, "x"}}))
	f.Add([]byte{formatBinary, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := UnmarshalKeys(b)
		if err != nil {
			return
		}
		es, err := s.Entries(keys)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if !Spreads(e.Kind) {
				t.Fatalf("answered a fetch with a node-local record %s/%s", e.Kind, e.ID)
			}
		}
	})
}

func keysOf(es []Entry) []Key {
	keys := make([]Key, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}
