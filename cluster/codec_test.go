package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/wayline/wayline/runtime/engine"
	"github.com/wayline/wayline/runtime/store"
)

// The codecs here read bytes from other nodes: replicated batch frames, their statuses and
// partition snapshots. Each must refuse what it cannot trust rather than panic or write outside
// its partition.

func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(store.Config{Dir: tb.TempDir(), CacheBytes: 1 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// batchRepr is the Pebble encoding of a batch setting the given keys (k, v, k, v...).
func batchRepr(tb testing.TB, db *pebble.DB, kv ...string) []byte {
	tb.Helper()
	b := db.NewBatch()
	defer b.Close()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := b.Set([]byte(kv[i]), []byte(kv[i+1]), nil); err != nil {
			tb.Fatal(err)
		}
	}
	return append([]byte(nil), b.Repr()...)
}

func key(prefix []byte, suffix string) []byte {
	return append(append([]byte(nil), prefix...), suffix...)
}

func TestFrameRoundTrip(t *testing.T) {
	st := openStore(t)
	empty := batchRepr(t, st.DB)
	fullOf := func(pid int) []byte {
		return batchRepr(t, st.DB, string(key(store.KindPrefix(pid, store.KindProfile), "alice")), `{"n":1}`,
			string(store.KindPrefix(pid, store.KindPosition)), string(engine.EncodePosition(engine.Position{Epoch: 2, LSN: 9})))
	}
	full := fullOf(7)
	for _, tc := range []struct {
		pid, partitions int
		prev, pos       engine.Position
		repr            []byte
	}{
		{0, 1, engine.Position{}, engine.Position{Epoch: 1, LSN: 1}, empty},
		{7, 8, engine.Position{Epoch: 2, LSN: 8}, engine.Position{Epoch: 2, LSN: 9}, full},
		{255, 256, engine.Position{Epoch: 1, LSN: 100}, engine.Position{Epoch: 2, LSN: 1}, fullOf(255)},
		{4095, 4096, engine.Position{Epoch: math.MaxUint64, LSN: math.MaxUint64 - 1}, engine.Position{Epoch: math.MaxUint64, LSN: math.MaxUint64}, empty},
	} {
		frame := encodeFrame(tc.pid, tc.prev, tc.pos, tc.repr)
		pid, prev, pos, repr, err := decodeFrame(frame, tc.partitions)
		if err != nil {
			t.Errorf("decodeFrame(encodeFrame(%d, %v, %v, %d bytes)): %v", tc.pid, tc.prev, tc.pos, len(tc.repr), err)
			continue
		}
		if pid != tc.pid || prev != tc.prev || pos != tc.pos || !bytes.Equal(repr, tc.repr) {
			t.Errorf("frame of (%d, %v, %v, %d bytes) decoded as (%d, %v, %v, %d bytes)",
				tc.pid, tc.prev, tc.pos, len(tc.repr), pid, prev, pos, len(repr))
		}
	}
}

func TestDecodeFrameRefusesBadFrames(t *testing.T) {
	p := func(epoch, lsn uint64) engine.Position { return engine.Position{Epoch: epoch, LSN: lsn} }
	repr := make([]byte, 12) // the smallest Pebble batch: its header
	good := encodeFrame(3, p(1, 1), p(1, 2), repr)
	for _, tc := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"empty", nil, "too short"},
		{"header only", good[:34], "too short"},
		{"batch header cut", good[:len(good)-1], "too short"},
		{"partition == count", encodeFrame(8, p(1, 1), p(1, 2), repr), "partition 8 does not exist"},
		{"partition > count", encodeFrame(0xffff, p(1, 1), p(1, 2), repr), "partition 65535 does not exist"},
		{"same position", encodeFrame(3, p(1, 2), p(1, 2), repr), "does not follow"},
		{"older LSN", encodeFrame(3, p(1, 2), p(1, 1), repr), "does not follow"},
		{"older epoch", encodeFrame(3, p(2, 1), p(1, 9), repr), "does not follow"},
		{"zero positions", encodeFrame(3, p(0, 0), p(0, 0), repr), "does not follow"},
	} {
		if _, _, _, _, err := decodeFrame(tc.frame, 8); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: decodeFrame(%x) = %v, want an error with %q", tc.name, tc.frame, err, tc.want)
		}
	}
	if _, _, _, _, err := decodeFrame(good, 8); err != nil {
		t.Errorf("the control frame is refused: %v", err)
	}
	if _, _, _, _, err := decodeFrame(good, 0); err == nil {
		t.Error("decodeFrame accepted a frame for a cluster of no partitions")
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, st := range []byte{statusOK, statusMismatch, statusFenced} {
		for _, pos := range []engine.Position{{}, {Epoch: 3, LSN: 14}, {Epoch: math.MaxUint64, LSN: math.MaxUint64}} {
			gotSt, gotPos, err := decodeStatus(encodeStatus(st, pos))
			if err != nil || gotSt != st || gotPos != pos {
				t.Errorf("decodeStatus(encodeStatus(%d, %v)) = %d, %v, %v", st, pos, gotSt, gotPos, err)
			}
		}
	}
}

func TestDecodeStatusRefusesBadStatuses(t *testing.T) {
	ok := encodeStatus(statusOK, engine.Position{Epoch: 1, LSN: 2})
	for name, b := range map[string][]byte{
		"empty":      nil,
		"short":      ok[:16],
		"long":       append(append([]byte(nil), ok...), 0),
		"status 0":   encodeStatus(0, engine.Position{}),
		"status 4":   encodeStatus(4, engine.Position{}),
		"status 255": encodeStatus(255, engine.Position{}),
	} {
		if st, pos, err := decodeStatus(b); err == nil {
			t.Errorf("%s: decodeStatus(%x) = %d, %v; want an error", name, b, st, pos)
		}
	}
}

// snapEntry is one key and value of a snapshot.
type snapEntry struct{ k, v string }

// encodeSnap builds a snapshot by hand, in snapshot's format: the position, then each key and
// value prefixed with its uvarint length.
func encodeSnap(pos engine.Position, entries ...snapEntry) []byte {
	b := engine.EncodePosition(pos)
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(len(e.k)))
		b = append(b, e.k...)
		b = binary.AppendUvarint(b, uint64(len(e.v)))
		b = append(b, e.v...)
	}
	return b
}

// readSnap decodes a snapshot and returns what it would install.
func readSnap(b []byte, pid int) (engine.Position, []snapEntry, error) {
	var got []snapEntry
	pos, err := decodeSnapshot(b, pid, func(k, v []byte) error {
		got = append(got, snapEntry{string(k), string(v)})
		return nil
	})
	return pos, got, err
}

func TestSnapshotOfARealStoreRoundTrips(t *testing.T) {
	st := openStore(t)
	const pid = 3
	pos := engine.Position{Epoch: 4, LSN: 17}
	// The partition's keys, in key order, from its very first key to its last possible byte.
	want := []snapEntry{
		{string(store.PartitionPrefix(pid)), "first key of the partition"},
		{string(key(store.KindPrefix(pid, store.KindDedupe), "evt-1")), "\x00\x00\x00\x00\x00\x00\x00\x01"},
		{string(store.KindPrefix(pid, store.KindPosition)), string(engine.EncodePosition(pos))},
		{string(key(store.KindPrefix(pid, store.KindProfile), "alice")), `{"plan":"pro"}`},
		{string(key(store.KindPrefix(pid, store.KindProfile), "bob")), ""},
		{string(key(store.KindPrefix(pid, store.KindTimer), "\x00\x01\x02")), strings.Repeat("v", 1000)},
		{string(key(store.PartitionPrefix(pid), "\xff\xff\xff")), "last"},
	}
	b := st.DB.NewBatch()
	for _, e := range want {
		_ = b.Set([]byte(e.k), []byte(e.v), nil)
	}
	// Neighbours that must stay out of the snapshot.
	for _, k := range [][]byte{
		key(store.KindPrefix(pid-1, store.KindProfile), "carol"),
		key(store.PartitionPrefix(pid-1), "\xff\xff"),
		store.PartitionEnd(pid),
		key(store.KindPrefix(pid+1, store.KindProfile), "dave"),
		store.PromiseKey(pid),
		[]byte("m/whatever"),
	} {
		_ = b.Set(k, []byte("not in partition 3"), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	b.Close()

	snap, err := snapshot(st.DB, pid)
	if err != nil {
		t.Fatal(err)
	}
	gotPos, got, err := readSnap(snap, pid)
	if err != nil {
		t.Fatalf("decodeSnapshot of snapshot(db, %d): %v", pid, err)
	}
	if gotPos != pos {
		t.Errorf("snapshot position %v, want %v", gotPos, pos)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("snapshot holds\n%q\nwant\n%q", got, want)
	}

	// A copy of partition 3 is not a copy of partition 2 or 4.
	for _, other := range []int{pid - 1, pid + 1} {
		if _, _, err := readSnap(snap, other); err == nil || !strings.Contains(err.Error(), "outside partition") {
			t.Errorf("a snapshot of partition %d decoded as partition %d: %v, want an error", pid, other, err)
		}
	}

	// An empty partition is its zero position and nothing else.
	empty, err := snapshot(st.DB, 5)
	if err != nil {
		t.Fatal(err)
	}
	if pos, got, err := readSnap(empty, 5); err != nil || pos != (engine.Position{}) || len(got) != 0 {
		t.Errorf("snapshot of an empty partition decoded as %v, %q, %v; want the zero position and no keys", pos, got, err)
	}
}

func TestDecodeSnapshotRefusesTruncatedInput(t *testing.T) {
	st := openStore(t)
	const pid = 1
	b := st.DB.NewBatch()
	_ = b.Set(store.KindPrefix(pid, store.KindPosition), engine.EncodePosition(engine.Position{Epoch: 1, LSN: 5}), nil)
	for i := 0; i < 3; i++ {
		_ = b.Set(key(store.KindPrefix(pid, store.KindProfile), fmt.Sprint("p", i)), bytes.Repeat([]byte{'x'}, 200*i), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	b.Close()
	snap, err := snapshot(st.DB, pid)
	if err != nil {
		t.Fatal(err)
	}
	// Where each entry ends: a cut there is a shorter but well-formed snapshot (the format has
	// no count), every other cut must be refused.
	ends := map[int]int{16: 0}
	for off, n := 16, 0; off < len(snap); n++ {
		for range 2 { // key, then value
			l, w := binary.Uvarint(snap[off:])
			off += w + int(l)
		}
		ends[off] = n + 1
	}
	if ends[len(snap)] != 4 {
		t.Fatalf("the snapshot has %d entries, want 4 (position and 3 profiles)", ends[len(snap)])
	}
	for cut := 0; cut < len(snap); cut++ {
		_, got, err := readSnap(snap[:cut], pid)
		n, boundary := ends[cut]
		switch {
		case boundary && (err != nil || len(got) != n):
			t.Errorf("snapshot cut after entry %d (%d of %d bytes): %d entries, %v; want %d entries", n, cut, len(snap), len(got), err, n)
		case !boundary && err == nil:
			t.Errorf("snapshot cut at %d of %d bytes was accepted with %d entries", cut, len(snap), len(got))
		}
	}
}

func TestDecodeSnapshotRefusesKeysOutsideThePartition(t *testing.T) {
	pos := engine.Position{Epoch: 2, LSN: 3}
	for _, pid := range []int{0, 3, 255, 256, 4095} {
		inside := snapEntry{string(key(store.KindPrefix(pid, store.KindProfile), "ok")), "v"}
		outside := []snapEntry{
			{"", "empty key"},
			{"p", "the partition space itself"},
			{string(store.PartitionPrefix(pid)[:2]), "a prefix of the partition's prefix"},
			{string(store.PartitionEnd(pid)), "the first key after the partition"},
			{string(key(store.PartitionEnd(pid), "x")), "the next partition"},
			{string(store.PromiseKey(pid)), "node-local promise"},
			{"m/action/x", "metadata"},
			{"\xff\xff\xff\xff", "after everything"},
		}
		if pid > 0 {
			outside = append(outside,
				snapEntry{string(key(store.PartitionPrefix(pid-1), "\xff\xff\xff")), "the last key of the previous partition"},
				snapEntry{string(key(store.KindPrefix(pid-1, store.KindPosition), "")), "the previous partition's position"})
		}
		for _, bad := range outside {
			for _, entries := range [][]snapEntry{{bad}, {inside, bad}, {inside, bad, inside}} {
				var puts [][]byte
				_, err := decodeSnapshot(encodeSnap(pos, entries...), pid, func(k, v []byte) error {
					puts = append(puts, k)
					return nil
				})
				if err == nil || !strings.Contains(err.Error(), "outside partition") {
					t.Errorf("partition %d: snapshot with %q (%s) decoded: %v; want an error naming the key", pid, bad.k, bad.v, err)
				}
				for _, k := range puts {
					if string(k) == bad.k {
						t.Errorf("partition %d: the key %q (%s) was handed to put before the refusal", pid, bad.k, bad.v)
					}
				}
			}
		}
		if _, got, err := readSnap(encodeSnap(pos, inside, inside), pid); err != nil || len(got) != 2 {
			t.Errorf("partition %d: the control snapshot decoded as %q, %v", pid, got, err)
		}
	}
}

func TestDecodeSnapshotRefusesBadLengths(t *testing.T) {
	const pid = 3
	pos := engine.EncodePosition(engine.Position{Epoch: 1, LSN: 1})
	k := key(store.PartitionPrefix(pid), "k")
	huge := binary.AppendUvarint(nil, math.MaxUint64)
	for name, tail := range map[string][]byte{
		"key length overflows":     bytes.Repeat([]byte{0xff}, 11),
		"key length beyond input":  append(huge, k...),
		"key length only":          {byte(len(k))},
		"value length missing":     append([]byte{byte(len(k))}, k...),
		"value length beyond":      append(append([]byte{byte(len(k))}, k...), 5, 'a'),
		"value length huge":        append(append(append([]byte{byte(len(k))}, k...), huge...), 'a'),
		"value length unfinished":  append(append([]byte{byte(len(k))}, k...), 0x80),
		"key length past MaxInt64": append(binary.AppendUvarint(nil, 1<<63), k...),
	} {
		if _, got, err := readSnap(append(append([]byte(nil), pos...), tail...), pid); err == nil {
			t.Errorf("%s: accepted with %q", name, got)
		}
	}
}

func TestDecodeSnapshotStopsAtAPutError(t *testing.T) {
	const pid = 3
	in := snapEntry{string(key(store.PartitionPrefix(pid), "k")), "v"}
	failed := errors.New("batch full")
	calls := 0
	_, err := decodeSnapshot(encodeSnap(engine.Position{}, in, in, in), pid, func(k, v []byte) error {
		calls++
		return failed
	})
	if !errors.Is(err, failed) || calls != 1 {
		t.Fatalf("decodeSnapshot with a failing put: %v after %d calls, want the put's error after 1", err, calls)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	p := func(epoch, lsn uint64) engine.Position { return engine.Position{Epoch: epoch, LSN: lsn} }
	repr := make([]byte, 12)
	f.Add(encodeFrame(3, p(1, 1), p(1, 2), repr), uint16(8))
	f.Add(encodeFrame(3, p(1, 1), p(2, 0), append(repr, "tail"...)), uint16(8))
	f.Add(encodeFrame(8, p(1, 1), p(1, 2), repr), uint16(8))
	f.Add(encodeFrame(3, p(1, 2), p(1, 2), repr), uint16(8))
	f.Add(encodeFrame(0, p(0, 0), p(0, 1), repr), uint16(0))
	f.Add([]byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, partitions uint16) {
		count := int(partitions)
		pid, prev, pos, repr, err := decodeFrame(b, count)
		if err != nil {
			return
		}
		if pid < 0 || pid >= count {
			t.Fatalf("accepted partition %d of %d", pid, count)
		}
		if !prev.Less(pos) {
			t.Fatalf("accepted position %v after %v", pos, prev)
		}
		if len(repr) < 12 {
			t.Fatalf("accepted a batch of %d bytes, shorter than a batch header", len(repr))
		}
		if again := encodeFrame(pid, prev, pos, repr); !bytes.Equal(again, b) {
			t.Fatalf("frame %x decoded as (%d, %v, %v, %x), which encodes as %x", b, pid, prev, pos, repr, again)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	st := openStore(f)
	b := st.DB.NewBatch()
	for _, pid := range []int{2, 3, 4} {
		_ = b.Set(store.KindPrefix(pid, store.KindPosition), engine.EncodePosition(engine.Position{Epoch: 1, LSN: uint64(pid)}), nil)
		_ = b.Set(key(store.KindPrefix(pid, store.KindProfile), "alice"), []byte(`{"a":1}`), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		f.Fatal(err)
	}
	b.Close()
	snap, err := snapshot(st.DB, 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap, uint16(3))
	f.Add(snap, uint16(2))
	f.Add(encodeSnap(engine.Position{}, snapEntry{string(store.PartitionEnd(255)), "x"}), uint16(255))
	f.Add(encodeSnap(engine.Position{}, snapEntry{string(store.PartitionPrefix(256)), "x"}), uint16(256))
	f.Add(make([]byte, 16), uint16(0))
	f.Add([]byte{1, 2, 3}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, p uint16) {
		pid := int(p % 4096) // the engine allows at most 4096 partitions
		lo, hi := store.PartitionPrefix(pid), store.PartitionEnd(pid)
		var outside [][]byte
		pos, err := decodeSnapshot(b, pid, func(k, v []byte) error {
			if bytes.Compare(k, lo) < 0 || bytes.Compare(k, hi) >= 0 {
				outside = append(outside, append([]byte(nil), k...))
			}
			return nil
		})
		if len(outside) > 0 {
			t.Fatalf("decodeSnapshot for partition %d handed keys outside it to put: %q (error %v)", pid, outside, err)
		}
		if err == nil && pos != engine.DecodePosition(b[:16]) {
			t.Fatalf("accepted position %v, the first 16 bytes say %v", pos, engine.DecodePosition(b[:16]))
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(encodeStatus(statusOK, engine.Position{Epoch: 1, LSN: 2}))
	f.Add(encodeStatus(statusFenced, engine.Position{Epoch: math.MaxUint64}))
	f.Add(encodeStatus(0, engine.Position{}))
	f.Add(encodeStatus(4, engine.Position{}))
	f.Add([]byte{statusMismatch})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, pos, err := decodeStatus(b)
		valid := len(b) == 17 && b[0] >= statusOK && b[0] <= statusFenced
		if (err == nil) != valid {
			t.Fatalf("decodeStatus(%x): error %v, but the input is valid: %v", b, err, valid)
		}
		if err == nil && !bytes.Equal(encodeStatus(st, pos), b) {
			t.Fatalf("decodeStatus(%x) = %d, %v, which encodes as %x", b, st, pos, encodeStatus(st, pos))
		}
	})
}

// A batch from another node is read before it is applied: a truncated record (on which Pebble's
// reader panics), a miscounted header, or a key of another partition is refused.
func TestDecodeFrameRefusesBadBatches(t *testing.T) {
	st := openStore(t)
	ok := engine.Position{Epoch: 1, LSN: 1}
	truncated, _ := hex.DecodeString("00000000000000000100000001ff")
	other := batchRepr(t, st.DB, string(key(store.KindPrefix(8, store.KindProfile), "bob")), "x")
	meta := batchRepr(t, st.DB, string(store.MetaKey("journey", "j")), "x")
	miscounted := batchRepr(t, st.DB, string(key(store.KindPrefix(7, store.KindProfile), "a")), "x")
	miscounted[8] = 5
	for name, repr := range map[string][]byte{"truncated": truncated, "another partition": other, "metadata": meta, "miscounted": miscounted} {
		if _, _, _, _, err := decodeFrame(encodeFrame(7, engine.Position{}, ok, repr), 16); err == nil {
			t.Errorf("%s batch accepted", name)
		}
	}
}
