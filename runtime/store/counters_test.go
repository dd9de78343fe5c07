package store

import (
	"context"
	"reflect"
	"testing"
)

// Groups merge per counter through flushes and compactions, beside single counters written by
// earlier versions.
func TestCounterGroupsMergePerCounter(t *testing.T) {
	st, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := CounterGroupKey(3, "j/welcome/2/")
	want := CounterGroup{}
	for i := 0; i < 40; i++ {
		d := CounterGroup{{Sub: "", Name: "entered"}: 1, {Sub: "tier", Name: "passed"}: int64(i)}
		if i%2 == 0 {
			d[CounterRef{Sub: "call", Name: "sent"}] = 2
		}
		for r, v := range d {
			want[r] += v
		}
		if err := st.DB.Merge(k, EncodeCounterGroup(d), nil); err != nil {
			t.Fatal(err)
		}
		if i == 20 { // half of the operands in an sstable, half in the memtable
			if err := st.DB.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	single := PartKey(3, KindCounter, "j/welcome/2/tier", "passed")
	if err := st.DB.Merge(single, EncodeCounter(7), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.Compact(context.Background(), KindPrefix(3, KindCounter), PrefixEnd(KindPrefix(3, KindCounter)), true); err != nil {
		t.Fatal(err)
	}
	v, ok, err := Get(st.DB, k)
	if err != nil || !ok {
		t.Fatalf("group: %v %v", ok, err)
	}
	got := CounterGroup{}
	if err := DecodeCounterGroup(v, got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("group = %v, want %v", got, want)
	}
	if v, _, _ := Get(st.DB, single); DecodeCounter(v) != 7 {
		t.Errorf("single counter beside the group = %d, want 7", DecodeCounter(v))
	}
	scope, name, isGroup, ok := CounterKey(k[len(KindPrefix(3, KindCounter)):])
	if !ok || !isGroup || scope != "j/welcome/2/" || name != "" {
		t.Errorf("CounterKey(group) = %q %q %v %v", scope, name, isGroup, ok)
	}
	scope, name, isGroup, ok = CounterKey(single[len(KindPrefix(3, KindCounter)):])
	if !ok || isGroup || scope != "j/welcome/2/tier" || name != "passed" {
		t.Errorf("CounterKey(single) = %q %q %v %v", scope, name, isGroup, ok)
	}
}

func TestCounterGroupDecodeRejectsDamage(t *testing.T) {
	good := EncodeCounterGroup(CounterGroup{{Sub: "n", Name: "entered"}: 5})
	for name, b := range map[string][]byte{
		"empty":          nil,
		"wrong version":  append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-1],
		"length too big": {counterGroupV1, 200, 'a'},
	} {
		into := CounterGroup{}
		if err := DecodeCounterGroup(b, into); err == nil {
			t.Errorf("%s: no error", name)
		}
		if len(into) != 0 {
			t.Errorf("%s: a damaged value added %v", name, into)
		}
	}
}

// FuzzDecodeCounterGroup: counter values come back from disk and from other nodes' replication
// frames. Decoding never panics, adds nothing when it fails, and what decodes re-encodes to
// the same counters.
func FuzzDecodeCounterGroup(f *testing.F) {
	f.Add(EncodeCounterGroup(CounterGroup{{Sub: "n", Name: "entered"}: 5, {Name: "exited"}: -1}))
	f.Add([]byte{counterGroupV1})
	f.Add([]byte{counterGroupV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		g := CounterGroup{}
		if err := DecodeCounterGroup(b, g); err != nil {
			if len(g) != 0 {
				t.Fatalf("failed decode added %v", g)
			}
			return
		}
		again := CounterGroup{}
		if err := DecodeCounterGroup(EncodeCounterGroup(g), again); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, again) {
			t.Fatalf("re-encoded %v as %v", g, again)
		}
	})
}
