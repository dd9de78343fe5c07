package store

import (
	"bytes"
	"testing"
	"time"
)

func TestPartitionRangesAreDisjointAndOrdered(t *testing.T) {
	for pid := 0; pid < 300; pid++ {
		lo, hi := PartitionPrefix(pid), PartitionEnd(pid)
		if bytes.Compare(lo, hi) >= 0 {
			t.Fatalf("partition %d: empty range", pid)
		}
		k := PartKey(pid, KindProfile, "user:a")
		if bytes.Compare(k, lo) < 0 || bytes.Compare(k, hi) >= 0 {
			t.Fatalf("partition %d: key outside its range", pid)
		}
		if pid > 0 && !bytes.Equal(PartitionEnd(pid-1), lo) {
			t.Fatalf("partition %d does not start where %d ends", pid, pid-1)
		}
	}
}

func TestTimeKeysSortByDueTime(t *testing.T) {
	now := time.Now()
	a := TimeSeqKey(3, KindTimer, now, 9)
	b := TimeSeqKey(3, KindTimer, now.Add(time.Millisecond), 1)
	if bytes.Compare(a, b) >= 0 {
		t.Fatal("an earlier timer must sort first")
	}
	if !DueOf(a).Equal(now.UTC().Truncate(0)) && DueOf(a).UnixNano() != now.UnixNano() {
		t.Fatalf("DueOf = %v, want %v", DueOf(a), now)
	}
}

func TestPrefixEnd(t *testing.T) {
	if got := PrefixEnd([]byte{1, 0xff}); !bytes.Equal(got, []byte{2}) {
		t.Fatalf("PrefixEnd = %v", got)
	}
	if got := PrefixEnd([]byte{0xff}); got != nil {
		t.Fatalf("PrefixEnd of all-0xff = %v, want nil", got)
	}
}

func TestPartitionOfIsStable(t *testing.T) {
	// The hash is part of the on-disk layout: this value must never change.
	if got := PartitionOf("user:ada", 64); got != PartitionOf("user:ada", 64) || got < 0 || got >= 64 {
		t.Fatalf("PartitionOf = %d", got)
	}
}

func TestCounterMergeAddsDeltas(t *testing.T) {
	st, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k := PartKey(1, KindCounter, "j/x/1/n", "entered")
	for i := 0; i < 5; i++ {
		if err := st.DB.Merge(k, EncodeCounter(2), nil); err != nil {
			t.Fatal(err)
		}
	}
	v, ok, err := Get(st.DB, k)
	if err != nil || !ok || DecodeCounter(v) != 10 {
		t.Fatalf("counter = %d (%v %v), want 10", DecodeCounter(v), ok, err)
	}
}
