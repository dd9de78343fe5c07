package metasync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
)

func TestWriteOnOneNodeReachesTheOthers(t *testing.T) {
	c := newCluster(t, "a", "b", "c")
	a := c.node("a")
	if err := a.meta.Put(meta.KindAction, "welcome", map[string]string{"id": "welcome"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		hasRaw(t, c.node(name), meta.KindAction, "welcome", `{"id":"welcome"}`)
	}
	c.converged("a", "b", "c")
	v, _, ok, err := c.node("b").sync.version(Key{meta.KindAction, "welcome"})
	if err != nil || !ok || v != (Version{1, "a"}) {
		t.Fatalf("b's version of the action = %v (found %v, %v), want {1 a}", v, ok, err)
	}
}

func TestJourneyPublishWithStagedVersionReachesOthersAndRebuildsTheirCatalog(t *testing.T) {
	c := newCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	module := bytes.Repeat([]byte("\x00asm"), 64<<10) // a plugin binary of 256 KiB
	err := a.meta.Update(meta.KindPlugin, "p", func(cur []byte, tx *meta.Tx) (any, error) {
		return map[string]string{"name": "p"}, tx.PutRaw(meta.KindPluginBinary, "sha", module)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = a.meta.Update(meta.KindJourney, "j", func(cur []byte, tx *meta.Tx) (any, error) {
		if err := tx.Put(meta.KindJourneyVersion, "j/00000001", map[string]int{"version": 1}); err != nil {
			return nil, err
		}
		return map[string]any{"id": "j", "live": 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hasRaw(t, b, meta.KindJourney, "j", `{"id":"j","live":1}`)
	hasRaw(t, b, meta.KindJourneyVersion, "j/00000001", `{"version":1}`)
	hasRaw(t, b, meta.KindPluginBinary, "sha", string(module))
	c.converged("a", "b")
	for _, kind := range []string{meta.KindJourney, meta.KindJourneyVersion, meta.KindPlugin, meta.KindPluginBinary} {
		if b.changed(kind) == 0 {
			t.Errorf("OnChange was not called on b for %s: its catalog would not rebuild", kind)
		}
	}
	if n := c.sentBy("b"); n != 0 {
		t.Fatalf("b broadcast %d messages after applying remote writes; they must not spread as local writes", n)
	}
}

func TestDeletionSpreadsAsATombstone(t *testing.T) {
	c := newCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	if err := a.meta.Put(meta.KindEventDef, "signup", map[string]string{"name": "signup"}); err != nil {
		t.Fatal(err)
	}
	hasRaw(t, b, meta.KindEventDef, "signup", `{"name":"signup"}`)
	if err := a.meta.Delete(meta.KindEventDef, "signup"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deletion did not reach b", func() error {
		if ok, err := b.meta.Exists(meta.KindEventDef, "signup"); ok || err != nil {
			return fmt.Errorf("b still has it (%v)", err)
		}
		return nil
	})
	c.converged("a", "b")
	if st := b.state(t); st["evdef/signup"] != "<deleted> @2/a" {
		t.Fatalf("b's record = %q, want a tombstone at version 2/a", st["evdef/signup"])
	}

	// A node that missed the deletion has the old record; push/pull must delete it there, not
	// bring it back.
	c.start("c")
	c.dropAll(true)
	if err := a.meta.Put(meta.KindEventDef, "purchase", 1); err != nil {
		t.Fatal(err)
	}
	c.pushPull("a", "c")
	c.converged("a", "c")
	if err := a.meta.Delete(meta.KindEventDef, "purchase"); err != nil {
		t.Fatal(err)
	}
	c.pushPull("c", "a")
	c.pushPull("b", "a")
	c.converged("a", "b", "c")
	if ok, _ := c.node("c").meta.Exists(meta.KindEventDef, "purchase"); ok {
		t.Fatal("c kept a record deleted on a")
	}
}

func TestLateOrCutOffNodeConvergesThroughPushPull(t *testing.T) {
	c := newCluster(t, "a")
	a := c.node("a")
	for i := range 100 {
		if err := a.meta.Put(meta.KindAction, fmt.Sprintf("action-%03d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.meta.Update(meta.KindJourney, "j", func(_ []byte, tx *meta.Tx) (any, error) {
		return 1, tx.PutRaw(meta.KindPluginBinary, "sha", []byte("module"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := a.meta.Delete(meta.KindAction, "action-050"); err != nil {
		t.Fatal(err)
	}

	b := c.start("b") // joins late: heard none of it
	if len(b.state(t)) != 0 {
		t.Fatal("b starts with records")
	}
	c.pushPull("b", "a")
	c.converged("a", "b")

	// Cut off: every broadcast is lost while both sides write; push/pull repairs both.
	c.dropAll(true)
	if err := a.meta.Put(meta.KindAction, "from-a", "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.meta.Put(meta.KindUser, "from-b", "b"); err != nil {
		t.Fatal(err)
	}
	if err := b.meta.Delete(meta.KindAction, "action-001"); err != nil {
		t.Fatal(err)
	}
	b.sync.waitFetches()
	if ok, _ := b.meta.Exists(meta.KindAction, "from-a"); ok {
		t.Fatal("a write reached b although every broadcast was dropped")
	}
	c.pushPull("a", "b")
	c.converged("a", "b")
	if ok, _ := a.meta.Exists(meta.KindAction, "action-001"); ok {
		t.Fatal("b's deletion did not reach a")
	}
	// 100 actions (one a tombstone) + journey + binary + from-a + from-b; b's two writes came
	// after it had seen a's 103 counters.
	ca, ma := a.sync.Digest()
	cb, mb := b.sync.Digest()
	if ca != 104 || ma != 104 || cb != ca || mb != ma {
		t.Fatalf("digests: a has %d keys (max counter %d), b %d (max %d); want 104 and 104 on both", ca, ma, cb, mb)
	}
}

func TestConcurrentWritesToOneKeyConvergeOnTheGreaterVersion(t *testing.T) {
	t.Run("same counter: the greater origin wins", func(t *testing.T) {
		c := newCluster(t, "a", "b")
		c.dropAll(true)
		if err := c.node("a").meta.Put(meta.KindAction, "x", "from a"); err != nil {
			t.Fatal(err)
		}
		if err := c.node("b").meta.Put(meta.KindAction, "x", "from b"); err != nil {
			t.Fatal(err)
		}
		c.pushPull("a", "b")
		c.converged("a", "b")
		hasRaw(t, c.node("a"), meta.KindAction, "x", `"from b"`)
	})
	t.Run("racing writers and lossy gossip", func(t *testing.T) {
		c := newCluster(t, "a", "b", "c")
		c.dropRate.Store(300)
		var writers sync.WaitGroup
		for _, name := range []string{"a", "b", "c"} {
			n := c.node(name)
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := range 40 {
					key := fmt.Sprint("k", i%3)
					if err := n.meta.Put(meta.KindAction, key, fmt.Sprintf("%s-%d", n.name, i)); err != nil {
						t.Error(err)
						return
					}
					if i%10 == 9 {
						if err := n.meta.Delete(meta.KindAction, key); err != nil && !errors.Is(err, meta.ErrNotFound) {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		writers.Wait()
		c.dropAll(false)
		for range 2 {
			c.pushPull("a", "b")
			c.pushPull("b", "c")
			c.pushPull("c", "a")
		}
		c.converged("a", "b", "c")
		// The value held is the greatest version's: the last write its origin made to the key.
		st := c.node("a").state(t)
		for _, k := range []string{"k0", "k1", "k2"} {
			rec := st["action/"+k]
			at := strings.LastIndex(rec, " @")
			var counter uint64
			var origin string
			if _, err := fmt.Sscanf(rec[at+2:], "%d/%s", &counter, &origin); err != nil {
				t.Fatalf("record %q: %v", rec, err)
			}
			if !strings.HasPrefix(rec, `"`+origin+"-") && !strings.HasPrefix(rec, "<deleted>") {
				t.Fatalf("action/%s = %q: the value is not from the winning version's origin", k, rec)
			}
		}
	})
}

func TestNodeLocalKindsDoNotSpread(t *testing.T) {
	c := newCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	if err := a.meta.Put(meta.KindSetting, "partitions", 64); err != nil {
		t.Fatal(err)
	}
	if err := a.meta.Put(meta.KindSetting, "workspace", map[string]int{"x": 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.meta.Put(meta.KindIdempotency, "abc", "answer"); err != nil {
		t.Fatal(err)
	}
	if err := a.meta.Put(meta.KindAction, "marker", 1); err != nil {
		t.Fatal(err)
	}
	hasRaw(t, b, meta.KindAction, "marker", "1")
	hasRaw(t, b, meta.KindSetting, "workspace", `{"x":1}`) // workspace settings spread; the partition count does not
	c.pushPull("a", "b")
	b.sync.waitFetches()
	for _, k := range []Key{{meta.KindSetting, "partitions"}, {meta.KindIdempotency, "abc"}} {
		if ok, _ := b.meta.Exists(k.Kind, k.ID); ok {
			t.Errorf("%s/%s reached b", k.Kind, k.ID)
		}
		if _, _, ok, _ := a.sync.version(k); ok {
			t.Errorf("%s/%s got a version on a", k.Kind, k.ID)
		}
		if es, err := a.sync.Entries([]Key{k}); err != nil || len(es) != 0 {
			t.Errorf("a answers a fetch of %s/%s with %v (%v)", k.Kind, k.ID, es, err)
		}
		n, err := b.sync.Apply([]Entry{{Key: k, Version: Version{9, "a"}, Value: []byte("1")}})
		if err != nil || n != 0 {
			t.Errorf("b applied %d entries of %s (%v)", n, k.Kind, err)
		}
	}
	if strings.Contains(string(a.sync.LocalState()), meta.KindIdempotency) {
		t.Errorf("a's push/pull state lists node-local records: %s", a.sync.LocalState())
	}
	if got := Kinds(); len(got) != 11 || SpreadsKey(Key{meta.KindSetting, "partitions"}) || !SpreadsKey(Key{meta.KindSetting, "workspace"}) || Spreads(meta.KindIdempotency) || !Spreads(meta.KindSession) {
		t.Errorf("Kinds() = %v", got)
	}
}

func TestNewVersionsRecordsWrittenWithoutIt(t *testing.T) {
	c := newCluster(t)
	a := c.open("a")
	// Written by a release without metasync.
	if err := a.meta.Put(meta.KindAction, "legacy", "old"); err != nil {
		t.Fatal(err)
	}
	if err := a.meta.Put(meta.KindJourney, "both", "a's"); err != nil {
		t.Fatal(err)
	}
	// A crash between a write and its version: the version says deleted, the record is there;
	// and the version says present, the record is gone.
	crash := func(k Key, v Version, deleted bool) {
		if err := a.st.DB.Set(versionKey(k), encodeRecord(v, deleted), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.meta.Put(meta.KindUser, "revived", "u"); err != nil {
		t.Fatal(err)
	}
	crash(Key{meta.KindUser, "revived"}, Version{7, "a"}, true)
	crash(Key{meta.KindUser, "vanished"}, Version{8, "a"}, false)
	c.attach(a)

	st := a.state(t)
	want := map[string]string{
		"action/legacy": `"old" @0/a`,
		"journey/both":  `"a's" @0/a`,
		"user/revived":  `"u" @9/a`,
		"user/vanished": "<deleted> @9/a",
	}
	if !maps.Equal(st, want) {
		t.Fatalf("after New a holds %v\nwant %v", st, want)
	}

	b := c.start("b")
	if err := b.meta.Put(meta.KindJourney, "both", "b's"); err != nil {
		t.Fatal(err)
	}
	c.pushPull("a", "b")
	c.converged("a", "b")
	hasRaw(t, b, meta.KindAction, "legacy", `"old"`)
	hasRaw(t, a, meta.KindJourney, "both", `"b's"`) // any real write beats a legacy record

	// A restart changes nothing.
	c.stop("a")
	a = c.start("a")
	if got := a.state(t); !maps.Equal(got, b.state(t)) {
		t.Fatalf("after a restart a holds %v, b %v", got, b.state(t))
	}
}

func TestLocalWriteAfterARemoteOneWins(t *testing.T) {
	c := newCluster(t, "a")
	a := c.node("a")
	n, err := a.sync.Apply([]Entry{{Key: Key{meta.KindAction, "x"}, Version: Version{41, "z"}, Value: []byte(`"remote"`)}})
	if err != nil || n != 1 {
		t.Fatalf("applied %d (%v), want 1", n, err)
	}
	if err := a.meta.Put(meta.KindAction, "x", "local"); err != nil {
		t.Fatal(err)
	}
	if v, _, _, _ := a.sync.version(Key{meta.KindAction, "x"}); v != (Version{42, "a"}) {
		t.Fatalf("the local write got version %v, want {42 a}: the clock did not move past what it applied", v)
	}
	// A digest is enough to move the clock: a write after seeing a version beats it.
	a.sync.NotifyMsg(encodeDigests("z", []item{{Key: Key{meta.KindAction, "y"}, Version: Version{99, "z"}}}, 0)[0])
	if err := a.meta.Put(meta.KindAction, "y", "local"); err != nil {
		t.Fatal(err)
	}
	if v, _, _, _ := a.sync.version(Key{meta.KindAction, "y"}); v != (Version{100, "a"}) {
		t.Fatalf("the local write got version %v, want {100 a}", v)
	}
}

func TestApplyTakesOnlyNewerValidEntries(t *testing.T) {
	c := newCluster(t, "a")
	a := c.node("a")
	k := Key{meta.KindAction, "x"}
	apply := func(want int, es ...Entry) {
		t.Helper()
		n, err := a.sync.Apply(es)
		if err != nil || n != want {
			t.Fatalf("applied %d (%v), want %d", n, err, want)
		}
	}
	apply(1, Entry{Key: k, Version: Version{5, "m"}, Value: []byte("5m")})
	apply(0, Entry{Key: k, Version: Version{5, "m"}, Value: []byte("same version")})
	apply(0, Entry{Key: k, Version: Version{5, "l"}, Value: []byte("older origin")})
	apply(0, Entry{Key: k, Version: Version{4, "z"}, Value: []byte("older counter")})
	apply(1, // of two entries for one key, the greater counts
		Entry{Key: k, Version: Version{7, "a"}, Value: []byte("7a")},
		Entry{Key: k, Version: Version{6, "z"}, Value: []byte("6z")})
	apply(0,
		Entry{Key: Key{"nosuchkind", "x"}, Version: Version{9, "a"}},
		Entry{Key: Key{meta.KindAction, ""}, Version: Version{9, "a"}},
		Entry{Key: Key{meta.KindAction, "a\x00b"}, Version: Version{9, "a"}},
		Entry{Key: Key{meta.KindAction, "y"}, Version: Version{9, ""}},
		Entry{Key: Key{meta.KindAction, "y"}, Version: Version{maxCounter + 1, "a"}})
	hasRaw(t, a, meta.KindAction, "x", "7a")
	apply(1, Entry{Key: k, Version: Version{8, "a"}, Deleted: true, Value: []byte("ignored")})
	if ok, _ := a.meta.Exists(meta.KindAction, "x"); ok {
		t.Fatal("a newer tombstone did not delete the record")
	}
	apply(1, Entry{Key: Key{meta.KindAction, "empty"}, Version: Version{1, "b"}})
	hasRaw(t, a, meta.KindAction, "empty", "")
}

func TestBroadcastsStayUnderMaxMessage(t *testing.T) {
	c := newCluster(t, "a", "b")
	a, b := c.node("a"), c.node("b")
	err := a.meta.Update(meta.KindJourney, "big", func(_ []byte, tx *meta.Tx) (any, error) {
		for i := range 300 {
			if err := tx.Put(meta.KindJourneyVersion, fmt.Sprintf("big/%08d-%s", i, strings.Repeat("x", 40)), i); err != nil {
				return nil, err
			}
		}
		return "big", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.sentBy("a"); n < 10 {
		t.Fatalf("301 keys went out in %d broadcasts; expected them split", n)
	}
	c.converged("a", "b") // the harness fails any broadcast over MaxMessage
	if count, _ := b.sync.Digest(); count != 301 {
		t.Fatalf("b has %d versioned keys, want 301", count)
	}
}

func TestVersionOrder(t *testing.T) {
	for _, tc := range []struct {
		a, b Version
		less bool
	}{
		{Version{1, "a"}, Version{2, "a"}, true},
		{Version{2, "a"}, Version{1, "z"}, false},
		{Version{1, "a"}, Version{1, "b"}, true},
		{Version{1, "b"}, Version{1, "a"}, false},
		{Version{1, "a"}, Version{1, "a"}, false},
		{Version{0, "z"}, Version{1, ""}, true},
	} {
		if got := tc.a.Less(tc.b); got != tc.less {
			t.Errorf("%v.Less(%v) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}

func TestVersionRecordLayout(t *testing.T) {
	// KEYS.md: 'v' kind 0 id → u64 counter, 1 byte deleted, origin.
	k := versionKey(Key{meta.KindJourneyVersion, "j/00000001"})
	if want := "vjver\x00j/00000001"; string(k) != want {
		t.Fatalf("version key %q, want %q", k, want)
	}
	if got, ok := parseVersionKey(k); !ok || got != (Key{meta.KindJourneyVersion, "j/00000001"}) {
		t.Fatalf("parseVersionKey = %v, %v", got, ok)
	}
	if k[0] == store.MetaKey("x", "y")[0] {
		t.Fatal("the version space shares its first byte with metadata")
	}
	rec := encodeRecord(Version{0x0102, "node-1"}, true)
	if want := "\x00\x00\x00\x00\x00\x00\x01\x02\x01node-1"; string(rec) != want {
		t.Fatalf("record %q, want %q", rec, want)
	}
	v, deleted, err := decodeRecord(rec)
	if err != nil || !deleted || v != (Version{0x0102, "node-1"}) {
		t.Fatalf("decodeRecord = %v, %v, %v", v, deleted, err)
	}
	for _, bad := range []string{"", "\x00\x00\x00\x00\x00\x00\x00\x01\x00", "\x00\x00\x00\x00\x00\x00\x00\x01\x02n"} {
		if _, _, err := decodeRecord([]byte(bad)); err == nil {
			t.Errorf("decodeRecord(%q) accepted a malformed record", bad)
		}
	}
}

func TestWireFormatsRoundTrip(t *testing.T) {
	keys := []Key{{meta.KindAction, "a"}, {meta.KindPluginBinary, strings.Repeat("f", 64)}}
	if got, err := UnmarshalKeys(MarshalKeys(keys)); err != nil || !equalKeys(got, keys) {
		t.Fatalf("keys round trip: %v (%v), want %v", got, err, keys)
	}
	es := []Entry{
		{Key: keys[0], Version: Version{300, "a"}, Value: []byte(`{"id":"a"}`)},
		{Key: keys[1], Version: Version{1 << 40, "node-2"}, Deleted: true},
	}
	got, err := UnmarshalEntries(MarshalEntries(es))
	if err != nil || len(got) != 2 || got[0].Key != es[0].Key || got[0].Version != es[0].Version ||
		string(got[0].Value) != string(es[0].Value) || !got[1].Deleted || got[1].Version != es[1].Version {
		t.Fatalf("entries round trip: %+v (%v), want %+v", got, err, es)
	}
	items := []item{
		{Key: Key{meta.KindAction, "a"}, Version: Version{3, "a"}},
		{Key: Key{meta.KindUser, "ü"}, Version: Version{4, "b"}, Deleted: true},
	}
	msgs := encodeDigests("a", items, 0)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), `{"k":"action","i":"a","c":3}`) {
		t.Fatalf("digest %q: the origin equal to the sender should be left out", msgs)
	}
	node, back, dropped, err := decodeDigest(msgs[0])
	if err != nil || node != "a" || dropped != 0 || len(back) != 2 || back[0] != items[0] || back[1] != items[1] {
		t.Fatalf("digest round trip: %q %+v %d %v", node, back, dropped, err)
	}
}

func equalKeys(a, b []Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConfigValidateNamesTheField(t *testing.T) {
	c := newCluster(t)
	n := c.open("a")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{DB: n.st.DB, Node: "a"}, "Meta"},
		{Config{Meta: n.meta, Node: "a"}, "DB"},
		{Config{Meta: n.meta, DB: n.st.DB}, "Node"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

func TestApplyLosesToALocalWriteThatRacedIt(t *testing.T) {
	c := newCluster(t)
	a := c.open("a")
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := false
	// Registered before the Sync's hook, so it runs first: the local value is committed but its
	// version is not stored yet while this blocks.
	a.meta.OnWrite(func([]meta.Write) {
		if hold {
			once.Do(func() { close(entered) })
			<-release
		}
	})
	c.attach(a)
	if _, err := a.sync.Apply([]Entry{{Key: Key{meta.KindAction, "other"}, Version: Version{10, "z"}, Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	hold = true
	done := make(chan error, 1)
	go func() { done <- a.meta.Put(meta.KindAction, "x", "local") }() // gets counter 11
	<-entered
	applied := make(chan int, 1)
	go func() {
		n, err := a.sync.Apply([]Entry{{Key: Key{meta.KindAction, "x"}, Version: Version{5, "z"}, Value: []byte(`"remote"`)}})
		if err != nil {
			t.Error(err)
		}
		applied <- n
	}()
	time.Sleep(50 * time.Millisecond) // let Apply find no version and wait for the lock
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := <-applied; n != 0 {
		t.Fatalf("applied %d entries older than a local write", n)
	}
	hasRaw(t, a, meta.KindAction, "x", `"local"`)
	if v, _, _, _ := a.sync.version(Key{meta.KindAction, "x"}); v != (Version{11, "a"}) {
		t.Fatalf("version %v, want {11 a}", v)
	}
}

// A fetch asked for one key answers with the key's current value, which may be newer than the
// broadcast that asked for it: here the journey was created (one broadcast, one fetch), then
// published with its version before that fetch was answered. Without what the live journey
// requires in the same answer, b would hold a live journey without the version to run, until a
// later fetch brought it; with Requires, the answer brings both and b applies them together.
func TestAFetchedRecordArrivesWithWhatItRequires(t *testing.T) {
	for _, withRequires := range []bool{false, true} {
		t.Run(fmt.Sprintf("requires=%v", withRequires), func(t *testing.T) {
			c := newCluster(t)
			if withRequires {
				c.requires = func(kind, id string, value []byte) []Key {
					if kind == meta.KindJourney && bytes.Contains(value, []byte(`"live"`)) {
						return []Key{{meta.KindJourneyVersion, "j/00000001"}, {meta.KindAction, "hello"}, {meta.KindPluginBinary, "sha"}}
					}
					if kind == meta.KindJourneyVersion {
						return []Key{{meta.KindJourney, "j"}, {meta.KindEventDef, "signup"}} // cycles and repeats are fine
					}
					return nil
				}
			}
			a, b := c.start("a"), c.start("b")
			c.dropAll(true) // only the fetch below carries anything
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(a.meta.Put(meta.KindEventDef, "signup", map[string]string{"name": "signup"}))
			must(a.meta.Put(meta.KindAction, "hello", map[string]string{"id": "hello"}))
			must(a.meta.Update(meta.KindPlugin, "p", func(cur []byte, tx *meta.Tx) (any, error) {
				return map[string]string{"name": "p"}, tx.PutRaw(meta.KindPluginBinary, "sha", []byte("\x00asm"))
			}))
			must(a.meta.Put(meta.KindJourney, "j", map[string]string{"id": "j", "status": "draft"}))
			created, _, _, err := a.sync.version(Key{meta.KindJourney, "j"})
			must(err)
			must(a.meta.Update(meta.KindJourney, "j", func(cur []byte, tx *meta.Tx) (any, error) {
				return map[string]string{"id": "j", "status": "live"}, tx.Put(meta.KindJourneyVersion, "j/00000001", map[string]int{"version": 1})
			}))
			b.sync.fetchFrom(context.Background(), "a", []item{{Key: Key{meta.KindJourney, "j"}, Version: created}})
			hasRaw(t, b, meta.KindJourney, "j", `{"id":"j","status":"live"}`)
			ver, _ := b.meta.Exists(meta.KindJourneyVersion, "j/00000001")
			act, _ := b.meta.Exists(meta.KindAction, "hello")
			def, _ := b.meta.Exists(meta.KindEventDef, "signup")
			bin, _ := b.meta.Exists(meta.KindPluginBinary, "sha")
			if withRequires != (ver && act && def) {
				t.Fatalf("after one fetch of the live journey, b holds its version %v, the action %v, the event definition %v (Requires set: %v)", ver, act, def, withRequires)
			}
			if bin {
				t.Fatal("a plugin binary came along with a fetch of other records; binaries travel alone")
			}
			if withRequires && b.changed(meta.KindJourney) != 1 {
				t.Fatalf("b rebuilt its catalog %d times for the journey; one batch should make one change", b.changed(meta.KindJourney))
			}
		})
	}
}
