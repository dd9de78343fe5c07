package meta

import (
	"errors"
	"testing"

	"github.com/wayline/wayline/runtime/store"
)

func TestUpdateCommitsTxWritesAtomicallyAndAbortsOnError(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := New(st)
	changes := 0
	m.OnChange(func(string) { changes++ })
	err = m.Update(KindJourney, "j", func(cur []byte, tx *Tx) (any, error) {
		if err := tx.Put(KindJourneyVersion, "j/1", map[string]int{"v": 1}); err != nil {
			return nil, err
		}
		return map[string]string{"id": "j"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := m.Exists(KindJourneyVersion, "j/1"); !ok {
		t.Fatal("the staged version was not written")
	}
	boom := errors.New("boom")
	err = m.Update(KindJourney, "j", func(cur []byte, tx *Tx) (any, error) {
		tx.Put(KindJourneyVersion, "j/2", 2)
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if ok, _ := m.Exists(KindJourneyVersion, "j/2"); ok {
		t.Fatal("an aborted update wrote its staged record")
	}
	if changes != 1 {
		t.Fatalf("hooks ran %d times, want 1", changes)
	}
	if err := m.Delete(KindJourney, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing record: %v", err)
	}
}

func TestListPagesWithCursor(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := New(st)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if err := m.Put(KindAction, id, map[string]string{"id": id}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	cursor := ""
	for i := 0; i < 10; i++ {
		_, ids, next, err := m.List(KindAction, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 || all[0] != "a" || all[4] != "e" {
		t.Fatalf("paged ids = %v", all)
	}
}

func TestPruneDeletesOnlyWhatItIsAskedTo(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := New(st)
	for i, old := range []bool{true, false, true} {
		if err := m.Put(KindIdempotency, string(rune('a'+i)), map[string]bool{"old": old}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := m.Prune(KindIdempotency, func(raw []byte) bool { return string(raw) == `{"old":true}` })
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	if ok, _ := m.Exists(KindIdempotency, "b"); !ok {
		t.Fatal("a record that should stay was pruned")
	}
}
